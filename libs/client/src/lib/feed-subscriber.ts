import {
  deriveSigningKey,
  FEED_EVENTS,
  FEED_PATH,
  FEED_SIGNED_METHOD,
  FeedAck,
  FeedAuction,
  FeedBookDepth,
  FeedBookMessage,
  FeedError,
  FeedPrivateMessage,
  FeedPrivateResyncRequired,
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
  /** private updates received (replayed ones included) */
  privateMessages: number;
  /** private resubscriptions answered with a replay of what was missed */
  privateReplays: number;
  /** private resubscriptions answered with private_resync_required (re-read orders, fills, balances over REST) */
  privateResyncs: number;
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
  readonly stats: FeedStats = {
    bookMessages: 0,
    gaps: 0,
    checksumFailures: 0,
    resyncs: 0,
    snapshots: 0,
    reconnects: 0,
    privateMessages: 0,
    privateReplays: 0,
    privateResyncs: 0,
  };
  /** each followed agent's private stream as last seen: its epoch and the last seq delivered */
  private readonly privates = new Map<string, { epoch: string; seq: number; replaying: boolean }>();
  private readonly books = new Map<string, LocalBook>();
  private readonly subs = new Map<string, FeedSubscribeRequest>();
  private readonly resyncing = new Set<string>();
  private readonly resyncTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly listeners = {
    book: new Set<Listener<{ book: LocalBook; message: FeedBookMessage }>>(),
    trade: new Set<Listener<FeedTrade>>(),
    ticker: new Set<Listener<FeedTicker>>(),
    private: new Set<Listener<FeedPrivateMessage>>(),
    privateResync: new Set<Listener<FeedPrivateResyncRequired>>(),
    auction: new Set<Listener<FeedAuction>>(),
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
      this.resyncing.add(bookKey(r.market, r.depth)); // a snapshot follows
    });
    this.socket.on(FEED_EVENTS.trade, (t: FeedTrade) => this.listeners.trade.forEach((f) => f(t)));
    this.socket.on(FEED_EVENTS.ticker, (t: FeedTicker) => this.listeners.ticker.forEach((f) => f(t)));
    this.socket.on(FEED_EVENTS.private, (p: FeedPrivateMessage) => this.onPrivate(p));
    this.socket.on(FEED_EVENTS.privateResync, (r: FeedPrivateResyncRequired) => {
      this.stats.privateResyncs++;
      const st = this.privates.get(r.agent);
      if (st) Object.assign(st, { epoch: r.epoch, seq: r.seq, replaying: false });
      this.listeners.privateResync.forEach((f) => f(r));
    });
    this.socket.on(FEED_EVENTS.auction, (a: FeedAuction) => this.listeners.auction.forEach((f) => f(a)));
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

  /**
   * Keeps a local book of `market` (its id, or its symbol): the whole book, or with `depth` its best levels only;
   * resolves with it once the first snapshot arrived.
   */
  async book(ref: string, opts: { depth?: FeedBookDepth } = {}): Promise<LocalBook> {
    const market = shownId(ref);
    const key = bookKey(market, opts.depth);
    const b = this.books.get(key) ?? new LocalBook(market, opts.depth);
    this.books.set(key, b);
    const first = b.seq !== null ? Promise.resolve() : new Promise<void>((r) => this.whenBook(b, r));
    const ack = await this.subscribe(bookRequest(b));
    if (!ack.ok) throw Object.assign(new Error(`${ack.error.code}: ${ack.error.message}`), { ack });
    await first;
    return b;
  }

  subscribe(request: FeedSubscribeRequest): Promise<FeedAck> {
    const req = named(request);
    const k = subKey(req);
    return this.send('subscribe', req).then((ack) => {
      if (ack.ok) this.subs.set(k, req);
      if (ack.ok) this.onPrivateAck(ack);
      return ack;
    });
  }

  unsubscribe(request: FeedSubscribeRequest): Promise<FeedAck> {
    const req = named(request);
    this.subs.delete(subKey(req));
    if (req.channel === 'book') this.books.delete(bookKey(req.market, req.depth));
    return this.send('unsubscribe', req);
  }

  on(ev: 'book', f: Listener<{ book: LocalBook; message: FeedBookMessage }>): this;
  on(ev: 'trade', f: Listener<FeedTrade>): this;
  on(ev: 'ticker', f: Listener<FeedTicker>): this;
  /** private updates in the agent's order, each once: after a reconnect, those missed come first (replayed) */
  on(ev: 'private', f: Listener<FeedPrivateMessage>): this;
  /** the server could not replay what this client missed of an agent's updates: re-read them over REST */
  on(ev: 'privateResync', f: Listener<FeedPrivateResyncRequired>): this;
  on(ev: 'auction', f: Listener<FeedAuction>): this;
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
    this.send('subscribe', req)
      .then((ack) => {
        if (ack.ok) return this.onPrivateAck(ack);
        // the subscribe rate limit: the same request once the server says it may pass
        const d = ack.error.details;
        if (ack.error.code === 'FEED_LIMIT_EXCEEDED' && d?.['limit'] === 'subscribeRate') {
          const t = setTimeout(() => this.socket.connected && this.resend(req), Number(d['retryAfterMs'] ?? 1_000));
          t.unref?.();
        } else if (req.channel === 'private') for (const st of this.privates.values()) st.replaying = false;
      })
      .catch(() => undefined);
  }

  /** A private subscription's ack: the stream (epoch) it is on, and its seq when nothing was delivered yet. */
  private onPrivateAck(ack: Extract<FeedAck, { ok: true }>): void {
    if (ack.channel !== 'private' || !ack.agent || ack.epoch === undefined) return;
    const st = this.privates.get(ack.agent);
    if (!st || st.epoch !== ack.epoch) this.privates.set(ack.agent, { epoch: ack.epoch, seq: ack.seq ?? 0, replaying: false });
    else if (st.replaying) {
      // what the replay held came before this ack: the stream continues from the ack's seq
      if ((ack.seq ?? 0) === st.seq) this.stats.privateReplays++;
      st.replaying = false;
    }
  }

  private onPrivate(p: FeedPrivateMessage): void {
    this.stats.privateMessages++;
    const st = this.privates.get(p.agent);
    if (st) {
      if (p.seq <= st.seq) return; // already delivered (a replay overlapping what came live)
      if (p.seq !== st.seq + 1) {
        // a gap on a live connection: ask for the missed ones (they come before what follows the ack)
        if (!st.replaying) {
          st.replaying = true;
          const req = [...this.subs.values()].find((r) => r.channel === 'private' && (r.agent ?? p.agent) === p.agent);
          if (req) this.resend({ ...(req as Extract<FeedSubscribeRequest, { channel: 'private' }>), since: st.seq, epoch: st.epoch });
        }
        return;
      }
      st.seq = p.seq;
    }
    this.listeners.private.forEach((f) => f(p));
  }

  private withSince(req: FeedSubscribeRequest): FeedSubscribeRequest {
    if (req.channel === 'private') {
      // the agent's stream as last seen (an agent key's own agent has no `agent` in the request)
      const st = req.agent ? this.privates.get(req.agent) : this.privates.size === 1 ? [...this.privates.values()][0] : undefined;
      if (!st) return req;
      st.replaying = true;
      return { ...req, since: st.seq, epoch: st.epoch };
    }
    if (req.channel !== 'book') return req;
    const seq = this.books.get(bookKey(req.market, req.depth))?.seq;
    return seq === null || seq === undefined ? req : { ...req, since: seq };
  }

  private whenBook(b: LocalBook, done: () => void): void {
    const f = ({ book }: { book: LocalBook }) => {
      if (book !== b || book.seq === null) return;
      this.listeners.book.delete(f);
      done();
    };
    this.listeners.book.add(f);
  }

  /**
   * Marks the book as resyncing; if no message continues it within RESYNC_RETRY_MS (what answered the resync was
   * lost too), asks again.
   */
  private startResync(key: string): void {
    this.resyncing.add(key);
    const t = this.resyncTimers.get(key);
    if (t) clearTimeout(t);
    this.resyncTimers.set(
      key,
      setTimeout(() => {
        this.resyncTimers.delete(key);
        const b = this.books.get(key);
        if (!b || !this.resyncing.has(key) || !this.socket.connected) return;
        this.resend(bookRequest(b, b.seq ?? undefined));
        this.startResync(key);
      }, RESYNC_RETRY_MS),
    );
  }

  private onBook(m: FeedBookMessage): void {
    const key = bookKey(m.market, m.depth);
    const b = this.books.get(key);
    if (!b) return;
    this.stats.bookMessages++;
    if (this.opts.dropBookMessage?.(m)) return;
    if (m.type === 'snapshot') this.stats.snapshots++;
    // while a resync is under way, deltas that do not continue the book are ones sent before it: dropped
    if (this.resyncing.has(key) && m.type === 'delta' && (b.seq === null || m.prev !== b.seq)) return;
    const r = b.apply(m);
    if (r === 'stale') return;
    if (r === 'ok') {
      this.resyncing.delete(key);
      const t = this.resyncTimers.get(key);
      if (t) clearTimeout(t);
      this.resyncTimers.delete(key);
      this.listeners.book.forEach((f) => f({ book: b, message: m }));
      return;
    }
    this.startResync(key);
    if (r === 'gap') {
      this.stats.gaps++;
      this.resend(bookRequest(b, b.seq as number));
    } else {
      this.stats.checksumFailures++;
      b.seq = null; // nothing of it can be trusted: a fresh snapshot
      this.resend(bookRequest(b));
    }
  }
}

/** A book's key in the helper: its market, and its depth when it follows a depth-limited view. */
function bookKey(market: string, depth: FeedBookDepth | undefined): string {
  return depth === undefined ? market : `${market}@${depth}`;
}

/** The subscribe request of a local book (from `since`, when given). */
function bookRequest(b: LocalBook, since?: number): FeedSubscribeRequest {
  return { channel: 'book', market: b.market, ...(b.depth === undefined ? {} : { depth: b.depth }), ...(since === undefined ? {} : { since }) };
}

function subKey(req: FeedSubscribeRequest): string {
  if (req.channel === 'book') return `book:${bookKey(req.market, req.depth)}`;
  return req.channel === 'private' ? `private:${req.agent ?? ''}` : req.channel === 'auctions' ? 'auctions' : `${req.channel}:${req.market}`;
}

/** Messages name a market by its id (BASE-CREDIT): the helper keys its books and subscriptions the same way. */
function shownId(ref: string): string {
  const symbol = marketSymbolOf(ref);
  return symbol === null ? ref : marketIdOf(symbol);
}

function named(req: FeedSubscribeRequest): FeedSubscribeRequest {
  return req.channel === 'private' || req.channel === 'auctions' ? req : { ...req, market: shownId(req.market) };
}
