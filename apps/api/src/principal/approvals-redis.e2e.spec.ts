import type { ChildProcess } from 'node:child_process';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteApiError, AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { untilReady } from '../testing/api-process';
import { startEngineProcess, stopProcess } from '../testing/engine-process';
import { dropRedisKeys, TEST_REDIS_URL as REDIS_URL, testRedisPrefix } from '../testing/redis';
import { startTestApp, testConfig } from '../testing/test-app';

const M = 'RAP.1K-CREDIT';

/**
 * Approvals and operator freezes with ENGINE_MODE=redis: the decisions and the actor's role cross the transport to
 * the engine process, and an engine restart replays the pending orders from the command log.
 */
describe('approvals with the engine apart (real Redis, real engine process)', () => {
  jest.setTimeout(120_000);
  const REDIS_PREFIX = testRedisPrefix('approvals-redis');
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  let engine: ChildProcess | undefined;
  const engineEnv = () => ({
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_PREFIX,
    ENGINE_NODE_ID: `approvals-${process.pid}`,
    ENGINE_HEARTBEAT_MS: '250',
    LOG_LEVEL: 'warn',
  });
  const ready = async () => {
    await untilReady(url, 'the engine node did not become ready');
  };

  beforeAll(async () => {
    db = await createTestDatabase('approvals_redis');
    engine = await startEngineProcess(engineEnv());
    ({ app, url, admin } = await startTestApp(testConfig(db, { REDIS_URL, REDIS_PREFIX, ENGINE_MODE: 'redis' })));
    await ready();
  });
  afterAll(async () => {
    await app?.close();
    if (engine) await stopProcess(engine, 'SIGKILL');
    await dropRedisKeys(REDIS_PREFIX);
    await db?.drop();
  });

  it('held, listed, kept across an engine restart, then approved and rejected; an operator freeze the principal cannot thaw', async () => {
    await admin.defineAsset({ code: 'RAP.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'RAP.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 2000, priceBandBps: 5000 });
    const p = await admin.createPrincipal({ name: 'Redis Approvals' });
    const pc = new AteClient({ baseUrl: url, ...(await admin.post<{ keyId: string; secret: string }>(`/v1/admin/principals/${p.id}/keys`, {})) });
    await admin.post(`/v1/admin/principals/${p.id}/deposits`, { id: 'ra-seed', asset: 'CREDIT', amount: '5000' });
    const a = await pc.post<{ id: string; apiKey: { keyId: string; secret: string } }>('/v1/principal/agents', { name: 'ra-bot' });
    const c = new AteClient({ baseUrl: url, ...a.apiKey });
    await pc.post('/v1/principal/transfers', { id: 'ra-t1', agentId: a.id, direction: 'to_agent', asset: 'CREDIT', amount: '1000' });
    await pc.put(`/v1/principal/agents/${a.id}/policy`, { approval: { above: '10', ttlSeconds: 3600 } });

    const place = (cid: string) => c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '20', clientOrderId: cid });
    const [x, y] = [await place('ra-1'), await place('ra-2')];
    expect([x.status, y.status]).toEqual(['pending_approval', 'pending_approval']);
    expect((await c.balances()).balances['CREDIT']?.used).toBe('0.000');

    await stopProcess(engine as ChildProcess, 'SIGTERM');
    engine = await startEngineProcess(engineEnv());
    await ready();
    const list = await pc.get<{ approvals: { orderId: string }[] }>('/v1/principal/approvals');
    expect(list.approvals.map((q) => q.orderId)).toEqual([x.id, y.id]);
    expect(await pc.post(`/v1/principal/approvals/${x.id}/approve`)).toMatchObject({ decision: 'approved', order: { status: 'open' } });
    expect(await pc.post(`/v1/principal/approvals/${y.id}/reject`)).toMatchObject({ decision: 'rejected', order: { status: 'rejected' } });
    expect((await c.balances()).balances['CREDIT']?.used).toBe('40.000');
    expect(await c.getOrderByClientId('ra-2')).toMatchObject({ status: 'rejected', reason: 'APPROVAL_REJECTED' });

    await admin.post(`/v1/admin/agents/${a.id}/freeze`, { cancelOrders: true });
    const thaw = await pc.post(`/v1/principal/agents/${a.id}/unfreeze`).then(
      () => null,
      (e: AteApiError) => ({ status: e.status, code: e.code }),
    );
    expect(thaw).toEqual({ status: 403, code: 'BUDGET_FROZEN_BY_OPERATOR' });
    await admin.post(`/v1/admin/agents/${a.id}/unfreeze`);
    expect(await pc.get(`/v1/principal/agents/${a.id}/policy`)).toMatchObject({ frozen: false });
    expect(await admin.reconciliation()).toMatchObject({ ok: true });
  });

  it('a redemption held for approval is kept across an engine restart, then approved: burnt once, with its receipt', async () => {
    const p = await admin.createPrincipal({ name: 'Redis Redemptions' });
    const pc = new AteClient({ baseUrl: url, ...(await admin.post<{ keyId: string; secret: string }>(`/v1/admin/principals/${p.id}/keys`, {})) });
    const a = await pc.post<{ id: string; apiKey: { keyId: string; secret: string } }>('/v1/principal/agents', { name: 'rr-bot' });
    const c = new AteClient({ baseUrl: url, ...a.apiKey });
    await admin.deposit({ id: 'rr-allow', agentId: a.id, asset: 'RAP.1K', amount: '100' });
    await pc.put(`/v1/principal/agents/${a.id}/policy`, { approval: { ttlSeconds: 3600, redemptionsAbove: { 'RAP.1K': '5' } } });
    const held = await c.post<{ id: string; status: string; receipt: string | null }>('/v1/redemptions', {
      id: 'rr-1',
      asset: 'RAP.1K',
      amount: '25',
    });
    expect(held).toMatchObject({ status: 'pending_approval', receipt: null });

    await stopProcess(engine as ChildProcess, 'SIGTERM');
    engine = await startEngineProcess(engineEnv());
    await ready();
    const list = await pc.get<{ redemptions: { redemptionId: string; amount: string }[] }>('/v1/principal/approvals');
    expect(list.redemptions).toEqual([expect.objectContaining({ redemptionId: held.id, amount: '25' })]);
    const d = await pc.post<{ redemption: { status: string; receipt: string | null } }>(`/v1/principal/approvals/${held.id}/approve`);
    expect(d.redemption).toMatchObject({ status: 'issued', receipt: expect.stringMatching(/^ey/) });
    expect((await c.balances()).balances['RAP.1K']).toMatchObject({ total: '75' });
    expect(await admin.get(`/v1/redemptions/${held.id}`)).toMatchObject({ status: 'valid' });
    expect(await admin.reconciliation()).toMatchObject({ ok: true });
  });
});
