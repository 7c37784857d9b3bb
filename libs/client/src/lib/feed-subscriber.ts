import {
  deriveSigningKey,
  FEED_EVENTS,
  FEED_PATH,
  FEED_SIGNED_METHOD,
  FeedAck,
  FeedBookMessage,
  FeedError,
  FeedPrivateMessage,
  FeedResyncRequired,
  FeedSubscribeRequest,
  FeedTicker,
  FeedTrade,
  marketIdOf,
  marketSymbolOf,
  signRequest,
} from '@ate/contracts';
import { io, Socket } from 'socket.io-client';
import { LocalBook } from './local-book';

export interface FeedSubscriberOptions {
  /** the api's base URL, e.g. http://127.0.0.1:3000 */
  baseUrl: string;
  /** an API key for the private channel (its handshake is signed like a REST request) */
  keyId?: string;
  secret?: string;
  clockOffsetMs?: number;
  /** for tests: drop a book message before it is applied (forces a gap) */
  dropBookMessage?: (m: FeedBookMessage) => boolean;
}

export interface FeedStats {
  bookMessages: number;
  gaps: number;
  checksumFailures: number;
  resyncs: number;
  snapshots: number;
  reconnects: number;
}

type Listener<T> = (x: T) => void;

/** How long a resync may wait for the message that continues the book before it asks again (ms). */
const RESYNC_RETRY_MS = 1_000;

/**
 * The feed's subscriber helper: one socket.io connection; a local book per subscribed market kept from snapshot
 * and deltas, checked against each message's seq and checksum, resynced by itself (a gap asks the server to
 * replay from the last seq it holds; a checksum failure or a `resync_required` takes a fresh snapshot); trades,
 * tickers and the agent's private updates as typed events. On reconnect it subscribes again, books from their seq.
 */
export class FeedSubscriber {
  readonly socket: Socket;
  readonly stats: FeedStats = { bookMessages: 0, gaps: 0, checksumFailures: 0, resyncs: 0, snapshots: 0, reconnects: 0 };
  private readonly books = new Map<string, LocalBook>();
  private readonly subs = new Map<string, FeedSubscribeRequest>();
  private readonly resyncing = new Set<string>();
  private readonly resyncTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly listeners = {
    book: new Set<Listener<{ book: LocalBook; message: FeedBookMessage }>>(),
    trade: new Set<Listener<FeedTrade>>(),
    ticker: new Set<Listener<FeedTicker>>(),
    private: new Set<Listener<FeedPrivateMessage>>(),
    error: new Set<Listener<FeedError>>(),
  };
  private connectedOnce = false;
  private slow = false;

  constructor(private readonly opts: FeedSubscriberOptions) {
    const signingKey = opts.secret ? deriveSigningKey(opts.secret) : undefined;
    this.socket = io(opts.baseUrl, {
      path: FEED_PATH,
      transports: ['websocket'],
      // signed afresh at each (re)connection: a signature is used once
      auth: (cb) => {
        if (!opts.keyId || !signingKey) return cb({});
        const ts = String(Date.now() + (opts.clockOffsetMs ?? 0));
        cb({ key: opts.keyId, timestamp: ts, signature: signRequest(signingKey, ts, FEED_SIGNED_METHOD, FEED_PATH, '') });
      },
    });
    this.socket.on('connect', () => {
      if (this.connectedOnce) {
        this.stats.reconnects++;
        for (const req of this.subs.values()) this.resend(this.withSince(req));
      }
      this.connectedOnce = true;
    });
    this.socket.on(FEED_EVENTS.book, (m: FeedBookMessage) => this.onBook(m));
    this.socket.on(FEED_EVENTS.resync, (r: FeedResyncRequired) => {
      this.stats.resyncs++;
      this.resyncing.add(r.market); // a snapshot follows
    });
    this.socket.on(FEED_EVENTS.trade, (t: FeedTrade) => this.listeners.trade.forEach((f) => f(t)));
    this.socket.on(FEED_EVENTS.ticker, (t: FeedTicker) => this.listeners.ticker.forEach((f) => f(t)));
    this.socket.on(FEED_EVENTS.private, (p: FeedPrivateMessage) => this.listeners.private.forEach((f) => f(p)));
    this.socket.on(FEED_EVENTS.error, (e: FeedError) => {
      if (e.code === 'FEED_SLOW_CONSUMER') this.slow = true;
      this.listeners.error.forEach((f) => f(e));
    });
    // the server cut this client off as too slow: reconnect (and resubscribe from the books' seqs)
    this.socket.on('disconnect', (reason) => {
      if (reason !== 'io server disconnect' || !this.slow) return;
      this.slow = false;
      this.socket.connect();
    });
  }

  /** Resolves once connected; rejects with the server's reason (`connect_error`: err.data is a FeedError). */
  connected(): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const ok = () => {
        this.socket.off('connect_error', bad);
        resolve();
      };
      const bad = (e: Error & { data?: FeedError }) => {
        this.socket.off('connect', ok);
        reject(e);
      };
      this.socket.once('connect', ok);
      this.socket.once('connect_error', bad);
    });
  }

  /** Keeps a local book of `market` (its id, or its symbol); resolves with it once the first snapshot arrived. */
  async book(ref: string): Promise<LocalBook> {
    const market = shownId(ref);
    const b = this.books.get(market) ?? new LocalBook(market);
    this.books.set(market, b);
    const first = b.seq !== null ? Promise.resolve() : new Promise<void>((r) => this.whenBook(market, r));
    const ack = await this.subscribe({ channel: 'book', market });
    if (!ack.ok) throw Object.assign(new Error(`${ack.error.code}: ${ack.error.message}`), { ack });
    await first;
    return b;
  }

  subscribe(request: FeedSubscribeRequest): Promise<FeedAck> {
    const req = named(request);
    const k = subKey(req);
    return this.send('subscribe', req).then((ack) => {
      if (ack.ok) this.subs.set(k, req);
      return ack;
    });
  }

  unsubscribe(request: FeedSubscribeRequest): Promise<FeedAck> {
    const req = named(request);
    this.subs.delete(subKey(req));
    if (req.channel === 'book') this.books.delete(req.market);
    return this.send('unsubscribe', req);
  }

  on(ev: 'book', f: Listener<{ book: LocalBook; message: FeedBookMessage }>): this;
  on(ev: 'trade', f: Listener<FeedTrade>): this;
  on(ev: 'ticker', f: Listener<FeedTicker>): this;
  on(ev: 'private', f: Listener<FeedPrivateMessage>): this;
  on(ev: 'error', f: Listener<FeedError>): this;
  on(ev: keyof FeedSubscriber['listeners'], f: Listener<never>): this {
    (this.listeners[ev] as Set<Listener<never>>).add(f);
    return this;
  }

  close(): void {
    for (const t of this.resyncTimers.values()) clearTimeout(t);
    this.resyncTimers.clear();
    this.socket.disconnect();
  }

  private send(ev: 'subscribe' | 'unsubscribe', req: FeedSubscribeRequest): Promise<FeedAck> {
    return this.socket.timeout(10_000).emitWithAck(ev, req) as Promise<FeedAck>;
  }

  /** A subscribe of the helper's own (a resync): a disconnect meanwhile is fine, the reconnect subscribes again. */
  private resend(req: FeedSubscribeRequest): void {
    this.send('subscribe', req).catch(() => undefined);
  }

  private withSince(req: FeedSubscribeRequest): FeedSubscribeRequest {
    if (req.channel !== 'book') return req;
    const seq = this.books.get(req.market)?.seq;
    return seq === null || seq === undefined ? req : { ...req, since: seq };
  }

  private whenBook(market: string, done: () => void): void {
    const f = ({ book }: { book: LocalBook }) => {
      if (book.market !== market || book.seq === null) return;
      this.listeners.book.delete(f);
      done();
    };
    this.listeners.book.add(f);
  }

  /**
   * Marks the book as resyncing; if no message continues it within RESYNC_RETRY_MS (what answered the resync was
   * lost too), asks again.
   */
  private startResync(market: string): void {
    this.resyncing.add(market);
    const t = this.resyncTimers.get(market);
    if (t) clearTimeout(t);
    this.resyncTimers.set(
      market,
      setTimeout(() => {
        this.resyncTimers.delete(market);
        const b = this.books.get(market);
        if (!b || !this.resyncing.has(market) || !this.socket.connected) return;
        this.resend(b.seq === null ? { channel: 'book', market } : { channel: 'book', market, since: b.seq });
        this.startResync(market);
      }, RESYNC_RETRY_MS),
    );
  }

  private onBook(m: FeedBookMessage): void {
    const b = this.books.get(m.market);
    if (!b) return;
    this.stats.bookMessages++;
    if (this.opts.dropBookMessage?.(m)) return;
    if (m.type === 'snapshot') this.stats.snapshots++;
    // while a resync is under way, deltas that do not continue the book are ones sent before it: dropped
    if (this.resyncing.has(m.market) && m.type === 'delta' && (b.seq === null || m.prev !== b.seq)) return;
    const r = b.apply(m);
    if (r === 'stale') return;
    if (r === 'ok') {
      this.resyncing.delete(m.market);
      const t = this.resyncTimers.get(m.market);
      if (t) clearTimeout(t);
      this.resyncTimers.delete(m.market);
      this.listeners.book.forEach((f) => f({ book: b, message: m }));
      return;
    }
    this.startResync(m.market);
    if (r === 'gap') {
      this.stats.gaps++;
      this.resend({ channel: 'book', market: m.market, since: b.seq as number });
    } else {
      this.stats.checksumFailures++;
      b.seq = null; // nothing of it can be trusted: a fresh snapshot
      this.resend({ channel: 'book', market: m.market });
    }
  }
}

function subKey(req: FeedSubscribeRequest): string {
  return req.channel === 'private' ? `private:${req.agent ?? ''}` : `${req.channel}:${req.market}`;
}

/** Messages name a market by its id (BASE-CREDIT): the helper keys its books and subscriptions the same way. */
function shownId(ref: string): string {
  const symbol = marketSymbolOf(ref);
  return symbol === null ? ref : marketIdOf(symbol);
}

function named(req: FeedSubscribeRequest): FeedSubscribeRequest {
  return req.channel === 'private' ? req : { ...req, market: shownId(req.market) };
}
