/**
 * Memory grows with use: price levels live in pages, balances in sparse cells, agents of a market in a hash.
 * These specs drive those structures where a dense layout had nothing to get wrong: the first and last tick,
 * books spread over every page of the widest range, page boundaries under random streams, agent ids spread
 * over the whole id space, and a balance view of many sparse agents against a naive twin.
 */
import type { MatchingCommand } from '@ate/contracts';
import { mulberry32 } from '@ate/contracts';
import fc from 'fast-check';
import { engineBook, referenceBook, TEST_CONFIG } from '../testing/harness';
import { streamArb, type StreamMapping, toCommands } from '../testing/streams';
import { BalanceView, type BalancesSnapshot } from './balances';
import { DEFAULT_MARKET_CONFIG, type MarketConfig } from './config';
import { MatchingEngine } from './engine';
import { CollectingSink } from './events';
import { AGENTS_MAX, LEVEL_PAGE_SIZE, ORDER_LOTS_MAX, PRICE_TICKS_MAX } from './limits';
import { hashSnapshot, type SnapshotOrder } from './snapshot';

const SEED = Number(process.env['FC_SEED'] ?? 20261201);
const RUNS = Number(process.env['FC_RUNS'] ?? 300);
const canon = (es: object[]) => JSON.stringify(es.map((e) => Object.entries(e).sort(([a], [b]) => (a < b ? -1 : 1))));

/** runs the commands on the engine and the reference book, comparing every result, event and (at the end) the state */
function runBoth(config: MarketConfig, cmds: MatchingCommand[], agentsMax?: number, checkEvery = 1): MatchingEngine {
  const e = engineBook(config, agentsMax);
  const r = referenceBook(config, agentsMax);
  for (let i = 0; i < cmds.length; i++) {
    const c = cmds[i];
    const ce = e.execute(c);
    const cr = r.execute(c);
    if (i % checkEvery === 0 || i === cmds.length - 1) e.check();
    const ee = e.take();
    const er = r.take();
    if (ce !== cr || canon(ee) !== canon(er)) {
      throw new Error(`command ${i} ${JSON.stringify(c)}\nengine ${ce} ${JSON.stringify(ee)}\nreference ${cr} ${JSON.stringify(er)}`);
    }
  }
  expect(e.snapshot()).toEqual(r.snapshot());
  expect(e.hash()).toBe(hashSnapshot(r.snapshot()));
  return e.engine;
}

/** the widest market: every tick of PRICE_TICKS_MAX inside the band (±100% around the middle) */
const WIDE: MarketConfig = {
  ...DEFAULT_MARKET_CONFIG,
  marketId: 'WIDE',
  baseAsset: 'GPU',
  maxPriceTicks: PRICE_TICKS_MAX,
  initialPriceTicks: PRICE_TICKS_MAX / 2,
  priceBandBps: 10_000,
  maxOrderLots: 1_000,
  ordersPerAgentMax: 100_000,
};
const MAX = WIDE.maxPriceTicks;
const RICH = 1e15;
const fund = (ts: number, agents: number[]): MatchingCommand[] =>
  agents.flatMap((agent) => [
    { type: 'deposit', ts, agent, asset: 'credit', amount: RICH },
    { type: 'deposit', ts, agent, asset: 'base', amount: 1e9 },
  ]);

describe('price range edges (engine against the reference book)', () => {
  it('the first and the last tick rest, show in depth, trade and leave the book clean', () => {
    const cmds: MatchingCommand[] = [
      ...fund(1, [1, 2]),
      { type: 'limit', ts: 2, orderId: 1, agent: 1, side: 'buy', price: 1, lots: 3, tif: 'GTC' },
      { type: 'limit', ts: 2, orderId: 2, agent: 1, side: 'sell', price: MAX, lots: 4, tif: 'GTC' },
      { type: 'limit', ts: 2, orderId: 3, agent: 1, side: 'buy', price: 0, lots: 1, tif: 'GTC' },
      { type: 'limit', ts: 2, orderId: 4, agent: 1, side: 'sell', price: MAX + 1, lots: 1, tif: 'GTC' },
    ];
    const e = runBoth(WIDE, cmds);
    expect(e.depth(5)).toEqual({ bids: [[1, 3]], asks: [[MAX, 4]] });
    expect([e.bestBidPrice, e.bestAskPrice, e.levelLots(1), e.levelLots(MAX), e.levelLots(0), e.levelLots(MAX + 1)]).toEqual([1, MAX, 3, 4, 0, 0]);
    // trades at the last tick first (a trade at tick 1 would move the band to [0, 2])
    const more: MatchingCommand[] = [
      ...cmds,
      { type: 'market', ts: 3, orderId: 5, agent: 2, side: 'buy', lots: 4 },
      { type: 'amend', ts: 4, orderId: 1, agent: 1, price: MAX - 1, lots: 1 },
      { type: 'limit', ts: 5, orderId: 7, agent: 2, side: 'sell', price: MAX, lots: 1, tif: 'GTC' },
      { type: 'limit', ts: 5, orderId: 8, agent: 2, side: 'sell', price: MAX - 1, lots: 1, tif: 'IOC' },
      { type: 'limit', ts: 6, orderId: 9, agent: 1, side: 'buy', price: MAX, lots: 1, tif: 'FOK' },
      { type: 'limit', ts: 7, orderId: 10, agent: 1, side: 'buy', price: 1, lots: 2, tif: 'GTC' },
      { type: 'limit', ts: 7, orderId: 11, agent: 2, side: 'sell', price: 1, lots: 2, tif: 'IOC' },
    ];
    const e2 = runBoth(WIDE, more);
    expect([e2.openOrders, e2.referencePrice]).toEqual([0, 1]);
    expect(e2.depth(5)).toEqual({ bids: [], asks: [] });
  });

  it("an order's packed word at the edges: first and last tick, both sides, every STP mode and flag, the largest size", () => {
    // price, side, STP mode and the post-only / GTD / client-id flags share one int32 per order; lots are an int32
    const BIG: MarketConfig = { ...WIDE, maxOrderLots: ORDER_LOTS_MAX, ordersPerAgentMax: 100 };
    const LAST = Number.MAX_SAFE_INTEGER;
    const cmds: MatchingCommand[] = [
      ...[1, 2, 3].flatMap((agent): MatchingCommand[] => [
        { type: 'deposit', ts: 1, agent, asset: 'credit', amount: 2 ** 51 },
        { type: 'deposit', ts: 1, agent, asset: 'base', amount: 2 ** 40 },
      ]),
      {
        type: 'limit',
        ts: 2,
        orderId: 1,
        agent: 1,
        side: 'buy',
        price: 1,
        lots: ORDER_LOTS_MAX,
        tif: 'GTC',
        postOnly: true,
        stp: 'decrement_cancel',
        clientOrderId: 'b-first',
      },
      { type: 'limit', ts: 2, orderId: 2, agent: 1, side: 'buy', price: 2, lots: 7, tif: 'GTD', expiresAt: LAST, stp: 'cancel_both' },
      {
        type: 'limit',
        ts: 2,
        orderId: 3,
        agent: 2,
        side: 'sell',
        price: MAX,
        lots: ORDER_LOTS_MAX,
        tif: 'GTD',
        expiresAt: 10,
        postOnly: true,
        stp: 'cancel_maker',
        clientOrderId: 'a-last',
      },
      { type: 'limit', ts: 2, orderId: 4, agent: 2, side: 'sell', price: MAX - 1, lots: 1, tif: 'GTC', stp: 'cancel_taker', clientOrderId: 'x' },
    ];
    const e = runBoth(BIG, cmds);
    expect([e.order(1), e.order(3)]).toEqual([
      {
        orderId: 1,
        agent: 1,
        side: 'buy',
        price: 1,
        lots: ORDER_LOTS_MAX,
        expiresAt: 0,
        stp: 'decrement_cancel',
        postOnly: true,
        clientOrderId: 'b-first',
        prio: 1,
        reserved: ORDER_LOTS_MAX,
      },
      {
        orderId: 3,
        agent: 2,
        side: 'sell',
        price: MAX,
        lots: ORDER_LOTS_MAX,
        expiresAt: 10,
        stp: 'cancel_maker',
        postOnly: true,
        clientOrderId: 'a-last',
        prio: 3,
        reserved: ORDER_LOTS_MAX,
      },
    ]);
    const r = MatchingEngine.restore(JSON.parse(JSON.stringify(e.snapshot())));
    r.assertInvariants();
    expect([r.snapshot(), r.stateHash()]).toEqual([e.snapshot(), e.stateHash()]);
    // then every flag is used: a cancel by client id, amends at the edges, the GTD at the last tick expires, trades
    const more: MatchingCommand[] = [
      ...cmds,
      { type: 'cancel_client', ts: 3, agent: 2, clientOrderId: 'x' },
      { type: 'amend', ts: 4, orderId: 1, agent: 1, price: MAX - 2, lots: ORDER_LOTS_MAX - 1 },
      { type: 'amend', ts: 4, orderId: 2, agent: 1, price: 1, lots: 7 },
      { type: 'limit', ts: 5, orderId: 5, agent: 1, side: 'buy', price: MAX, lots: 2, tif: 'IOC', stp: 'cancel_maker' },
      { type: 'tick', ts: 10 },
      { type: 'limit', ts: 11, orderId: 6, agent: 3, side: 'sell', price: 1, lots: 3, tif: 'GTC', clientOrderId: 'b-first' },
      { type: 'cancel_client', ts: 12, agent: 1, clientOrderId: 'b-first' },
    ];
    const e2 = runBoth(BIG, more);
    expect(e2.openOrders).toBeGreaterThan(0);
    const r2 = MatchingEngine.restore(JSON.parse(JSON.stringify(e2.snapshot())));
    r2.assertInvariants();
    expect(r2.stateHash()).toBe(e2.stateHash());
  });

  describe('a restore refuses an order the layout cannot hold exactly, instead of changing it', () => {
    const e = new MatchingEngine({ ...WIDE, maxOrderLots: ORDER_LOTS_MAX });
    e.execute({ type: 'deposit', ts: 1, agent: 1, asset: 'credit', amount: 1e12 });
    e.execute({ type: 'limit', ts: 2, orderId: 1, agent: 1, side: 'buy', price: 1, lots: 3, tif: 'GTC' });
    e.execute({ type: 'limit', ts: 2, orderId: 2, agent: 1, side: 'buy', price: MAX, lots: 3, tif: 'GTC' });
    const snap = e.snapshot();
    const o1 = snap.orders[0] as SnapshotOrder;
    const o2 = snap.orders[1] as SnapshotOrder;
    it('restores the snapshot as taken', () => {
      expect(MatchingEngine.restore(snap).stateHash()).toBe(e.stateHash());
    });
    it.each([
      ['a reservation that is not price x tickSize x lots', { reserved: o2.reserved + 1 }, /reserves/],
      ['lots beyond ORDER_LOTS_MAX', { lots: 2 ** 31, reserved: MAX * 2 ** 31 }, /lots/],
      ['a repeated id', { orderId: o1.orderId }, /repeated/],
      ['a price beyond the range', { price: MAX + 1, reserved: (MAX + 1) * 3 }, /price/],
    ])('%s', (_what, patch, msg) => {
      expect(() => MatchingEngine.restore({ ...snap, orders: [o1, { ...o2, ...patch }] })).toThrow(msg);
    });
  });

  it('a book spread across the whole range: every page holds orders, sweeps cross every page, cancels empty them', () => {
    const n = MAX / LEVEL_PAGE_SIZE + 2; // bids ~255 ticks apart on the lower half, asks on the upper: every page holds one
    const cmds: MatchingCommand[] = [...fund(1, [1, 2, 3])];
    let id = 1;
    const mid = MAX / 2;
    for (let i = 0; i < n; i++) {
      const buy = i % 2 === 0;
      // bids 1..mid-1, asks mid+1..MAX, first and last tick included
      const k = Math.floor(i / 2);
      const half = n / 2 - 1;
      const price = buy ? 1 + Math.round((k * (mid - 2)) / half) : MAX - Math.round((k * (mid - 2)) / half);
      cmds.push({ type: 'limit', ts: 2, orderId: id++, agent: 1 + (i % 2), side: buy ? 'buy' : 'sell', price, lots: 1 + (i % 3), tif: 'GTC' });
    }
    // a market buy and a market sell sweep half of each side; the band (±100%) lets them across every page
    cmds.push({ type: 'market', ts: 3, orderId: id++, agent: 3, side: 'buy', lots: n / 2 });
    cmds.push({ type: 'market', ts: 3, orderId: id++, agent: 3, side: 'sell', lots: n / 2 });
    for (let o = 1; o <= n; o += 3) cmds.push({ type: 'cancel', ts: 4, orderId: o, agent: 1 + ((o - 1) % 2) });
    const e = runBoth(WIDE, cmds, undefined, 97);
    expect(e.openOrders).toBeGreaterThan(0);
    const snap = JSON.parse(JSON.stringify(e.snapshot()));
    const r = MatchingEngine.restore(snap);
    r.assertInvariants();
    expect(r.stateHash()).toBe(e.stateHash());
    r.execute({ type: 'cancel_all', ts: 5, agent: 1 });
    r.execute({ type: 'cancel_all', ts: 5, agent: 2 });
    r.assertInvariants();
    expect(r.openOrders).toBe(0);
  });

  it('an empty market costs about the same whatever its price range', () => {
    const small = new MatchingEngine({ ...WIDE, maxPriceTicks: 1_000, initialPriceTicks: 500 });
    const wide = new MatchingEngine(WIDE);
    expect(small.typedArrayBytes).toBeLessThan(32 * 1024);
    expect(wide.typedArrayBytes).toBeLessThan(64 * 1024);
    expect(wide.typedArrayBytes - small.typedArrayBytes).toBeLessThan(20 * 1024); // the page directory
  });
});

/** abstract prices 86..114 spread 37 ticks apart around 1024, across six pages */
const PAGED: [string, MarketConfig, StreamMapping][] = [
  [
    'prices across page boundaries',
    { ...TEST_CONFIG, maxPriceTicks: 2_000, initialPriceTicks: 1_024, priceBandBps: 6_000, ordersPerAgentMax: 6, bookOrdersMax: 12 },
    { px: (p) => 1_024 + (p - 100) * 37, creditScale: 10 },
  ],
];
/** the five abstract agents as ids spread over the whole id space (agent 4 is never funded) */
const SPARSE_IDS = [AGENTS_MAX - 1, 0, 65_537, 9_999_991, 31];

describe(`paged levels and sparse agents: differential (seed ${SEED}, ${RUNS} streams)`, () => {
  it.each(PAGED)('same events and state: %s', (_n, config, mapping) => {
    fc.assert(
      fc.property(streamArb(80), (steps) => {
        runBoth(config, toCommands(steps, mapping));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('same events and state with agent ids spread over the whole id space', () => {
    const config = { ...TEST_CONFIG, ordersPerAgentMax: 4 };
    fc.assert(
      fc.property(streamArb(60), (steps) => {
        runBoth(config, toCommands(steps, { agentOf: (a) => SPARSE_IDS[a] }), AGENTS_MAX);
      }),
      { seed: SEED, numRuns: Math.ceil(RUNS / 5) },
    );
  });
});

/** The naive twin of BalanceView: a Map per (agent, asset), a Set of known agents. */
class NaiveBalances {
  readonly known = new Set<number>();
  readonly cells = new Map<string, { t: number; r: number }>();
  readonly supply: number[];
  constructor(
    readonly assets: string[],
    readonly agentsMax: number,
  ) {
    this.supply = assets.map(() => 0);
  }
  get(agent: number, asset: number): { t: number; r: number } {
    const k = `${agent}/${asset}`;
    let c = this.cells.get(k);
    if (c === undefined) this.cells.set(k, (c = { t: 0, r: 0 }));
    return c;
  }
  peek(agent: number, asset: number): { t: number; r: number } {
    return this.cells.get(`${agent}/${asset}`) ?? { t: 0, r: 0 };
  }
  deposit(agent: number, asset: number, amount: number): boolean {
    if (!(agent >= 0 && agent < this.agentsMax && asset >= 0 && asset < this.assets.length && amount > 0)) return false;
    this.known.add(agent);
    this.get(agent, asset).t += amount;
    this.supply[asset] += amount;
    return true;
  }
  withdraw(agent: number, asset: number, amount: number): boolean {
    const c = this.peek(agent, asset);
    if (!this.known.has(agent) || !(amount > 0) || c.t - c.r < amount) return false;
    this.get(agent, asset).t -= amount;
    this.supply[asset] -= amount;
    return true;
  }
  snapshot(): BalancesSnapshot {
    const agents = [...this.known]
      .sort((a, b) => a - b)
      .map((agent) => ({
        agent,
        total: this.assets.map((_, i) => this.peek(agent, i).t),
        reserved: this.assets.map((_, i) => this.peek(agent, i).r),
      }));
    return { assets: [...this.assets], agentsMax: this.agentsMax, supply: [...this.supply], agents };
  }
}

describe('BalanceView with many sparse agents, against a naive twin', () => {
  const ASSETS = ['CREDIT', 'A', 'B', 'C', 'D', 'E', 'F'];

  it('the same balances, snapshots and refusals after 20,000 random moves over ids across the whole range', () => {
    const rnd = mulberry32(15);
    const ids = Array.from({ length: 3_000 }, () => Math.floor(rnd() * AGENTS_MAX));
    ids.push(0, AGENTS_MAX - 1);
    const v = new BalanceView(ASSETS, AGENTS_MAX);
    const twin = new NaiveBalances(ASSETS, AGENTS_MAX);
    for (let i = 0; i < 20_000; i++) {
      const agent = ids[Math.floor(rnd() * ids.length)];
      // ~3 assets per agent: an agent's assets are picked from three of the seven
      const asset = (agent + Math.floor(rnd() * 3)) % ASSETS.length;
      const amount = 1 + Math.floor(rnd() * 1000);
      const op = rnd();
      if (op < 0.5) expect(v.deposit(agent, asset, amount)).toBe(twin.deposit(agent, asset, amount));
      else if (op < 0.7) expect(v.withdraw(agent, asset, amount)).toBe(twin.withdraw(agent, asset, amount));
      else if (op < 0.85) {
        // what an engine does: reserve what is available, on the cell
        const c = v.cell(agent, asset);
        const t = twin.get(agent, asset);
        if (v.isKnown(agent) && v.ct[c] - v.cr[c] >= amount) {
          v.cr[c] += amount;
          t.r += amount;
        }
      } else {
        // a trade-like move of reserved funds to another agent (who becomes known, as an engine's counterparty is)
        const to = ids[Math.floor(rnd() * ids.length)];
        const c = v.findCell(agent, asset);
        const q = c < 0 ? 0 : Math.min(v.cr[c], amount);
        if (q > 0 && v.isKnown(to)) {
          v.cr[c] -= q;
          v.ct[c] -= q;
          const dst = v.cell(to, asset); // before reading v.ct: adding a cell may replace the arrays
          v.ct[dst] += q;
          const from = twin.get(agent, asset);
          from.r -= q;
          from.t -= q;
          twin.get(to, asset).t += q;
        }
      }
      if (i % 1000 === 0) v.assertInvariants();
    }
    v.assertInvariants();
    for (const agent of ids) {
      expect(v.isKnown(agent)).toBe(twin.known.has(agent));
      for (let i = 0; i < ASSETS.length; i++) {
        const t = twin.peek(agent, i);
        expect([v.getTotal(agent, i), v.getReserved(agent, i), v.available(agent, i)]).toEqual([t.t, t.r, t.t - t.r]);
      }
    }
    const snap = v.snapshot();
    expect(snap).toEqual(twin.snapshot());
    expect(BalanceView.restore(JSON.parse(JSON.stringify(snap))).snapshot()).toEqual(snap);
    const sparse = v.snapshotSparse();
    expect(sparse.known).toEqual(snap.agents.map((r) => r.agent));
    const back = BalanceView.restoreSparse(JSON.parse(JSON.stringify(sparse)));
    back.assertInvariants();
    expect(back.snapshot()).toEqual(snap);
    expect(back.snapshotSparse()).toEqual(sparse);
    expect(back.digest()).toBe(v.digest());
    back.deposit(ids[0], 1, 1);
    expect(back.digest()).not.toBe(v.digest());
    // memory follows the cells (at most ~64 bytes each), not agentsMax x assets; the id bitmap is 2 MB at AGENTS_MAX
    const bitmap = AGENTS_MAX / 8;
    expect(v.typedArrayBytes - bitmap).toBeLessThan(Math.max(v.cells, 64) * 64 * 1.5);
  });

  it('invariants catch what a dense view caught: a balance of an unknown agent, and reserved above total', () => {
    const v = new BalanceView(ASSETS, AGENTS_MAX);
    v.deposit(9_999_991, 2, 10);
    const c = v.cell(123, 1);
    v.ct[c] = 5;
    expect(() => v.assertInvariants()).toThrow(/unknown agent 123/);
    const w = new BalanceView(ASSETS, AGENTS_MAX);
    w.deposit(9_999_991, 2, 10);
    w.cr[w.findCell(9_999_991, 2)] = 11;
    expect(() => w.assertInvariants()).toThrow(/reserved 11 total 10/);
  });

  it('a market touches only the agents that trade there: other known agents cost it nothing', () => {
    const v = new BalanceView(['CREDIT', 'GPU'], AGENTS_MAX);
    for (let a = 0; a < 50_000; a++) v.deposit(a * 300, 0, 100);
    const e = new MatchingEngine({ ...TEST_CONFIG, ordersPerAgentMax: 4 }, { balances: v, sink: new CollectingSink() });
    const before = e.typedArrayBytes;
    expect(e.execute({ type: 'limit', ts: 1, orderId: 1, agent: 300 * 49_999, side: 'buy', price: 100, lots: 1, tif: 'GTC' })).toBeNull();
    expect(e.typedArrayBytes).toBe(before);
    expect(e.ordersOf(300 * 49_999).map((o) => o.orderId)).toEqual([1]);
    expect(e.ordersOf(300)).toEqual([]);
    e.assertInvariants();
  });
});
