import { bookChecksum, FeedBookDepth, FeedBookMessage, FeedLevel } from '@ate/contracts';
import type { CommittedBook } from '@ate/sequencer';

/** How a market writes ticks and lots as decimal strings (its tick and lot size). */
export interface LevelFormat {
  price(ticks: number): string;
  quantity(lots: number): string;
}

type Side = 'buy' | 'sell';

/** A depth-limited view of the book: its best `depth` levels as last sent, that message's seq, and its own replay buffer. */
export interface TopView {
  depth: FeedBookDepth;
  bids: Map<number, number>;
  asks: Map<number, number>;
  seq: number;
  ring: FeedBookMessage[];
}

/**
 * One market's book as the feed sends it: the committed view (the levels `GET /v1/markets/:id/book` shows, up to
 * the engine's view depth), its seq, what changed since the last message sent (conflated), and a bounded buffer
 * of the deltas sent, to replay a reconnecting client's gap.
 *
 * A delta holds (a) every level an engine `book` event touched in (prev, seq], with its quantity at seq, and (b)
 * every level whose quantity differs between the views at prev and at seq (a level that came into or left the
 * view). (a) makes a delta right for a book at any seq in [prev, seq) (REST-snapshot sync), (b) for a book at prev.
 *
 * Depth-limited views (`top(depth)`, made when a subscriber first asks) flush with it: a view's delta is the
 * difference of its best `depth` levels between its last message and now (a book at its `prev` only), and none is
 * made while those levels stay the same, so such a view's seq is the last change of its levels.
 */
export class FeedBook {
  private bids = new Map<number, number>();
  private asks = new Map<number, number>();
  private bidView: [number, number][] = [];
  private askView: [number, number][] = [];
  private latest: CommittedBook;
  private readonly touched = { buy: new Set<number>(), sell: new Set<number>() };
  /** when the oldest batch not yet sent arrived (null: nothing pending) */
  private pendingSince: number | null = null;
  private readonly ring: FeedBookMessage[] = [];
  private readonly tops = new Map<FeedBookDepth, TopView>();
  seq: number;

  constructor(
    readonly market: string,
    base: CommittedBook,
    private readonly fmt: LevelFormat,
    private readonly replayMax: number,
  ) {
    this.latest = base;
    this.seq = base.seq;
    this.take(base);
  }

  /** A committed batch's view of the market, with the prices its `book` events touched; ignored if not newer. */
  absorb(book: CommittedBook, touched: { side: Side; price: number }[], now: number): void {
    if (book.seq <= this.latest.seq) return;
    this.latest = book;
    for (const t of touched) this.touched[t.side].add(t.price);
    this.pendingSince ??= now;
  }

  get pending(): boolean {
    return this.pendingSince !== null;
  }

  /**
   * The messages from the last ones to the newest view absorbed: the whole view's delta first, then each
   * depth-limited view's whose levels changed ([] when nothing is pending).
   */
  flush(): FeedBookMessage[] {
    if (this.pendingSince === null) return [];
    const b = this.latest;
    const bids = this.diff(this.bids, b.bids, this.touched.buy);
    const asks = this.diff(this.asks, b.asks, this.touched.sell);
    const committedAt = this.pendingSince;
    this.pendingSince = null;
    this.touched.buy.clear();
    this.touched.sell.clear();
    const prev = this.seq;
    this.seq = b.seq;
    this.take(b);
    const checksum = this.checksum();
    const msg: FeedBookMessage = { type: 'delta', market: this.market, seq: b.seq, prev, bids, asks, checksum, committedAt };
    const out = [msg];
    keep(this.ring, msg, this.replayMax);
    for (const v of this.tops.values()) {
      const topBids = b.bids.slice(0, v.depth);
      const topAsks = b.asks.slice(0, v.depth);
      const vb = this.diff(v.bids, topBids, NONE);
      const va = this.diff(v.asks, topAsks, NONE);
      if (vb.length === 0 && va.length === 0) continue;
      // the whole view's best 10 are the depth-limited view's (every depth is at least 10): the same checksum
      const m: FeedBookMessage = {
        type: 'delta',
        market: this.market,
        depth: v.depth,
        seq: b.seq,
        prev: v.seq,
        bids: vb,
        asks: va,
        checksum,
        committedAt,
      };
      v.seq = b.seq;
      v.bids = new Map(topBids);
      v.asks = new Map(topAsks);
      keep(v.ring, m, this.replayMax);
      out.push(m);
    }
    return out;
  }

  /** Starts (once) the depth-limited view of `depth` levels a side, at the last message sent. */
  top(depth: FeedBookDepth): TopView {
    let v = this.tops.get(depth);
    if (!v) {
      v = { depth, bids: new Map(this.bidView.slice(0, depth)), asks: new Map(this.askView.slice(0, depth)), seq: this.seq, ring: [] };
      this.tops.set(depth, v);
    }
    return v;
  }

  /** The seq of the last message of the whole view, or of a depth-limited view (started if need be). */
  seqOf(depth?: FeedBookDepth): number {
    return depth === undefined ? this.seq : this.top(depth).seq;
  }

  /** The book as the last message left it: the whole view, or its best `depth` levels (at that view's seq). */
  snapshot(now: number, depth?: FeedBookDepth): FeedBookMessage {
    const level = ([p, l]: [number, number]): FeedLevel => [this.fmt.price(p), this.fmt.quantity(l)];
    const n = depth ?? Infinity;
    return {
      type: 'snapshot',
      market: this.market,
      ...(depth === undefined ? {} : { depth }),
      seq: this.seqOf(depth),
      prev: null,
      bids: this.bidView.slice(0, n).map(level),
      asks: this.askView.slice(0, n).map(level),
      checksum: this.checksum(),
      committedAt: now,
    };
  }

  /**
   * The deltas a client whose book (the whole view, or a depth-limited one) is at `since` needs to reach the last
   * message sent: [] when it is there, null when the buffer no longer reaches back to it (or it claims a seq the
   * feed never reached).
   */
  since(since: number, depth?: FeedBookDepth): FeedBookMessage[] | null {
    const seq = this.seqOf(depth);
    const ring = depth === undefined ? this.ring : this.top(depth).ring;
    if (since === seq) return [];
    if (since > seq) return null;
    const i = ring.findIndex((m) => m.seq > since);
    const first = ring[i];
    if (!first || (first.prev as number) > since) return null;
    return ring.slice(i);
  }

  private take(b: CommittedBook): void {
    this.bidView = b.bids;
    this.askView = b.asks;
    this.bids = new Map(b.bids);
    this.asks = new Map(b.asks);
  }

  private diff(old: Map<number, number>, view: [number, number][], touched: ReadonlySet<number>): FeedLevel[] {
    const now = new Map(view);
    const changed = new Map<number, number>();
    for (const [p, l] of view) if (old.get(p) !== l) changed.set(p, l);
    for (const p of old.keys()) if (!now.has(p)) changed.set(p, 0);
    for (const p of touched) if (!changed.has(p)) changed.set(p, now.get(p) ?? 0);
    return [...changed].map(([p, l]) => [this.fmt.price(p), this.fmt.quantity(l)]);
  }

  private checksum(): number {
    const level = ([p, l]: [number, number]): FeedLevel => [this.fmt.price(p), this.fmt.quantity(l)];
    return bookChecksum(this.bidView.slice(0, 10).map(level), this.askView.slice(0, 10).map(level));
  }
}

const NONE: ReadonlySet<number> = new Set();

/** Appends to a bounded replay buffer. */
function keep(ring: FeedBookMessage[], m: FeedBookMessage, max: number): void {
  ring.push(m);
  if (ring.length > max) ring.shift();
}
