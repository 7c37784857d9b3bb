import type { ChildProcess } from 'node:child_process';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteApiError, AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { untilReady } from '../testing/api-process';
import { startEngineProcess, stopProcess } from '../testing/engine-process';
import { dropRedisKeys, TEST_REDIS_URL as REDIS_URL, testRedisPrefix } from '../testing/redis';
import { startTestApp, testConfig } from '../testing/test-app';

const M = 'RBG.1K/CREDIT';

/**
 * Budgets with ENGINE_MODE=redis: the api here, the engine in its own process (apps/engine), commands and answers
 * over Redis. Transfers, policies, the atomic cap under concurrency, freezes and the kill switch cross the
 * transport as they do in process, and an engine restart replays the budget state from the command log.
 */
describe('principals and budgets with the engine apart (real Redis, real engine process)', () => {
  jest.setTimeout(120_000);
  const REDIS_PREFIX = testRedisPrefix('budgets-redis');
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  let engine: ChildProcess | undefined;
  const engineEnv = () => ({
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_PREFIX,
    ENGINE_NODE_ID: `budgets-${process.pid}`,
    ENGINE_HEARTBEAT_MS: '250',
    LOG_LEVEL: 'warn',
  });
  const ready = async () => {
    await untilReady(url, 'the engine node did not become ready');
  };

  beforeAll(async () => {
    db = await createTestDatabase('budgets_redis');
    engine = await startEngineProcess(engineEnv());
    ({ app, url, admin } = await startTestApp(
      testConfig(db, { REDIS_URL, REDIS_PREFIX, ENGINE_MODE: 'redis', ORDER_RATE_PER_AGENT: '2000', RATE_LIMIT_PER_KEY: '5000' }),
    ));
    await ready();
  });
  afterAll(async () => {
    await app?.close();
    if (engine) await stopProcess(engine, 'SIGKILL');
    await dropRedisKeys(REDIS_PREFIX);
    await db?.drop();
  });

  it('transfers, a policy whose cap admits exactly 10 of 100 concurrent orders, freeze and kill, and an engine restart that keeps it all', async () => {
    await admin.defineAsset({ code: 'RBG.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'RBG.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 2000, priceBandBps: 5000 });
    const p = await admin.createPrincipal({ name: 'Redis Co' });
    const pc = new AteClient({ baseUrl: url, ...(await admin.post<{ keyId: string; secret: string }>(`/v1/admin/principals/${p.id}/keys`, {})) });
    await admin.post(`/v1/admin/principals/${p.id}/deposits`, { id: 'r-seed', asset: 'CREDIT', amount: '5000' });
    const a = await pc.post<{ id: string; apiKey: { keyId: string; secret: string } }>('/v1/principal/agents', { name: 'r-bot' });
    const c = new AteClient({ baseUrl: url, ...a.apiKey });
    expect(
      await pc.post('/v1/principal/transfers', { id: 'r-t1', agentId: a.id, direction: 'to_agent', asset: 'CREDIT', amount: '1000' }),
    ).toMatchObject({ replayed: false, amount: '1000.000' });
    expect((await c.balances()).balances['CREDIT']?.total).toBe('1000.000');
    expect(await pc.get('/v1/principal/account')).toMatchObject({ balances: { CREDIT: '4000.000' } });

    // each order 2.000 x 5 = 10.000 worst case; the cap of 100.000 admits exactly 10
    const set = await pc.put<{ version: number }>(`/v1/principal/agents/${a.id}/policy`, { spendCaps: [{ windowSeconds: 3600, limit: '100' }] });
    expect(set.version).toBe(1);
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) =>
        c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '5', clientOrderId: `r-${i}` }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    const codes = new Set(results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as AteApiError).code] : [])));
    expect(codes).toEqual(new Set(['BUDGET_EXCEEDED']));
    await expect(c.testOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '1' })).rejects.toMatchObject({
      status: 422,
      code: 'BUDGET_EXCEEDED',
      details: expect.objectContaining({ reserved: '100.000', remaining: '0.000', freesAt: null }),
    });
    const before = await pc.get<{ usage: unknown[]; version: number }>(`/v1/principal/agents/${a.id}/policy`);

    // the engine restarts: policy, reservations and the principal's account come back from the log
    await stopProcess(engine as ChildProcess, 'SIGTERM');
    engine = await startEngineProcess(engineEnv());
    await ready();
    expect(await pc.get<{ usage: unknown[]; version: number }>(`/v1/principal/agents/${a.id}/policy`)).toMatchObject({
      version: before.version,
      usage: before.usage,
    });
    expect(await pc.get('/v1/principal/account')).toMatchObject({ balances: { CREDIT: '4000.000' } });

    // freeze: no new order; the kill switch cancels the 10 open orders and revokes the key in one step
    await pc.post(`/v1/principal/agents/${a.id}/freeze`, { cancelOrders: false });
    await expect(c.placeOrder({ market: M, side: 'sell', type: 'limit', price: '3.000', quantity: '1' })).rejects.toMatchObject({
      code: 'BUDGET_AGENT_FROZEN',
    });
    const k = await pc.post<{ cancelledOrders: string[]; revokedKeys: string[] }>(`/v1/principal/agents/${a.id}/kill`);
    expect(k.cancelledOrders).toHaveLength(10);
    expect(k.revokedKeys).toEqual([a.apiKey.keyId]);
    expect((await pc.get<{ balances: Record<string, { used: string }> }>(`/v1/principal/agents/${a.id}/balances`)).balances['CREDIT']?.used).toBe(
      '0.000',
    );
    expect(await admin.reconciliation()).toMatchObject({ ok: true });
  });
});
