import 'reflect-metadata';
import { resolve } from 'node:path';
import { ensureLoginRole, migrate, secretFile, startEmbeddedPostgres, EmbeddedPostgresHandle } from '@ate/db';
import { createApp } from './bootstrap';
import { AppConfig, ConfigError, loadConfig } from './config/config';
import { describeStartupError, listeningOn, StartupContext } from './startup';

/** What a start-up failure message may point to (set as start-up goes). */
let startup: StartupContext | undefined;

/**
 * `npm start`: the exchange on one node. With no DATABASE_URL it starts an embedded Postgres (data under
 * DATA_DIR), applies the migrations, and serves on PORT. SIGTERM/SIGINT: stop accepting, drain in-flight
 * requests (up to SHUTDOWN_GRACE_MS), close the pools, stop the embedded Postgres, exit.
 */
async function main(): Promise<void> {
  const t0 = Date.now();
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
  startup = {
    HOST: config.HOST,
    PORT: config.PORT,
    DATA_DIR: config.DATA_DIR,
    DATABASE_URL: config.DATABASE_URL,
    databaseFromEnv: Boolean(config.DATABASE_URL),
  };

  let embedded: EmbeddedPostgresHandle | undefined;
  if (!config.DATABASE_URL) {
    const dataDir = resolve(config.DATA_DIR, 'pg');
    log(`no DATABASE_URL: starting embedded Postgres on 127.0.0.1:${config.EMBEDDED_PG_PORT} (data in ${dataDir})`);
    embedded = await startEmbeddedPostgres({ dataDir, port: config.EMBEDDED_PG_PORT, onWait: log });
    config = { ...config, DATABASE_URL: embedded.url };
    const pg = embedded;
    stopEmbedded = () => pg.stop(); // a later start-up failure must not leave it running
  }
  const migrated = await migrate(embedded?.url ?? config.MIGRATION_DATABASE_URL ?? (config.DATABASE_URL as string));
  log(`migrations: ${migrated.applied.length} applied, ${migrated.alreadyApplied.length} already there`);
  if (embedded) {
    // The api (and its in-process engine) run as a role with only the rights of ate_app, not as the superuser.
    const { secret } = secretFile(resolve(config.DATA_DIR, 'pg-api-password'));
    config = { ...config, DATABASE_URL: await ensureLoginRole(embedded.url, 'ate_api', secret) };
  }
  if (!config.REDIS_URL) {
    log(
      'no REDIS_URL: single node: the in-process engine transport, rate limits and replay checks in memory, reconciliation on a timer. Set REDIS_URL to share them across api nodes.',
    );
  }

  const app = await createApp(config);
  let closing = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (closing) return;
    closing = true;
    log(`${signal}: shutting down (grace ${config.SHUTDOWN_GRACE_MS} ms)`);
    const force = setTimeout(() => {
      log('shutdown grace period over: exiting');
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS + 5000);
    force.unref();
    try {
      await app.close(); // stops accepting, waits for in-flight requests, runs the modules' shutdown hooks (pools)
    } catch (e) {
      log(`error while closing: ${(e as Error).message}`);
    }
    if (embedded) await embedded.stop().catch((e: Error) => log(`embedded Postgres stop: ${e.message}`));
    log('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ port: config.PORT, host: config.HOST });
  log(`${listeningOn(app.getHttpServer().address())} (ready in ${Date.now() - t0} ms; OpenAPI at /docs)`);
}

let stopEmbedded: (() => Promise<void>) | undefined;

function log(msg: string): void {
  process.stdout.write(JSON.stringify({ level: 30, time: Date.now(), app: 'api', msg }) + '\n');
}

main().catch(async (e: unknown) => {
  const why = startup ? describeStartupError(e, startup) : e instanceof Error ? e.message : String(e);
  process.stderr.write(`start-up failed: ${why}\n`);
  await stopEmbedded?.().catch(() => undefined);
  process.exit(1);
});
