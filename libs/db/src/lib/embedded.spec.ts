import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyStartFailure, lockHolder } from './embedded';

const REPO_ROOT = join(__dirname, '../../../..');

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

/**
 * The embedded Postgres is stopped by its owner, last: SIGTERM must not stop it behind the owner's back (the
 * package's own exit hook did, while the api was still draining requests and writing its last batches).
 */
describe('embedded Postgres and SIGTERM', () => {
  jest.setTimeout(60_000);

  it('is still up when the process handles SIGTERM, and stops when its owner stops it', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ate-embedded-'));
    chmodSync(base, 0o755); // the server runs as its own user (we are root here), which must reach the data directory
    const dataDir = join(base, 'pg');
    const port = await freePort();
    const script = `
      const { startEmbeddedPostgres } = require(${JSON.stringify(join(__dirname, 'embedded.ts'))});
      const { Client } = require('pg');
      (async () => {
        const pg = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: ${port} });
        const c = new Client({ connectionString: pg.url });
        await c.connect();
        process.once('SIGTERM', async () => {
          await new Promise((r) => setTimeout(r, 300)); // a graceful shutdown takes a while
          const r = await c.query('SELECT 1 AS one');
          await c.end();
          await pg.stop();
          process.stdout.write('still up: ' + r.rows[0].one + '\\n');
          process.exit(0);
        });
        process.stdout.write('ready\\n');
      })().catch((e) => { process.stderr.write(String(e) + '\\n'); process.exit(1); });
    `;
    const child = spawn(process.execPath, ['-r', '@swc-node/register', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    try {
      const t0 = Date.now();
      while (!out.includes('ready') && child.exitCode === null && Date.now() - t0 < 50_000) await new Promise((r) => setTimeout(r, 50));
      expect({ out, err: err.slice(0, 500) }).toEqual({ out: 'ready\n', err: '' });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('still up: 1');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(base, { recursive: true, force: true });
    }
  });
});

/**
 * What a crash (a SIGKILL of the whole group) leaves for a moment is waited out or cleared, never by starting a
 * second postmaster on one data directory. The lock file is what Postgres left after a kill; its pid is made to
 * name a process in the state under test (Postgres itself refuses to start while that pid looks alive).
 */
describe('embedded Postgres start-up after a crash', () => {
  jest.setTimeout(90_000);
  const base = mkdtempSync(join(tmpdir(), 'ate-embedded-lock-'));
  chmodSync(base, 0o755);
  const dataDir = join(base, 'pg');
  const lockFile = join(dataDir, 'postmaster.pid');
  let port: number;
  let crashedLock: string;
  const helpers: ReturnType<typeof spawn>[] = [];

  beforeAll(async () => {
    port = await freePort();
    expect(await startAndQuery()).toEqual({ one: 1, waits: [] }); // initialises the data directory
    crashedLock = `99999\n${dataDir}\n1700000000\n${port}\n\n127.0.0.1\n  1234567     98304\nready   \n`; // what a SIGKILL leaves
  });
  afterAll(() => {
    for (const h of helpers) h.kill('SIGKILL');
    rmSync(base, { recursive: true, force: true });
  });

  /** Leaves postmaster.pid as a crash does, naming `pid`. */
  const crashWithLockOf = (pid: number) => writeFileSync(lockFile, crashedLock.replace(/^\d+/, String(pid)));
  /** startEmbeddedPostgres in a process of its own (the package is an ES module Jest cannot load), a query, stop. */
  function startAndQuery(startTimeoutMs = 20_000): Promise<{ one?: number; waits: string[]; error?: string }> {
    const script = `
      const { startEmbeddedPostgres } = require(${JSON.stringify(join(__dirname, 'embedded.ts'))});
      const { Client } = require('pg');
      const waits = [];
      (async () => {
        const pg = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: ${port}, startTimeoutMs: ${startTimeoutMs}, onWait: (m) => waits.push(m) });
        const c = new Client({ connectionString: pg.url });
        await c.connect();
        const r = await c.query('SELECT 1 AS one');
        await c.end();
        await pg.stop();
        process.stdout.write(JSON.stringify({ one: r.rows[0].one, waits }));
      })().catch((e) => process.stdout.write(JSON.stringify({ waits, error: e.message })));
    `;
    const child = spawn(process.execPath, ['-r', '@swc-node/register', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    return new Promise((r) => child.once('exit', () => r(JSON.parse(out || '{"waits":[],"error":"no output"}'))));
  }

  /** The pid of a zombie: `sleep 0 &` exits at once and its parent exec()s into a sleep that never reaps it. The shell
   * may reap it itself when its SIGCHLD comes before the exec (a loaded machine), so try again until one stays. */
  async function makeZombie(): Promise<number> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const h = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
      helpers.push(h);
      const pid = await new Promise<number>((r) => h.stdout?.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
      for (let i = 0; i < 40; i++) {
        const state = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] : undefined;
        if (state === 'Z') return pid;
        if (state === undefined) break; // reaped by the shell: another try
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error('no zombie could be made');
  }

  it('removes a lock naming a zombie (a killed postmaster not yet reaped) and starts', async () => {
    const zombie = await makeZombie();
    crashWithLockOf(zombie);
    expect(lockHolder(dataDir)).toMatchObject({ state: 'stale', pid: zombie });
    expect(await startAndQuery()).toEqual({ one: 1, waits: [] });
  });

  it('waits while the lock names a live PostgreSQL still exiting, then starts (never beside it)', async () => {
    const h = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 2500)'], { argv0: 'postgres', stdio: 'ignore' });
    helpers.push(h);
    const gone = new Promise((r) => h.once('exit', r));
    crashWithLockOf(h.pid as number);
    expect(lockHolder(dataDir)).toMatchObject({ state: 'live', pid: h.pid });
    let exitedFirst = false;
    void gone.then(() => (exitedFirst = true));
    const r = await startAndQuery();
    expect(exitedFirst).toBe(true);
    expect(r).toEqual({ one: 1, waits: [`embedded PostgreSQL: waiting for the earlier PostgreSQL (pid ${h.pid}) on ${dataDir} to exit`] });
  });

  it('refuses, naming DATA_DIR, while another live PostgreSQL keeps the data directory', async () => {
    const h = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { argv0: 'postgres', stdio: 'ignore' });
    helpers.push(h);
    crashWithLockOf(h.pid as number);
    expect((await startAndQuery(1000)).error).toBe(
      `another PostgreSQL (pid ${h.pid}) runs on ${dataDir}: stop it, or set DATA_DIR to another directory`,
    );
    expect(existsSync(lockFile)).toBe(true); // its lock is left alone
    h.kill('SIGKILL');
  });

  it.each<[string, string[], { transient: boolean; message: RegExp }]>([
    ['port taken', ['LOG:  could not bind IPv4 address "127.0.0.1": Address already in use'], { transient: true, message: /set EMBEDDED_PG_PORT/ }],
    [
      'shared memory of killed backends still attached',
      ['FATAL:  pre-existing shared memory block (key 1, ID 2) is still in use'],
      { transient: true, message: /still running .*set DATA_DIR/ },
    ],
    ['a lock of a postmaster not yet gone', ['FATAL:  lock file "postmaster.pid" already exists'], { transient: true, message: /still running/ }],
    [
      'a data directory of the wrong owner',
      ['FATAL:  data directory "/x" has invalid permissions'],
      { transient: false, message: /fix its owner and permissions, or set DATA_DIR/ },
    ],
    [
      'anything else, with its FATAL line',
      ['FATAL:  could not open file "global/pg_filenode.map"'],
      { transient: false, message: /did not start on .*: FATAL: {2}could not open file/ },
    ],
  ])('classifies a failed start: %s', (_what, lines, expected) => {
    const r = classifyStartFailure(lines, { dataDir: '/x', port: 54329 });
    expect(r.transient).toBe(expected.transient);
    expect(r.message).toMatch(expected.message);
  });
});
