import { createTestDatabase, TestDatabase } from '@ate/db';
import Redis from 'ioredis';
import { heartbeatKey, loadEngineConfig } from './config';
import { EngineNode } from './node';

const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const quiet = { info: () => undefined, error: () => undefined };

describe('engine node (real Postgres and Redis)', () => {
  let db: TestDatabase;
  let redis: Redis;
  beforeAll(async () => {
    db = await createTestDatabase('engine');
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    redis.disconnect();
    await db.drop();
  });

  it('announces itself with an expiring heartbeat and withdraws it on stop', async () => {
    const nodeId = `test-${process.pid}-${Date.now()}`;
    const node = new EngineNode(loadEngineConfig({ DATABASE_URL: db.url, REDIS_URL, ENGINE_NODE_ID: nodeId, ENGINE_HEARTBEAT_MS: '200' }), quiet);
    await node.start();
    try {
      expect(JSON.parse((await redis.get(heartbeatKey(nodeId))) as string)).toMatchObject({ nodeId, pid: process.pid });
      const ttl = await redis.pttl(heartbeatKey(nodeId));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(600);
    } finally {
      await node.stop();
    }
    expect(await redis.exists(heartbeatKey(nodeId))).toBe(0);
  });

  it('refuses to start on a database with pending migrations', async () => {
    const empty = await createTestDatabase('engine_empty', { migrated: false });
    const node = new EngineNode(loadEngineConfig({ DATABASE_URL: empty.url, REDIS_URL }), quiet);
    try {
      await expect(node.start()).rejects.toThrow(/migration\(s\) pending/);
    } finally {
      await node.stop();
      await empty.drop();
    }
  });

  it.each([
    [{ REDIS_URL }, /DATABASE_URL/],
    [{ DATABASE_URL: 'postgres://x@y/z' }, /REDIS_URL/],
    [{ DATABASE_URL: 'postgres://x@y/z', REDIS_URL, ENGINE_HEARTBEAT_MS: '5' }, /ENGINE_HEARTBEAT_MS/],
  ])('bad configuration %p names the variable', (env, re) => {
    expect(() => loadEngineConfig(env)).toThrow(re);
  });
});
