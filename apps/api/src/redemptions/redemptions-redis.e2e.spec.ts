/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are read loosely; their schemas are checked by the contract test */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { freePort, startApiProcess, testApiEnv, untilReady } from '../testing/api-process';
import { startEngineProcess, stopProcess } from '../testing/engine-process';
import { dropRedisKeys, TEST_REDIS_URL as REDIS_URL, testRedisPrefix } from '../testing/redis';
import { TEST_ADMIN } from '../testing/test-app';

const M = 'RRD.1K/CREDIT';

/**
 * ENGINE_MODE=redis, where the path differs: the engine node (another process) burns the units and writes the
 * redemption row and the audit rows in its batch; the api signs the receipt. A SIGKILL of the engine node and a
 * restart replay redemptions and rule changes from the log to the same balances and rules.
 */
describe('redemptions and audited admin actions with api and engine apart over Redis', () => {
  jest.setTimeout(120_000);
  const REDIS_PREFIX = testRedisPrefix('redeem-redis');
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
    ENGINE_NODE_ID: `e2e-rdm-${process.pid}`,
    ENGINE_HEARTBEAT_MS: '250',
    LOG_LEVEL: 'warn',
  });
  const serving = async () => {
    await untilReady(url, 'the engine node never served');
  };

  beforeAll(async () => {
    db = await createTestDatabase('redeem_redis');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    admin = new AteClient({ baseUrl: url, ...TEST_ADMIN });
    api = await startApiProcess(
      testApiEnv(
        { databaseUrl: db.url, port, masterKey: master }, // a shared machine under load: deadlines that do not fail the test for slowness
        { REDIS_URL, REDIS_PREFIX, ENGINE_MODE: 'redis', ENGINE_COMMAND_DEADLINE_MS: '20000', ENGINE_REPLY_TIMEOUT_MS: '40000' },
      ),
      {
        ready: 'listening',
      },
    );
    engine = await startEngineProcess(engineEnv());
    await serving();
  });
  afterAll(async () => {
    if (engine) await stopProcess(engine, 'SIGKILL');
    if (api) await stopProcess(api, 'SIGKILL');
    await dropRedisKeys(REDIS_PREFIX);
    await db?.drop();
  });

  it('redeems through the engine node with a receipt that verifies offline; idempotent; expiry refused; audited admin actions; replayed after a SIGKILL', async () => {
    await admin.defineAsset({ code: 'RRD.1K', scale: 0, model: 'gpt-r', provider: 'p', tokenClass: 'output' });
    await admin.defineAsset({ code: 'ROLD.1K', scale: 0, model: 'gpt-o', provider: 'p', tokenClass: 'output', expiresOn: '2022-02-02' });
    await admin.createMarket({ base: 'RRD.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, priceBandBps: 5000 });
    const a = await admin.createAgent({ name: 'r' });
    const agent = new AteClient({ baseUrl: url, ...a.apiKey! });
    await admin.raw('POST', '/v1/admin/deposits', { id: 'rr-1', agentId: a.id, asset: 'RRD.1K', amount: '50', reason: 'grant' });
    await admin.raw('POST', '/v1/admin/deposits', { id: 'rr-2', agentId: a.id, asset: 'ROLD.1K', amount: '5' });

    const r = await agent.raw<any>('POST', '/v1/redemptions', { id: 'job', asset: 'RRD.1K', amount: '20' });
    expect(r).toMatchObject({ status: 200, body: { amount: '20', replayed: false } });
    const jwks = await fetch(`${url}/.well-known/jwks.json`).then((x) => x.json());
    expect((await jwtVerify(r.body.receipt, createLocalJWKSet(jwks as never))).payload).toMatchObject({ jti: r.body.id, sub: a.id, amount: '20' });
    expect((await agent.raw<any>('POST', '/v1/redemptions', { id: 'job', asset: 'RRD.1K', amount: '20' })).body).toMatchObject({
      receipt: r.body.receipt,
      replayed: true,
    });
    expect((await agent.raw<any>('POST', '/v1/redemptions', { id: 'old', asset: 'ROLD.1K', amount: '1' })).body.error).toMatchObject({
      code: 'ALLOWANCE_EXPIRED',
      details: { expiresAt: '2022-02-03T00:00:00.000Z' },
    });
    const rules = await admin.raw<any>('PATCH', `/v1/admin/markets/${encodeURIComponent(M)}/rules`, { maxOrderLots: 7, reason: 'r' });
    expect(rules.status).toBe(200);
    const audit = (await admin.raw<any>('GET', '/v1/admin/audit')).body.entries;
    expect(audit.slice(0, 3)).toMatchObject([
      { action: 'market.rules', commandSeq: rules.body.seq, after: { maxOrderLots: 7 } },
      { action: 'funds.mint', target: { id: a.id }, reason: null },
      { action: 'funds.mint', target: { id: a.id }, reason: 'grant', after: { total: '50' } },
    ]);
    const balances = await agent.balances();

    // the engine node dies; the next one replays the redemption and the rule change from the log
    await stopProcess(engine!, 'SIGKILL');
    engine = await startEngineProcess(engineEnv());
    // the api notices the old node's end and the new one's start on its own polls: until then it answers
    // 503 not_executed (nothing done), which a client retries
    const retried = async <T>(call: () => Promise<{ status: number; body: T }>) => {
      let r = await call();
      for (let i = 0; r.status === 503 && i < 200; i++) {
        await new Promise((res) => setTimeout(res, 100));
        r = await call();
      }
      return r;
    };
    expect(await retried(() => admin.raw<any>('GET', '/v1/admin/reconciliation'))).toMatchObject({
      status: 200,
      body: { ok: true, engine: { ok: true }, audit: { ok: true } },
    });
    expect((await retried(() => agent.raw<any>('GET', '/v1/account/balances'))).body).toEqual(balances);
    const big = await retried(() => agent.raw<any>('POST', '/v1/orders', { market: M, side: 'sell', type: 'limit', price: '1.000', quantity: '8' }));
    expect(big.body.error.code).toBe('MATCHING_INVALID_SIZE');
  });
});
