import { CREDIT, MatchingCommand, Rejection } from '@ate/contracts';
import { BalanceView, DEFAULT_MARKET_CONFIG, MatchingEngine } from '@ate/matching';
import { clearMultiUnit } from '@ate/mechanisms';
import fc from 'fast-check';
import type { AuctionOp } from './auctions';
import { BudgetLogged, BudgetPolicy, RedemptionCap } from './budgets';
import { EngineCore, LoggedCommand } from './core';
import { decodeSnapshot, encodeSnapshot, engineSnapshot, restoreBalancesInto, SNAPSHOT_FORMAT } from './engine-snapshot';
import type { HostMarket } from './host-types';
import { captureState } from './snapshots';

/**
 * Budget policies on auction bids, posted-price purchases and redemptions (budgets-mechanisms.ts) as a
 * specification, through the real EngineCore (pure: no I/O): the refusals in their order of precedence, each
 * changing nothing; a bid's reservation from admission to withdrawal, loss or payment; purchases admitted exactly
 * while they fit; redemption caps as a counter of their own; and random runs whose log replays, and whose snapshot
 * restores and replays on, to exactly the same state.
 */

const M = 'TOK/CREDIT';
const TOK = 'TOK';
// a lot is 10 units of TOK; a tick 1 credit (minor units) per lot
const config = {
  ...DEFAULT_MARKET_CONFIG,
  marketId: M,
  baseAsset: TOK,
  lotSize: 10,
  initialPriceTicks: 100,
  priceBandBps: 10_000,
  maxPriceTicks: 1000,
};
const SELLER = 1;
const T0 = 1_000_000;

function newCore(): EngineCore {
  return new EngineCore(new BalanceView([CREDIT, TOK], 64), [{ id: M, config, makerFeeBps: 0, takerFeeBps: 0, feeRounding: 'up' }], (n) => `a${n}`);
}

const policy = (p: Partial<BudgetPolicy> = {}): BudgetPolicy => ({
  caps: [],
  maxOrderNotional: null,
  maxPrice: {},
  markets: null,
  orderTypes: null,
  expiresAt: null,
  ...p,
});

type Entry = { marketId: string | null; c: LoggedCommand };

/** A core and its command log: every accepted command is logged as the host logs it. */
class World {
  readonly core = newCore();
  readonly log: Entry[] = [];
  get m(): HostMarket {
    return this.core.markets.get(M) as HostMarket;
  }
  fund(agent: number, asset: string, amount: number): void {
    expect(this.core.funds('deposit', agent, asset, amount)).toBe(true);
    this.log.push({ marketId: null, c: { t: 'f', op: 'deposit', agent, asset, amount: String(amount) } });
  }
  budget(c: BudgetLogged): void {
    expect(this.core.budgets.apply(c, this.core.markets.values(), this.core.balances)).toBe(true);
    this.log.push({ marketId: null, c });
  }
  /** An auction or pool op: its refusal code (and details), or null when accepted (and logged). */
  auction(op: AuctionOp, ts: number): { code: string; details?: Record<string, unknown> } | null {
    const r = this.core.auctions.apply(op, ts);
    if ('refused' in r) return { code: r.refused, ...(r.details ? { details: r.details } : {}) };
    this.log.push({ marketId: null, c: { t: 'a', ts, op } });
    return null;
  }
  order(c: MatchingCommand): { code: string | null; trades: { buyer: number; notional: number }[] } {
    this.log.push({ marketId: M, c: { t: 'm', c } });
    const a = this.core.matching(this.m, c, `a${'agent' in c ? c.agent : ''}`);
    const trades = a.events.flatMap((e) =>
      e.kind === 'trade' ? [{ buyer: e.takerSide === 'buy' ? e.takerAgent : e.makerAgent, notional: e.notional }] : [],
    );
    return { code: a.code, trades };
  }
  buy(agent: number, price: number, lots: number, ts: number, tif: 'GTC' | 'IOC' = 'GTC') {
    return this.order({ type: 'limit', ts, orderId: ++this.core.lastOrderId, agent, side: 'buy', price, lots, tif });
  }
  /** A redemption as the redeem handler runs it: the budget's verdict, the balance, the counter, the log entry. */
  redeem(agent: number, amount: number, ts: number): Rejection | 'insufficient' | null {
    const refused = this.core.spend.redemption(agent, TOK, amount, ts);
    if (refused) return refused;
    if (!this.core.funds('withdraw', agent, TOK, amount)) return 'insufficient';
    this.core.spend.redeemed(agent, TOK, amount, ts);
    this.log.push({ marketId: null, c: { t: 'r', agent, asset: TOK, amount: String(amount), ts } });
    return null;
  }
  /** The whole deterministic state that budgets, auctions and balances make up. */
  state(): string {
    const c = this.core;
    return JSON.stringify({ b: c.budgets.snapshot(), a: c.auctions.toJSON(), v: c.balances.snapshotSparse() });
  }
}

const stateOf = (c: EngineCore) => JSON.stringify({ b: c.budgets.snapshot(), a: c.auctions.toJSON(), v: c.balances.snapshotSparse() });

/** The clearing the api would carry for a multi-unit auction (libs/mechanisms on the sealed bids as sequenced). */
function settleOp(core: EngineCore, id: string): Extract<AuctionOp, { op: 'settle' }> {
  const a = core.auctions.auction(id);
  if (!a) throw new Error(`no auction ${id}`);
  const c = clearMultiUnit({
    units: a.units,
    reservePrice: a.reservePrice,
    bids: [...a.bids.values()].map((x) => ({ bidder: String(x.agent), steps: x.steps })),
  });
  if ('code' in c) throw new Error(c.code);
  return {
    op: 'settle',
    id,
    awards: c.awards.filter((w) => w.units > 0n).map((w) => [Number(w.bidder), w.units.toString(), w.payment.toString()] as [number, string, string]),
    unitsSold: c.unitsSold.toString(),
    revenue: c.revenue.toString(),
  };
}

const create = (id: string, deadline: number, units = '4'): AuctionOp => ({
  op: 'create',
  id,
  seller: SELLER,
  asset: TOK,
  units,
  reserve: '0',
  feeBps: 0,
  deadline,
});
const bid = (id: string, agent: number, steps: [string, string][]): AuctionOp => ({ op: 'bid', id, agent, steps });
const fixedPool: AuctionOp = {
  op: 'pool_create',
  id: 'p1',
  asset: TOK,
  mode: 'fixed',
  price: '7',
  supply: '1000000',
  capacity: '0',
  minPrice: '0',
  maxPrice: '0',
  epochMs: 0,
};
const purchase = (agent: number, units: string, maxPrice: string): AuctionOp => ({ op: 'pool_buy', id: 'p1', agent, units, maxPrice });

/** A world with a seller holding allowances, an open auction a1 and a fixed-price pool p1. */
function world(): World {
  const w = new World();
  w.fund(SELLER, TOK, 1_000_000);
  for (const n of [2, 3, 4, 5, 6]) w.fund(n, CREDIT, 1_000_000);
  expect(w.auction(create('a1', T0 + 1000), T0)).toBeNull();
  expect(w.auction(fixedPool, T0)).toBeNull();
  return w;
}

describe('a bid passes the budget check like an order, in a documented order, and a refusal changes nothing', () => {
  const AGENT = 2;
  const PARENT = 3;
  // the bid: 2 units at 50 per unit: its maximum payment is 100 (0.100 credit), its unit price 50 (500 per lot of 10)
  const theBid = bid('a1', AGENT, [['2', '50']]);
  // each rule broken, in the order they are checked; row k breaks rules k.. (so rule k is the one that answers)
  const rules: [string, string, (w: World) => void][] = [
    ['the agent frozen', 'BUDGET_AGENT_FROZEN', (w) => w.budget({ t: 'b', op: 'freeze', agents: [AGENT], frozen: true })],
    ['the delegation expired', 'BUDGET_POLICY_EXPIRED', () => undefined],
    ['the asset not allowed', 'BUDGET_MARKET_NOT_ALLOWED', () => undefined],
    ['the maximum payment above maxOrderNotional', 'BUDGET_ORDER_NOTIONAL_EXCEEDED', () => undefined],
    ['the unit price above the ceiling per lot', 'BUDGET_PRICE_ABOVE_CEILING', () => undefined],
    ['a spend cap', 'BUDGET_EXCEEDED', () => undefined],
    ['the carve-out', 'BUDGET_EXCEEDED', () => undefined],
    ['the funds', 'AUCTION_INSUFFICIENT_BALANCE', () => undefined],
  ];
  /** The agent's policy breaking the rules from index k on. */
  const policyFrom = (k: number): BudgetPolicy =>
    policy({
      expiresAt: k <= 1 ? T0 : null,
      markets: k <= 2 ? ['NONE/CREDIT'] : null,
      maxOrderNotional: k <= 3 ? 99 : null,
      maxPrice: k <= 4 ? { [TOK]: 499 } : {},
      caps: k <= 5 ? [{ windowMs: 60_000, limit: 99 }] : [{ windowMs: 60_000, limit: 100 }],
    });

  it.each(rules.map((r, k) => [k, ...r] as const))('%i: %s answers %s', (k, _name, code, extra) => {
    const w = world();
    w.budget({ t: 'b', op: 'policy', agent: PARENT, policy: policy({ subAgents: true, caps: [{ windowMs: 60_000, limit: 10_000 }] }) });
    w.budget({ t: 'b', op: 'carve', parent: PARENT, child: AGENT, amount: k <= 6 ? 99 : 100, ts: T0 });
    w.budget({ t: 'b', op: 'policy', agent: AGENT, policy: policyFrom(k) });
    if (k >= 7) expect(w.core.funds('withdraw', AGENT, CREDIT, 1_000_000 - 99)).toBe(true);
    if (k === 0) extra(w);
    const before = w.state();
    const r = w.auction(theBid, T0);
    expect(r?.code).toBe(code);
    expect(w.state()).toBe(before); // no hold left behind: neither in the balances nor in the budget
    if (k === 5) {
      expect(r?.details).toMatchObject({
        rule: 'spendCap',
        windowSeconds: 60,
        limit: '0.099',
        used: '0.000',
        remaining: '0.099',
        requested: '0.100',
      });
      expect(r?.details).toHaveProperty('freesAt', null);
    }
    if (k === 6) expect(r?.details).toMatchObject({ rule: 'carveOut', limit: '0.099', requested: '0.100', freesAt: null });
  });

  it('with every rule met the bid is admitted and reserves its maximum payment', () => {
    const w = world();
    w.budget({ t: 'b', op: 'policy', agent: AGENT, policy: policyFrom(rules.length) });
    expect(w.auction(theBid, T0)).toBeNull();
    expect(w.core.budgets.agents.get(AGENT)?.reserved).toBe(100);
    expect(w.core.budgets.usage(AGENT, T0)).toEqual([expect.objectContaining({ used: 0, reserved: 100, remaining: 0 })]);
  });

  it('a frozen agent without a policy is refused too; one with neither bids freely', () => {
    const w = world();
    w.budget({ t: 'b', op: 'freeze', agents: [AGENT], frozen: true });
    expect(w.auction(theBid, T0)?.code).toBe('BUDGET_AGENT_FROZEN');
    expect(w.auction(bid('a1', 4, [['2', '50']]), T0)).toBeNull();
    expect(w.core.budgets.holds.size).toBe(0); // untracked: no counters
    // a sub-agent of a frozen parent: refused by its ancestor
    w.budget({ t: 'b', op: 'policy', agent: PARENT, policy: policy({ subAgents: true }) });
    w.budget({ t: 'b', op: 'carve', parent: PARENT, child: 5, amount: 1000, ts: T0 });
    w.budget({ t: 'b', op: 'freeze', agents: [PARENT], frozen: true });
    expect(w.auction(bid('a1', 5, [['1', '50']]), T0)).toMatchObject({ code: 'BUDGET_AGENT_FROZEN', details: { by: 'ancestor' } });
  });

  it('a frozen seller (or one whose policy does not allow the asset) cannot put units up for auction: nothing is escrowed', () => {
    const w = world();
    w.budget({ t: 'b', op: 'policy', agent: SELLER, policy: policy({ markets: ['NONE/CREDIT'] }) });
    const before = w.state();
    expect(w.auction(create('a2', T0 + 1000), T0)?.code).toBe('BUDGET_MARKET_NOT_ALLOWED');
    w.budget({ t: 'b', op: 'policy', agent: SELLER, policy: null });
    w.budget({ t: 'b', op: 'freeze', agents: [SELLER], frozen: true });
    expect(w.auction(create('a2', T0 + 1000), T0)?.code).toBe('BUDGET_AGENT_FROZEN');
    expect(JSON.parse(w.state()).v).toEqual(JSON.parse(before).v);
  });
});

describe('a bid reserves its maximum payment; withdrawing or losing releases it; winning spends exactly the payment', () => {
  it('one window over the book and the auction, from admission to settlement', () => {
    const w = world();
    const X = 2;
    w.budget({ t: 'b', op: 'policy', agent: X, policy: policy({ caps: [{ windowMs: 60_000, limit: 1000 }] }) });
    const a = () => w.core.budgets.agents.get(X) as NonNullable<ReturnType<typeof w.core.budgets.agents.get>>;
    expect(w.auction(bid('a1', X, [['2', '300']]), T0)).toBeNull(); // holds 600
    expect(a().reserved).toBe(600);
    // the same window: a buy order of 500 does not fit beside the bid
    expect(w.buy(X, 50, 10, T0).code).toBe('BUDGET_EXCEEDED');
    expect(w.auction({ op: 'withdraw', id: 'a1', agent: X }, T0)).toBeNull();
    expect(a().reserved).toBe(0);
    expect(w.buy(X, 50, 10, T0).code).toBeNull(); // now it fits (and rests: 500 reserved)
    expect(w.order({ type: 'cancel_all', ts: T0, agent: X }).code).toBeNull();
    expect(a().reserved).toBe(0);
    // bid again; another bidder sets the price
    expect(w.auction(bid('a1', X, [['2', '300']]), T0 + 1)).toBeNull();
    expect(w.auction(bid('a1', 3, [['3', '100']]), T0 + 1)).toBeNull();
    const s = settleOp(w.core, 'a1');
    const paid = Number(s.awards.find(([n]) => n === X)?.[2]);
    // X takes 2 of the 4 units; without X the other bidder would have had 3 (one more, worth 100): X pays 100, not its 600
    expect(paid).toBe(100);
    expect(w.auction(s, T0 + 1000)).toBeNull();
    expect([a().reserved, a().log.used(T0 + 1000, 60_000), a().log.total]).toEqual([0, paid, paid]);
    expect(w.core.balances.getTotal(X, 0)).toBe(1_000_000 - paid);
    expect(w.core.budgets.holds.size).toBe(0);
    // the payment leaves the window exactly 60 s after the settlement
    expect(w.core.budgets.usage(X, T0 + 1000 + 59_999)[0]).toMatchObject({ used: paid, resetsAt: T0 + 1000 + 60_000 });
    expect(w.core.budgets.usage(X, T0 + 1000 + 60_000)[0]).toMatchObject({ used: 0 });
  });

  it('an operator’s cancel releases every reservation and spends nothing', () => {
    const w = world();
    for (const n of [2, 3]) w.budget({ t: 'b', op: 'policy', agent: n, policy: policy({ caps: [{ windowMs: 60_000, limit: 1000 }] }) });
    expect(w.auction(bid('a1', 2, [['1', '400']]), T0)).toBeNull();
    expect(w.auction(bid('a1', 3, [['1', '300']]), T0)).toBeNull();
    expect(w.auction({ op: 'cancel', id: 'a1' }, T0)).toBeNull();
    for (const n of [2, 3]) expect([w.core.budgets.agents.get(n)?.reserved, w.core.budgets.agents.get(n)?.log.total]).toEqual([0, 0]);
    expect(w.core.budgets.holds.size).toBe(0);
  });

  it('bids from before a policy hold their part of the caps once it is set, and stop when it is cleared', () => {
    const w = world();
    expect(w.auction(bid('a1', 2, [['2', '300']]), T0)).toBeNull();
    w.budget({ t: 'b', op: 'policy', agent: 2, policy: policy({ caps: [{ windowMs: 60_000, limit: 1000 }] }) });
    expect(w.core.budgets.agents.get(2)?.reserved).toBe(600);
    expect(w.buy(2, 50, 10, T0).code).toBe('BUDGET_EXCEEDED');
    w.budget({ t: 'b', op: 'policy', agent: 2, policy: null });
    expect([w.core.budgets.agents.get(2)?.reserved, w.core.budgets.holds.size]).toEqual([0, 0]);
    // settling after that spends nothing against a budget it no longer has, and releases nothing twice
    expect(w.auction(settleOp(w.core, 'a1'), T0 + 1000)).toBeNull();
    expect(w.core.budgets.agents.get(2)?.log.total).toBe(0);
  });
});

describe('posted-price purchases: max price x units must fit, the cost paid is spent', () => {
  it('admits exactly the purchases that fit, each refusal with the same details as an order’s, no hold left', () => {
    const w = world();
    w.budget({ t: 'b', op: 'policy', agent: 2, policy: policy({ caps: [{ windowMs: 60_000, limit: 100 }] }) });
    const results = Array.from({ length: 40 }, () => w.auction(purchase(2, '1', '10'), T0));
    // each needs 10 of room and spends 7: admitted while 7k + 10 <= 100, i.e. k = 0..12
    expect(results.filter((r) => r === null)).toHaveLength(13);
    expect(new Set(results.filter((r) => r !== null).map((r) => r?.code))).toEqual(new Set(['BUDGET_EXCEEDED']));
    const a = w.core.budgets.agents.get(2);
    expect([a?.log.used(T0, 60_000), a?.reserved]).toEqual([91, 0]);
    expect(w.core.balances.getTotal(2, 1)).toBe(13);
    expect(results[39]?.details).toMatchObject({ rule: 'spendCap', limit: '0.100', used: '0.091', remaining: '0.009', requested: '0.010' });
    expect(results[39]?.details?.['freesAtMs']).toBe(T0 + 60_000);
    // a tighter max price fits the room left: the worst case is what counts
    expect(w.auction(purchase(2, '1', '7'), T0)).toBeNull();
    expect(a?.log.used(T0, 60_000)).toBe(98);
  });

  it.each<[string, BudgetPolicy, AuctionOp, string]>([
    [
      'the pool’s price above max price comes first',
      policy({ caps: [{ windowMs: 1000, limit: 1 }] }),
      purchase(2, '1', '6'),
      'MECHANISM_PRICE_ABOVE_MAX',
    ],
    ['max price x units above maxOrderNotional', policy({ maxOrderNotional: 29 }), purchase(2, '3', '10'), 'BUDGET_ORDER_NOTIONAL_EXCEEDED'],
    ['max price per lot above the ceiling', policy({ maxPrice: { [TOK]: 99 } }), purchase(2, '1', '10'), 'BUDGET_PRICE_ABOVE_CEILING'],
    ['the asset not allowed', policy({ markets: ['NONE/CREDIT'] }), purchase(2, '1', '10'), 'BUDGET_MARKET_NOT_ALLOWED'],
    ['the delegation over', policy({ expiresAt: T0 }), purchase(2, '1', '10'), 'BUDGET_POLICY_EXPIRED'],
  ])('refuses %s and changes nothing', (_, p, op, code) => {
    const w = world();
    w.budget({ t: 'b', op: 'policy', agent: 2, policy: p });
    const before = w.state();
    expect(w.auction(op, T0)?.code).toBe(code);
    expect(w.state()).toBe(before);
  });
});

describe('redemption caps: a counter of their own, in the allowance’s units', () => {
  const cap: RedemptionCap = { asset: TOK, windowMs: 60_000, limit: 10, scale: 0 };
  it('rolls over command time, says when it frees, and never touches credit spend', () => {
    const w = world();
    w.fund(2, TOK, 100);
    w.budget({ t: 'b', op: 'policy', agent: 2, policy: policy({ caps: [{ windowMs: 60_000, limit: 5 }], redemptionCaps: [cap] }) });
    expect(w.redeem(2, 6, T0)).toBeNull();
    const over = w.redeem(2, 5, T0 + 1);
    expect(over).toMatchObject({
      code: 'BUDGET_EXCEEDED',
      details: { rule: 'redemptionCap', asset: TOK, limit: '10', used: '6', remaining: '4', requested: '5' },
    });
    expect((over as Rejection).details?.['freesAtMs']).toBe(T0 + 60_000);
    expect(w.core.balances.getTotal(2, 1)).toBe(94); // nothing redeemed by the refusal
    expect(w.redeem(2, 4, T0 + 2)).toBeNull();
    expect(w.redeem(2, 1, T0 + 59_999)).toMatchObject({ code: 'BUDGET_EXCEEDED' });
    expect(w.redeem(2, 6, T0 + 60_000)).toBeNull(); // the first 6 left the window
    expect(w.redeem(2, 11, T0 + 60_000)).toMatchObject({ details: { freesAt: null, hint: expect.stringMatching(/above the cap/) } });
    expect(w.core.spend.redemptionUsage(2, T0 + 60_000)).toEqual([
      { asset: TOK, scale: 0, windowMs: 60_000, limit: 10, used: 10, remaining: 0, resetsAt: T0 + 60_002 },
    ]);
    expect(w.core.budgets.agents.get(2)?.log.total).toBe(0); // redemption is not spend
    // frozen, or the delegation over: no redemption at all
    w.budget({ t: 'b', op: 'freeze', agents: [2], frozen: true });
    expect(w.redeem(2, 1, T0 + 200_000)).toMatchObject({ code: 'BUDGET_AGENT_FROZEN' });
  });
});

type Op =
  | { k: 'bid'; agent: number; units: number; price: number }
  | { k: 'withdraw'; agent: number }
  | { k: 'settle' }
  | { k: 'cancel' }
  | { k: 'purchase'; agent: number; units: number; maxPrice: number }
  | { k: 'order'; agent: number; price: number; lots: number; taker: boolean }
  | { k: 'cancelOrders'; agent: number }
  | { k: 'redeem'; agent: number; amount: number }
  | { k: 'late' }
  | { k: 'wait'; ms: number };

const BUYERS = [2, 3, 4, 5, 6];
const agentArb = fc.constantFrom(...BUYERS);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('bid' as const),
      agent: agentArb,
      units: fc.integer({ min: 1, max: 3 }),
      price: fc.integer({ min: 50, max: 400 }),
    }),
  },
  fc.record({ k: fc.constant('withdraw' as const), agent: agentArb }),
  { weight: 2, arbitrary: fc.record({ k: fc.constant('settle' as const) }) },
  fc.record({ k: fc.constant('cancel' as const) }),
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('purchase' as const),
      agent: agentArb,
      units: fc.integer({ min: 1, max: 30 }),
      maxPrice: fc.integer({ min: 7, max: 12 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('order' as const),
      agent: agentArb,
      price: fc.integer({ min: 20, max: 60 }),
      lots: fc.integer({ min: 1, max: 5 }),
      taker: fc.boolean(),
    }),
  },
  fc.record({ k: fc.constant('cancelOrders' as const), agent: agentArb }),
  { weight: 2, arbitrary: fc.record({ k: fc.constant('redeem' as const), agent: agentArb, amount: fc.integer({ min: 1, max: 8 }) }) },
  fc.record({ k: fc.constant('late' as const) }),
  { weight: 2, arbitrary: fc.record({ k: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 700 }) }) },
);

/** A core restored from a snapshot of `core` taken now, through the real encoder and decoder (as recovery does). */
async function restoredFrom(encoded: Buffer): Promise<EngineCore> {
  const d = decodeSnapshot(encoded, SNAPSHOT_FORMAT);
  const c = newCore();
  restoreBalancesInto(c.balances, d.balances);
  for (const sm of d.markets) {
    const m = c.markets.get(sm.id) as HostMarket;
    m.engine = MatchingEngine.restore(engineSnapshot(sm.engine, config), { balances: c.balances, sink: m.sink });
    for (const f of sm.fills) c.fills.set(f.orderId, { marketId: m.id, agentId: `a${f.agent}`, filled: f.filled, notional: f.notional });
  }
  c.auctions.restore(d.auctions);
  if (d.budgets) c.budgets.restore(d.budgets);
  c.seq = d.seq;
  c.lastTs = d.lastTs;
  c.lastOrderId = d.lastOrderId;
  return c;
}

describe('random runs of bids, settlements, purchases, orders and redemptions (through the real EngineCore)', () => {
  it('every cap holds across book, auctions and pools; reservations are what open orders and bids hold; the log replays and a snapshot restores to the same state', async () => {
    // 2: a cap and a redemption cap; 3: a cap and a per-order notional; 5: a parent whose sub-agent 4 has a carve-out; 6: tracked late
    const CAPS: Record<2 | 3 | 4 | 5, { windowMs: number; limit: number }> & Record<number, { windowMs: number; limit: number } | undefined> = {
      2: { windowMs: 1000, limit: 600 },
      3: { windowMs: 3000, limit: 900 },
      5: { windowMs: 2000, limit: 1000 },
      4: { windowMs: 2000, limit: 800 },
    };
    const CARVE = 500;
    const REDEEM: RedemptionCap = { asset: TOK, windowMs: 1500, limit: 6, scale: 0 };
    const seen = { bidRefused: 0, buyRefused: 0, settledPaid: 0, redeemRefused: 0, restored: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 80, size: 'max' }), fc.nat(), async (ops, cutAt) => {
        const w = new World();
        const core = w.core;
        w.fund(SELLER, TOK, 1e9);
        for (const n of BUYERS) w.fund(n, CREDIT, 1e9);
        w.fund(2, TOK, 1e6); // something to redeem from the start
        w.budget({ t: 'b', op: 'policy', agent: 2, policy: policy({ caps: [CAPS[2]], redemptionCaps: [REDEEM] }) });
        w.budget({ t: 'b', op: 'policy', agent: 3, policy: policy({ caps: [CAPS[3]], maxOrderNotional: 500 }) });
        w.budget({ t: 'b', op: 'policy', agent: 5, policy: policy({ caps: [CAPS[5]], subAgents: true }) });
        w.budget({ t: 'b', op: 'carve', parent: 5, child: 4, amount: CARVE, ts: T0 });
        w.budget({ t: 'b', op: 'policy', agent: 4, policy: policy({ caps: [CAPS[4]] }) });
        let ts = T0;
        let n = 0;
        let auction = 'x0';
        expect(w.auction(create(auction, ts + 800, '2'), ts)).toBeNull();
        expect(w.auction(fixedPool, ts)).toBeNull();
        let late = false;
        // the naive twin: every credit spent (fills, payments, purchases) and every unit redeemed, with its time
        const spent: { agent: number; ts: number; v: number }[] = [];
        const redeemed: { agent: number; ts: number; v: number }[] = [];
        const cut = cutAt % (ops.length + 1);
        let snap: { at: number; data: Buffer } | null = null;
        for (const [i, op] of ops.entries()) {
          if (i === cut) snap = { at: w.log.length, data: await encodeSnapshot(captureState(core)) };
          ts += 1;
          const a = core.auctions.auction(auction);
          switch (op.k) {
            case 'bid': {
              const r = w.auction(bid(auction, op.agent, [[String(op.units), String(op.price)]]), ts);
              if (r?.code.startsWith('BUDGET_')) seen.bidRefused++;
              break;
            }
            case 'withdraw':
              w.auction({ op: 'withdraw', id: auction, agent: op.agent }, ts);
              break;
            case 'settle':
            case 'cancel': {
              if (op.k === 'settle') {
                ts = Math.max(ts, a?.deadline ?? ts);
                const s = settleOp(core, auction);
                expect(w.auction(s, ts)).toBeNull();
                for (const [agent, , pay] of s.awards) {
                  if (Number(pay) === 0) continue;
                  spent.push({ agent, ts, v: Number(pay) });
                  seen.settledPaid++;
                }
              } else expect(w.auction({ op: 'cancel', id: auction }, ts)).toBeNull();
              auction = `x${++n}`;
              expect(w.auction(create(auction, ts + 800, '2'), ts)).toBeNull();
              break;
            }
            case 'purchase': {
              const r = w.auction(purchase(op.agent, String(op.units), String(op.maxPrice)), ts);
              if (r === null) spent.push({ agent: op.agent, ts, v: op.units * 7 });
              else if (r.code.startsWith('BUDGET_')) seen.buyRefused++;
              break;
            }
            case 'order': {
              // the seller's ask may fill resting bids of others first: every trade is someone's spend
              const trades = op.taker
                ? [
                    ...w.order({
                      type: 'limit',
                      ts,
                      orderId: ++core.lastOrderId,
                      agent: SELLER,
                      side: 'sell',
                      price: op.price,
                      lots: op.lots,
                      tif: 'GTC',
                    }).trades,
                    ...w.buy(op.agent, op.price, op.lots, ts, 'IOC').trades,
                    ...w.order({ type: 'cancel_all', ts, agent: SELLER }).trades,
                  ]
                : w.buy(op.agent, op.price, op.lots, ts).trades;
              for (const t of trades) spent.push({ agent: t.buyer, ts, v: t.notional });
              break;
            }
            case 'cancelOrders':
              w.order({ type: 'cancel_all', ts, agent: op.agent });
              break;
            case 'redeem': {
              const r = w.redeem(op.agent, op.amount, ts);
              if (r === null) redeemed.push({ agent: op.agent, ts, v: op.amount });
              else if (r !== 'insufficient') seen.redeemRefused++;
              break;
            }
            case 'late':
              if (!late) w.budget({ t: 'b', op: 'policy', agent: 6, policy: policy({ caps: [{ windowMs: 5000, limit: 100_000 }] }) });
              late = true;
              break;
            case 'wait':
              ts += op.ms;
              break;
          }
          // invariants after every step
          const b = core.budgets;
          for (const agent of BUYERS) {
            const x = b.agents.get(agent);
            if (!x || (x.policy === null && x.parent === null)) {
              expect([...b.holds.values()].some((h) => h.agent === agent)).toBe(false);
              continue;
            }
            // reserved is exactly what its open buy orders and open bids may still spend (and nothing else)
            const orders =
              core.markets
                .get(M)
                ?.engine.ordersOf(agent)
                .filter((o) => o.side === 'buy') ?? [];
            const bids = [...core.auctions.auctions.values()].reduce((s, au) => s + (au.bids.get(agent)?.hold ?? 0), 0);
            expect(x.reserved).toBe(orders.reduce((s, o) => s + o.price * config.tickSize * o.lots, 0) + bids);
            const cap = CAPS[agent];
            if (!cap) continue;
            const inWindow = spent.filter((s) => s.agent === agent && s.ts > ts - cap.windowMs).reduce((s, e) => s + e.v, 0);
            expect(inWindow).toBeLessThanOrEqual(cap.limit);
            expect(x.log.used(ts, cap.windowMs) + x.reserved + x.childEscrow).toBeLessThanOrEqual(cap.limit);
            expect(x.log.total).toBe(spent.filter((s) => s.agent === agent).reduce((s, e) => s + e.v, 0));
          }
          const child = b.agents.get(4);
          if (child) expect(child.log.total + child.reserved).toBeLessThanOrEqual(CARVE);
          expect(redeemed.filter((r) => r.agent === 2 && r.ts > ts - REDEEM.windowMs).reduce((s, r) => s + r.v, 0)).toBeLessThanOrEqual(REDEEM.limit);
          core.balances.assertInvariants();
        }
        // a replay of the whole log ends in exactly the same state
        const again = newCore();
        w.log.forEach((r, i) => again.replay(i + 1, r.marketId, r.c));
        expect(stateOf(again)).toBe(w.state());
        // a snapshot taken mid-run, restored and replayed on from there, too (as recovery does)
        if (snap) {
          const { at, data } = snap;
          const restored = await restoredFrom(data);
          w.log.slice(at).forEach((r, i) => restored.replay(at + i + 1, r.marketId, r.c));
          expect(stateOf(restored)).toBe(w.state());
          seen.restored++;
        }
      }),
      { seed: 20261203, numRuns: 100 },
    );
    // the runs met what they are about: refusals of each kind, paid settlements, snapshots restored
    for (const [what, v] of Object.entries(seen)) expect([what, v >= 10]).toEqual([what, true]);
  }, 60_000);
});
