/**
 * The contract suite: every scenario runs on the fast engine and on the naive reference book
 * (exchange-core style), and both must give the same events and state.
 */
import type { MatchingCommand, MatchingEvent } from '@ate/contracts';
import { type Book, IMPLEMENTATIONS, TEST_CONFIG } from '../testing/harness';
import type { MarketConfig } from './config';

type Cmd = MatchingCommand;
const A = 1;
const B = 2;
const C = 3;
const CREDITS = 1_000_000;
const BASE = 100_000; // 10,000 lots at lotSize 10

let ts = 1000;
const lim = (
  orderId: number,
  agent: number,
  side: 'buy' | 'sell',
  price: number,
  lots: number,
  extra: Partial<Extract<Cmd, { type: 'limit' }>> = {},
): Extract<Cmd, { type: 'limit' }> => ({
  type: 'limit',
  ts: ts++,
  orderId,
  agent,
  side,
  price,
  lots,
  tif: 'GTC',
  ...extra,
});
const mkt = (
  orderId: number,
  agent: number,
  side: 'buy' | 'sell',
  size: { lots?: number; spend?: number },
  extra: Partial<Extract<Cmd, { type: 'market' }>> = {},
): Cmd => ({
  type: 'market',
  ts: ts++,
  orderId,
  agent,
  side,
  ...size,
  ...extra,
});
const cancel = (orderId: number, agent: number): Cmd => ({ type: 'cancel', ts: ts++, orderId, agent });

/** events without seq, for readable expectations */
const strip = (es: MatchingEvent[]) => es.map(({ seq: _s, ...rest }) => rest);
const kinds = (es: MatchingEvent[]) => es.map((e) => e.kind);
const trades = (es: MatchingEvent[]) => es.filter((e) => e.kind === 'trade');

function setup(
  make: (c: MarketConfig) => Book,
  config: Partial<MarketConfig> = {},
): Book & { run(...cs: Cmd[]): MatchingEvent[]; bal(agent: number): number[][] } {
  const book = make({ ...TEST_CONFIG, ...config });
  ts = 1000;
  for (const agent of [A, B, C]) {
    book.execute({ type: 'deposit', ts, agent, asset: 'credit', amount: CREDITS });
    book.execute({ type: 'deposit', ts, agent, asset: 'base', amount: BASE });
  }
  book.take();
  return Object.assign(book, {
    run(...cs: Cmd[]) {
      for (const c of cs) {
        book.execute(c);
        book.check();
      }
      return book.take();
    },
    /** [total, reserved] per asset [credit, base] */
    bal(agent: number) {
      const row = book.snapshot().balances.agents.find((r) => r.agent === agent);
      return row ? [row.total, row.reserved] : [];
    },
  });
}

describe.each(IMPLEMENTATIONS)('contract: %s', (_name, make) => {
  describe('price-time priority', () => {
    it('fills the best price first, FIFO within a level, at the maker price', () => {
      const b = setup(make);
      b.run(lim(1, A, 'sell', 101, 5), lim(2, B, 'sell', 100, 5), lim(3, A, 'sell', 100, 5));
      const es = b.run(lim(4, C, 'buy', 102, 12));
      expect(trades(es).map((t) => t.kind === 'trade' && [t.makerOrderId, t.price, t.lots, t.notional])).toEqual([
        [2, 100, 5, 500],
        [3, 100, 5, 500],
        [1, 101, 2, 202],
      ]);
      // C reserved 102 x 12, paid 1202: price improvement released, nothing left reserved
      expect(b.bal(C)).toEqual([
        [CREDITS - 1202, BASE + 120],
        [0, 0],
      ]);
      expect(b.snapshot().orders.map((o) => [o.orderId, o.lots])).toEqual([[1, 3]]);
    });

    it('emits accepted, trade, book delta per fill, then the resting delta', () => {
      const b = setup(make);
      b.run(lim(1, A, 'sell', 100, 5));
      expect(strip(b.run(lim(2, B, 'buy', 100, 8)))).toEqual([
        { kind: 'accepted', orderId: 2, agent: B, side: 'buy', price: 100, lots: 8, spend: 0 },
        { kind: 'trade', makerOrderId: 1, takerOrderId: 2, makerAgent: A, takerAgent: B, takerSide: 'buy', price: 100, lots: 5, notional: 500 },
        { kind: 'book', side: 'sell', price: 100, lots: 0 },
        { kind: 'book', side: 'buy', price: 100, lots: 3 },
      ]);
    });

    it('numbers events consecutively', () => {
      const b = setup(make);
      const es = b.run(lim(1, A, 'sell', 100, 5), lim(2, B, 'buy', 100, 8), cancel(2, B));
      for (let i = 1; i < es.length; i++) expect(es[i].seq).toBe(es[i - 1].seq + 1);
    });
  });

  describe('time in force', () => {
    it('IOC cancels what it did not fill', () => {
      const b = setup(make);
      b.run(lim(1, A, 'sell', 100, 5));
      const es = b.run(lim(2, B, 'buy', 100, 8, { tif: 'IOC' }));
      expect(strip(es).at(-1)).toEqual({ kind: 'cancelled', orderId: 2, agent: B, lots: 3, reason: 'MATCHING_CANCEL_UNFILLED' });
      expect(b.bal(B)[1]).toEqual([0, 0]);
    });

    it('FOK fills fully or has no effect at all', () => {
      const b = setup(make);
      b.run(lim(1, A, 'sell', 100, 5), lim(2, A, 'sell', 101, 5));
      const before = b.hash();
      expect(strip(b.run(lim(3, B, 'buy', 100, 6, { tif: 'FOK' })))).toEqual([
        { kind: 'rejected', orderId: 3, agent: B, code: 'MATCHING_FOK_NOT_FILLABLE' },
      ]);
      expect(b.hash()).toBe(before);
      const es = b.run(lim(3, B, 'buy', 101, 10, { tif: 'FOK' }));
      expect(trades(es)).toHaveLength(2);
      expect(b.snapshot().orders).toEqual([]);
    });

    it('FOK counts a self-trade prevented lot as not filled', () => {
      const b = setup(make);
      b.run(lim(1, B, 'sell', 100, 5), lim(2, A, 'sell', 100, 5));
      expect(b.execute(lim(3, B, 'buy', 100, 10, { tif: 'FOK', stp: 'cancel_maker' }))).toBe('MATCHING_FOK_NOT_FILLABLE');
      expect(b.snapshot().orders).toHaveLength(2); // nothing cancelled either
    });

    it('post-only that would cross is rejected, own orders count', () => {
      const b = setup(make);
      b.run(lim(1, A, 'sell', 100, 5));
      expect(b.execute(lim(2, A, 'buy', 100, 1, { postOnly: true }))).toBe('MATCHING_POST_ONLY_WOULD_CROSS');
      expect(b.execute(lim(3, B, 'buy', 99, 1, { postOnly: true }))).toBeNull();
    });

    it('GTD orders expire before the next command, earliest first, even when halted', () => {
      const b = setup(make);
      b.run(
        lim(1, A, 'buy', 90, 1, { tif: 'GTD', expiresAt: 5000 }),
        lim(2, A, 'buy', 91, 1, { tif: 'GTD', expiresAt: 4000 }),
        lim(3, B, 'buy', 92, 1, { tif: 'GTD', expiresAt: 4000 }),
        { type: 'set_state', ts: 1500, state: 'halted' },
      );
      const es = b.run({ type: 'tick', ts: 4500 });
      expect(strip(es).filter((e) => e.kind === 'expired')).toEqual([
        { kind: 'expired', orderId: 2, agent: A, lots: 1 },
        { kind: 'expired', orderId: 3, agent: B, lots: 1 },
      ]);
      expect(kinds(b.run({ type: 'tick', ts: 5000 }))).toEqual(['expired', 'book']);
      expect(b.bal(A)[1]).toEqual([0, 0]);
    });

    it('a GTD order that arrives already expired is rejected', () => {
      const b = setup(make);
      expect(b.execute({ ...lim(1, A, 'buy', 90, 1, { tif: 'GTD' }), ts: 2000, expiresAt: 2000 })).toBe('MATCHING_ALREADY_EXPIRED');
    });
  });

  describe('market orders', () => {
    it('by lots: needs exactly what its fill costs on the current book; short funds reject it whole', () => {
      const b = setup(make);
      b.run(lim(1, A, 'sell', 100, 5), lim(2, A, 'sell', 105, 5));
      b.run({ type: 'withdraw', ts: ts++, agent: B, asset: 'credit', amount: CREDITS - 1024 });
      expect(b.execute(mkt(3, B, 'buy', { lots: 10 }))).toBe('MATCHING_INSUFFICIENT_FUNDS'); // 500 + 525 = 1025
      b.run({ type: 'deposit', ts: ts++, agent: B, asset: 'credit', amount: 1 });
      const es = b.run(mkt(4, B, 'buy', { lots: 12 }));
      expect(trades(es).map((t) => t.kind === 'trade' && t.notional)).toEqual([500, 525]);
      expect(strip(es).at(-1)).toEqual({ kind: 'cancelled', orderId: 4, agent: B, lots: 2, reason: 'MATCHING_CANCEL_UNFILLED' });
      expect(b.bal(B)).toEqual([
        [0, BASE + 100],
        [0, 0],
      ]);
    });

    it('by spend: takes what the spend affords at each maker and stops at the first where one more lot does not fit', () => {
      const b = setup(make);
      b.run(lim(1, A, 'sell', 100, 2), lim(2, C, 'sell', 101, 3), lim(3, A, 'sell', 102, 5));
      const es = b.run(mkt(4, B, 'buy', { spend: 550 }));
      // 2 x 100 = 200, then 3 x 101 = 303 (503), then 47 left < 102: stop
      expect(trades(es).map((t) => t.kind === 'trade' && [t.price, t.lots])).toEqual([
        [100, 2],
        [101, 3],
      ]);
      expect(strip(es).at(-1)).toEqual({ kind: 'cancelled', orderId: 4, agent: B, lots: 0, reason: 'MATCHING_CANCEL_UNFILLED' });
      expect(b.bal(B)).toEqual([
        [CREDITS - 503, BASE + 50],
        [0, 0],
      ]);
    });

    it('by spend, partially at one maker, never spends more than the cap', () => {
      const b = setup(make);
      b.run(lim(1, A, 'sell', 100, 10), lim(2, C, 'sell', 100, 10));
      const es = b.run(mkt(3, B, 'buy', { spend: 350 }));
      expect(trades(es).map((t) => t.kind === 'trade' && [t.makerOrderId, t.lots])).toEqual([[1, 3]]);
      expect(b.bal(B)[0][0]).toBe(CREDITS - 300);
    });

    it('spend-sized sell raises at most the proceeds asked for', () => {
      const b = setup(make);
      b.run(lim(1, A, 'buy', 100, 3), lim(2, C, 'buy', 99, 10));
      const es = b.run(mkt(3, B, 'sell', { spend: 600 }));
      expect(trades(es).map((t) => t.kind === 'trade' && [t.price, t.lots])).toEqual([
        [100, 3],
        [99, 3],
      ]);
      expect(b.bal(B)).toEqual([
        [CREDITS + 597, BASE - 60],
        [0, 0],
      ]);
    });

    it('stops at the first maker beyond the price band, measured from the last trade', () => {
      const b = setup(make);
      // band ±10% around 100: 90..110 inclusive
      b.run(lim(1, A, 'sell', 95, 1), lim(2, A, 'sell', 104, 1), lim(3, C, 'sell', 92, 1), lim(4, B, 'buy', 92, 1, { tif: 'IOC' }));
      // last trade 92: band 83..101, so the maker at 104 is beyond it
      const es = b.run(mkt(5, B, 'buy', { lots: 3 }));
      expect(trades(es)).toHaveLength(1);
      expect(strip(es).at(-1)).toEqual({ kind: 'cancelled', orderId: 5, agent: B, lots: 2, reason: 'MATCHING_CANCEL_PRICE_BAND' });
      // the reference is now 95: band 86..104
      expect(b.execute(lim(6, B, 'buy', 86, 1))).toBeNull();
      expect(b.execute(lim(7, B, 'buy', 85, 1))).toBe('MATCHING_PRICE_OUTSIDE_BAND');
    });

    it('on an empty book is accepted then cancelled', () => {
      const b = setup(make);
      expect(kinds(b.run(mkt(1, B, 'sell', { lots: 1 })))).toEqual(['accepted', 'cancelled']);
    });
  });

  describe('price band', () => {
    it.each([
      [90, null],
      [110, null],
      [89, 'MATCHING_PRICE_OUTSIDE_BAND'],
      [111, 'MATCHING_PRICE_OUTSIDE_BAND'],
    ])('a limit at %i is %s (inclusive edges)', (price, code) => {
      const b = setup(make);
      expect(b.execute(lim(1, A, price < 100 ? 'buy' : 'sell', price, 1))).toBe(code);
    });
  });

  describe('cancels', () => {
    it('cancels by id and by client order id, releasing the reservation', () => {
      const b = setup(make);
      b.run(lim(1, A, 'buy', 95, 10), lim(2, A, 'sell', 105, 3, { clientOrderId: 'x-1' }));
      expect(b.bal(A)[1]).toEqual([950, 30]);
      expect(strip(b.run(cancel(1, A)))).toEqual([
        { kind: 'cancelled', orderId: 1, agent: A, lots: 10, reason: 'MATCHING_CANCEL_BY_OWNER' },
        { kind: 'book', side: 'buy', price: 95, lots: 0 },
      ]);
      b.run({ type: 'cancel_client', ts: ts++, agent: A, clientOrderId: 'x-1' });
      expect(b.bal(A)[1]).toEqual([0, 0]);
      expect(b.execute({ type: 'cancel_client', ts: ts++, agent: A, clientOrderId: 'x-1' })).toBe('MATCHING_UNKNOWN_ORDER');
    });

    it("answers another owner's order exactly as an unknown id", () => {
      const b = setup(make);
      b.run(lim(1, A, 'buy', 95, 10));
      const other = strip(b.run(cancel(1, B)));
      const unknown = strip(b.run(cancel(999, B)));
      expect(other).toEqual([{ kind: 'rejected', orderId: 1, agent: B, code: 'MATCHING_UNKNOWN_ORDER' }]);
      expect(unknown).toEqual([{ kind: 'rejected', orderId: 999, agent: B, code: 'MATCHING_UNKNOWN_ORDER' }]);
    });

    it('cancel-all cancels in time priority', () => {
      const b = setup(make);
      b.run(lim(1, A, 'buy', 95, 1), lim(2, A, 'sell', 105, 1), lim(3, B, 'buy', 96, 1), lim(4, A, 'buy', 97, 1));
      b.run({ type: 'amend', ts: ts++, agent: A, orderId: 1, price: 94, lots: 1 }); // loses priority
      const es = b.run({ type: 'cancel_all', ts: ts++, agent: A });
      expect(es.filter((e) => e.kind === 'cancelled').map((e) => e.kind === 'cancelled' && e.orderId)).toEqual([2, 4, 1]);
      expect(b.snapshot().orders.map((o) => o.orderId)).toEqual([3]);
    });

    it('an order id is never reused, even after the order ended', () => {
      const b = setup(make);
      b.run(lim(5, A, 'buy', 95, 1), cancel(5, A));
      expect(b.execute(lim(5, A, 'buy', 95, 1))).toBe('MATCHING_DUPLICATE_ORDER_ID');
      expect(b.execute(lim(4, A, 'buy', 95, 1))).toBe('MATCHING_DUPLICATE_ORDER_ID');
      expect(b.execute(lim(6, A, 'buy', 95, 1))).toBeNull();
    });
  });

  describe('amend', () => {
    it('a size decrease keeps priority', () => {
      const b = setup(make);
      b.run(lim(1, A, 'sell', 100, 5), lim(2, C, 'sell', 100, 5));
      expect(strip(b.run({ type: 'amend', ts: ts++, agent: A, orderId: 1, price: 100, lots: 2 }))).toEqual([
        { kind: 'amended', orderId: 1, agent: A, price: 100, lots: 2, keptPriority: true },
        { kind: 'book', side: 'sell', price: 100, lots: 7 },
      ]);
      expect(b.bal(A)[1]).toEqual([0, 20]);
      const es = b.run(lim(3, B, 'buy', 100, 1));
      expect(trades(es).map((t) => t.kind === 'trade' && t.makerOrderId)).toEqual([1]);
    });

    it.each([
      ['a size increase', 100, 6],
      ['a price change', 101, 5],
    ])('%s loses priority', (_n, price, lots) => {
      const b = setup(make);
      b.run(lim(1, A, 'sell', 100, 5), lim(2, C, 'sell', 101, 5));
      const es = b.run({ type: 'amend', ts: ts++, agent: A, orderId: 1, price, lots });
      expect(kinds(es)).toEqual(['amended', 'book', 'book']);
      b.run(cancel(2, C));
      b.run(lim(3, C, 'sell', price, 1));
      const t = trades(b.run(lim(4, B, 'buy', price, 1)));
      expect(t.map((x) => x.kind === 'trade' && x.makerOrderId)).toEqual(price === 100 ? [1] : [1]);
      expect(b.snapshot().orders.find((o) => o.orderId === 1)?.prio).toBeGreaterThan(2);
    });

    it('never trades: a crossing price is rejected and the order stays', () => {
      const b = setup(make);
      b.run(lim(1, A, 'buy', 95, 5), lim(2, C, 'sell', 100, 5));
      const before = b.hash();
      expect(b.execute({ type: 'amend', ts: ts++, agent: A, orderId: 1, price: 100, lots: 5 })).toBe('MATCHING_AMEND_WOULD_CROSS');
      expect(b.hash()).toBe(before);
    });

    it('needs funds for what it adds', () => {
      const b = setup(make);
      b.run(lim(1, A, 'buy', 95, 5));
      expect(b.execute({ type: 'amend', ts: ts++, agent: A, orderId: 1, price: 95, lots: 1000 })).toBeNull();
      expect(b.execute({ type: 'amend', ts: ts++, agent: A, orderId: 1, price: 99, lots: 1000 })).toBeNull();
      b.run({ type: 'withdraw', ts: ts++, agent: A, asset: 'credit', amount: CREDITS - 99_000 });
      expect(b.execute({ type: 'amend', ts: ts++, agent: A, orderId: 1, price: 100, lots: 1000 })).toBe('MATCHING_INSUFFICIENT_FUNDS');
    });
  });

  describe('self-trade prevention', () => {
    const stpRun = (mode: 'cancel_taker' | 'cancel_maker' | 'cancel_both' | 'decrement_cancel') => {
      const b = setup(make);
      b.run(lim(1, C, 'sell', 100, 2), lim(2, A, 'sell', 100, 3), lim(3, C, 'sell', 101, 5));
      return { b, es: strip(b.run(lim(4, A, 'buy', 101, 5, { stp: mode }))) };
    };
    it('cancel-taker stops the taker; trades already made stand', () => {
      const { b, es } = stpRun('cancel_taker');
      expect(es.filter((e) => e.kind === 'trade')).toHaveLength(1);
      expect(es.at(-1)).toEqual({ kind: 'cancelled', orderId: 4, agent: A, lots: 3, reason: 'MATCHING_CANCEL_STP' });
      expect(b.snapshot().orders.map((o) => o.orderId)).toEqual([2, 3]);
    });
    it('cancel-maker cancels the own maker and goes on', () => {
      const { b, es } = stpRun('cancel_maker');
      expect(es.filter((e) => e.kind === 'trade').map((e) => e.kind === 'trade' && [e.makerOrderId, e.lots])).toEqual([
        [1, 2],
        [3, 3],
      ]);
      expect(es).toContainEqual({ kind: 'cancelled', orderId: 2, agent: A, lots: 3, reason: 'MATCHING_CANCEL_STP' });
      expect(b.snapshot().orders.map((o) => [o.orderId, o.lots])).toEqual([[3, 2]]);
    });
    it('cancel-both cancels the maker, then the taker', () => {
      const { es } = stpRun('cancel_both');
      expect(es.slice(-3)).toEqual([
        { kind: 'cancelled', orderId: 2, agent: A, lots: 3, reason: 'MATCHING_CANCEL_STP' },
        { kind: 'book', side: 'sell', price: 100, lots: 0 },
        { kind: 'cancelled', orderId: 4, agent: A, lots: 3, reason: 'MATCHING_CANCEL_STP' },
      ]);
    });
    it('decrement-and-cancel shrinks both by the smaller size with no trade, cancelling whichever reaches zero', () => {
      const { b, es } = stpRun('decrement_cancel');
      expect(es.slice(3)).toEqual([
        { kind: 'reduced', orderId: 2, agent: A, byLots: 3, lots: 0 },
        { kind: 'cancelled', orderId: 2, agent: A, lots: 0, reason: 'MATCHING_CANCEL_STP' },
        { kind: 'book', side: 'sell', price: 100, lots: 0 },
        { kind: 'reduced', orderId: 4, agent: A, byLots: 3, lots: 0 },
        { kind: 'cancelled', orderId: 4, agent: A, lots: 0, reason: 'MATCHING_CANCEL_STP' },
      ]);
      expect(b.bal(A)[1]).toEqual([0, 0]);
    });
    it('FOK and size-sized market buys price the fill as it will happen: own makers skipped by cancel-maker', () => {
      const b = setup(make);
      b.run(lim(1, A, 'sell', 100, 5), lim(2, C, 'sell', 103, 5));
      expect(b.execute(lim(3, A, 'buy', 103, 5, { tif: 'FOK', stp: 'cancel_maker' }))).toBeNull();
      expect(b.bal(A)[0][0]).toBe(CREDITS - 515);
      b.run(lim(4, A, 'sell', 100, 5), lim(5, C, 'sell', 104, 5));
      b.run({ type: 'withdraw', ts: ts++, agent: A, asset: 'credit', amount: CREDITS - 515 - 519 });
      // the fill costs 5 x 104 = 520 (not 5 x 100): one credit short, rejected whole
      expect(b.execute(mkt(6, A, 'buy', { lots: 5 }, { stp: 'cancel_maker' }))).toBe('MATCHING_INSUFFICIENT_FUNDS');
      b.run({ type: 'deposit', ts: ts++, agent: A, asset: 'credit', amount: 1 });
      expect(b.execute(mkt(7, A, 'buy', { lots: 5 }, { stp: 'cancel_maker' }))).toBeNull();
      expect(b.bal(A)[0]).toEqual([0, BASE + 100]);
    });
    it('decrement-and-cancel on a spend-sized taker counts the lots its spend affords at that maker', () => {
      const b = setup(make);
      b.run(lim(1, A, 'sell', 100, 2), lim(2, C, 'sell', 100, 10));
      // spend 500 affords 5 lots at 100: the own maker (2 lots) and the taker both shrink by 2, then 3 lots trade
      const es = strip(b.run(mkt(3, A, 'buy', { spend: 500 }, { stp: 'decrement_cancel' })));
      expect(es.filter((e) => e.kind === 'reduced')).toEqual([
        { kind: 'reduced', orderId: 1, agent: A, byLots: 2, lots: 0 },
        { kind: 'reduced', orderId: 3, agent: A, byLots: 2, lots: 0 },
      ]);
      expect(es.filter((e) => e.kind === 'trade').map((e) => e.kind === 'trade' && [e.makerOrderId, e.lots])).toEqual([[2, 3]]);
      expect(b.bal(A)).toEqual([
        [CREDITS - 300, BASE + 30],
        [0, 0],
      ]);
    });
    it('uses the market default for orders that name none', () => {
      const b = setup(make, { defaultStp: 'cancel_maker' });
      b.run(lim(1, A, 'sell', 100, 3));
      expect(kinds(b.run(lim(2, A, 'buy', 100, 1)))).toEqual(['accepted', 'cancelled', 'book', 'book']);
    });
    it('applies only where a trade would happen', () => {
      const b = setup(make);
      b.run(lim(1, A, 'sell', 100, 3));
      expect(kinds(b.run(lim(2, A, 'buy', 99, 1)))).toEqual(['accepted', 'book']);
    });
  });

  describe('market states', () => {
    it('cancel-only accepts cancels and cancel-all, no orders or amends', () => {
      const b = setup(make);
      b.run(lim(1, A, 'buy', 95, 1), lim(2, A, 'buy', 94, 1), { type: 'set_state', ts: ts++, state: 'cancel_only' });
      expect(b.execute(lim(3, A, 'buy', 95, 1))).toBe('MATCHING_MARKET_CANCEL_ONLY');
      expect(b.execute({ type: 'amend', ts: ts++, agent: A, orderId: 1, price: 95, lots: 1 })).toBe('MATCHING_MARKET_CANCEL_ONLY');
      expect(b.execute(cancel(1, A))).toBeNull();
      expect(b.execute({ type: 'cancel_all', ts: ts++, agent: A })).toBeNull();
    });
    it('halted accepts nothing, cancels included', () => {
      const b = setup(make);
      b.run(lim(1, A, 'buy', 95, 1), { type: 'set_state', ts: ts++, state: 'halted' });
      const before = b.hash();
      expect(b.execute(cancel(1, A))).toBe('MATCHING_MARKET_HALTED');
      expect(b.execute({ type: 'cancel_all', ts: ts++, agent: A })).toBe('MATCHING_MARKET_HALTED');
      expect(b.execute(mkt(2, B, 'sell', { lots: 1 }))).toBe('MATCHING_MARKET_HALTED');
      expect(b.hash()).toBe(before);
    });
  });

  describe('limits', () => {
    it('orders per agent per market', () => {
      const b = setup(make, { ordersPerAgentMax: 2 });
      b.run(lim(1, A, 'buy', 95, 1), lim(2, A, 'buy', 95, 1));
      expect(b.execute(lim(3, A, 'buy', 95, 1))).toBe('MATCHING_TOO_MANY_ORDERS');
      expect(b.execute(lim(4, A, 'buy', 95, 1, { tif: 'IOC' }))).toBeNull(); // does not rest
    });
    it('book depth', () => {
      const b = setup(make, { bookOrdersMax: 2 });
      b.run(lim(1, A, 'buy', 95, 1), lim(2, B, 'buy', 95, 1));
      const before = b.hash();
      expect(b.execute(lim(3, C, 'buy', 95, 1))).toBe('MATCHING_BOOK_FULL');
      expect(b.hash()).toBe(before);
    });
    it('command size', () => {
      const b = setup(make);
      expect(b.execute(lim(1, A, 'buy', 95, 1001))).toBe('MATCHING_INVALID_SIZE');
      expect(b.execute(mkt(2, A, 'buy', { spend: 10_000_001 }))).toBe('MATCHING_INVALID_SPEND');
    });
  });

  describe('funds', () => {
    it('a buy cannot reserve more credits than available; a sell cannot offer more lots than held', () => {
      const b = setup(make);
      expect(b.execute(lim(1, A, 'buy', 100, 1000))).toBeNull(); // 100,000
      b.run({ type: 'withdraw', ts: ts++, agent: A, asset: 'credit', amount: CREDITS - 100_000 });
      expect(b.execute(lim(2, A, 'buy', 90, 1))).toBe('MATCHING_INSUFFICIENT_FUNDS');
      b.run({ type: 'withdraw', ts: ts++, agent: B, asset: 'base', amount: BASE - 50 });
      expect(b.execute(lim(4, B, 'sell', 105, 6))).toBe('MATCHING_INSUFFICIENT_FUNDS');
      expect(b.execute(lim(5, B, 'sell', 105, 5))).toBeNull();
      expect(b.execute({ type: 'withdraw', ts: ts++, agent: B, asset: 'base', amount: 1 })).toBe('MATCHING_INSUFFICIENT_BALANCE');
    });
  });

  describe('rejection precedence', () => {
    // Each row breaks every rule from its own down to the last; the code must be the row's own.
    const rows: [string, (b: Book) => void, Cmd, string][] = [
      [
        'market state',
        (b) => b.execute({ type: 'set_state', ts: 1001, state: 'halted' }),
        lim(9, 7, 'buy', 0, 0, { postOnly: true }),
        'MATCHING_MARKET_HALTED',
      ],
      ['invalid fields', () => undefined, lim(9, 7, 'buy', 0, 1, { postOnly: true }), 'MATCHING_INVALID_PRICE'],
      ['unknown owner', () => undefined, lim(1, 7, 'buy', 200, 1, { postOnly: true }), 'MATCHING_UNKNOWN_AGENT'],
      ['duplicate id', () => undefined, lim(1, A, 'buy', 200, 1, { tif: 'GTD', expiresAt: 1, postOnly: true }), 'MATCHING_DUPLICATE_ORDER_ID'],
      ['already expired', () => undefined, lim(9, A, 'buy', 200, 1000, { tif: 'GTD', expiresAt: 1, postOnly: true }), 'MATCHING_ALREADY_EXPIRED'],
      ['price band', () => undefined, lim(9, A, 'buy', 200, 1000, { postOnly: true }), 'MATCHING_PRICE_OUTSIDE_BAND'],
      ['post-only would cross', () => undefined, lim(9, A, 'buy', 110, 1000, { postOnly: true }), 'MATCHING_POST_ONLY_WOULD_CROSS'],
      [
        'insufficient funds',
        (b) => b.execute({ type: 'withdraw', ts: 1001, agent: A, asset: 'credit', amount: CREDITS - 1000 }),
        lim(9, A, 'buy', 101, 1000),
        'MATCHING_INSUFFICIENT_FUNDS',
      ],
    ];
    it.each(rows)('%s', (_n, prepare, cmd, code) => {
      const b = setup(make);
      b.execute({ ...lim(1, B, 'sell', 101, 1), ts: 1000 });
      prepare(b);
      b.take();
      const before = b.hash();
      expect(b.execute({ ...cmd, ts: 1002 })).toBe(code);
      expect(b.hash()).toBe(before);
      expect(strip(b.take())).toEqual([
        { kind: 'rejected', orderId: (cmd as { orderId: number }).orderId, agent: (cmd as { agent: number }).agent, code },
      ]);
    });

    const cancelRows: [string, (b: Book) => void, Cmd, string][] = [
      ['market state (halted)', (b) => b.execute({ type: 'set_state', ts: 1001, state: 'halted' }), cancel(0, 7), 'MATCHING_MARKET_HALTED'],
      ['invalid id', () => undefined, cancel(0, 7), 'MATCHING_INVALID_ORDER_ID'],
      ['unknown owner', () => undefined, cancel(1, 7), 'MATCHING_UNKNOWN_AGENT'],
      ['unknown order', () => undefined, cancel(2, A), 'MATCHING_UNKNOWN_ORDER'],
    ];
    it.each(cancelRows)('cancel: %s', (_n, prepare, cmd, code) => {
      const b = setup(make);
      b.execute({ ...lim(1, B, 'sell', 101, 1), ts: 1000 });
      prepare(b);
      const before = b.hash();
      expect(b.execute({ ...cmd, ts: 1002 })).toBe(code);
      expect(b.hash()).toBe(before);
    });

    const amend = (orderId: number, agent: number, price: number, lots: number): Cmd => ({ type: 'amend', ts: 1002, orderId, agent, price, lots });
    const amendRows: [string, (b: Book) => void, Cmd, string][] = [
      [
        'market state (cancel-only)',
        (b) => b.execute({ type: 'set_state', ts: 1001, state: 'cancel_only' }),
        amend(0, 7, 0, 0),
        'MATCHING_MARKET_CANCEL_ONLY',
      ],
      ['invalid id', () => undefined, amend(0, 7, 0, 0), 'MATCHING_INVALID_ORDER_ID'],
      ['invalid price', () => undefined, amend(1, 7, 0, 0), 'MATCHING_INVALID_PRICE'],
      ['invalid size', () => undefined, amend(1, 7, 200, 0), 'MATCHING_INVALID_SIZE'],
      ['unknown owner', () => undefined, amend(1, 7, 200, 1000), 'MATCHING_UNKNOWN_AGENT'],
      ['unknown order (another owner)', () => undefined, amend(1, A, 200, 1000), 'MATCHING_UNKNOWN_ORDER'],
      ['price band', () => undefined, amend(1, B, 200, 1000), 'MATCHING_PRICE_OUTSIDE_BAND'],
      ['would cross', (b) => b.execute({ ...lim(2, C, 'buy', 99, 1), ts: 1001 }), amend(1, B, 99, 1000), 'MATCHING_AMEND_WOULD_CROSS'],
      ['insufficient funds', () => undefined, amend(1, B, 102, 1000), 'MATCHING_INSUFFICIENT_FUNDS'],
    ];
    it.each(amendRows)('amend: %s', (_n, prepare, cmd, code) => {
      const b = setup(make);
      b.execute({ type: 'withdraw', ts: 1000, agent: B, asset: 'base', amount: BASE - 5000 });
      b.execute({ ...lim(1, B, 'sell', 101, 1), ts: 1000 });
      prepare(b);
      const before = b.hash();
      expect(b.execute({ ...cmd, ts: 1002 })).toBe(code);
      expect(b.hash()).toBe(before);
    });

    it('time going backwards is rejected', () => {
      const b = setup(make);
      b.execute({ type: 'tick', ts: 5000 });
      expect(b.execute({ type: 'tick', ts: 4999 })).toBe('MATCHING_INVALID_TIMESTAMP');
    });
  });
});
