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
  private readonly bids = new Map<string, string>();
  private readonly asks = new Map<string, string>();
  /** the seq the book is at, null before the first snapshot */
  seq: number | null = null;

  constructor(readonly market: string) {}

  apply(m: FeedBookMessage): ApplyResult {
    if (m.type === 'snapshot') {
      this.bids.clear();
      this.asks.clear();
    } else if (this.seq === null) return 'stale';
    else if (m.seq <= this.seq)
      return 'stale'; // already applied (a replay overlapping what arrived)
    else if (m.prev !== this.seq) return 'gap';
    for (const [p, q] of m.bids) this.set(this.bids, p, q);
    for (const [p, q] of m.asks) this.set(this.asks, p, q);
    this.seq = m.seq;
    return this.checksum() === m.checksum ? 'ok' : 'checksum';
  }

  /**
   * Starts from a REST book (`GET /v1/markets/:id/book?depth=1000`, the Binance way): deltas whose seq is after
   * it apply from then on (a delta spans (prev, seq] and carries every level touched in it).
   */
  fromRest(b: { seq: number; bids: FeedLevel[]; asks: FeedLevel[] }): void {
    this.bids.clear();
    this.asks.clear();
    for (const [p, q] of b.bids) this.set(this.bids, p, q);
    for (const [p, q] of b.asks) this.set(this.asks, p, q);
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
    return { bids: sorted(this.bids, -1).slice(0, depth), asks: sorted(this.asks, 1).slice(0, depth) };
  }

  checksum(): number {
    const { bids, asks } = this.levels(10);
    return bookChecksum(bids, asks);
  }

  private set(side: Map<string, string>, p: string, q: string): void {
    if (/^0*\.?0*$/.test(q)) side.delete(p);
    else side.set(p, q);
  }
}

function sorted(side: Map<string, string>, dir: 1 | -1): FeedLevel[] {
  return [...side].sort((a, b) => {
    const d = key(a[0]) - key(b[0]);
    return d === 0n ? 0 : (d > 0n ? 1 : -1) * dir;
  });
}
