import { createTestDatabase, TestDatabase } from '@ate/db';
import { defineAsset } from '@ate/ledger';
import { AllowanceTerms, expiryInstant } from './allowances';
import { AuditContext, verifyAuditChain } from './audit';
import { EngineHost } from './engine-host';

const M = 'RD.1K/CREDIT';
const OLD = 'OLD.1K';
const A = 'agt_redeem0001';
const B = 'agt_redeem0002';

const admin = (action: string, targetId: string): AuditContext => ({
  actorKind: 'admin',
  actorId: null,
  keyId: 'ak_testtesttesttesttest',
  requestId: 'req-1',
  action,
  targetKind: 'agent',
  targetId,
  reason: 'spec',
});

describe('allowance expiry is decided on command time', () => {
  const t = new AllowanceTerms();
  t.define([{ code: 'X', kind: 'allowance', model: 'm', tokenClass: 'out', expiresOn: '2026-12-01' }]);
  const at = Date.UTC(2026, 11, 2); // valid through 2026-12-01 UTC
  it.each([
    ['a millisecond before the end of the last day', at - 1, false],
    ['at the first instant of the next day', at, true],
    ['a day later', at + 86_400_000, true],
  ])('%s', (_, ts, expired) => {
    expect(expiryInstant('2026-12-01')).toBe(at);
    expect(t.expired('X', ts)).toBe(expired);
    const order = { type: 'limit', ts, orderId: 1, agent: 1, side: 'buy', price: 1, lots: 1, tif: 'GTC' } as const;
    expect(t.refuseOrder('X', order)?.code ?? null).toBe(expired ? 'ALLOWANCE_EXPIRED' : null);
    expect(t.refuseOrder('X', { type: 'cancel', ts, agent: 1, orderId: 1 })).toBeNull(); // cancels always pass
  });
});

/** Redemptions, rule changes and audit rows through the real sequencer on real Postgres. */
describe('redemption, market rules and the audit log in the sequencer (real Postgres)', () => {
  jest.setTimeout(60_000);
  let db: TestDatabase;
  let host: EngineHost;
  const ledgerBalance = async (agent: string, asset: string) =>
    (await db.pool.query(`SELECT balance::text FROM ledger_account WHERE owner_kind = 'agent' AND owner_id = $1 AND asset = $2`, [agent, asset]))
      .rows[0]?.balance;
  const count = async (sql: string, p: unknown[] = []) => Number((await db.pool.query(sql, p)).rows[0].n);

  beforeAll(async () => {
    db = await createTestDatabase('redemption_seq');
    expect((await defineAsset(db.pool, { code: 'RD.1K', scale: 0, model: 'gpt-x', provider: 'p', tokenClass: 'output' })).ok).toBe(true);
    expect(
      (await defineAsset(db.pool, { code: OLD, scale: 0, model: 'gpt-old', provider: 'p', tokenClass: 'output', expiresOn: '2020-01-01' })).ok,
    ).toBe(true);
    for (const [id, base] of [
      [M, 'RD.1K'],
      [`${OLD}/CREDIT`, OLD],
    ]) {
      await db.pool.query(
        `INSERT INTO market (id, base_asset, tick_size, lot_size, min_order_lots, max_order_lots, max_price_ticks, price_band_bps,
                             initial_price_ticks, default_stp, orders_per_agent_max, max_spend_credits, maker_fee_bps, taker_fee_bps)
         VALUES ($1, $2, 1, 1, 1, 1000000, 1048576, 5000, 1000, 'cancel_taker', 100000, 1000000000, 0, 0)`,
        [id, base],
      );
    }
    await db.pool.query(`INSERT INTO agent (id, name) SELECT unnest($1::text[]), 'r'`, [[A, B]]);
    host = new EngineHost(
      db.pool,
      () => undefined,
      () => undefined,
      { snapshotEvery: 7 },
    );
    await host.load();
    for (const [agentId, asset, amount] of [
      [A, 'RD.1K', 1000n],
      [A, 'CREDIT', 1_000_000n],
      [A, OLD, 50n],
      [B, 'CREDIT', 1_000_000n],
    ] as const) {
      expect(await host.submit({ kind: 'funds', op: 'deposit', agentId, asset, amount, transferId: `dep-${agentId}-${asset}` })).toMatchObject({
        code: null,
      });
    }
  });
  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  const redeem = (clientRedemptionId: string, amount: bigint, asset = 'RD.1K', redemptionId = `rdm_${clientRedemptionId.padEnd(12, '0')}`) =>
    host.submit({ kind: 'redeem', agentId: A, asset, amount, redemptionId, clientRedemptionId, principalId: null });

  it('a redemption burns from the agent to the redemption account, once per client id, as the balance view sees it', async () => {
    const first = await redeem('one', 100n);
    expect(first).toMatchObject({ code: null, change: { before: { total: '1000' }, after: { total: '900' } } });
    const again = await redeem('one', 100n, 'RD.1K', 'rdm_other0000000');
    expect(again).toMatchObject({ seq: null, code: null, duplicateTransfer: true });
    // the same id twice in one batch: one burn
    const [x, y] = await Promise.all([redeem('two', 10n), redeem('two', 10n, 'RD.1K', 'rdm_twin00000000')]);
    expect([x.duplicateTransfer ?? false, y.duplicateTransfer ?? false].sort()).toEqual([false, true]);
    expect(host.holdings(A, 'RD.1K').total).toBe(890n);
    expect(await ledgerBalance(A, 'RD.1K')).toBe('890');
    expect(await count(`SELECT count(*) AS n FROM redemption WHERE agent_id = $1`, [A])).toBe(2);
    const sys = await db.pool.query(
      `SELECT balance::text FROM ledger_account WHERE owner_kind = 'system' AND owner_id = 'redemption' AND asset = 'RD.1K'`,
    );
    expect(sys.rows[0].balance).toBe('110');
    expect((await host.agreement()).ok).toBe(true);
  });

  it('a redemption cannot take what open orders reserve, nor more than is held; nothing is written for a refusal', async () => {
    expect(
      (await host.submit({ kind: 'place', marketId: M, agentId: A, order: { type: 'limit', side: 'sell', price: 1400, lots: 800 } })).code,
    ).toBeNull();
    const before = await count('SELECT count(*) AS n FROM engine_command');
    expect(await redeem('three', 91n)).toMatchObject({ seq: null, code: 'REDEMPTION_INSUFFICIENT_BALANCE', details: { available: '90' } });
    expect(await count('SELECT count(*) AS n FROM engine_command')).toBe(before);
    expect(await count(`SELECT count(*) AS n FROM redemption WHERE client_redemption_id = 'three'`)).toBe(0);
    expect(await redeem('three', 90n)).toMatchObject({ code: null });
  });

  it('an expired allowance is not redeemed and its market takes no orders (cancels pass)', async () => {
    expect(await redeem('old', 1n, OLD)).toMatchObject({ code: 'ALLOWANCE_EXPIRED', details: { asset: OLD, expiresAt: '2020-01-02T00:00:00.000Z' } });
    const r = await host.submit({
      kind: 'place',
      marketId: `${OLD}/CREDIT`,
      agentId: A,
      order: { type: 'limit', side: 'sell', price: 1000, lots: 1 },
    });
    expect(r).toMatchObject({ code: 'ALLOWANCE_EXPIRED', details: { asset: OLD } });
    expect(host.holdings(A, OLD)).toEqual({ total: 50n, reserved: 0n });
    expect((await host.submit({ kind: 'cancel_all', agentId: A, marketId: `${OLD}/CREDIT` })).code).toBeNull();
  });

  it('a rule change applies from its command on, and a replay (whole log or from a snapshot) judges each order by the rules of its time', async () => {
    // B buys 500 lots under the old rules (max 1,000,000 lots); then the max is lowered to 100 and fees raised
    const big = await host.submit({ kind: 'place', marketId: M, agentId: B, order: { type: 'limit', side: 'buy', price: 1300, lots: 500 } });
    expect(big.code).toBeNull();
    const change = await host.submit({
      kind: 'set_rules',
      marketId: M,
      rules: { maxOrderLots: 100, takerFeeBps: 25 },
      audit: admin('market.rules', M),
    });
    expect(change).toMatchObject({
      code: null,
      change: { before: { maxOrderLots: 1000000, takerFeeBps: 0 }, after: { maxOrderLots: 100, takerFeeBps: 25 } },
    });
    expect((await host.submit({ kind: 'place', marketId: M, agentId: B, order: { type: 'limit', side: 'buy', price: 1300, lots: 101 } })).code).toBe(
      'MATCHING_INVALID_SIZE',
    );
    // refused changes log nothing
    expect(await host.submit({ kind: 'set_rules', marketId: M, rules: { maxPriceTicks: 1000 } })).toMatchObject({ code: 'VALIDATION_FAILED' });
    const row = await db.pool.query(`SELECT max_order_lots, taker_fee_bps FROM market WHERE id = $1`, [M]);
    expect(row.rows[0]).toEqual({ max_order_lots: 100, taker_fee_bps: 25 });
    // a trade under the new fee: B takes 100 lots of A's resting ask; B pays 25 bps of the 100 units it receives
    const take = await host.submit({
      kind: 'place',
      marketId: M,
      agentId: B,
      order: { type: 'limit', side: 'buy', price: 1400, lots: 100, tif: 'IOC' },
    });
    expect(take.code).toBeNull();
    expect(host.holdings(B, 'RD.1K').total).toBe(99n);
    const before = { a: host.holdings(A, 'RD.1K'), b: host.holdings(B, 'RD.1K'), bc: host.holdings(B, 'CREDIT') };
    for (const restoreSnapshots of [false, true]) {
      await host.exclusive(() => host.load({}));
      const fresh = new EngineHost(
        db.pool,
        () => undefined,
        () => undefined,
        { restoreSnapshots },
      );
      const r = await fresh.load();
      expect(r.fromSnapshot === null).toBe(!restoreSnapshots);
      expect({ a: fresh.holdings(A, 'RD.1K'), b: fresh.holdings(B, 'RD.1K'), bc: fresh.holdings(B, 'CREDIT') }).toEqual(before);
      expect(fresh.market(M)?.config.maxOrderLots).toBe(100);
      expect(fresh.market(M)?.takerFeeBps).toBe(25);
      expect(fresh.restingOrder(M, big.orderId as number)).toEqual({ price: 1300, lots: 500 }); // accepted under the rules of its time
    }
    expect((await host.agreement()).ok).toBe(true);
  });

  it('an audited command writes its row in its batch; a refused one writes none; the chain verifies and a tampered row is found', async () => {
    const rows0 = await count('SELECT count(*) AS n FROM audit_log');
    const r = await host.submit({
      kind: 'funds',
      op: 'deposit',
      agentId: B,
      asset: 'RD.1K',
      amount: 5n,
      transferId: 'mint:aud-1',
      audit: admin('funds.mint', B),
    });
    expect(r.code).toBeNull();
    const refused = await host.submit({
      kind: 'funds',
      op: 'withdraw',
      agentId: B,
      asset: 'RD.1K',
      amount: 10_000n,
      transferId: 'burn:aud-2',
      audit: admin('funds.burn', B),
    });
    expect(refused.code).toBe('MATCHING_INSUFFICIENT_BALANCE');
    const rows = (await db.pool.query('SELECT * FROM audit_log ORDER BY seq')).rows;
    expect(rows.length).toBe(rows0 + 1);
    expect(rows.at(-1)).toMatchObject({ action: 'funds.mint', target_id: B, command_seq: r.seq, before: { total: '99' }, after: { total: '104' } });
    expect(await verifyAuditChain((t, p) => db.pool.query(t, p))).toMatchObject({ ok: true, rowsChecked: rows0 + 1 });

    await db.pool.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    try {
      await db.pool.query(`UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 1`);
      expect(await verifyAuditChain((t, p) => db.pool.query(t, p))).toMatchObject({
        ok: false,
        violations: [{ check: 'hash differs from the stored row', details: { seq: '1' } }],
      });
    } finally {
      await db.pool.query(`UPDATE audit_log SET reason = 'spec' WHERE seq = 1`);
      await db.pool.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
    }
    expect((await verifyAuditChain((t, p) => db.pool.query(t, p))).ok).toBe(true);
  });

  it.each([
    [
      'the audit row cannot be written: the action is not committed',
      `CREATE OR REPLACE FUNCTION spec_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no audit'; END $$;
      CREATE TRIGGER spec_fail BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION spec_fail()`,
      'audit_log',
    ],
    [
      'the action fails at commit after its audit row was written: the row is not committed',
      `CREATE OR REPLACE FUNCTION spec_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no transfer'; END $$;
      CREATE CONSTRAINT TRIGGER spec_fail AFTER INSERT ON ledger_transfer DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION spec_fail()`,
      'ledger_transfer',
    ],
  ])('%s', async (_, trigger, table) => {
    const audit0 = await count('SELECT count(*) AS n FROM audit_log');
    const log0 = await count('SELECT count(*) AS n FROM engine_command');
    const held = host.holdings(B, 'RD.1K');
    await db.pool.query(trigger);
    try {
      await expect(
        host.submit({
          kind: 'funds',
          op: 'deposit',
          agentId: B,
          asset: 'RD.1K',
          amount: 7n,
          transferId: `mint:fail-${table}`,
          audit: admin('funds.mint', B),
        }),
      ).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    } finally {
      await db.pool.query(`DROP TRIGGER spec_fail ON ${table}`);
    }
    await host.flush();
    for (let i = 0; i < 300 && !host.attached; i++) await new Promise((r) => setTimeout(r, 50)); // the host rebuilds from the log
    expect(await count('SELECT count(*) AS n FROM audit_log')).toBe(audit0);
    expect(await count('SELECT count(*) AS n FROM engine_command')).toBe(log0);
    expect(await count(`SELECT count(*) AS n FROM ledger_transfer WHERE id = $1`, [`mint:fail-${table}`])).toBe(0);
    expect(host.holdings(B, 'RD.1K')).toEqual(held);
    expect((await verifyAuditChain((t, p) => db.pool.query(t, p))).ok).toBe(true);
  });
});
