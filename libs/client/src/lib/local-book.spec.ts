import { bookChecksum, FeedBookMessage, FeedLevel, mulberry32 } from '@ate/contracts';
import { LocalBook } from './local-book';

/**
 * The naive twin: each side a map from price to quantity, sorted on every read, and the contracts' own
 * bookChecksum. LocalBook (binary search on integer keys, cached checksum pieces) must read the same.
 */
class NaiveBook {
  private readonly sides = { bids: new Map<string, string>(), asks: new Map<string, string>() };
  apply(m: Pick<FeedBookMessage, 'type' | 'bids' | 'asks'>): void {
    if (m.type === 'snapshot') for (const s of Object.values(this.sides)) s.clear();
    for (const [name, levels] of [
      ['bids', m.bids],
      ['asks', m.asks],
    ] as const)
      for (const [p, q] of levels) {
        if (Number(q) === 0) this.sides[name].delete(p);
        else this.sides[name].set(p, q);
      }
  }
  levels(): { bids: FeedLevel[]; asks: FeedLevel[] } {
    const sorted = (s: Map<string, string>, dir: number) => [...s].sort((a, b) => dir * (Number(a[0]) - Number(b[0])));
    return { bids: sorted(this.sides.bids, -1), asks: sorted(this.sides.asks, 1) };
  }
  checksum(): number {
    const l = this.levels();
    return bookChecksum(l.bids, l.asks);
  }
}

describe('LocalBook', () => {
  /** A random book's life in one market: a snapshot, then deltas that add, change and remove levels (pinned seeds). */
  it.each([20261202, 20261203, 20261204])('keeps the same levels and checksum as its naive twin (seed %i)', (seed) => {
    const rnd = mulberry32(seed);
    const decimals = Math.floor(rnd() * 4);
    const price = (ticks: number) => (ticks / 10 ** decimals).toFixed(decimals);
    const quantity = () => (rnd() < 0.2 ? (0).toFixed(2) : (Math.floor(rnd() * 5000) / 100).toFixed(2));
    const fast = new LocalBook('T-CREDIT');
    const naive = new NaiveBook();
    let seq = 0;
    for (let n = 0; n < 400; n++) {
      const snapshot = n === 0 || rnd() < 0.02;
      // bids below 1,000 ticks, asks above: a price is touched again often (changes and removals)
      const levels = (from: number, to: number): FeedLevel[] =>
        Array.from({ length: Math.floor(rnd() * (snapshot ? 40 : 8)) }, () => [price(from + Math.floor(rnd() * (to - from))), quantity()]);
      const m: FeedBookMessage = {
        type: snapshot ? 'snapshot' : 'delta',
        market: 'T-CREDIT',
        seq: seq + 1 + Math.floor(rnd() * 3),
        prev: snapshot ? null : seq,
        bids: levels(1, 1000),
        asks: levels(1000, 2000),
        checksum: 0,
        committedAt: 0,
      };
      naive.apply(m);
      m.checksum = naive.checksum();
      expect(fast.apply(m)).toBe('ok');
      expect(fast.levels()).toEqual(naive.levels());
      seq = m.seq;
    }
  });

  it('says what does not fit, in order: stale before its first snapshot, stale if already applied, gap, checksum', () => {
    const b = new LocalBook('T-CREDIT');
    const delta = (prev: number, seq: number, checksum: number): FeedBookMessage => ({
      type: 'delta',
      market: 'T-CREDIT',
      seq,
      prev,
      bids: [['1.00', '2']],
      asks: [],
      checksum,
      committedAt: 0,
    });
    const sum = bookChecksum([['1.00', '2']], []);
    expect(b.apply(delta(0, 1, sum))).toBe('stale');
    expect(b.apply({ ...delta(0, 5, bookChecksum([], [])), type: 'snapshot', prev: null, bids: [] })).toBe('ok');
    expect(b.apply(delta(4, 5, sum))).toBe('stale');
    expect(b.apply(delta(6, 7, sum))).toBe('gap');
    expect(b.apply(delta(5, 6, sum + 1))).toBe('checksum');
    expect(b.seq).toBe(6);
  });
});
