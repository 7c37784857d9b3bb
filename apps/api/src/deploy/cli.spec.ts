import { spawn } from 'node:child_process';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ateUrl } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { freePort, REPO_ROOT } from '../testing/api-process';
import { startTestApp, TEST_ADMIN, testConfig } from '../testing/test-app';

describe('ATE_URL: one way to name the server for the command-line tools', () => {
  it.each<[string, Record<string, string>, string]>([
    ['nothing set: the default port', {}, 'http://127.0.0.1:3000'],
    ['PORT, as npm start uses it', { PORT: '4100' }, 'http://127.0.0.1:4100'],
    ['ATE_URL wins over PORT', { ATE_URL: 'https://ate.example/', PORT: '4100' }, 'https://ate.example'],
    ['empty ATE_URL counts as unset', { ATE_URL: '', PORT: '4200' }, 'http://127.0.0.1:4200'],
  ])('%s', (_what, env, url) => {
    expect(ateUrl(env)).toBe(url);
  });

  it.each([
    ['not a URL', 'localhost 3000', 'ATE_URL is not a URL: "localhost 3000" (e.g. http://127.0.0.1:3000)'],
    ['another scheme', 'ftp://x', 'ATE_URL must start with http:// or https:// (got "ftp://x")'],
  ])('refuses an ATE_URL that is %s', (_what, value, message) => {
    expect(() => ateUrl({ ATE_URL: value })).toThrow(message);
  });
});

function runScript(script: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const clean = { ...process.env };
  for (const k of ['ATE_URL', 'PORT', 'ATE_KEY', 'ATE_SECRET', 'DATA_DIR']) delete clean[k];
  const child = spawn(process.execPath, ['-r', '@swc-node/register', script, ...args], {
    cwd: REPO_ROOT,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((r) => child.once('exit', (code) => r({ code, out, err })));
}

describe('npm run ate and seed:demo against a running exchange', () => {
  jest.setTimeout(60_000);
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let port: string;
  beforeAll(async () => {
    db = await createTestDatabase('cli');
    const t = await startTestApp(testConfig(db));
    app = t.app;
    port = new URL(t.url).port;
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('ate finds the server from PORT alone', async () => {
    const r = await runScript('scripts/ate.ts', ['GET', '/v1/time'], { PORT: port });
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
    expect(JSON.parse(r.out)).toHaveProperty('serverTime');
  });

  it('seed:demo finds it the same way, and says where the market is', async () => {
    const r = await runScript('scripts/seed-demo.ts', [], { PORT: port, ATE_KEY: TEST_ADMIN.keyId, ATE_SECRET: TEST_ADMIN.secret });
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
    expect(r.out).toContain(`demo market GPT-4O.1K-CREDIT is open on http://127.0.0.1:${port}`);
  });

  it('both name the URL they could not reach, and where it came from', async () => {
    const closed = String(await freePort());
    const ate = await runScript('scripts/ate.ts', ['GET', '/v1/time'], { PORT: closed });
    expect({ code: ate.code, err: ate.err.trim() }).toEqual({
      code: 1,
      err: `cannot reach the exchange at http://127.0.0.1:${closed} (from PORT; set ATE_URL to name another server): ECONNREFUSED. Is it running (npm start)?`,
    });
    const seed = await runScript('scripts/seed-demo.ts', [], {
      ATE_URL: `http://127.0.0.1:${closed}`,
      ATE_KEY: TEST_ADMIN.keyId,
      ATE_SECRET: TEST_ADMIN.secret,
    });
    expect({ code: seed.code, err: seed.err.trim() }).toEqual({
      code: 1,
      err: `seed:demo failed: cannot reach the exchange at http://127.0.0.1:${closed} (ATE_URL): ECONNREFUSED. Is it running (npm start)?`,
    });
  });
});
