// The Docker image's steps without Docker (`npm run check:image`, scripts/check-image.ts; a light run is in
// `npm test`, apps/api/src/deploy/image.spec.ts). It reads the Dockerfile and docker-compose.yml and does what they say in a
// temporary folder: each stage is a folder (its WORKDIR and other absolute paths mapped under it), COPY copies from
// the build context (less .dockerignore) or an earlier stage, RUN runs through sh, ENV and USER apply; then it
// starts the runtime stage's CMD (the api) and the engine service's command with the compose file's environment
// (its Postgres and Redis replaced by the test ones), as the image's unprivileged user where we are root, waits
// for /ready, runs the api's healthcheck, and trades through the api with the first admin key from the data volume.
// `light: true` replaces `npm ci` by a link to this checkout's node_modules (and the postinstall it runs), which
// keeps it fast; the full run installs as the Dockerfile says (production dependencies only in the runtime stage).
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AteClient } from '@ate/client';

export const REPO_ROOT = resolve(__dirname, '../../../..');

export interface Instruction {
  op: string;
  args: string;
}
export interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** Stages of a Dockerfile: comments dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const stages: Stage[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile: cannot read line: ${line}`);
    const op = m[1].toUpperCase();
    const args = m[2].trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`Dockerfile: cannot read FROM ${args}`);
      stages.push({ from: f[1], name: f[2] ?? String(stages.length), instructions: [] });
    } else if (!stages.length) throw new Error(`Dockerfile: ${op} before FROM`);
    else stages[stages.length - 1].instructions.push({ op, args });
  }
  return stages;
}

/** `["a", "b"]` (exec form) or a shell string. */
function words(args: string): { exec: string[] } | { shell: string } {
  return args.startsWith('[') ? { exec: JSON.parse(args) as string[] } : { shell: args };
}

/** `KEY=value KEY2="v 2"` (and the legacy `KEY value`). */
function parseEnv(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!args.includes('=')) {
    const [k, ...rest] = args.split(/\s+/);
    out[k] = rest.join(' ');
    return out;
  }
  for (const m of args.matchAll(/(\w+)=("([^"]*)"|\S*)/g)) out[m[1]] = m[3] ?? m[2];
  return out;
}

/** The build context: the checkout less what .dockerignore names (top-level names and paths). */
function contextFilter(): (src: string) => boolean {
  const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  return (src) => {
    const rel = relative(REPO_ROOT, src);
    return !ignored.some((p) => rel === p || rel.startsWith(p + '/') || (rel.split('/').includes(p) && !p.includes('/')));
  };
}

/** The image's user (`node`) here: `nobody` where we are root, else ourselves. */
export function imageUser(): { uid: number; gid: number } {
  if (process.getuid?.() !== 0) return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  return { uid: Number(execFileSync('id', ['-u', 'nobody']).toString().trim()), gid: Number(execFileSync('id', ['-g', 'nobody']).toString().trim()) };
}

interface StageState {
  root: string;
  cwd: string;
  env: Record<string, string>;
  user?: string;
  cmd?: string[];
}

export interface ReplayedImage {
  /** The runtime (last) stage: its folder, working directory, environment (paths mapped), user and command. */
  runtime: StageState;
  /** Maps an absolute path of the image (e.g. /data) into the runtime stage's folder. */
  map: (p: string) => string;
}

/** Does what the Dockerfile says, each stage in `base/<stage>`. */
export function replayDockerfile(base: string, opts: { light?: boolean; log?: (m: string) => void } = {}): ReplayedImage {
  const log = opts.log ?? (() => undefined);
  const stages = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
  const user = imageUser();
  const done = new Map<string, StageState>();
  const inContext = contextFilter();
  let last: StageState | undefined;
  for (const stage of stages) {
    const root = join(base, stage.name);
    mkdirSync(root, { recursive: true });
    chmodSync(base, 0o755);
    chmodSync(root, 0o755);
    const map = (p: string, cwd: string) => (isAbsolute(p) ? join(root, p) : resolve(cwd, p));
    /** Absolute image paths inside a shell command or an ENV value, e.g. `/data` -> `<root>/data`. */
    const mapText = (s: string) => s.replace(/(^|[\s=])(\/[A-Za-z0-9._/-]+)/g, (_m, pre: string, p: string) => pre + join(root, p));
    const st: StageState = { root, cwd: root, env: {} };
    for (const { op, args } of stage.instructions) {
      if (op === 'WORKDIR') mkdirSync((st.cwd = map(args, st.cwd)), { recursive: true });
      else if (op === 'ENV') for (const [k, v] of Object.entries(parseEnv(args))) st.env[k] = mapText(v);
      else if (op === 'COPY') copy(args, st, done, inContext, map);
      else if (op === 'RUN') run(args, st, { light: opts.light, user, mapText, log });
      else if (op === 'USER') st.user = args;
      else if (op === 'CMD') {
        const w = words(args);
        st.cmd = 'exec' in w ? w.exec : ['sh', '-c', w.shell];
      } else if (!['EXPOSE', 'VOLUME', 'ARG', 'LABEL'].includes(op))
        throw new Error(`Dockerfile: ${op} is not replayed here; teach apps/api/src/testing/image-steps.ts`);
    }
    done.set(stage.name, st);
    last = st;
  }
  if (!last) throw new Error('Dockerfile: no stage');
  const runtime = last;
  return { runtime, map: (p) => join(runtime.root, p) };
}

function copy(
  args: string,
  st: StageState,
  done: Map<string, StageState>,
  inContext: (s: string) => boolean,
  map: (p: string, cwd: string) => string,
): void {
  const parts = args.split(/\s+/);
  let from: StageState | undefined;
  while (parts[0]?.startsWith('--')) {
    const flag = parts.shift() as string;
    const m = /^--from=(.+)$/.exec(flag);
    if (m)
      from =
        done.get(m[1]) ??
        (() => {
          throw new Error(`Dockerfile: COPY --from=${m[1]}: no such stage`);
        })();
    else throw new Error(`Dockerfile: COPY ${flag} is not replayed here`);
  }
  const dest = parts.pop() as string;
  for (const src of parts) {
    const abs = from ? (isAbsolute(src) ? join(from.root, src) : join(from.cwd, src)) : join(REPO_ROOT, src);
    if (!existsSync(abs)) throw new Error(`Dockerfile: COPY ${src}: not found`);
    const target = map(dest, st.cwd);
    const into = dest.endsWith('/') || parts.length > 1 ? join(target, src.split('/').pop() as string) : target;
    cpSync(abs, into, { recursive: true, filter: from ? undefined : inContext, dereference: false });
  }
}

function run(
  args: string,
  st: StageState,
  o: { light?: boolean; user: { uid: number; gid: number }; mapText: (s: string) => string; log: (m: string) => void },
): void {
  const w = words(args);
  const shell = 'exec' in w ? w.exec.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ') : w.shell;
  // the image's user `node` is ours here (chown node:node /data)
  let cmd = o.mapText(shell).replace(/\bnode:node\b/g, `${o.user.uid}:${o.user.gid}`);
  if (o.light) {
    cmd = cmd.replace(/\bnpm ci\b[^&;|]*/g, (npmCi) => {
      const link = `ln -sfn ${join(REPO_ROOT, 'node_modules')} node_modules`;
      return npmCi.includes('--ignore-scripts') ? link : `${link} && npm run -s postinstall`;
    });
  }
  // an image layer's own cache; here it is the machine's, shared with other checkouts
  cmd = cmd.replace(/\bnpm cache clean --force\b/g, 'true');
  o.log(`RUN ${cmd}`);
  const env = { ...process.env, ...st.env };
  delete env['NODE_OPTIONS'];
  const r = spawnSync('sh', ['-c', cmd], { cwd: st.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`Dockerfile: RUN ${shell} failed (${r.status}):\n${String(r.stderr).slice(-2000)}`);
}

export type ComposeFile = { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };
export type ComposeService = {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  [k: string]: unknown;
};

export function readCompose(text = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')): ComposeFile {
  return parseYaml(text) as ComposeFile;
}

/** Compose's interpolation: `${VAR}`, `${VAR:-default}`, `${VAR:?error}` (an unset VAR with `:?` is an error). */
export function interpolate(value: string, vars: Record<string, string | undefined>): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_m, name: string, kind?: string, arg?: string) => {
    const v = vars[name];
    if (v !== undefined && v !== '') return v;
    if (kind === '?') throw new Error(`compose: ${name}: ${arg}`);
    return kind === '-' ? (arg ?? '') : '';
  });
}

/**
 * A service's environment as compose would give it, with URLs naming the compose file's Postgres or Redis
 * service replaced by the ones given (the test's), and `overrides` on top.
 */
export function serviceEnv(
  compose: ComposeFile,
  name: string,
  o: { vars: Record<string, string>; postgresUrl: string; redisUrl: string; overrides?: Record<string, string> },
): Record<string, string> {
  const svc = compose.services[name];
  if (!svc) throw new Error(`compose: no service ${name}`);
  const out: Record<string, string> = {};
  for (const [k, raw] of Object.entries(svc.environment ?? {})) {
    let v = interpolate(String(raw), o.vars);
    const host = /^[a-z]+:\/\/(?:[^@/]*@)?([^:/]+)/.exec(v)?.[1];
    const image = host ? compose.services[host]?.image : undefined;
    if (image?.startsWith('postgres')) v = o.postgresUrl;
    else if (image?.startsWith('redis')) v = o.redisUrl;
    out[k] = v;
  }
  return { ...out, ...o.overrides };
}

export interface StackRun {
  ready: boolean;
  healthcheck: number | null;
  trade: { buy: string; sell: string; buyerBase: string };
  /** a combinatorial auction run to settlement: cleared by the built clearing worker (dist/.../clearing.worker.js) */
  auction: { status: string; payments: string[]; worker: boolean };
  stopped: { api: number | null; engine: number | null };
}

/**
 * Starts the replayed image's api (its CMD) and the compose file's engine command in the runtime stage, waits for
 * /ready, runs the api's healthcheck command, trades through the api, then stops both with SIGTERM.
 */
export async function runStack(
  img: ReplayedImage,
  o: { postgresUrl: string; redisUrl: string; port: number; redisPrefix?: string; log?: (m: string) => void },
): Promise<StackRun> {
  const log = o.log ?? (() => undefined);
  const compose = readCompose();
  const vars = { MASTER_KEY: randomBytes(32).toString('base64') };
  const overrides = { REDIS_PREFIX: o.redisPrefix ?? `img-${process.pid}-${Date.now()}`, LOG_LEVEL: 'warn' };
  const apiEnv = serviceEnv(compose, 'api', { vars, ...o, overrides: { ...overrides, PORT: String(o.port) } });
  const engineEnv = serviceEnv(compose, 'engine', { vars, ...o, overrides });
  const dataDir = apiEnv['DATA_DIR'] ? img.map(apiEnv['DATA_DIR']) : img.runtime.env['DATA_DIR'];
  if (apiEnv['DATA_DIR']) apiEnv['DATA_DIR'] = dataDir;
  const user = img.runtime.user ? imageUser() : undefined;
  if (user && !existsSync(dataDir)) throw new Error(`the data directory ${dataDir} is not in the image`);
  const start = (cmd: string[], env: Record<string, string>, name: string): ChildProcess => {
    const base: Record<string, string> = { PATH: process.env['PATH'] ?? '', HOME: dataDir };
    const child = spawn(cmd[0] === 'node' ? process.execPath : cmd[0], cmd.slice(1), {
      cwd: img.runtime.cwd,
      env: { ...base, ...img.runtime.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(user ?? {}),
    });
    child.stderr?.on('data', (d: Buffer) => log(`${name}: ${d.toString().trimEnd()}`));
    return child;
  };
  const api = start(img.runtime.cmd ?? [], apiEnv, 'api');
  const engineSvc = compose.services['engine'];
  // `restart: on-failure` as compose does it: the engine refuses pending migrations until the api applied them
  let stopping = false;
  let engine = start(engineSvc?.command ?? img.runtime.cmd ?? [], engineEnv, 'engine');
  const supervise = (c: ChildProcess): void => {
    c.once('exit', (code) => {
      if (stopping || code === 0 || engineSvc?.['restart'] !== 'on-failure') return;
      setTimeout(() => {
        if (stopping) return;
        engine = start(engineSvc?.command ?? [], engineEnv, 'engine');
        supervise(engine);
      }, 500);
    });
  };
  supervise(engine);
  const exited = (c: ChildProcess) =>
    new Promise<number | null>((r) => (c.exitCode !== null || c.signalCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));
  try {
    const url = `http://127.0.0.1:${o.port}`;
    const ready = await waitReady(`${url}/ready`, api, 120_000);
    const healthcheck = runHealthcheck(compose, o.port, img);
    const trade = await tradeOnce(url, join(dataDir, 'first-admin-key.json'));
    const auction = await auctionOnce(url, join(dataDir, 'first-admin-key.json'), img);
    stopping = true;
    api.kill('SIGTERM');
    engine.kill('SIGTERM');
    return { ready, healthcheck, trade, auction, stopped: { api: await exited(api), engine: await exited(engine) } };
  } finally {
    stopping = true;
    for (const c of [api, engine]) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

async function waitReady(url: string, api: ChildProcess, timeoutMs: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (api.exitCode !== null) throw new Error(`the api exited with ${api.exitCode} before ${url} answered 200`);
    if (
      await fetch(url).then(
        (r) => r.status === 200,
        () => false,
      )
    )
      return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer 200 in ${timeoutMs} ms`);
}

/** The api service's healthcheck command (exec form after CMD), on this run's port. */
function runHealthcheck(compose: ComposeFile, port: number, img: ReplayedImage): number | null {
  const test = compose.services['api']?.healthcheck?.test;
  if (!test || test[0] !== 'CMD') throw new Error('compose: the api has no exec-form healthcheck');
  const [cmd, ...args] = test.slice(1).map((a) => a.replace(/127\.0\.0\.1:3000/g, `127.0.0.1:${port}`));
  return spawnSync(cmd === 'node' ? process.execPath : cmd, args, { cwd: img.runtime.cwd, timeout: 10_000 }).status;
}

/** A market, two funded agents and a crossing pair of orders, with the first admin key from the data volume. */
async function tradeOnce(url: string, adminKeyFile: string): Promise<StackRun['trade']> {
  const adminKey = JSON.parse(readFileSync(adminKeyFile, 'utf8')) as { keyId: string; secret: string };
  const admin = new AteClient({ baseUrl: url, ...adminKey });
  await admin.syncTime();
  await admin.defineAsset({ code: 'IMG.1K', scale: 0, model: 'gpt-4o', provider: 'openai', tokenClass: 'output-1k-tokens' });
  const market = await admin.createMarket({ base: 'IMG.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 10_000, priceBandBps: 2000 });
  const buyer = await admin.createAgent({ name: 'image-buyer' });
  const seller = await admin.createAgent({ name: 'image-seller' });
  await admin.deposit({ id: 'img-credits', agentId: buyer.id, asset: 'CREDIT', amount: '100.000' });
  await admin.deposit({ id: 'img-tokens', agentId: seller.id, asset: 'IMG.1K', amount: '5' });
  if (!seller.apiKey || !buyer.apiKey) throw new Error('createAgent returned no API key');
  const s = new AteClient({ baseUrl: url, ...seller.apiKey });
  const b = new AteClient({ baseUrl: url, ...buyer.apiKey });
  const sell = await s.placeOrder({ market: market.id, side: 'sell', type: 'limit', price: '10.000', quantity: '2', clientOrderId: 'img-ask' });
  const buy = await b.placeOrder({ market: market.id, side: 'buy', type: 'limit', price: '10.000', quantity: '2', clientOrderId: 'img-bid' });
  const { balances } = await b.balances();
  return { sell: sell.status, buy: buy.status, buyerBase: balances['IMG.1K']?.total ?? 'none' };
}

/**
 * A combinatorial VCG auction of newly issued units (Weber's A/B/AB case, a reserve of 6 a unit) through the image's
 * api: bids, the deadline (its BullMQ job), the clearing on HiGHS in the built worker thread, the settlement by the
 * engine node. `worker` says the built image has the worker where the api looks for it (no TypeScript beside it).
 */
async function auctionOnce(url: string, adminKeyFile: string, img: ReplayedImage): Promise<StackRun['auction']> {
  const auctions = join(img.runtime.cwd, 'dist/apps/api/src/auctions');
  const worker = existsSync(join(auctions, 'clearing.worker.js')) && !existsSync(join(auctions, 'clearing.worker.ts'));
  const adminKey = JSON.parse(readFileSync(adminKeyFile, 'utf8')) as { keyId: string; secret: string };
  const admin = new AteClient({ baseUrl: url, ...adminKey });
  await admin.syncTime();
  const bidders: AteClient[] = [];
  for (const n of ['x', 'y', 'z']) {
    const a = await admin.createAgent({ name: `image-bidder-${n}` });
    await admin.deposit({ id: `img-auction-${n}`, agentId: a.id, asset: 'CREDIT', amount: '100.000' });
    if (!a.apiKey) throw new Error('createAgent returned no API key');
    bidders.push(new AteClient({ baseUrl: url, ...a.apiKey }));
  }
  const [x, y, z] = bidders as [AteClient, AteClient, AteClient];
  await x.syncTime();
  const items = [
    { id: 'A', asset: 'IMG.1K', units: '1' },
    { id: 'B', asset: 'IMG.1K', units: '1' },
  ];
  const a = await admin.post<{ id: string }>('/v1/admin/auctions', {
    mechanism: 'vcg_combinatorial',
    items,
    reservePrice: '6',
    deadline: Date.now() + 3000,
  });
  await x.post(`/v1/auctions/${a.id}/bids`, { bundles: [{ items: ['A'], value: '15' }] });
  await y.post(`/v1/auctions/${a.id}/bids`, { bundles: [{ items: ['B'], value: '15' }] });
  await z.post(`/v1/auctions/${a.id}/bids`, { bundles: [{ items: ['A', 'B'], value: '20' }] });
  type View = { status: string };
  const until = Date.now() + 90_000;
  for (;;) {
    const v = await x.get<View>(`/v1/auctions/${a.id}`);
    if (v.status === 'settled' || Date.now() > until) {
      const r = v.status === 'settled' ? await x.get<{ allocation: { payment: string }[] }>(`/v1/auctions/${a.id}/results`) : { allocation: [] };
      return { status: v.status, payments: r.allocation.map((w) => w.payment), worker };
    }
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** Who owns a path (to show that the image's user wrote the data volume). */
export const ownerOf = (p: string): number => statSync(p).uid;
