import Redis from 'ioredis';

/** The Redis the tests use (scripts/test.mjs sets TEST_REDIS_URL when it starts one of its own). */
export const TEST_REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** A key prefix of one test file's own: Redis is shared by every test file (and run). */
export const testRedisPrefix = (label: string): string => `t-${label}-${process.pid}-${Date.now()}`;

/** Deletes every key under `prefix` (what a test file's apps and engines left behind). */
export async function dropRedisKeys(prefix: string, url = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(url);
  try {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}
