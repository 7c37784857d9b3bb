import { createServer, AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { startTestApp, TEST_ADMIN, testConfig } from '../testing/test-app';
import { TEST_REDIS_URL as REDIS_URL, testRedisPrefix } from '../testing/redis';

// Redis is shared by every test file (and run): a prefix of our own keeps their counters and signatures apart.
const REDIS_PREFIX = testRedisPrefix('ratelimit');

async function start(db: TestDatabase, env: Record<string, string>) {
  return startTestApp(testConfig(db, env));
}

describe('rate limits (real HTTP; in memory and in Redis)', () => {
  let db: TestDatabase;
  const apps: NestFastifyApplication[] = [];
  beforeAll(async () => {
    db = await createTestDatabase('ratelimit');
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await db.drop();
  });

  it('per key: RateLimit-* headers count down, then 429 RATE_LIMITED names the limit with Retry-After; other keys go on', async () => {
    const { app, url } = await start(db, { RATE_LIMIT_PER_KEY: '3', RATE_LIMIT_WINDOW_MS: '60000' });
    apps.push(app);
    const admin = new AteClient({ baseUrl: url, ...TEST_ADMIN });
    const agent = await admin.createAgent({ name: 'limited' }); // admin: 1 of 3
    const a = new AteClient({ baseUrl: url, ...agent.apiKey! });
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await a.raw('GET', '/v1/me');
      expect(r.status).toBe(200);
      expect(r.headers.get('ratelimit-limit')).toBe('3');
      seen.push(r.headers.get('ratelimit-remaining') as string);
    }
    expect(seen).toEqual(['2', '1', '0']);
    const over = await a.raw<any>('GET', '/v1/me');
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(over.body.error).toMatchObject({
      code: 'RATE_LIMITED',
      details: { limit: 'requests_per_key', max: 3, windowMs: 60000, remaining: 0, retryAfterMs: expect.any(Number) },
    });
    // the admin key has its own budget (2 left)
    expect((await admin.raw('GET', '/v1/me')).status).toBe(200);
  });

  it('per address: unsigned floods stop before any signature work', async () => {
    const { app, url } = await start(db, { RATE_LIMIT_PER_ADDRESS: '5', RATE_LIMIT_WINDOW_MS: '60000' });
    apps.push(app);
    const anon = new AteClient({ baseUrl: url });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await anon.raw('GET', '/v1/time', undefined, { signed: false })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const r = await anon.raw<any>('GET', '/v1/me', undefined, { signed: false });
    expect(r.status).toBe(429); // not 401: the address limit comes first
    expect(r.body.error.details.limit).toBe('requests_per_address');
    // health checks are never limited
    expect((await anon.raw('GET', '/health', undefined, { signed: false })).status).toBe(200);
  });

  it("orders per agent: a separate limit on placing orders, for all the agent's keys together", async () => {
    const { app, url, admin } = await start(db, { ORDER_RATE_PER_AGENT: '3', ORDER_RATE_WINDOW_MS: '60000' });
    apps.push(app);
    await admin.defineAsset({ code: 'RL.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'RL.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000 });
    const agent = await admin.createAgent({ name: `orders-${Date.now()}` });
    await admin.deposit({ id: `rl-${agent.id}`, agentId: agent.id, asset: 'CREDIT', amount: '100' });
    const k1 = new AteClient({ baseUrl: url, ...agent.apiKey! });
    const k2 = new AteClient({ baseUrl: url, ...(await admin.issueAgentKey(agent.id)) });
    const order = { market: 'RL.1K/CREDIT', side: 'buy' as const, type: 'limit' as const, price: '0.900', quantity: '1' };
    const statuses = [];
    for (const c of [k1, k2, k1, k2]) statuses.push((await c.raw('POST', '/v1/orders', order)).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    const over = await k1.raw<any>('POST', '/v1/orders', order);
    expect(over.body.error.details).toMatchObject({ limit: 'orders_per_agent', max: 3, windowMs: 60000, remaining: 0 });
    expect((await k1.raw('GET', '/v1/orders')).status).toBe(200); // reads do not count
  });

  it('every limit reports itself: RateLimit-Policy and RateLimit (IETF fields), one item per limit that counted the request', async () => {
    const { app, url, admin } = await start(db, {
      RATE_LIMIT_PER_ADDRESS: '50',
      RATE_LIMIT_PER_KEY: '20',
      RATE_LIMIT_WINDOW_MS: '60000',
      ORDER_RATE_PER_AGENT: '2',
      ORDER_RATE_WINDOW_MS: '30000',
    });
    apps.push(app);
    await admin.defineAsset({ code: 'HD.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'HD.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000 });
    const agent = await admin.createAgent({ name: `headers-${Date.now()}` });
    await admin.deposit({ id: `hd-${agent.id}`, agentId: agent.id, asset: 'CREDIT', amount: '100' });
    const a = new AteClient({ baseUrl: url, ...agent.apiKey! });
    const order = { market: 'HD.1K/CREDIT', side: 'buy' as const, type: 'limit' as const, price: '0.900', quantity: '1' };
    const policy = '"address";q=50;w=60, "key";q=20;w=60, "orders";q=2;w=30';
    const placed = await a.raw('POST', '/v1/orders', order);
    expect(placed.status).toBe(201);
    expect(placed.headers.get('ratelimit-policy')).toBe(policy);
    expect(placed.headers.get('ratelimit')).toMatch(/^"address";r=\d+;t=\d+, "key";r=19;t=60, "orders";r=1;t=30$/);
    await a.raw('POST', '/v1/orders', order);
    const over = await a.raw<any>('POST', '/v1/orders', order);
    expect(over.status).toBe(429);
    expect(over.headers.get('ratelimit')).toMatch(/"orders";r=0;t=\d+$/);
    // a read counts against address and key only
    const read = await a.raw('GET', '/v1/orders');
    expect(read.headers.get('ratelimit-policy')).toBe('"address";q=50;w=60, "key";q=20;w=60');
    // an unsigned request is refused 401 after the address limit counted it: that limit still reports itself
    const anon = await new AteClient({ baseUrl: url }).raw('GET', '/v1/me', undefined, { signed: false });
    expect(anon.status).toBe(401);
    expect(anon.headers.get('ratelimit')).toMatch(/^"address";r=\d+;t=\d+$/);
  });

  it('behind a trusted proxy each client has its own address budget; IPv6 counts per /64; X-Forwarded-For from others is ignored', async () => {
    const env = { RATE_LIMIT_PER_ADDRESS: '2', RATE_LIMIT_WINDOW_MS: '60000' };
    const time = (url: string, xff: string) => fetch(`${url}/v1/time`, { headers: { 'x-forwarded-for': xff } }).then((r) => r.status);
    const proxied = await start(db, { ...env, TRUST_PROXY: '127.0.0.1/32,::1' });
    apps.push(proxied.app);
    const seen: Record<string, number[]> = {};
    for (const xff of ['203.0.113.7', '203.0.113.8', '2001:db8:0:1::1', '2001:db8:0:1::2', '2001:db8:0:2::1']) {
      seen[xff] = [];
      for (let i = 0; i < 2; i++) seen[xff]!.push(await time(proxied.url, `198.51.100.1, ${xff}`));
    }
    expect(seen).toEqual({
      '203.0.113.7': [200, 200],
      '203.0.113.8': [200, 200], // another client behind the same proxy: its own budget
      '2001:db8:0:1::1': [200, 200],
      '2001:db8:0:1::2': [429, 429], // the same /64: the same budget
      '2001:db8:0:2::1': [200, 200],
    });
    const direct = await start(db, env); // no TRUST_PROXY: the header is not believed, the socket address counts
    apps.push(direct.app);
    expect([await time(direct.url, '203.0.113.9'), await time(direct.url, '203.0.113.10'), await time(direct.url, '203.0.113.11')]).toEqual([
      200, 200, 429,
    ]);
    expect(() => testConfig(db, { TRUST_PROXY: '10.0.0.0/33' })).toThrow(
      /^invalid configuration: TRUST_PROXY: must be comma-separated IP addresses or CIDR ranges/,
    );
  });

  it('public routes have their own limit per address and never draw on a per-key budget', async () => {
    const { app, url, admin } = await start(db, { RATE_LIMIT_PUBLIC_PER_ADDRESS: '3', RATE_LIMIT_PER_KEY: '2', RATE_LIMIT_WINDOW_MS: '60000' });
    apps.push(app);
    const anon = new AteClient({ baseUrl: url });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await anon.raw('GET', '/v1/time', undefined, { signed: false })).status);
    expect(statuses).toEqual([200, 200, 200, 429]); // 3 public, not 2 as a per-key budget of "ip:..." would allow
    const over = await anon.raw<any>('GET', '/v1/markets', undefined, { signed: false });
    expect(over.body.error.details).toMatchObject({ limit: 'public_requests_per_address', max: 3 });
    expect(over.headers.get('ratelimit-policy')).toBe('"address";q=2000;w=60, "public";q=3;w=60');
    // signed requests from the same address are not public: the per-key limit counts them, the public one does not
    expect((await admin.raw('GET', '/v1/me')).status).toBe(200);
    expect((await admin.raw('GET', '/v1/me')).headers.get('ratelimit-policy')).toBe('"address";q=2000;w=60, "key";q=2;w=60');
  });

  it('with Redis, api nodes share one budget per key', async () => {
    const env = { REDIS_URL, REDIS_PREFIX, RATE_LIMIT_PER_KEY: '4', RATE_LIMIT_WINDOW_MS: '60000' };
    const a = await start(db, env);
    const b = await start(db, env);
    apps.push(a.app, b.app);
    const adminA = new AteClient({ baseUrl: a.url, ...TEST_ADMIN });
    const agent = await adminA.createAgent({ name: `shared-${Date.now()}` });
    const onA = new AteClient({ baseUrl: a.url, ...agent.apiKey! });
    const onB = new AteClient({ baseUrl: b.url, ...agent.apiKey! });
    const statuses = [];
    for (const c of [onA, onB, onA, onB, onA]) {
      statuses.push((await c.raw('GET', '/v1/me')).status);
      // two client instances of one key: the same request from both in one millisecond would be a replay
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
  });

  it('with Redis away, requests are refused 503 SERVICE_UNAVAILABLE (fail closed), never a 500', async () => {
    const closed = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const port = (srv.address() as AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
    const { app, url } = await start(db, { REDIS_URL: `redis://127.0.0.1:${closed}`, REDIS_PREFIX, RECONCILE_EVERY_MS: '0' });
    apps.push(app);
    // each answer waits out the Redis client's retries (~5 s): give the client room under a loaded machine
    const admin = new AteClient({ baseUrl: url, ...TEST_ADMIN, timeoutMs: 30_000 });
    for (const r of [await admin.raw<any>('GET', '/v1/me'), await admin.raw<any>('GET', '/v1/time', undefined, { signed: false })]) {
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('SERVICE_UNAVAILABLE');
      expect(r.body.error.message).toMatch(/Redis unavailable/);
    }
  }, 90_000);
});
