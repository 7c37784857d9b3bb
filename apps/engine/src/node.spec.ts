import { createTestDatabase, TestDatabase } from '@ate/db';
import { engineRedisKeys, readEngineStatus } from '@ate/sequencer';
import Redis from 'ioredis';
import { heartbeatKey, loadEngineConfig } from './config';
import { EngineNode } from './node';

const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const quiet = { info: () => undefined, error: () => undefined };

describe('engine node (real Postgres and Redis)', () => {
  jest.setTimeout(30_000);
  const REDIS_PREFIX = `t-engine-${process.pid}-${Date.now()}`;
  const keys = engineRedisKeys(REDIS_PREFIX);
  let db: TestDatabase;
  let redis: Redis;
  const config = (env: Record<string, string> = {}) =>
    loadEngineConfig({ DATABASE_URL: db.url, REDIS_URL, REDIS_PREFIX, ENGINE_HEARTBEAT_MS: '200', ...env });

  beforeAll(async () => {
    db = await createTestDatabase('engine');
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    const left = await redis.keys(`${REDIS_PREFIX}:*`);
    if (left.length) await redis.del(...left);
    redis.disconnect();
    await db.drop();
  });

  it('takes the lease, serves, announces itself with an expiring heartbeat, and withdraws both on stop', async () => {
    const nodeId = `test-${process.pid}-${Date.now()}`;
    const node = new EngineNode(config({ ENGINE_NODE_ID: nodeId }), quiet);
    await node.start();
    try {
      expect(JSON.parse((await redis.get(heartbeatKey(nodeId, REDIS_PREFIX))) as string)).toMatchObject({ nodeId, pid: process.pid, serving: true });
      const ttl = await redis.pttl(heartbeatKey(nodeId, REDIS_PREFIX));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(600);
      expect(await redis.get(keys.lease)).toBe(nodeId);
      expect(await readEngineStatus(redis, keys)).toEqual({ attached: true, nodeId });
    } finally {
      await node.stop();
    }
    expect(await redis.exists(heartbeatKey(nodeId, REDIS_PREFIX))).toBe(0);
    expect(await redis.exists(keys.lease)).toBe(0);
    expect(await readEngineStatus(redis, keys)).toEqual({ attached: false, nodeId: null });
  });

  it('a second node waits as a standby while the first holds the lease, and serves once it is released', async () => {
    // a 500 ms heartbeat (a lease of 1.5 s): a loaded machine's pauses do not cost a its lease
    const a = new EngineNode(config({ ENGINE_NODE_ID: 'node-a', ENGINE_HEARTBEAT_MS: '500' }), quiet);
    const b = new EngineNode(config({ ENGINE_NODE_ID: 'node-b', ENGINE_HEARTBEAT_MS: '500' }), quiet);
    await a.start();
    let bServes = false;
    const bStarted = b.start().then(() => (bServes = true));
    try {
      await new Promise((r) => setTimeout(r, 1_700)); // several heartbeats: a renews, b keeps waiting
      expect(bServes).toBe(false);
      expect(await redis.get(keys.lease)).toBe('node-a');
      await a.stop();
      await bStarted;
      expect(await readEngineStatus(redis, keys)).toEqual({ attached: true, nodeId: 'node-b' });
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('refuses to start on a database with pending migrations', async () => {
    const empty = await createTestDatabase('engine_empty', { migrated: false });
    const node = new EngineNode(loadEngineConfig({ DATABASE_URL: empty.url, REDIS_URL, REDIS_PREFIX }), quiet);
    try {
      await expect(node.start()).rejects.toThrow(/migration\(s\) pending/);
    } finally {
      await node.stop();
      await empty.drop();
    }
  });

  it('a start-up failure names the service, where it was looked for (no password) and the setting to change', async () => {
    const noDb = `postgresql://postgres:hunter2@127.0.0.1:1/x`; // port 1: nothing listens
    const noRole = Object.assign(new URL(db.url), { username: 'no_such_role_x' }).toString();
    const noRedis = 'redis://:hunter2@127.0.0.1:1';
    // [DATABASE_URL, REDIS_URL, the message]: the database is checked first, then Redis
    const cases: [string, string, RegExp][] = [
      [
        noDb,
        REDIS_URL,
        /^cannot use the database at postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/x: connect ECONNREFUSED 127\.0\.0\.1:1: check DATABASE_URL$/,
      ],
      [noRole, REDIS_URL, /^cannot use the database at .*no_such_role_x.*: role "no_such_role_x" does not exist: check DATABASE_URL$/],
      [db.url, noRedis, /^cannot use Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1: check REDIS_URL$/],
    ];
    for (const [DATABASE_URL, url, message] of cases) {
      const node = new EngineNode(loadEngineConfig({ DATABASE_URL, REDIS_URL: url, REDIS_PREFIX }), quiet);
      try {
        await expect(node.start()).rejects.toThrow(message);
      } finally {
        await node.stop();
      }
    }
  });

  it.each([
    [{ REDIS_URL }, /DATABASE_URL/],
    [{ DATABASE_URL: 'postgres://x@y/z' }, /REDIS_URL/],
    [{ DATABASE_URL: 'postgres://x@y/z', REDIS_URL, ENGINE_HEARTBEAT_MS: '5' }, /ENGINE_HEARTBEAT_MS/],
    [{ DATABASE_URL: 'postgres://x@y/z', REDIS_URL, REDIS_PREFIX: 'a b' }, /REDIS_PREFIX/],
  ])('bad configuration %p names the variable', (env, re) => {
    expect(() => loadEngineConfig(env)).toThrow(re);
  });
});
