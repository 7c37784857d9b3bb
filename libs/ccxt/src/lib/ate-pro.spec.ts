import { bookChecksum, FeedLevel, mulberry32 } from '@ate/contracts';
import { AteProExchange } from './ate-pro';

/** The class's book checksum is the feed's (libs/contracts bookChecksum), over random books (pinned seed). */
describe('AteProExchange.bookChecksum', () => {
  const ex = new AteProExchange({});

  it('equals the feed checksum of the same levels, whatever their order in the maps', () => {
    const rnd = mulberry32(20261203);
    for (let n = 0; n < 300; n++) {
      const decimals = Math.floor(rnd() * 4);
      const qDecimals = Math.floor(rnd() * 3);
      const fmt = (v: number, d: number) => (v / 10 ** d).toFixed(d);
      const side = (from: number, dir: 1 | -1): FeedLevel[] => {
        const k = Math.floor(rnd() * 25);
        const prices = new Set<number>();
        while (prices.size < k) prices.add(from + dir * (1 + Math.floor(rnd() * 500)));
        return [...prices].sort((a, b) => (a - b) * dir).map((p) => [fmt(p, decimals), fmt(1 + Math.floor(rnd() * 10_000), qDecimals)]);
      };
      const mid = 1000 + Math.floor(rnd() * 100_000);
      const bids = side(mid, -1);
      const asks = side(mid, 1);
      const shuffled = (l: FeedLevel[]) => new Map([...l].sort(() => rnd() - 0.5));
      expect([n, ex.bookChecksum({ bids: shuffled(bids), asks: shuffled(asks) })]).toEqual([n, bookChecksum(bids, asks)]);
    }
  });

  it('an empty book is 0, as on the feed', () => {
    expect(ex.bookChecksum({ bids: new Map(), asks: new Map() })).toBe(bookChecksum([], []));
  });
});
