import { ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, EmbeddedPostgresError, TestDatabase } from '@ate/db';
import { TEST_ADMIN } from '../testing/admin-key';
import { freePort, REPO_ROOT } from '../testing/api-process';
import { describeStartupError, listeningOn, StartupContext } from '../startup';

const ctx: StartupContext = {
  HOST: '127.0.0.1',
  PORT: 3000,
  DATA_DIR: '.data',
  DATABASE_URL: 'postgresql://app:s3cret@db.example:5432/ate',
  databaseFromEnv: true,
};
const coded = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(`${code} happened`), { code, ...extra });

describe('start-up failures name their cause and the setting to change', () => {
  it.each<[string, unknown, string]>([
    [
      'the embedded Postgres says why itself',
      new EmbeddedPostgresError('port 54329 on 127.0.0.1 is taken by another program: set EMBEDDED_PG_PORT'),
      'port 54329 on 127.0.0.1 is taken by another program: set EMBEDDED_PG_PORT',
    ],
    [
      'PORT taken',
      coded('EADDRINUSE', { syscall: 'listen' }),
      'port 3000 on 127.0.0.1 is taken by another program: set PORT to a free port (or stop that program)',
    ],
    [
      'HOST not on this machine',
      coded('EADDRNOTAVAIL', { syscall: 'listen' }),
      'HOST 127.0.0.1 is not an address of this machine: set HOST (127.0.0.1, or 0.0.0.0 for every interface)',
    ],
    ['a privileged PORT', coded('EACCES', { syscall: 'listen' }), 'not allowed to listen on 127.0.0.1:3000: set PORT to 1024 or above'],
    [
      'an unwritable DATA_DIR',
      coded('EACCES', { syscall: 'open', path: '/srv/.data/master.key' }),
      'cannot write /srv/.data/master.key (EACCES): set DATA_DIR to a directory this user can write (now .data)',
    ],
    [
      'the database refusing connections (an AggregateError from localhost, without a message; the password is not shown)',
      new AggregateError([coded('ECONNREFUSED', { address: '127.0.0.1', port: 5432 })], ''),
      'cannot reach the database at postgresql://app:***@db.example:5432/ate (DATABASE_URL): ECONNREFUSED 127.0.0.1:5432: check DATABASE_URL (unset: an embedded PostgreSQL)',
    ],
    [
      'a wrong password',
      coded('28P01'),
      'the database at postgresql://app:***@db.example:5432/ate (DATABASE_URL) refused the login: 28P01 happened: check the user and password in DATABASE_URL',
    ],
    [
      'a missing database',
      coded('3D000'),
      'the database at postgresql://app:***@db.example:5432/ate (DATABASE_URL): 3D000 happened: create it, or name another database in DATABASE_URL',
    ],
    ['a rejection without a reason (what printed "start-up failed: undefined")', undefined, 'unexpected failure: no reason given'],
    [
      'any other error keeps its message',
      new Error('migration 2026_x was edited after it was applied'),
      'migration 2026_x was edited after it was applied',
    ],
  ])('%s', (_what, error, message) => {
    expect(describeStartupError(error, ctx)).toBe(message);
  });

  it.each<[string, Parameters<typeof listeningOn>[0], string]>([
    ['loopback', { address: '127.0.0.1', port: 3000 }, 'listening on http://127.0.0.1:3000'],
    [
      'every interface is said so',
      { address: '0.0.0.0', port: 3000 },
      'listening on every interface, port 3000 (0.0.0.0:3000; from this machine http://127.0.0.1:3000)',
    ],
    ['IPv6', { address: '::1', port: 3000 }, 'listening on http://[::1]:3000'],
  ])('logs the address it is bound to: %s', (_what, address, line) => {
    expect(listeningOn(address)).toBe(line);
  });
});

/** A process of ours in a process group of its own, with its output kept. */
function startGroup(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(cmd, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

/** Pids still in process group `pgid` (from /proc). */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid && f[0] !== 'Z') out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const killGroup = (pgid: number | undefined) => {
  try {
    if (pgid) process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
};

async function until(what: string, ok: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`not ${what} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const answers = (url: string) =>
  fetch(url).then(
    (r) => r.status === 200,
    () => false,
  );

describe('npm start, as a process manager runs it', () => {
  jest.setTimeout(90_000);
  let db: TestDatabase;
  const dirs: string[] = [];
  const groups: number[] = [];
  beforeAll(async () => {
    db = await createTestDatabase('startup');
  });
  afterAll(async () => {
    groups.forEach(killGroup);
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const env = (port: number, extra: Record<string, string> = {}) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ate-startup-'));
    dirs.push(dataDir);
    return {
      DATABASE_URL: db.url,
      PORT: String(port),
      DATA_DIR: dataDir,
      MASTER_KEY: randomBytes(32).toString('base64'),
      ADMIN_KEY_ID: TEST_ADMIN.keyId,
      ADMIN_SECRET: TEST_ADMIN.secret,
      LOG_LEVEL: 'warn',
      HOST: '',
      ...extra,
    };
  };

  it('stops the server when SIGTERM reaches the npm process alone (not its group), and listens on loopback by default', async () => {
    const port = await freePort();
    const p = startGroup('npm', ['start'], env(port));
    groups.push(p.child.pid as number);
    await until('ready', () => answers(`http://127.0.0.1:${port}/ready`), 60_000);
    expect(p.out()).toContain(`listening on http://127.0.0.1:${port}`);
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    if (external) expect(await answers(`http://${external.address}:${port}/health`)).toBe(false);
    p.child.kill('SIGTERM'); // the npm process only, as a process manager does
    expect(await p.exited).toBe(0);
    await until('the group gone', () => groupMembers(p.child.pid as number).length === 0, 15_000);
    expect(await answers(`http://127.0.0.1:${port}/health`)).toBe(false);
    expect(p.out()).toContain('SIGTERM: shutting down');
  });

  it('names the setting when PORT is taken', async () => {
    const port = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      const p = startGroup(process.execPath, ['-r', '@swc-node/register', 'apps/api/src/main.ts'], env(port));
      groups.push(p.child.pid as number);
      expect(await p.exited).toBe(1);
      expect(p.out()).toContain(`start-up failed: port ${port} on 127.0.0.1 is taken by another program: set PORT to a free port`);
    } finally {
      blocker.close();
    }
  });

  it('names the setting when the embedded Postgres port is taken', async () => {
    const pgPort = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(pgPort, '127.0.0.1', r));
    const base = mkdtempSync(join(tmpdir(), 'ate-startup-pg-'));
    dirs.push(base);
    chmodSync(base, 0o755); // the embedded server runs as its own user where we are root
    try {
      const e = { ...env(await freePort()), DATABASE_URL: '', DATA_DIR: base, EMBEDDED_PG_PORT: String(pgPort) };
      const p = startGroup(process.execPath, ['-r', '@swc-node/register', 'apps/api/src/main.ts'], e);
      groups.push(p.child.pid as number);
      expect(await p.exited).toBe(1);
      expect(p.out()).toContain(`start-up failed: port ${pgPort} on 127.0.0.1 is taken by another program: set EMBEDDED_PG_PORT to a free port`);
    } finally {
      blocker.close();
    }
  });
});
