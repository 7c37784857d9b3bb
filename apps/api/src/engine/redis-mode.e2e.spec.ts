import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { AteApiError, AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { ConfigError, loadConfig } from '../config/config';
import { freePort, startApiProcess, testApiEnv, untilReady } from '../testing/api-process';
import { startEngineProcess, stopProcess } from '../testing/engine-process';
import { dropRedisKeys, TEST_REDIS_URL as REDIS_URL, testRedisPrefix } from '../testing/redis';
import { TEST_ADMIN } from '../testing/test-app';

const M = 'RED.1K/CREDIT';

/**
 * ENGINE_MODE=redis end to end: the real api process with no engine of its own, and the real engine node
 * process, on real Postgres and Redis. /ready is 503 while no engine node serves (and a deposit is refused with
 * nothing done); with one, orders place, cross, amend and cancel, balances show what open orders hold, and
 * the book the api serves is the committed one.
 */
describe('api and engine as separate processes over Redis', () => {
  jest.setTimeout(120_000);
  const REDIS_PREFIX = testRedisPrefix('redis-mode');
  let db: TestDatabase;
  let api: ChildProcess | undefined;
  let engine: ChildProcess | undefined;
  let url: string;
  let admin: AteClient;
  const master = randomBytes(32).toString('base64');
  const engineEnv = () => ({
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_PREFIX,
    ENGINE_NODE_ID: `e2e-${process.pid}`,
    ENGINE_HEARTBEAT_MS: '250',
    LOG_LEVEL: 'warn',
  });
  const ready = () => fetch(`${url}/ready`).then(async (r) => ({ status: r.status, body: (await r.json()) as { checks: { engine: unknown } } }));

  beforeAll(async () => {
    db = await createTestDatabase('redis_mode');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    admin = new AteClient({ baseUrl: url, ...TEST_ADMIN });
    api = await startApiProcess(testApiEnv({ databaseUrl: db.url, port, masterKey: master }, { REDIS_URL, REDIS_PREFIX, ENGINE_MODE: 'redis' }), {
      ready: 'listening',
    });
  });
  afterAll(async () => {
    if (engine) await stopProcess(engine, 'SIGKILL');
    if (api) await stopProcess(api, 'SIGKILL');
    await dropRedisKeys(REDIS_PREFIX);
    await db?.drop();
  });

  it('ENGINE_MODE=redis needs REDIS_URL; the reply timeout must exceed the deadline', () => {
    expect(() => loadConfig({ ENGINE_MODE: 'redis' })).toThrow(ConfigError);
    expect(() => loadConfig({ ENGINE_MODE: 'redis' })).toThrow(/^invalid configuration: ENGINE_MODE: ENGINE_MODE=redis needs REDIS_URL/);
    expect(() => loadConfig({ ENGINE_COMMAND_DEADLINE_MS: '5000', ENGINE_REPLY_TIMEOUT_MS: '5000' })).toThrow(
      /^invalid configuration: ENGINE_REPLY_TIMEOUT_MS/,
    );
    expect(loadConfig({}).ENGINE_MODE).toBe('in-process');
  });

  it('is not ready while no engine node serves, and refuses engine work with nothing done', async () => {
    expect(await ready()).toMatchObject({ status: 503, body: { checks: { engine: { ok: false, mode: 'redis' } } } });
    const a = await admin.createAgent({ name: 'early' }); // no engine needed
    const err = await admin.deposit({ id: 'early-1', agentId: a.id, asset: 'CREDIT', amount: '1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AteApiError);
    expect(err).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', details: { outcome: 'not_executed' } });
    expect((await db.pool.query('SELECT count(*)::int AS n FROM engine_command')).rows[0].n).toBe(0);
  });

  it('with an engine node: ready; orders place, cross, amend and cancel; balances and the book follow', async () => {
    engine = await startEngineProcess(engineEnv());
    await untilReady(url, 'the api did not see the engine node');
    expect((await ready()).body.checks.engine).toEqual({ ok: true, mode: 'redis' });

    await admin.defineAsset({ code: 'RED.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'RED.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 2000, priceBandBps: 5000 });
    expect((await admin.markets()).markets).toEqual([expect.objectContaining({ symbol: M, state: 'open', referencePrice: '2.000' })]);
    const a = await admin.createAgent({ name: 'alice' });
    const b = await admin.createAgent({ name: 'bob' });
    const alice = new AteClient({ baseUrl: url, ...a.apiKey! });
    const bob = new AteClient({ baseUrl: url, ...b.apiKey! });
    await admin.deposit({ id: 'alice-c', agentId: a.id, asset: 'CREDIT', amount: '1000' });
    await admin.deposit({ id: 'bob-t', agentId: b.id, asset: 'RED.1K', amount: '500' });
    // the same deposit again is replayed, not done twice
    expect(await admin.deposit({ id: 'alice-c', agentId: a.id, asset: 'CREDIT', amount: '1000' })).toMatchObject({ replayed: true });

    const sell = await bob.placeOrder({ market: M, side: 'sell', type: 'limit', price: '2.000', quantity: '100', clientOrderId: 'bob-s1' });
    expect(sell).toMatchObject({ status: 'open', remaining: '100' });
    expect((await alice.book(M)).asks).toEqual([['2.000', '100']]); // the reply came after the book was published
    expect((await bob.balances()).balances['RED.1K']).toEqual({ free: '400', used: '100', total: '500' });

    const buy = await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.100', quantity: '40' });
    expect(buy).toMatchObject({ status: 'closed', filled: '40', cost: '80.000' });
    expect((await alice.book(M)).asks).toEqual([['2.000', '60']]);
    expect((await alice.balances()).balances).toEqual({
      CREDIT: { free: '920.000', used: '0.000', total: '920.000' },
      'RED.1K': { free: '40', used: '0', total: '40' },
    });
    expect((await bob.balances()).balances['RED.1K']).toEqual({ free: '400', used: '60', total: '460' });
    expect(await alice.stats(M)).toMatchObject({ last: '2.000', trades: 1, ask: '2.000', bid: null });

    const amended = await bob.amendOrder(sell.id, { quantity: '50' });
    expect(amended).toMatchObject({ keptPriority: true, remaining: '50' });
    await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.500', quantity: '2' });
    // the amend starts from the resting order the engine holds (a round trip), and may not cross the bid
    await expect(bob.amendOrder(sell.id, { price: '1.000' })).rejects.toMatchObject({ status: 422, code: 'MATCHING_AMEND_WOULD_CROSS' });
    expect(await bob.amendOrder(sell.id, { price: '1.900' })).toMatchObject({ keptPriority: false, price: '1.900', remaining: '50' });
    expect(await alice.book(M)).toMatchObject({ bids: [['1.500', '2']], asks: [['1.900', '50']] });

    const cancelled = await bob.cancelOrder(sell.id);
    expect(cancelled).toMatchObject({ status: 'canceled', remaining: '0' });
    expect((await alice.book(M)).asks).toEqual([]);
    expect((await bob.balances()).balances['RED.1K']).toEqual({ free: '460', used: '0', total: '460' });

    await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.400', quantity: '3' });
    expect((await alice.book(M)).bids).toEqual([
      ['1.500', '2'],
      ['1.400', '3'],
    ]);
    expect((await alice.balances()).balances['CREDIT']).toEqual({ free: '912.800', used: '7.200', total: '920.000' });
    expect((await alice.cancelAll(M)).cancelled).toHaveLength(2);
    expect((await alice.book(M)).bids).toEqual([]);

    // a rejection crosses the transport with its code and status
    await expect(alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '100000' })).rejects.toMatchObject({
      status: 422,
      code: 'MATCHING_INSUFFICIENT_FUNDS',
    });
    await expect(admin.withdraw({ id: 'bob-too-much', agentId: b.id, asset: 'RED.1K', amount: '461' })).rejects.toMatchObject({ status: 422 });
    expect(await admin.reconciliation()).toMatchObject({ ok: true, violations: [] });
  });

  it('an engine node that stops (SIGTERM) leaves the api not ready', async () => {
    await stopProcess(engine!, 'SIGTERM');
    expect(engine!.exitCode).toBe(0);
    engine = undefined;
    expect(await ready()).toMatchObject({ status: 503, body: { checks: { engine: { ok: false, mode: 'redis' } } } });
  });
});
