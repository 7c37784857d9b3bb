import { checksumOf, checksumPiece, FEED_CHECKSUM_DEPTH, FeedBookDepth, FeedBookMessage, FeedLevel } from '@ate/contracts';

export type ApplyResult = 'ok' | 'gap' | 'checksum' | 'stale';

/**
 * A local copy of one market's book kept from the feed's snapshot and deltas. `apply` says whether the message
 * fit: a delta must start where the book is (`prev === seq`), and the book after it must hash to the message's
 * checksum; otherwise the caller resyncs.
 *
 * Built for many books per process (a bot following many markets, or a thousand subscribers in a benchmark): a
 * level keeps its price as an exact integer (the decimal string's digits: every price of a market has the same
 * number of decimals) for the binary search, and its piece of the checksum string, made when a checksum first
 * reads it; a message costs its levels' searches and one CRC32 of the top levels' pieces. local-book.spec.ts checks it
 * against a naive twin (a map, sorted on every read, and the contracts' bookChecksum).
 */
export class LocalBook {
  /** best first: bids highest first, asks lowest first */
  private readonly bids: Level[] = [];
  private readonly asks: Level[] = [];
  /** the seq the book is at, null before the first snapshot */
  seq: number | null = null;

  /** `depth`: the book of a depth-limited subscription (its best `depth` levels a side), else the whole book */
  constructor(
    readonly market: string,
    readonly depth?: FeedBookDepth,
  ) {}

  apply(m: FeedBookMessage): ApplyResult {
    if (m.type === 'snapshot') {
      this.bids.length = 0;
      this.asks.length = 0;
    } else if (this.seq === null) return 'stale';
    else if (m.seq <= this.seq)
      return 'stale'; // already applied (a replay overlapping what arrived)
    else if (m.prev !== this.seq) return 'gap';
    for (const l of m.bids) set(this.bids, -1, l[0], l[1]);
    for (const l of m.asks) set(this.asks, 1, l[0], l[1]);
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
    const out = (side: Level[]) => side.slice(0, depth).map((l): FeedLevel => [l.price, l.quantity]);
    return { bids: out(this.bids), asks: out(this.asks) };
  }

  /** The book checksum (libs/contracts bookChecksum) of the book as it is. */
  checksum(): number {
    let s = '';
    const na = Math.min(this.asks.length, FEED_CHECKSUM_DEPTH);
    for (let i = 0; i < na; i++) s += pieceOf(this.asks[i] as Level);
    const nb = Math.min(this.bids.length, FEED_CHECKSUM_DEPTH);
    for (let i = 0; i < nb; i++) s += pieceOf(this.bids[i] as Level);
    return checksumOf(s);
  }
}

interface Level {
  /** the price's digits as an integer: the order of prices */
  key: number;
  price: string;
  quantity: string;
  /** checksumPiece(price, quantity) once a checksum read it ('' until then, and again after a change) */
  piece: string;
}

/** The level's piece of the checksum string, made when first read (most levels change deep in the book, unread). */
function pieceOf(l: Level): string {
  if (l.piece === '') l.piece = checksumPiece(l.price, l.quantity);
  return l.piece;
}

/** A decimal string's digits as an integer ("0.050" -> 50): exact below 2^53, which every price in ticks is. */
function keyOf(price: string): number {
  let n = 0;
  for (let i = 0; i < price.length; i++) {
    const c = price.charCodeAt(i);
    if (c !== 46) n = n * 10 + (c - 48); // 46: '.'
  }
  return n;
}

/** Whether a decimal string is zero ("0", "0.000"). */
function isZero(q: string): boolean {
  for (let i = 0; i < q.length; i++) {
    const c = q.charCodeAt(i);
    if (c !== 48 && c !== 46) return false;
  }
  return true;
}

/** Sets (or, for a zero quantity, removes) a level, keeping the side sorted best first (binary search). */
function set(side: Level[], dir: 1 | -1, p: string, q: string): void {
  const key = keyOf(p);
  const k = key * dir; // ascending in key * dir: asks lowest first, bids highest first
  let lo = 0;
  let hi = side.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const d = (side[mid] as Level).key * dir - k;
    if (d === 0) {
      const l = side[mid] as Level;
      if (isZero(q)) side.splice(mid, 1);
      else if (l.quantity !== q) {
        l.quantity = q;
        l.piece = '';
      }
      return;
    }
    if (d < 0) lo = mid + 1;
    else hi = mid;
  }
  if (!isZero(q)) side.splice(lo, 0, { key, price: p, quantity: q, piece: '' });
}
