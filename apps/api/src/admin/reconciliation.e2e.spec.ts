import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { applyBatch } from '@ate/ledger';
import { dropRedisKeys, TEST_REDIS_URL, testRedisPrefix } from '../testing/redis';
import { startTestApp, testConfig } from '../testing/test-app';

const M = 'REC.1K/CREDIT';
const ME = encodeURIComponent(M);
const REDIS_PREFIX = testRedisPrefix('rec');

/**
 * Reconciliation on real Postgres and Redis: the ledger's promises and the engine's agreement with the database,
 * on demand, and scheduled as a BullMQ job that halts trading when it finds a violation.
 */
describe('reconciliation (real Postgres, real Redis, real HTTP)', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let admin: AteClient;
  let alice: AteClient;
  let aliceId: string;
  let restingId: string;

  beforeAll(async () => {
    db = await createTestDatabase('reconciliation');
    let url: string;
    ({ app, url, admin } = await startTestApp(testConfig(db, { REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX, RECONCILE_EVERY_MS: '500' })));
    await admin.defineAsset({ code: 'REC.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'REC.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, priceBandBps: 5000 });
    const a = await admin.createAgent({ name: 'alice' });
    const b = await admin.createAgent({ name: 'bob' });
    aliceId = a.id;
    alice = new AteClient({ baseUrl: url, ...a.apiKey! });
    const bob = new AteClient({ baseUrl: url, ...b.apiKey! });
    await admin.deposit({ id: 'a-c', agentId: a.id, asset: 'CREDIT', amount: '100' });
    await admin.deposit({ id: 'b-t', agentId: b.id, asset: 'REC.1K', amount: '100' });
    await bob.placeOrder({ market: M, side: 'sell', type: 'limit', price: '1.000', quantity: '10' });
    await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '4', timeInForce: 'IOC' });
    restingId = (await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '0.900', quantity: '5' })).id;
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await dropRedisKeys(REDIS_PREFIX);
  });

  /** Moves credits between alice's ledger account and issuance behind the engine's back (what a bug or an intruder would do). */
  async function mintBehindTheEngine(id: string, amount: bigint, op: 'mint' | 'burn'): Promise<void> {
    const acc = await db.pool.query<{ id: string; owner_kind: string }>(
      `SELECT id, owner_kind FROM ledger_account WHERE asset = 'CREDIT' AND ((owner_kind = 'agent' AND owner_id = $1) OR (owner_kind = 'system' AND owner_id = 'issuance'))`,
      [aliceId],
    );
    const user = acc.rows.find((r) => r.owner_kind === 'agent')!.id;
    const issuance = acc.rows.find((r) => r.owner_kind === 'system')!.id;
    const [from, to] = op === 'mint' ? [issuance, user] : [user, issuance];
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const [r] = await applyBatch(client, [
        {
          kind: 'transfer',
          type: op,
          id,
          legs: [
            { accountId: from, side: 'debit', amount },
            { accountId: to, side: 'credit', amount },
          ],
        },
      ]);
      expect(r).toMatchObject({ ok: true });
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }

  const marketState = async () => (await alice.markets()).markets.find((m: { symbol: string }) => m.symbol === M)?.state;

  it('on demand: the ledger holds its promises and the engine agrees with the database', async () => {
    const r = await admin.reconciliation();
    expect(r).toMatchObject({ ok: true, violations: [], engine: { ok: true, violations: [] } });
    expect(r.engine.accountsChecked).toBe(4); // alice and bob, CREDIT and REC.1K
    expect(r.engine.ordersChecked).toBe(2); // bob's partly filled sell and alice's bid
  });

  it('an open order whose projection differs from the engine is reported', async () => {
    await db.pool.query('UPDATE trading_order SET open_lots = open_lots + 1 WHERE id = $1', [restingId]);
    try {
      const r = await admin.reconciliation();
      expect(r.ok).toBe(false);
      expect(r.engine.violations).toEqual([
        {
          check: 'order',
          details: { orderId: restingId, marketId: M, projection: { price: 900, openLots: '6' }, engine: { price: 900, openLots: 5 } },
        },
      ]);
    } finally {
      await db.pool.query('UPDATE trading_order SET open_lots = open_lots - 1 WHERE id = $1', [restingId]);
    }
  });

  it('money moved behind the engine is found, the scheduled run halts trading, and an operator resumes it', async () => {
    // a scheduled run may have caught the previous test's tampering: start from an open, consistent market
    expect(await admin.reconciliation()).toMatchObject({ ok: true });
    await admin.raw('POST', `/v1/admin/markets/${ME}/state`, { state: 'open' });
    expect(await marketState()).toBe('open');

    await mintBehindTheEngine('sneaky-mint', 5000n, 'mint');
    const r = await admin.reconciliation();
    expect(r.violations).toEqual([]); // the ledger itself is consistent...
    expect(r.ok).toBe(false); // ...but the engine does not know these credits
    expect(r.engine.violations).toEqual([{ check: 'balance', details: { agentId: aliceId, asset: 'CREDIT', ledger: '101000', engine: '96000' } }]);

    // the scheduled run (a BullMQ job every 500 ms) halts the market
    const t0 = Date.now();
    while ((await marketState()) !== 'halted' && Date.now() - t0 < 10_000) await new Promise((res) => setTimeout(res, 100));
    expect(await marketState()).toBe('halted');
    // the halt is the system's action, audited in the batch that halted the market, with what caused it
    const audit = (await admin.raw<any>('GET', `/v1/admin/audit?action=market.state&target=${ME}&limit=1`)).body.entries[0];
    expect(audit).toMatchObject({
      actor: { kind: 'system', id: null, keyId: null },
      action: 'market.state',
      target: { kind: 'market' },
      reason: 'reconciliation: 0 ledger and 1 engine violation(s)',
      after: { state: 'halted', engine: [{ check: 'balance', details: { agentId: aliceId, asset: 'CREDIT' } }] },
    });
    expect(audit.commandSeq).not.toBeNull();
    expect(await alice.raw<any>('POST', '/v1/orders', { market: M, side: 'buy', type: 'limit', price: '0.900', quantity: '1' })).toMatchObject({
      status: 422,
      body: { error: { code: 'MATCHING_MARKET_HALTED' } },
    });

    // the operator undoes the cause, checks, and resumes
    await mintBehindTheEngine('sneaky-mint-undone', 5000n, 'burn');
    expect(await admin.reconciliation()).toMatchObject({ ok: true, engine: { ok: true } });
    expect(await admin.raw('POST', `/v1/admin/markets/${ME}/state`, { state: 'open' })).toMatchObject({
      status: 200,
      body: { id: 'REC.1K-CREDIT', state: 'open' }, // answers name a market by its id
    });
    expect(await marketState()).toBe('open');
    await new Promise((res) => setTimeout(res, 1200)); // two more scheduled runs: nothing to halt
    expect(await marketState()).toBe('open');
    expect((await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '0.900', quantity: '1' })).status).toBe('open');
  });
});
