import type { MatchingEvent } from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { defineAsset } from '@ate/ledger';
import { expiryInstant } from './allowances';
import { APPROVALS_PENDING_PER_AGENT_MAX } from './approvals';
import type { BudgetPolicy } from './budgets';
import { EngineHost } from './engine-host';
import type { HostCommand, HostResult } from './host-types';
import { testMarketRow } from './market-config';
import type { CommittedEvent } from './outlet';
import { insertMarket } from './sql';

const M = 'AP.1K/CREDIT';
const X = 'XP.1K/CREDIT'; // its allowance expires (XP.1K, valid through 2030-01-01 UTC)
const A = 'agt_approve0001'; // buyer with a policy
const B = 'agt_approve0002'; // seller
const C = 'agt_approve0003'; // another buyer, no policy
const EXPIRY = expiryInstant('2030-01-01') as number;

/**
 * Approvals above a threshold and the expiry sweep of an allowance, in the real sequencer on real Postgres.
 * Command time is the host's Date.now(): the tests move it with an offset (time still flows), so the expiry
 * timer, the TTL of approval requests and the allowance's expiry run as they do in production.
 */
describe('approvals and allowance expiry in the sequencer (real Postgres)', () => {
  jest.setTimeout(60_000);
  let db: TestDatabase;
  let host: EngineHost;
  const realNow = Date.now.bind(Date);
  let offset = 0;
  const events: CommittedEvent[] = [];

  const row = async (id: number | string) =>
    (await db.pool.query(`SELECT status, reason, open_lots::int AS open, client_order_id FROM trading_order WHERE id = $1`, [id])).rows[0];
  const submit = (cmd: HostCommand): Promise<HostResult> => host.submit(cmd);
  const buy = (price: number, lots: number, clientOrderId?: string, agentId = A, marketId = M) =>
    submit({ kind: 'place', marketId, agentId, order: { type: 'limit', side: 'buy', price, lots, ...(clientOrderId ? { clientOrderId } : {}) } });
  const policy = (approval: BudgetPolicy['approval']): BudgetPolicy => ({
    caps: [{ windowMs: 3_600_000, limit: 1_000_000 }],
    maxOrderNotional: null,
    maxPrice: {},
    markets: null,
    orderTypes: null,
    expiresAt: null,
    approval,
  });
  const setPolicy = (p: BudgetPolicy | null) => submit({ kind: 'budget', op: { op: 'set_policy', agentId: A, policy: p } });
  const pending = async () =>
    ((await submit({ kind: 'approval', op: { op: 'list', agentIds: [A, B, C] } })).details as { pending: { orderId: number }[] }).pending.map(
      (p) => p.orderId,
    );
  const reserved = () => host.reserved(A, 'CREDIT');

  async function boot(opts: { restoreSnapshots?: boolean } = {}): Promise<void> {
    host = new EngineHost(
      db.pool,
      () => undefined,
      () => undefined,
      { snapshotEvery: 5, ...opts },
    );
    await host.load();
    host.subscribe((b) => void events.push(...b.commands.flatMap((c) => c.events)));
  }

  beforeAll(async () => {
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
    db = await createTestDatabase('approvals_seq');
    for (const [code, expiresOn] of [
      ['AP.1K', undefined],
      ['XP.1K', '2030-01-01'],
    ] as const) {
      expect(
        (await defineAsset(db.pool, { code, scale: 0, model: 'm', provider: 'p', tokenClass: 'out', ...(expiresOn ? { expiresOn } : {}) })).ok,
      ).toBe(true);
      expect(await insertMarket(db.pool, testMarketRow(code))).toBe(true);
    }
    await db.pool.query(`INSERT INTO agent (id, name) SELECT unnest($1::text[]), 'ap'`, [[A, B, C]]);
    await boot();
    for (const [agentId, asset] of [
      [A, 'CREDIT'],
      [B, 'AP.1K'],
      [B, 'XP.1K'],
      [C, 'CREDIT'],
      [B, 'CREDIT'],
    ] as const)
      expect(await submit({ kind: 'funds', op: 'deposit', agentId, asset, amount: 10_000_000n, transferId: `ap-${agentId}-${asset}` })).toMatchObject(
        {
          code: null,
        },
      );
  });
  afterAll(async () => {
    await host?.stop();
    await db?.drop();
    jest.restoreAllMocks();
  });

  it('an order above the threshold waits, reserving nothing; the same clientOrderId is the same order; approval sequences it with its own id', async () => {
    expect(await setPolicy(policy({ above: 50_000, ttlMs: 60_000 }))).toMatchObject({ code: null });
    const small = await buy(1000, 50); // 50,000: not above
    expect(small.order?.status).toBe('open');
    const big = await buy(1000, 60, 'big-1'); // 60,000: above
    expect(big).toMatchObject({
      code: null,
      order: { status: 'pending_approval' },
      details: { approval: { notional: '60.000', threshold: '50.000' } },
    });
    const id = big.orderId as number;
    expect(await row(id)).toMatchObject({ status: 'pending_approval', client_order_id: 'big-1' });
    expect(reserved()).toBe(50_000n); // only the small order's hold
    expect(await buy(1000, 60, 'big-1')).toMatchObject({ seq: null, existingOrderId: id });
    expect(await pending()).toEqual([id]);
    // later orders take later ids in this market: the approved order keeps its earlier one
    const later = await buy(900, 1);
    expect(later.orderId).toBeGreaterThan(id);
    const ok = await submit({ kind: 'approval', marketId: M, op: { op: 'approve', orderId: id } });
    expect(ok).toMatchObject({ code: null, orderId: id, order: { status: 'open', openLots: 60 }, details: { outcome: null } });
    expect(await row(id)).toMatchObject({ status: 'open', open: 60, client_order_id: 'big-1' });
    expect(reserved()).toBe(50_000n + 900n + 60_000n); // reserved once, at approval
    expect(await pending()).toEqual([]);
    // a second decision finds nothing pending
    expect(await submit({ kind: 'approval', marketId: M, op: { op: 'approve', orderId: id } })).toMatchObject({
      code: 'APPROVAL_NOT_PENDING',
      seq: null,
    });
    // it trades as any order: a seller crosses it
    const s = await submit({ kind: 'place', marketId: M, agentId: B, order: { type: 'limit', side: 'sell', price: 1000, lots: 110 } });
    expect(s.events.filter((e: MatchingEvent) => e.kind === 'trade').map((e) => (e.kind === 'trade' ? e.makerOrderId : 0))).toEqual([
      small.orderId,
      id,
    ]);
    expect((await host.agreement()).ok).toBe(true);
  });

  it.each([
    // [what, threshold and TTL, order, verdict]: in precedence order; an order the rules refuse now is refused now, never held
    ['at the threshold: placed', 60_000, [1000, 60], 'open', null],
    ['one credit above: held', 59_999, [1000, 60], 'pending_approval', null],
    ['above, but beyond its spend cap: refused now', 1, [1000, 2_000], 'rejected', 'BUDGET_EXCEEDED'],
    ['above, but outside the price band: refused now', 1, [5000, 1], 'rejected', 'MATCHING_PRICE_OUTSIDE_BAND'],
  ] as const)('%s', async (_, above, [price, lots], status, code) => {
    await setPolicy(policy({ above, ttlMs: 60_000 }));
    const r = await buy(price, lots);
    expect(r.order?.status).toBe(status);
    expect(r.code).toBe(code);
    if (r.order?.status === 'open') await submit({ kind: 'cancel', marketId: M, agentId: A, orderId: r.orderId as number });
    if (r.order?.status === 'pending_approval') await submit({ kind: 'approval', marketId: M, op: { op: 'reject', orderId: r.orderId as number } });
  });

  it('rejection and expiry end the wait without a trace in the book; an amend may not grow an order past the threshold', async () => {
    await setPolicy(policy({ above: 10_000, ttlMs: 10_000 }));
    const before = reserved();
    const r1 = (await buy(1000, 20, 'rej-1')).orderId as number;
    expect(await submit({ kind: 'approval', marketId: M, op: { op: 'reject', orderId: r1 } })).toMatchObject({ code: null });
    expect(await row(r1)).toMatchObject({ status: 'rejected', reason: 'APPROVAL_REJECTED' });
    // decided after its TTL (command time): it expires instead
    const r2 = (await buy(1000, 20, 'late-1')).orderId as number;
    offset += 10_001;
    expect(await submit({ kind: 'approval', marketId: M, op: { op: 'approve', orderId: r2 } })).toMatchObject({ code: 'APPROVAL_EXPIRED' });
    expect(await row(r2)).toMatchObject({ status: 'expired', reason: 'APPROVAL_EXPIRED' });
    // nobody decides: the expiry timer sends a tick at its TTL and it expires in the sequence
    const r3 = (await buy(1000, 20, 'timer-1')).orderId as number;
    offset += 10_001;
    await submit({ kind: 'approval', op: { op: 'list', agentIds: [A] } }); // any command re-arms the timer on the moved clock
    for (let i = 0; i < 200 && (await row(r3)).status === 'pending_approval'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await row(r3)).toMatchObject({ status: 'expired', reason: 'APPROVAL_EXPIRED' });
    expect(reserved()).toBe(before);
    // an amend above the threshold is refused; below it passes
    const small = await buy(600, 10);
    expect(await submit({ kind: 'amend', marketId: M, agentId: A, orderId: small.orderId as number, price: 600, lots: 17 })).toMatchObject({
      code: 'APPROVAL_AMEND_ABOVE_THRESHOLD',
      details: { threshold: '10.000', requested: '10.200' },
    });
    expect(await submit({ kind: 'amend', marketId: M, agentId: A, orderId: small.orderId as number, price: 600, lots: 16 })).toMatchObject({
      code: null,
    });
    await submit({ kind: 'cancel', marketId: M, agentId: A, orderId: small.orderId as number });
  });

  it('pending orders are state of the sequencer: replayed from the log and restored from a snapshot, then decided', async () => {
    await setPolicy(policy({ above: 10_000, ttlMs: 600_000 }));
    const ids = [(await buy(1000, 30, 'keep-1')).orderId as number, (await buy(1000, 40, 'keep-2')).orderId as number];
    const held = reserved();
    for (const restoreSnapshots of [false, true]) {
      await host.stop();
      await boot({ restoreSnapshots });
      expect(await pending()).toEqual(ids);
      expect(reserved()).toBe(held);
    }
    expect((await submit({ kind: 'approval', marketId: M, op: { op: 'approve', orderId: ids[0] as number } })).order?.status).toBe('open');
    expect(await submit({ kind: 'approval', marketId: M, op: { op: 'reject', orderId: ids[1] as number } })).toMatchObject({ code: null });
    expect(reserved()).toBe(held + 30_000n);
    await host.stop();
    await boot({ restoreSnapshots: false });
    expect(await pending()).toEqual([]);
    expect(reserved()).toBe(held + 30_000n);
    expect((await host.agreement()).ok).toBe(true);
    await setPolicy(null);
  });

  it('redemptions above their threshold wait (nothing burnt), survive a restart from the log and from a snapshot, then are burnt once or dropped', async () => {
    const total = () => host.holdings(B, 'AP.1K').total;
    const rule = { above: null, ttlMs: 600_000, redemptionsAbove: { 'AP.1K': { above: 100, scale: 0 } } };
    expect(await submit({ kind: 'budget', op: { op: 'set_policy', agentId: B, policy: { ...policy(rule), caps: [] } } })).toMatchObject({
      code: null,
    });
    const redeem = (id: string, amount: bigint) =>
      submit({
        kind: 'redeem',
        agentId: B,
        asset: 'AP.1K',
        amount,
        redemptionId: `rdm_${id.padEnd(12, '0')}`,
        clientRedemptionId: id,
        principalId: null,
      });
    const listed = async () =>
      (
        (await submit({ kind: 'approval', op: { op: 'list', agentIds: [B] } })).details as { redemptions: { id: string; amount: number }[] }
      ).redemptions.map((r) => [r.id, r.amount]);
    const status = async (id: string) => (await db.pool.query(`SELECT status, reason FROM redemption WHERE client_redemption_id = $1`, [id])).rows[0];
    const before = total();
    expect(await redeem('atthreshold', 100n)).toMatchObject({ code: null });
    expect(total()).toBe(before - 100n);
    expect(await redeem('waitone', 500n)).toMatchObject({ code: null });
    expect(await redeem('waittwo', 700n)).toMatchObject({ code: null });
    expect(await redeem('waitone', 500n)).toMatchObject({ duplicateTransfer: true }); // never a second hold
    expect(total()).toBe(before - 100n);
    expect(await status('waitone')).toEqual({ status: 'pending_approval', reason: null });
    for (const restoreSnapshots of [false, true]) {
      await host.stop();
      await boot({ restoreSnapshots });
      expect(await listed()).toEqual([
        ['rdm_waitone00000', 500],
        ['rdm_waittwo00000', 700],
      ]);
      expect(total()).toBe(before - 100n);
    }
    const yes = await submit({ kind: 'approval', op: { op: 'approve', redemptionId: 'rdm_waitone00000' } });
    expect(yes).toMatchObject({ code: null, change: { before: { status: 'pending_approval' }, after: { status: 'issued' } } });
    expect(await submit({ kind: 'approval', op: { op: 'approve', redemptionId: 'rdm_waitone00000' } })).toMatchObject({
      code: 'APPROVAL_NOT_PENDING',
    });
    expect(await submit({ kind: 'approval', op: { op: 'reject', redemptionId: 'rdm_waittwo00000' } })).toMatchObject({ code: null });
    expect([await status('waitone'), await status('waittwo')]).toEqual([
      { status: 'issued', reason: null },
      { status: 'rejected', reason: 'APPROVAL_REJECTED' },
    ]);
    expect(total()).toBe(before - 600n);
    await host.stop();
    await boot({ restoreSnapshots: false });
    expect(await listed()).toEqual([]);
    expect(total()).toBe(before - 600n);
    expect((await host.agreement()).ok).toBe(true);
    await submit({ kind: 'budget', op: { op: 'set_policy', agentId: B, policy: null } });
  });

  it('an agent has at most APPROVALS_PENDING_PER_AGENT_MAX requests waiting: the next is refused and its id stays free; a freeze cancels them all', async () => {
    const rule = { above: null, ttlMs: 600_000, redemptionsAbove: { 'AP.1K': { above: 1, scale: 0 } } };
    await submit({ kind: 'budget', op: { op: 'set_policy', agentId: B, policy: { ...policy(rule), caps: [] } } });
    const redeem = (id: string) =>
      submit({
        kind: 'redeem',
        agentId: B,
        asset: 'AP.1K',
        amount: 2n,
        redemptionId: `rdm_${id.padEnd(12, '0')}`,
        clientRedemptionId: id,
        principalId: null,
      });
    for (let i = 0; i < APPROVALS_PENDING_PER_AGENT_MAX; i++) expect((await redeem(`many${String(i).padStart(4, '0')}`)).code).toBeNull();
    expect(await redeem('onetoomany')).toMatchObject({ seq: null, code: 'APPROVAL_TOO_MANY_PENDING' });
    expect(await submit({ kind: 'approval', op: { op: 'reject', redemptionId: 'rdm_many00000000' } })).toMatchObject({ code: null });
    const retried = await redeem('onetoomany'); // the refused id was free: held now, not a duplicate
    expect(retried.code).toBeNull();
    expect(retried.duplicateTransfer).toBeUndefined();
    expect(retried.seq).not.toBeNull();
    const frozen = await submit({ kind: 'budget', op: { op: 'freeze', agentIds: [B], frozen: true, cancelOrders: false } });
    expect(frozen.code).toBeNull();
    const left = await submit({ kind: 'approval', op: { op: 'list', agentIds: [B] } });
    expect((left.details as { redemptions: unknown[] }).redemptions).toEqual([]);
    const rows = await db.pool.query(
      `SELECT status, reason, count(*)::int AS n FROM redemption WHERE client_redemption_id LIKE 'many%' OR client_redemption_id = 'onetoomany' GROUP BY 1, 2 ORDER BY 1`,
    );
    expect(rows.rows).toEqual([
      { status: 'canceled', reason: 'APPROVAL_CANCELLED', n: APPROVALS_PENDING_PER_AGENT_MAX },
      { status: 'rejected', reason: 'APPROVAL_REJECTED', n: 1 },
    ]);
    await submit({ kind: 'budget', op: { op: 'freeze', agentIds: [B], frozen: false, cancelOrders: false } });
    await submit({ kind: 'budget', op: { op: 'set_policy', agentId: B, policy: null } });
  });

  it('resting orders of an expired allowance are cancelled at its expiry, in the sequence, holds released, with a reason; the replay agrees', async () => {
    offset = EXPIRY - realNow() - 1_500; // 1.5 s before XP.1K expires
    await submit({ kind: 'budget', op: { op: 'read', agentIds: [A] } }); // a command: the expiry timer is armed on this clock
    const bid = await buy(1000, 5, 'x-bid', C, X);
    const ask = await submit({ kind: 'place', marketId: X, agentId: B, order: { type: 'limit', side: 'sell', price: 1400, lots: 7 } });
    const other = await buy(600, 3, 'keep-open', C, M); // another market: untouched
    expect([bid.order?.status, ask.order?.status, other.order?.status]).toEqual(['open', 'open', 'open']);
    expect(host.reserved(C, 'CREDIT')).toBe(5_000n + 1_800n);
    events.length = 0;
    // nobody sends anything: the timer's tick at the expiry cancels them
    for (let i = 0; i < 300 && host.openOrders(X) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(host.openOrders(X)).toBe(0);
    await host.flush(); // the engine ran the sweep; its batch commits next
    expect(await row(bid.orderId as number)).toMatchObject({ status: 'canceled', reason: 'MATCHING_CANCEL_ALLOWANCE_EXPIRED', open: 0 });
    expect(await row(ask.orderId as number)).toMatchObject({ status: 'canceled', reason: 'MATCHING_CANCEL_ALLOWANCE_EXPIRED' });
    expect(await row(other.orderId as number)).toMatchObject({ status: 'open' });
    expect(host.reserved(C, 'CREDIT')).toBe(1_800n);
    expect(host.reserved(B, 'XP.1K')).toBe(0n);
    const cancels = events.filter((e) => e.kind === 'cancelled');
    expect(cancels.map((e) => (e.kind === 'cancelled' ? [e.orderId, e.agentId, e.reason] : []))).toEqual(
      expect.arrayContaining([
        [bid.orderId, C, 'MATCHING_CANCEL_ALLOWANCE_EXPIRED'],
        [ask.orderId, B, 'MATCHING_CANCEL_ALLOWANCE_EXPIRED'],
      ]),
    );
    // in the log: one cancel_all per agent, at a command time at or after the expiry
    const log = await db.pool.query<{ ts: string; command: { c: { type: string; agent: number; reason?: string } } }>(
      `SELECT ts::text, command FROM engine_command WHERE command->'c'->>'reason' = 'MATCHING_CANCEL_ALLOWANCE_EXPIRED' ORDER BY seq`,
    );
    expect(log.rows).toHaveLength(2);
    for (const r of log.rows) expect(Number(r.ts)).toBeGreaterThanOrEqual(EXPIRY);
    // new orders are refused; the replay (log only, and from a snapshot) ends where the live run did
    expect((await buy(1000, 1, undefined, C, X)).code).toBe('ALLOWANCE_EXPIRED');
    for (const restoreSnapshots of [false, true]) {
      await host.stop();
      await boot({ restoreSnapshots });
      expect(host.openOrders(X)).toBe(0);
      expect(host.reserved(C, 'CREDIT')).toBe(1_800n);
      expect(host.reserved(B, 'XP.1K')).toBe(0n);
      expect((await host.agreement()).ok).toBe(true);
    }
  });
});
