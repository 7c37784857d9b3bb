import { bookChecksum, FeedBookMessage, FeedLevel } from '@ate/contracts';

/** A price as an integer for ordering: every price of a market has the same number of decimals. */
const key = (price: string): bigint => BigInt(price.replace('.', ''));

export type ApplyResult = 'ok' | 'gap' | 'checksum' | 'stale';

/**
 * A local copy of one market's book kept from the feed's snapshot and deltas. `apply` says whether the message
 * fit: a delta must start where the book is (`prev === seq`), and the book after it must hash to the message's
 * checksum; otherwise the caller resyncs.
 */
export class LocalBook {
  /** best first: bids highest first, asks lowest first; each level [order key, price, quantity] */
  private readonly bids: Side = [];
  private readonly asks: Side = [];
  /** the seq the book is at, null before the first snapshot */
  seq: number | null = null;

  constructor(readonly market: string) {}

  apply(m: FeedBookMessage): ApplyResult {
    if (m.type === 'snapshot') {
      this.bids.length = 0;
      this.asks.length = 0;
    } else if (this.seq === null) return 'stale';
    else if (m.seq <= this.seq)
      return 'stale'; // already applied (a replay overlapping what arrived)
    else if (m.prev !== this.seq) return 'gap';
    for (const [p, q] of m.bids) set(this.bids, -1, p, q);
    for (const [p, q] of m.asks) set(this.asks, 1, p, q);
    this.seq = m.seq;
    return this.checksum() === m.checksum ? 'ok' : 'checksum';
  }

  /**
   * Starts from a REST book (`GET /v1/markets/:id/book?depth=1000`, the Binance way): deltas whose seq is after
   * it apply from then on (a delta spans (prev, seq] and carries every level touched in it).
   */
  fromRest(b: { seq: number; bids: FeedLevel[]; asks: FeedLevel[] }): void {
    this.bids.length = 0;
    this.asks.length = 0;
    for (const [p, q] of b.bids) set(this.bids, -1, p, q);
    for (const [p, q] of b.asks) set(this.asks, 1, p, q);
    this.seq = b.seq;
  }

  /** Applies a delta to a book started from REST at a seq inside the delta's span. */
  applyOverlapping(m: FeedBookMessage): ApplyResult {
    if (this.seq === null || m.type === 'snapshot' || m.prev === null || m.prev > this.seq) return this.apply(m);
    if (m.seq <= this.seq) return 'stale';
    return this.apply({ ...m, prev: this.seq });
  }

  /** Levels best first: bids highest first, asks lowest first. */
  levels(depth = Infinity): { bids: FeedLevel[]; asks: FeedLevel[] } {
    const out = (side: Side) => side.slice(0, depth).map(([, p, q]): FeedLevel => [p, q]);
    return { bids: out(this.bids), asks: out(this.asks) };
  }

  checksum(): number {
    const { bids, asks } = this.levels(10);
    return bookChecksum(bids, asks);
  }
}

type Side = [key: bigint, price: string, quantity: string][];

/** Sets (or, for a zero quantity, removes) a level, keeping the side sorted best first (binary search). */
function set(side: Side, dir: 1 | -1, p: string, q: string): void {
  const k = key(p);
  let lo = 0;
  let hi = side.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const d = (side[mid] as Side[number])[0] - k;
    if (d === 0n) {
      lo = mid;
      hi = -1;
      break;
    }
    if ((d < 0n ? -1 : 1) * dir < 0) lo = mid + 1;
    else hi = mid;
  }
  const found = hi === -1;
  const zero = /^0*\.?0*$/.test(q);
  if (found) {
    if (zero) side.splice(lo, 1);
    else (side[lo] as Side[number])[2] = q;
  } else if (!zero) side.splice(lo, 0, [k, p, q]);
}
