import type { Server as HttpServer } from 'node:http';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createAdapter } from '@socket.io/redis-adapter';
import Redis from 'ioredis';
import { Server, Socket } from 'socket.io';
import { z } from 'zod';
import {
  AppError,
  ERROR_CODES,
  FEED_EVENTS,
  FEED_PATH,
  FeedAck,
  FeedAuction,
  FeedBookMessage,
  FeedError,
  FeedPrivateMessage,
  FeedPrivateResyncRequired,
  FeedTicker,
  FeedTrade,
  isErrorCode,
  marketIdOf,
  marketSymbolOf,
} from '@ate/contracts';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import type { AuthContext } from '../auth/auth.types';
import { ApiKeysService } from '../auth/api-keys.service';
import { KeyEpoch } from '../auth/key-epoch';
import { DatabaseService } from '../database/database.service';
import { FeedAuth } from './feed-auth';
import { BookDepth, bookJoin, bookRoom } from './feed-book-join';
import { KeyWatch } from './feed-key-watch';
import { TokenBucket } from './feed-limits';
import { FeedMetrics } from './feed-metrics';
import { FeedOut, FeedService } from './feed.service';

/** Room names: the server's own; a client names a channel and the server decides (never a room a client picks). */
const room = {
  book: bookRoom,
  trades: (m: string) => `trades:${m}`,
  ticker: (m: string) => `ticker:${m}`,
  agent: (a: string) => `agent:${a}`,
  key: (k: string) => `key:${k}`,
  auctions: () => 'auctions',
};

/** A room's channel, for the metrics (rooms are `<channel>:<...>`; agent rooms are the private channel). */
const channelOf = (name: string): string => {
  const i = name.indexOf(':');
  const c = i < 0 ? name : name.slice(0, i);
  return c === 'agent' ? 'private' : c;
};

/** A market's id (BASE-CREDIT) or symbol; the code behind sees the symbol (the engine's key), answers show the id. */
const Market = z
  .string()
  .min(1)
  .max(80)
  .overwrite((ref) => marketSymbolOf(ref) ?? ref);
const SubscribeRequest = z.discriminatedUnion('channel', [
  z.strictObject({ channel: z.literal('book'), market: Market, depth: BookDepth.optional(), since: z.number().int().min(0).optional() }),
  z.strictObject({ channel: z.literal('trades'), market: Market }),
  z.strictObject({ channel: z.literal('ticker'), market: Market }),
  z.strictObject({ channel: z.literal('auctions') }),
  z.strictObject({
    channel: z.literal('private'),
    agent: z.string().min(1).max(64).optional(),
    since: z.number().int().min(0).optional(),
    epoch: z.string().min(1).max(64).optional(),
  }),
]);
type SubscribeRequest = z.infer<typeof SubscribeRequest>;

interface FeedSocketData {
  auth: AuthContext | null;
  /** the rooms this socket holds by subscription */
  subs: Set<string>;
  /** its subscribe requests (FEED_SUBSCRIBE_RATE, FEED_SUBSCRIBE_BURST) */
  bucket: TokenBucket;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type FeedSocket = Socket<any, any, any, FeedSocketData>;

/** How often the slow-consumer check looks at every client's unsent data (ms). */
const BACKPRESSURE_CHECK_MS = 100;
/** How long a slow consumer that was told to go may keep its connection to read why (ms). */
const SLOW_CONSUMER_CLOSE_MS = 10_000;
/** How long a connection whose key was revoked keeps its transport to read why (ms). */
const REVOKED_CLOSE_MS = 2_000;

function feedError(e: unknown): FeedError {
  if (e instanceof AppError) return { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) };
  const code = (e as { code?: unknown }).code;
  if (isErrorCode(code)) return { code, message: ERROR_CODES[code].message };
  return { code: 'INTERNAL', message: ERROR_CODES.INTERNAL.message };
}

/**
 * The live feed's socket.io server, mounted on the api's own HTTP server (Fastify's) at FEED_PATH, with
 * `@socket.io/redis-adapter` across api nodes when REDIS_URL is set (connections per key are counted across
 * nodes; each node's messages come from its own read of the committed events, sent to its own clients, so every
 * node sends the same sequence). Handshake: FeedAuth. Events: `subscribe` / `unsubscribe` with an ack.
 */
@Injectable()
export class FeedGateway implements OnApplicationBootstrap, BeforeApplicationShutdown, FeedOut {
  private readonly logger = new Logger('Feed');
  private io: Server | null = null;
  private pubsub: Redis[] = [];
  private monitor: NodeJS.Timeout | null = null;
  /** subscriptions held on this node (the feed reads committed batches only while there are some) */
  private held = 0;
  /** the private subscriptions this node's sockets hold (agents' events are built only while some are) */
  private agentSubs = 0;
  /** agents nobody here follows any more whose private stream is kept a while (FEED_PRIVATE_RETAIN_MS), each holding one */
  private readonly retained = new Map<string, NodeJS.Timeout>();
  private readonly keyWatch: KeyWatch;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly feed: FeedService,
    private readonly auth: FeedAuth,
    private readonly db: DatabaseService,
    private readonly metrics: FeedMetrics,
    keys: ApiKeysService,
    epoch: KeyEpoch,
  ) {
    this.keyWatch = new KeyWatch(
      {
        epoch: () => epoch.current(),
        active: async (k) => (await keys.lookup(k)) !== null,
        keys: () => this.connectedKeys(),
        close: (k) => this.closeKey(k),
      },
      config.FEED_KEY_CHECK_MS,
    );
  }

  onApplicationBootstrap(): void {
    const http = this.adapterHost.httpAdapter.getHttpServer() as HttpServer;
    const io = new Server(http, { path: FEED_PATH, serveClient: false, maxHttpBufferSize: 16 * 1024, connectTimeout: 10_000 });
    if (this.config.REDIS_URL) {
      const pub = new Redis(this.config.REDIS_URL);
      const sub = pub.duplicate();
      for (const c of [pub, sub]) c.on('error', () => undefined);
      this.pubsub = [pub, sub];
      io.adapter(createAdapter(pub, sub, { key: `${this.config.REDIS_PREFIX}:feed`, requestsTimeout: 2_000 }));
    }
    io.use((socket, next) => {
      this.handshake(socket as FeedSocket).then(
        () => next(),
        (e) => next(Object.assign(new Error(feedError(e).message), { data: feedError(e) })),
      );
    });
    io.on('connection', (s) => this.connection(s as FeedSocket));
    this.io = io;
    this.feed.attach(this);
    this.metrics.report({
      connections: () => this.io?.of('/').sockets.size ?? 0,
      subscriptions: () => {
        const out: Record<string, number> = { book: 0, trades: 0, ticker: 0, private: 0, auctions: 0 };
        for (const s of this.io?.of('/').sockets.values() ?? []) {
          for (const name of (s as FeedSocket).data.subs ?? []) {
            const c = channelOf(name);
            out[c] = (out[c] ?? 0) + 1;
          }
        }
        return out;
      },
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.monitor) clearInterval(this.monitor);
    this.keyWatch.stop();
    for (const t of this.retained.values()) clearTimeout(t);
    this.retained.clear();
    const io = this.io;
    this.io = null;
    if (io) {
      io.disconnectSockets(true);
      io.engine.close();
    }
    for (const c of this.pubsub) c.disconnect();
    this.feed.stop(this);
  }

  // --- FeedOut: this node's clients ---
  book(market: string, m: FeedBookMessage): void {
    this.send(room.book(market, m.depth), FEED_EVENTS.book, m, 'book');
    this.metrics.fanout.observe({ channel: 'book' }, Math.max(0, Date.now() - m.committedAt) / 1000);
  }
  trade(market: string, t: FeedTrade): void {
    this.send(room.trades(market), FEED_EVENTS.trade, t, 'trade');
  }
  ticker(market: string, t: FeedTicker): void {
    this.send(room.ticker(market), FEED_EVENTS.ticker, t, 'ticker');
  }
  followsAgent(agent: string): boolean {
    return this.members(room.agent(agent)) > 0 || this.retained.has(agent);
  }
  followsAnyAgent(): boolean {
    return this.agentSubs > 0 || this.retained.size > 0;
  }
  private(agent: string, m: FeedPrivateMessage): void {
    this.send(room.agent(agent), FEED_EVENTS.private, m, 'private');
  }
  followsAuctions(): boolean {
    return this.members(room.auctions()) > 0;
  }
  auction(m: FeedAuction): void {
    this.send(room.auctions(), FEED_EVENTS.auction, m, 'auction');
  }

  private members(name: string): number {
    return this.io?.of('/').adapter.rooms.get(name)?.size ?? 0;
  }

  private send(name: string, ev: string, m: unknown, channel: string): void {
    const n = this.members(name);
    if (n === 0 || !this.io) return;
    this.io.local.to(name).emit(ev, m);
    this.metrics.messages.inc({ channel }, n);
  }

  /** The keys of this node's signed connections. */
  private *connectedKeys(): Iterable<string> {
    for (const s of this.io?.of('/').sockets.values() ?? []) {
      const k = (s as FeedSocket).data.auth?.keyId;
      if (k) yield k;
    }
  }

  /** Closes this node's connections of a key that is no longer active, telling them why. */
  private closeKey(keyId: string): void {
    const e: FeedError = {
      code: 'FEED_KEY_REVOKED',
      message: ERROR_CODES.FEED_KEY_REVOKED.message,
      details: { keyId },
    };
    for (const s of this.io?.of('/').sockets.values() ?? []) {
      if ((s as FeedSocket).data.auth?.keyId !== keyId) continue;
      this.logger.warn(`feed: connection ${s.id} closed: its key ${keyId} is no longer active`);
      this.metrics.disconnects.inc({ reason: 'key_revoked' });
      // the reason, then socket.io's DISCONNECT (the client does not reconnect by itself); the transport goes too
      s.emit(FEED_EVENTS.error, e);
      s.disconnect();
      const conn = s.conn as unknown as { readyState: string; close(discard?: boolean): void };
      setTimeout(() => {
        if (conn.readyState !== 'closed') conn.close(true);
      }, REVOKED_CLOSE_MS).unref();
    }
  }

  private async handshake(socket: FeedSocket): Promise<void> {
    const auth = await this.auth.verify(socket.handshake.auth);
    socket.data.auth = auth;
    socket.data.subs = new Set();
    socket.data.bucket = new TokenBucket(this.config.FEED_SUBSCRIBE_RATE, this.config.FEED_SUBSCRIBE_BURST);
    if (!auth) return;
    const max = this.config.FEED_MAX_CONNECTIONS_PER_KEY;
    const io = this.io as Server;
    // every node's connections of the key (the redis adapter asks the others); a node that does not answer counts none
    const n = await io
      .in(room.key(auth.keyId))
      .fetchSockets()
      .then((s) => s.length)
      .catch(() => io.of('/').adapter.rooms.get(room.key(auth.keyId))?.size ?? 0);
    if (n >= max) {
      this.metrics.refusals.inc({ limit: 'connectionsPerKey' });
      throw new AppError('FEED_LIMIT_EXCEEDED', `A key may hold ${max} feed connections.`, { limit: 'connectionsPerKey', max });
    }
    socket.join(room.key(auth.keyId));
  }

  private connection(socket: FeedSocket): void {
    this.watch();
    if (socket.data.auth) this.keyWatch.start();
    socket.on('subscribe', (req: unknown, ack?: unknown) => void this.answer(socket, ack, () => this.subscribe(socket, req)));
    socket.on('unsubscribe', (req: unknown, ack?: unknown) => void this.answer(socket, ack, async () => this.unsubscribe(socket, req)));
    socket.on('disconnect', () => {
      // the socket has left its rooms: an agent nobody here follows now keeps its stream a while (held)
      for (const name of socket.data.subs)
        if (name.startsWith('agent:')) {
          this.agentSubs--;
          this.leftAgent(name.slice('agent:'.length));
        }
      this.release(socket.data.subs.size);
      socket.data.subs.clear();
    });
  }

  private async answer(socket: FeedSocket, ack: unknown, f: () => Promise<FeedAck>): Promise<void> {
    let r: FeedAck;
    try {
      r = await f();
    } catch (e) {
      r = { ok: false, error: feedError(e) };
      if (this.held === 0) this.feed.stop(this); // a refused first subscription leaves nothing reading
    }
    if (typeof ack === 'function') (ack as (a: FeedAck) => void)(r);
    else if (!r.ok) socket.emit(FEED_EVENTS.error, r.error);
  }

  private parse(req: unknown): SubscribeRequest {
    const r = SubscribeRequest.safeParse(req);
    if (!r.success)
      throw new AppError(
        'VALIDATION_FAILED',
        'subscribe: { channel: book, market, depth?, since? }, { channel: trades|ticker, market }, { channel: auctions } or { channel: private, agent?, since?, epoch? }.',
        {
          issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        },
      );
    return r.data;
  }

  /** The subscribe rate limit: a token bucket per connection; refused requests name the limit and when to retry. */
  private limitRate(socket: FeedSocket): void {
    const wait = socket.data.bucket.take();
    if (wait === 0) return;
    this.metrics.refusals.inc({ limit: 'subscribeRate' });
    const rate = this.config.FEED_SUBSCRIBE_RATE;
    const burst = this.config.FEED_SUBSCRIBE_BURST;
    throw new AppError('FEED_LIMIT_EXCEEDED', `A connection may subscribe ${rate} times a second (${burst} at once): retry in ${wait} ms.`, {
      limit: 'subscribeRate',
      max: burst,
      perSecond: rate,
      retryAfterMs: wait,
    });
  }

  private async subscribe(socket: FeedSocket, raw: unknown): Promise<FeedAck> {
    this.limitRate(socket);
    const req = this.parse(raw);
    if (req.channel === 'private') return this.subscribePrivate(socket, req.agent, req.since, req.epoch);
    if (req.channel === 'auctions') {
      this.admit(socket, room.auctions());
      this.feed.start(this);
      this.hold(socket, room.auctions());
      return { ok: true, channel: 'auctions' };
    }
    await this.feed.market(req.market); // NOT_FOUND for a market that does not exist
    const name =
      req.channel === 'book' ? room.book(req.market, req.depth) : req.channel === 'trades' ? room.trades(req.market) : room.ticker(req.market);
    this.admit(socket, name);
    this.feed.start(this);
    if (req.channel === 'trades') {
      this.hold(socket, name);
      return { ok: true, channel: 'trades', market: marketIdOf(req.market) };
    }
    if (req.channel === 'ticker') {
      const t = await this.feed.ticker(req.market);
      if (!socket.connected) return { ok: true, channel: 'ticker', market: marketIdOf(req.market) };
      this.hold(socket, name);
      socket.emit(FEED_EVENTS.ticker, t);
      return { ok: true, channel: 'ticker', market: marketIdOf(req.market) };
    }
    const fb = await this.feed.book(req.market);
    const depth = req.depth === undefined ? {} : { depth: req.depth };
    if (!socket.connected) return { ok: true, channel: 'book', market: marketIdOf(req.market), ...depth };
    // from here to the join, nothing else runs: the client's next book message continues what it is sent now
    this.hold(socket, name);
    const j = bookJoin(fb, marketIdOf(req.market), req.since, req.depth, Date.now());
    if (j.replayed !== null) this.metrics.replays.inc({ channel: 'book', result: j.replayed ? 'hit' : 'miss' });
    if (j.resync) socket.emit(FEED_EVENTS.resync, j.resync);
    for (const m of j.book) socket.emit(FEED_EVENTS.book, m);
    return { ok: true, channel: 'book', market: marketIdOf(req.market), ...depth, seq: j.seq };
  }

  private async subscribePrivate(socket: FeedSocket, agent: string | undefined, since?: number, epoch?: string): Promise<FeedAck> {
    const auth = socket.data.auth;
    if (!auth) throw new AppError('AUTH_MISSING', 'The private channel needs a signed handshake (auth { key, timestamp, signature }).');
    let target: string;
    if (auth.role === 'agent') {
      if (agent !== undefined && agent !== auth.agentId) throw new AppError('AUTH_FORBIDDEN', 'An agent key follows only its own agent.');
      target = auth.agentId as string;
    } else if (auth.role === 'principal') {
      if (agent === undefined) throw new AppError('VALIDATION_FAILED', 'A principal key names the agent: { channel: private, agent }.');
      const r = await this.db.pool.query<{ principal_id: string | null }>('SELECT principal_id FROM agent WHERE id = $1', [agent]);
      // another principal's agent and an agent that does not exist answer alike
      if (!auth.principalId || r.rows[0]?.principal_id !== auth.principalId)
        throw new AppError('AUTH_FORBIDDEN', 'A principal key follows only its own agents.');
      target = agent;
    } else throw new AppError('AUTH_FORBIDDEN', 'The private channel is for agent and principal keys.');
    const name = room.agent(target);
    this.admit(socket, name);
    this.feed.start(this);
    if (!socket.connected) return { ok: true, channel: 'private', agent: target };
    // from here to the ack nothing else runs: the replay (or the resync) and the live messages join without a gap
    this.hold(socket, name);
    const stream = this.feed.privateStream(target);
    if (since !== undefined) {
      const r = this.feed.privateSince(target, since, epoch);
      this.metrics.replays.inc({ channel: 'private', result: Array.isArray(r) ? 'hit' : 'miss' });
      if (Array.isArray(r)) for (const m of r) socket.emit(FEED_EVENTS.private, m);
      else {
        const resync: FeedPrivateResyncRequired = {
          agent: target,
          since,
          clientEpoch: epoch ?? null,
          epoch: stream.epoch,
          seq: stream.seq,
          reason: r,
        };
        socket.emit(FEED_EVENTS.privateResync, resync);
      }
    }
    return { ok: true, channel: 'private', agent: target, seq: stream.seq, epoch: stream.epoch };
  }

  private async unsubscribe(socket: FeedSocket, raw: unknown): Promise<FeedAck> {
    const req = this.parse(raw);
    if (req.channel === 'auctions') {
      if (socket.data.subs.delete(room.auctions())) {
        socket.leave(room.auctions());
        this.release(1);
      }
      return { ok: true, channel: 'auctions' };
    }
    const name =
      req.channel === 'private'
        ? room.agent(req.agent ?? socket.data.auth?.agentId ?? '')
        : req.channel === 'book'
          ? room.book(req.market, req.depth)
          : req.channel === 'trades'
            ? room.trades(req.market)
            : room.ticker(req.market);
    if (socket.data.subs.delete(name)) {
      socket.leave(name);
      if (req.channel === 'private') {
        this.agentSubs--;
        this.leftAgent(name.slice('agent:'.length));
      }
      this.release(1);
    }
    return { ok: true, channel: req.channel, ...(req.channel === 'private' ? {} : { market: marketIdOf(req.market) }) };
  }

  /** Refuses a new subscription beyond the per-connection limit (one already held is a resync, not a new one). */
  private admit(socket: FeedSocket, name: string): void {
    const max = this.config.FEED_MAX_SUBSCRIPTIONS;
    if (!socket.data.subs.has(name) && socket.data.subs.size >= max) {
      this.metrics.refusals.inc({ limit: 'subscriptionsPerConnection' });
      throw new AppError('FEED_LIMIT_EXCEEDED', `A connection may hold ${max} subscriptions.`, { limit: 'subscriptionsPerConnection', max });
    }
  }

  private hold(socket: FeedSocket, name: string): void {
    if (socket.data.subs.has(name)) return;
    socket.data.subs.add(name);
    socket.join(name);
    this.held++;
    if (!name.startsWith('agent:')) return;
    this.agentSubs++;
    this.unretain(name.slice('agent:'.length));
  }

  /**
   * A socket left an agent's room. If nobody here follows the agent now, its private stream (seq, epoch, replay
   * buffer) is kept FEED_PRIVATE_RETAIN_MS, counted as a held subscription so the feed keeps reading: a client
   * that reconnects meanwhile gets what it missed. Then it is dropped (the next follower starts a new epoch).
   */
  private leftAgent(agent: string): void {
    if (this.members(room.agent(agent)) > 0 || this.retained.has(agent)) return;
    const ms = this.config.FEED_PRIVATE_RETAIN_MS;
    if (ms === 0) return this.feed.dropPrivate(agent);
    this.held++;
    const t = setTimeout(() => {
      if (this.retained.get(agent) !== t) return;
      this.retained.delete(agent);
      if (this.members(room.agent(agent)) === 0) this.feed.dropPrivate(agent);
      this.release(1);
    }, ms);
    t.unref();
    this.retained.set(agent, t);
  }

  /** A follower came back before the agent's stream was dropped: it is held by the subscription again. */
  private unretain(agent: string): void {
    const t = this.retained.get(agent);
    if (!t) return;
    clearTimeout(t);
    this.retained.delete(agent);
    this.release(1);
  }

  private release(n: number): void {
    this.held -= n;
    if (this.held <= 0) {
      this.held = 0;
      this.feed.stop(this);
    }
  }

  /**
   * Disconnects a slow consumer so that it learns why: what engine.io had not yet handed to the WebSocket is
   * dropped (the client resyncs anyway), then the error and socket.io's DISCONNECT follow what is in flight. The
   * connection is closed for good if the client has not read them within SLOW_CONSUMER_CLOSE_MS.
   */
  private cutOff(s: FeedSocket, e: FeedError): void {
    const conn = s.conn as unknown as { writeBuffer: unknown[]; packetsFn: unknown[]; readyState: string; close(discard?: boolean): void };
    this.metrics.disconnects.inc({ reason: 'slow_consumer' });
    conn.writeBuffer = [];
    conn.packetsFn = [];
    s.emit(FEED_EVENTS.error, e);
    s.disconnect();
    setTimeout(() => {
      if (conn.readyState !== 'closed') conn.close(true);
    }, SLOW_CONSUMER_CLOSE_MS).unref();
  }

  /** The slow-consumer check: a client with more unsent data than FEED_CLIENT_BUFFER_BYTES is told why and cut off. */
  private watch(): void {
    if (this.monitor) return;
    this.monitor = setInterval(() => {
      const io = this.io;
      if (!io || io.of('/').sockets.size === 0) {
        if (this.monitor) clearInterval(this.monitor);
        this.monitor = null;
        return;
      }
      const max = this.config.FEED_CLIENT_BUFFER_BYTES;
      for (const s of io.of('/').sockets.values()) {
        const conn = s.conn as unknown as { writeBuffer: { data?: unknown }[]; transport: { socket?: { bufferedAmount?: number } } };
        const queued = conn.writeBuffer.reduce((n, p) => n + (typeof p.data === 'string' ? p.data.length : 0), 0);
        const unsent = queued + (conn.transport.socket?.bufferedAmount ?? 0);
        if (unsent <= max) continue;
        const e: FeedError = {
          code: 'FEED_SLOW_CONSUMER',
          message: `More than ${max} bytes unread: disconnected. Reconnect and resubscribe (books with since).`,
          details: { limit: 'clientBufferBytes', max, unsent },
        };
        this.logger.warn(`feed: slow consumer ${s.id} disconnected (${unsent} bytes unsent)`);
        this.cutOff(s as FeedSocket, e);
      }
    }, BACKPRESSURE_CHECK_MS);
    this.monitor.unref();
  }
}
