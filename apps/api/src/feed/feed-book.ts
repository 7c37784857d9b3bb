import { bookChecksum, FeedBookMessage, FeedLevel } from '@ate/contracts';
import type { CommittedBook } from '@ate/sequencer';

/** How a market writes ticks and lots as decimal strings (its tick and lot size). */
export interface LevelFormat {
  price(ticks: number): string;
  quantity(lots: number): string;
}

type Side = 'buy' | 'sell';

/**
 * One market's book as the feed sends it: the committed view (the levels `GET /v1/markets/:id/book` shows, up to
 * the engine's view depth), its seq, what changed since the last message sent (conflated), and a bounded buffer
 * of the deltas sent, to replay a reconnecting client's gap.
 *
 * A delta holds (a) every level an engine `book` event touched in (prev, seq], with its quantity at seq, and (b)
 * every level whose quantity differs between the views at prev and at seq (a level that came into or left the
 * view). (a) makes a delta right for a book at any seq in [prev, seq) (REST-snapshot sync), (b) for a book at prev.
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

  /** The delta from the last message to the newest view absorbed (null when nothing is pending). */
  flush(): FeedBookMessage | null {
    if (this.pendingSince === null) return null;
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
    const msg: FeedBookMessage = { type: 'delta', market: this.market, seq: b.seq, prev, bids, asks, checksum: this.checksum(), committedAt };
    this.ring.push(msg);
    if (this.ring.length > this.replayMax) this.ring.shift();
    return msg;
  }

  snapshot(now: number): FeedBookMessage {
    const level = ([p, l]: [number, number]): FeedLevel => [this.fmt.price(p), this.fmt.quantity(l)];
    return {
      type: 'snapshot',
      market: this.market,
      seq: this.seq,
      prev: null,
      bids: this.bidView.map(level),
      asks: this.askView.map(level),
      checksum: this.checksum(),
      committedAt: now,
    };
  }

  /**
   * The deltas a client whose book is at `since` needs to reach the last message sent: [] when it is there,
   * null when the buffer no longer reaches back to it (or it claims a seq the feed never reached).
   */
  since(since: number): FeedBookMessage[] | null {
    if (since === this.seq) return [];
    if (since > this.seq) return null;
    const i = this.ring.findIndex((m) => m.seq > since);
    const first = this.ring[i];
    if (!first || (first.prev as number) > since) return null;
    return this.ring.slice(i);
  }

  private take(b: CommittedBook): void {
    this.bidView = b.bids;
    this.askView = b.asks;
    this.bids = new Map(b.bids);
    this.asks = new Map(b.asks);
  }

  private diff(old: Map<number, number>, view: [number, number][], touched: Set<number>): FeedLevel[] {
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
