import { AppError } from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { defineAsset } from '@ate/ledger';
import Redis from 'ioredis';
import { EngineHost } from './engine-host';
import type { HostResult } from './host-types';
import { writeHeartbeat } from './engine-lease';
import { RedisEngineClient } from './redis-engine-client';
import { RedisEngineServer } from './redis-engine-server';
import { engineRedisKeys } from './redis-keys';
import { decodeWire, encodeWire, WireCommand } from './wire';
import { testMarketRow } from './market-config';
import { insertMarket } from './sql';

const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const M = 'TT.1K/CREDIT';
const A = 'agt_transporta';

/** Submits A's buy of 1 lot at 900 with `clientOrderId`; resolves with the error it fails with (null if it succeeds). */
const placeSettled = (c: RedisEngineClient, clientOrderId: string): Promise<unknown> =>
  c.submit({ kind: 'place', marketId: M, agentId: A, order: { type: 'limit', side: 'buy', price: 900, lots: 1, clientOrderId } }).then(
    () => null,
    (e: unknown) => e,
  );
const B = 'agt_transportb';

/**
 * The api <-> engine transport over real Redis, with a real EngineHost on real Postgres: requests and replies
 * round-trip (bigint amounts exact), a command past its deadline is not executed, a command a dead consumer
 * left unacknowledged is answered "outcome unknown" and not run again, and many concurrent commands share batches.
 */
describe('Redis transport (real Redis, real Postgres)', () => {
  jest.setTimeout(60_000);
  const prefix = `t-seq-${process.pid}-${Date.now()}`;
  const keys = engineRedisKeys(prefix);
  let db: TestDatabase;
  let redis: Redis;
  let host: EngineHost;
  let server: RedisEngineServer | undefined;
  let client: RedisEngineClient;
  const batches: number[] = [];

  const startServer = async () => {
    server = new RedisEngineServer(host, redis, { prefix, consumer: 'engine-test' });
    await server.start();
  };
  const commands = async () => Number((await db.pool.query('SELECT count(*)::int AS n FROM engine_command')).rows[0].n);
  const orderByCid = async (cid: string) => (await db.pool.query('SELECT id FROM trading_order WHERE client_order_id = $1', [cid])).rows[0];

  beforeAll(async () => {
    db = await createTestDatabase('transport');
    redis = new Redis(REDIS_URL);
    const def = await defineAsset(db.pool, { code: 'TT.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    expect(def.ok).toBe(true);
    expect(await insertMarket(db.pool, testMarketRow('TT.1K'))).toBe(true);
    await db.pool.query(`INSERT INTO agent (id, name) VALUES ($1, 'a'), ($2, 'b')`, [A, B]);
    host = new EngineHost(db.pool, undefined, (size) => {
      batches.push(size);
      server?.batchCommitted();
    });
    await host.load();
    // what the engine node writes: it holds the lease and its heartbeat says it serves
    await redis.set(keys.lease, 'engine-test');
    await writeHeartbeat(redis, keys, { nodeId: 'engine-test', pid: process.pid, at: Date.now(), serving: true }, 600_000);
    await startServer();
    // generous: 600 concurrent commands on a loaded CI machine with a slow disk must all be read within the deadline
    client = new RedisEngineClient(redis, { prefix, deadlineMs: 10_000, timeoutMs: 20_000 });
    await client.start();
  });
  afterAll(async () => {
    await client?.stop();
    await server?.stop();
    await host?.stop();
    const left = await redis.keys(`${prefix}:*`);
    if (left.length) await redis.del(...left);
    redis.disconnect();
    await db?.drop();
  });

  it('encodes bigint as a decimal string and dates as dates', () => {
    const v = { amount: 2n ** 70n + 1n, neg: -5n, at: new Date('2026-01-02T03:04:05.678Z'), n: 1.5, s: 'x' };
    const text = encodeWire(v);
    expect(text).toContain('"1180591620717411303425"');
    expect(decodeWire(text)).toEqual(v);
  });

  it('round-trips commands and queries; an order is in the committed book by the time its reply arrives', async () => {
    const credits = 123_456_789_012_345n; // beyond float precision once scaled: must stay exact
    const dep = await client.submit({ kind: 'funds', op: 'deposit', agentId: A, asset: 'CREDIT', amount: credits, transferId: 'mint:t-a' });
    expect(dep).toMatchObject({ code: null });
    expect(dep.seq).not.toBeNull();
    await client.submit({ kind: 'funds', op: 'deposit', agentId: B, asset: 'TT.1K', amount: 1_000_000n, transferId: 'mint:t-b' });
    const bal = await db.pool.query(`SELECT balance::text AS b FROM ledger_account WHERE owner_id = $1 AND asset = 'CREDIT'`, [A]);
    expect(bal.rows[0].b).toBe(credits.toString());

    const sell = await client.submit({
      kind: 'place',
      marketId: M,
      agentId: B,
      order: { type: 'limit', side: 'sell', price: 1000, lots: 10, clientOrderId: 'rt-s' },
    });
    expect(sell.code).toBeNull();
    expect(sell.order).toMatchObject({ status: 'open', openLots: 10, clientOrderId: 'rt-s' });
    expect(sell.order?.createdAt).toBeInstanceOf(Date);
    expect((await client.market(M))?.asks).toEqual([[1000, 10]]);
    expect(await client.restingOrder(M, sell.orderId as number)).toEqual({ price: 1000, lots: 10 });
    expect(await client.reserved(B)).toEqual(new Map([['TT.1K', 10n]]));

    const buy = await client.submit({ kind: 'place', marketId: M, agentId: A, order: { type: 'limit', side: 'buy', price: 1000, lots: 4 } });
    expect(buy.events.filter((e) => e.kind === 'trade')).toHaveLength(1);
    const snap = await client.market(M);
    expect(snap).toMatchObject({ marketId: M, state: 'open', asks: [[1000, 6]], bids: [] });

    const cancel = await client.submit({ kind: 'cancel', marketId: M, agentId: B, orderId: sell.orderId as number });
    expect(cancel.events.map((e) => e.kind)).toContain('cancelled');
    expect((await client.market(M))?.asks).toEqual([]);
    expect(await client.restingOrder(M, sell.orderId as number)).toBeNull();
    expect(await client.reserved(B)).toEqual(new Map());

    // a rejection crosses as the host's own error
    await expect(
      client.submit({ kind: 'place', marketId: 'NOPE/CREDIT', agentId: A, order: { type: 'limit', side: 'buy', price: 1, lots: 1 } }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('does not execute a command whose deadline passed before the engine read it', async () => {
    await server!.stop();
    server = undefined;
    const before = await commands();
    const late = new RedisEngineClient(redis, { prefix, deadlineMs: 100, timeoutMs: 5000 });
    await late.start();
    try {
      const settled = placeSettled(late, 'late-1');
      await new Promise((r) => setTimeout(r, 300)); // no engine reads: the deadline passes
      await startServer();
      const err = (await settled) as AppError;
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503, details: { outcome: 'not_executed' } });
      expect(err.message).toMatch(/nothing was done/);
      expect(await commands()).toBe(before);
      expect(await orderByCid('late-1')).toBeUndefined();
    } finally {
      await late.stop();
    }
  });

  it('a request with no reply in time fails as "outcome unknown" (and its late answer is dropped)', async () => {
    await server!.stop();
    server = undefined;
    const impatient = new RedisEngineClient(redis, { prefix, deadlineMs: 100, timeoutMs: 300 });
    await impatient.start();
    try {
      const t0 = Date.now();
      const err = (await impatient.submit({ kind: 'tick', marketId: M }).catch((e: unknown) => e)) as AppError;
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
      expect(err).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503, details: { outcome: 'unknown' } });
      expect(err.message).toMatch(/did not answer within 300 ms; the outcome is unknown: look it up \(an order by its clientOrderId\)/);
      await startServer(); // answers it "not executed" to nobody
      expect(await impatient.restingOrder(M, 1)).toBeNull(); // the client carries on
    } finally {
      await impatient.stop();
    }
  });

  it('answers "outcome unknown" for a command a killed engine read and never acknowledged, and does not run it again', async () => {
    await server!.stop();
    server = undefined;
    const before = await commands();
    const orphaned = new RedisEngineClient(redis, { prefix, deadlineMs: 2000, timeoutMs: 5000 }); // waits 5 s for its reply
    await orphaned.start();
    try {
      const settled = placeSettled(orphaned, 'orphan-1');
      // a consumer reads it and dies before answering
      let read: unknown = null;
      for (let i = 0; i < 50 && !read; i++) {
        read = await redis.call('XREADGROUP', 'GROUP', keys.group, 'dead-consumer', 'COUNT', 10, 'STREAMS', keys.stream, '>');
        if (!read) await new Promise((r) => setTimeout(r, 10));
      }
      expect(read).not.toBeNull();
      await startServer();
      const err = (await settled) as AppError;
      expect(err).toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { outcome: 'unknown' } });
      expect(err.message).toMatch(/clientOrderId/);
      expect(await commands()).toBe(before);
      expect(await orderByCid('orphan-1')).toBeUndefined();
      const pending = (await redis.call('XPENDING', keys.stream, keys.group)) as [number, ...unknown[]];
      expect(Number(pending[0])).toBe(0);
    } finally {
      await orphaned.stop();
    }
  });

  it('submits many concurrent commands to the host without waiting for each: they share batches', async () => {
    batches.length = 0;
    const N = 600;
    const wire = Array.from({ length: N }, (_, i) =>
      client.submit({
        kind: 'place',
        marketId: M,
        agentId: i % 2 ? A : B,
        order: { type: 'limit', side: i % 2 ? 'buy' : 'sell', price: 1000, lots: 1, clientOrderId: `many-${i}` },
      }),
    );
    const results: HostResult[] = await Promise.all(wire);
    expect(results.every((r) => r.code === null && typeof r.orderId === 'number')).toBe(true);
    expect(new Set(results.map((r) => r.orderId)).size).toBe(N);
    const total = batches.reduce((a, b) => a + b, 0);
    expect(total).toBe(N);
    expect(batches.length).toBeLessThanOrEqual(N / 10);
    expect(Math.max(...batches)).toBeGreaterThanOrEqual(50);
    // every crossing pair traded: the book is empty again
    expect(await client.market(M)).toMatchObject({ bids: [], asks: [] });
  });

  it('carries the wire shape it documents', () => {
    const c: WireCommand = { id: '1', reply: keys.reply('n'), ttl: 10, req: { op: 'reload' } };
    expect(decodeWire(encodeWire(c))).toEqual(c);
  });
});
