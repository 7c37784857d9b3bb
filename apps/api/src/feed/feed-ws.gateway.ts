import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import {
  AppError,
  ERROR_CODES,
  FEED_EVENTS,
  FeedAck,
  FeedBookMessage,
  FeedError,
  FeedPrivateMessage,
  FeedTicker,
  FeedTrade,
  isErrorCode,
  marketIdOf,
  marketSymbolOf,
} from '@ate/contracts';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import type { AuthContext } from '../auth/auth.types';
import { DatabaseService } from '../database/database.service';
import { FeedAuth } from './feed-auth';
import { BookDepth, bookJoin, bookRoom } from './feed-book-join';
import { FeedOut, FeedService } from './feed.service';

/** The plain-WebSocket feed's path on the api's HTTP server. */
export const FEED_WS_PATH = '/v1/ws';

/** How often the server pings each connection; one without a pong since the last ping is closed (ms). */
const PING_EVERY_MS = 25_000;
/** How long a slow consumer told to go may keep its connection to read why (ms). */
const SLOW_CONSUMER_CLOSE_MS = 10_000;
/** WebSocket close codes: 1008 policy (slow consumer, limits), 1001 going away (shutdown). */
const CLOSE_POLICY = 1008;
const CLOSE_GOING_AWAY = 1001;

const room = {
  book: bookRoom,
  trades: (m: string) => `trades:${m}`,
  ticker: (m: string) => `ticker:${m}`,
  agent: (a: string) => `agent:${a}`,
};

const Market = z
  .string()
  .min(1)
  .max(80)
  .overwrite((ref) => marketSymbolOf(ref) ?? ref);
const RequestId = z.union([z.string().max(128), z.number().int()]);
const Channel = z.discriminatedUnion('channel', [
  z.strictObject({ channel: z.literal('book'), market: Market, depth: BookDepth.optional(), since: z.number().int().min(0).optional() }),
  z.strictObject({ channel: z.literal('trades'), market: Market }),
  z.strictObject({ channel: z.literal('ticker'), market: Market }),
  z.strictObject({ channel: z.literal('private'), agent: z.string().min(1).max(64).optional() }),
]);
type Channel = z.infer<typeof Channel>;
const Login = z.strictObject({ key: z.string().max(128), timestamp: z.string().max(32), signature: z.string().max(256) });

interface Conn {
  ws: WebSocket;
  auth: AuthContext | null;
  /** the rooms this connection holds by subscription */
  subs: Set<string>;
  /** its requests, handled one after another in the order sent */
  chain: Promise<void>;
  alive: boolean;
  closed: boolean;
}

function feedError(e: unknown): FeedError {
  if (e instanceof AppError) return { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) };
  const code = (e as { code?: unknown }).code;
  if (isErrorCode(code)) return { code, message: ERROR_CODES[code].message };
  return { code: 'INTERNAL', message: ERROR_CODES.INTERNAL.message };
}

const invalid = (message: string, details?: Record<string, unknown>) => new AppError('VALIDATION_FAILED', message, details);

/**
 * The live feed over plain WebSocket at FEED_WS_PATH (JSON text frames, no socket.io framing), for clients such as
 * CCXT Pro's WsClient: the same public books (snapshot, then deltas with seq, prev and checksum; replay with
 * `since`), trades and tickers, and the private channel after a `login` signed as the socket.io handshake is
 * (FeedAuth: `${timestamp}\nGET\n/v1/feed\n`). It is a FeedOut of the node's one FeedService, beside the socket.io
 * gateway: both get the same book deltas and private updates (same seqs); the FeedService reads while either holds
 * a subscription, and one endpoint's last subscriber leaving does not stop the other's.
 *
 * Client -> server: `{"op":"login","key","timestamp","signature"}`, `{"op":"subscribe"|"unsubscribe","channel",
 * "market"|"agent", "since"?}`, `{"op":"ping"}`, each with an optional `id` echoed in its answer. Server -> client:
 * `{"event":"ack","op","id",...FeedAck}` for each request, and `{"event":"book"|"trade"|"ticker"|"private"|
 * "resync_required"|"feed_error","data":...}` as on socket.io.
 */
@Injectable()
export class FeedWsGateway implements OnApplicationBootstrap, BeforeApplicationShutdown, FeedOut {
  private readonly logger = new Logger('FeedWs');
  private wss: WebSocketServer | null = null;
  private readonly conns = new Set<Conn>();
  private readonly rooms = new Map<string, Set<Conn>>();
  private readonly perKey = new Map<string, number>();
  private pinger: NodeJS.Timeout | null = null;
  private onUpgrade: ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) | null = null;
  private http: HttpServer | null = null;
  /** subscriptions held on this endpoint (its feed reads committed batches only while there are some) */
  private held = 0;
  /** rooms of agents (private channels) with members: agents' events are built only while there are some */
  private agentRooms = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly feed: FeedService,
    private readonly auth: FeedAuth,
    private readonly db: DatabaseService,
  ) {}

  onApplicationBootstrap(): void {
    const http = this.adapterHost.httpAdapter.getHttpServer() as HttpServer;
    const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024, perMessageDeflate: false });
    this.onUpgrade = (req, socket, head) => {
      if ((req.url ?? '').split('?')[0] !== FEED_WS_PATH) return; // socket.io's, or nobody's
      wss.handleUpgrade(req, socket, head, (ws) => this.connection(ws));
    };
    http.on('upgrade', this.onUpgrade);
    this.http = http;
    this.wss = wss;
    this.feed.attach(this);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = null;
    if (this.http && this.onUpgrade) this.http.off('upgrade', this.onUpgrade);
    for (const c of [...this.conns]) {
      this.drop(c);
      c.ws.close(CLOSE_GOING_AWAY, 'server shutting down');
      setTimeout(() => c.ws.terminate(), 1000).unref();
    }
    await new Promise<void>((r) => (this.wss ? this.wss.close(() => r()) : r()));
    this.wss = null;
    this.feed.stop(this);
  }

  // --- FeedOut: this endpoint's connections ---
  book(market: string, m: FeedBookMessage): void {
    this.broadcast(room.book(market, m.depth), FEED_EVENTS.book, m);
  }
  trade(market: string, t: FeedTrade): void {
    this.broadcast(room.trades(market), FEED_EVENTS.trade, t);
  }
  ticker(market: string, t: FeedTicker): void {
    this.broadcast(room.ticker(market), FEED_EVENTS.ticker, t);
  }
  followsAgent(agent: string): boolean {
    return (this.rooms.get(room.agent(agent))?.size ?? 0) > 0;
  }
  followsAnyAgent(): boolean {
    return this.agentRooms > 0;
  }
  private(agent: string, m: FeedPrivateMessage): void {
    this.broadcast(room.agent(agent), FEED_EVENTS.private, m);
  }

  private broadcast(name: string, event: string, data: unknown): void {
    const members = this.rooms.get(name);
    if (!members?.size) return;
    const text = JSON.stringify({ event, data });
    for (const c of members) this.send(c, text);
  }

  /** Sends a frame; a connection with more than FEED_CLIENT_BUFFER_BYTES unsent is told why and cut off. */
  private send(c: Conn, text: string): void {
    if (c.closed || c.ws.readyState !== WebSocket.OPEN) return;
    c.ws.send(text);
    const unsent = c.ws.bufferedAmount;
    const max = this.config.FEED_CLIENT_BUFFER_BYTES;
    if (unsent <= max) return;
    const e: FeedError = {
      code: 'FEED_SLOW_CONSUMER',
      message: `More than ${max} bytes unread: disconnected. Reconnect and resubscribe (books with since).`,
      details: { limit: 'clientBufferBytes', max, unsent },
    };
    this.logger.warn(`feed ws: slow consumer disconnected (${unsent} bytes unsent)`);
    this.drop(c);
    c.ws.send(JSON.stringify({ event: FEED_EVENTS.error, data: e }));
    c.ws.close(CLOSE_POLICY, 'FEED_SLOW_CONSUMER');
    setTimeout(() => c.ws.terminate(), SLOW_CONSUMER_CLOSE_MS).unref();
  }

  private connection(ws: WebSocket): void {
    const c: Conn = { ws, auth: null, subs: new Set(), chain: Promise.resolve(), alive: true, closed: false };
    this.conns.add(c);
    this.ping();
    ws.on('pong', () => (c.alive = true));
    ws.on('message', (data, isBinary) => {
      c.chain = c.chain.then(() => this.request(c, isBinary ? null : String(data))).catch((e: Error) => this.logger.error(`feed ws: ${e.message}`));
    });
    ws.on('close', () => this.drop(c));
    ws.on('error', () => this.drop(c));
  }

  /** Forgets a connection: its subscriptions and its place in the per-key count. */
  private drop(c: Conn): void {
    if (c.closed) return;
    c.closed = true;
    this.conns.delete(c);
    for (const name of c.subs) this.leave(c, name);
    this.release(c.subs.size);
    c.subs.clear();
    if (c.auth) {
      const n = (this.perKey.get(c.auth.keyId) ?? 1) - 1;
      if (n > 0) this.perKey.set(c.auth.keyId, n);
      else this.perKey.delete(c.auth.keyId);
    }
  }

  private ping(): void {
    if (this.pinger) return;
    this.pinger = setInterval(() => {
      if (this.conns.size === 0) {
        if (this.pinger) clearInterval(this.pinger);
        this.pinger = null;
        return;
      }
      for (const c of this.conns) {
        if (!c.alive) {
          this.drop(c);
          c.ws.terminate();
          continue;
        }
        c.alive = false;
        c.ws.ping();
      }
    }, PING_EVERY_MS);
    this.pinger.unref();
  }

  private async request(c: Conn, text: string | null): Promise<void> {
    if (c.closed) return;
    let msg: Record<string, unknown> = {};
    let op: unknown;
    let id: unknown;
    let ack: FeedAck | (Record<string, unknown> & { ok: true });
    try {
      if (text === null) throw invalid('Send JSON text frames, not binary ones.');
      try {
        const parsed: unknown = JSON.parse(text);
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        msg = parsed as Record<string, unknown>;
      } catch {
        throw invalid('Each frame is one JSON object: {"op":"subscribe","channel":"book","market":"..."}.');
      }
      ({ op, id, ...msg } = msg);
      if (id !== undefined && !RequestId.safeParse(id).success) throw invalid('id: a string of at most 128 characters or an integer.');
      if (op === 'ping') ack = { ok: true, serverTime: Date.now() };
      else if (op === 'login') ack = await this.login(c, msg);
      else if (op === 'subscribe') ack = await this.subscribe(c, this.parse(msg));
      else if (op === 'unsubscribe') ack = this.unsubscribe(c, this.parse(msg));
      else throw invalid('op: one of login, subscribe, unsubscribe, ping.', { op: typeof op === 'string' ? op.slice(0, 32) : null });
    } catch (e) {
      ack = { ok: false, error: feedError(e) };
      if (this.held === 0) this.feed.stop(this); // a refused first subscription leaves nothing reading
    }
    this.send(c, JSON.stringify({ event: 'ack', op: typeof op === 'string' ? op.slice(0, 32) : null, id: id ?? null, ...ack }));
  }

  private parse(msg: Record<string, unknown>): Channel {
    const r = Channel.safeParse(msg);
    if (!r.success)
      throw invalid('subscribe: { channel: book, market, depth?, since? }, { channel: trades|ticker, market } or { channel: private, agent? }.', {
        issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    return r.data;
  }

  private async login(c: Conn, msg: Record<string, unknown>): Promise<Record<string, unknown> & { ok: true }> {
    if (c.auth) throw invalid('This connection is logged in already (one key per connection).');
    const r = Login.safeParse(msg);
    if (!r.success) throw new AppError('AUTH_MISSING', 'login: { key, timestamp, signature }, signed as the socket.io handshake.');
    const auth = (await this.auth.verify(r.data)) as AuthContext;
    const max = this.config.FEED_MAX_CONNECTIONS_PER_KEY;
    const n = this.perKey.get(auth.keyId) ?? 0;
    if (n >= max) throw new AppError('FEED_LIMIT_EXCEEDED', `A key may hold ${max} feed connections.`, { limit: 'connectionsPerKey', max });
    if (c.closed) throw new AppError('SERVICE_UNAVAILABLE');
    this.perKey.set(auth.keyId, n + 1);
    c.auth = auth;
    return { ok: true, keyId: auth.keyId, role: auth.role, agentId: auth.agentId };
  }

  private async subscribe(c: Conn, req: Channel): Promise<FeedAck> {
    if (req.channel === 'private') return this.subscribePrivate(c, req.agent);
    await this.feed.market(req.market); // NOT_FOUND for a market that does not exist
    const market = marketIdOf(req.market);
    const name =
      req.channel === 'book' ? room.book(req.market, req.depth) : req.channel === 'trades' ? room.trades(req.market) : room.ticker(req.market);
    this.admit(c, name);
    this.feed.start(this);
    if (req.channel === 'trades') {
      this.hold(c, name);
      return { ok: true, channel: 'trades', market };
    }
    if (req.channel === 'ticker') {
      const t = await this.feed.ticker(req.market);
      if (c.closed) return { ok: true, channel: 'ticker', market };
      this.hold(c, name);
      this.send(c, JSON.stringify({ event: FEED_EVENTS.ticker, data: t }));
      return { ok: true, channel: 'ticker', market };
    }
    const fb = await this.feed.book(req.market);
    const depth = req.depth === undefined ? {} : { depth: req.depth };
    if (c.closed) return { ok: true, channel: 'book', market, ...depth };
    // from here to the join nothing else runs: the next book message continues what is sent now
    this.hold(c, name);
    const j = bookJoin(fb, market, req.since, req.depth, Date.now());
    if (j.resync) this.send(c, JSON.stringify({ event: FEED_EVENTS.resync, data: j.resync }));
    for (const m of j.book) this.send(c, JSON.stringify({ event: FEED_EVENTS.book, data: m }));
    return { ok: true, channel: 'book', market, ...depth, seq: j.seq };
  }

  private async subscribePrivate(c: Conn, agent: string | undefined): Promise<FeedAck> {
    const auth = c.auth;
    if (!auth) throw new AppError('AUTH_MISSING', 'The private channel needs a login first: {"op":"login","key","timestamp","signature"}.');
    let target: string;
    if (auth.role === 'agent') {
      if (agent !== undefined && agent !== auth.agentId) throw new AppError('AUTH_FORBIDDEN', 'An agent key follows only its own agent.');
      target = auth.agentId as string;
    } else if (auth.role === 'principal') {
      if (agent === undefined) throw invalid('A principal key names the agent: { channel: private, agent }.');
      const r = await this.db.pool.query<{ principal_id: string | null }>('SELECT principal_id FROM agent WHERE id = $1', [agent]);
      if (!auth.principalId || r.rows[0]?.principal_id !== auth.principalId)
        throw new AppError('AUTH_FORBIDDEN', 'A principal key follows only its own agents.');
      target = agent;
    } else throw new AppError('AUTH_FORBIDDEN', 'The private channel is for agent and principal keys.');
    const name = room.agent(target);
    this.admit(c, name);
    this.feed.start(this);
    if (c.closed) return { ok: true, channel: 'private', agent: target };
    this.hold(c, name);
    return { ok: true, channel: 'private', agent: target, seq: this.feed.agentSeqOf(target) };
  }

  private unsubscribe(c: Conn, req: Channel): FeedAck {
    const name =
      req.channel === 'private'
        ? room.agent(req.agent ?? c.auth?.agentId ?? '')
        : req.channel === 'book'
          ? room.book(req.market, req.depth)
          : req.channel === 'trades'
            ? room.trades(req.market)
            : room.ticker(req.market);
    if (c.subs.delete(name)) {
      this.leave(c, name);
      this.release(1);
    }
    return { ok: true, channel: req.channel, ...(req.channel === 'private' ? {} : { market: marketIdOf(req.market) }) };
  }

  /** Refuses a new subscription beyond the per-connection limit (one already held is a resync, not a new one). */
  private admit(c: Conn, name: string): void {
    const max = this.config.FEED_MAX_SUBSCRIPTIONS;
    if (!c.subs.has(name) && c.subs.size >= max)
      throw new AppError('FEED_LIMIT_EXCEEDED', `A connection may hold ${max} subscriptions.`, { limit: 'subscriptionsPerConnection', max });
  }

  private hold(c: Conn, name: string): void {
    if (c.subs.has(name)) return;
    c.subs.add(name);
    let members = this.rooms.get(name);
    if (!members) {
      this.rooms.set(name, (members = new Set()));
      if (name.startsWith('agent:')) this.agentRooms++;
    }
    members.add(c);
    this.held++;
  }

  private leave(c: Conn, name: string): void {
    const members = this.rooms.get(name);
    members?.delete(c);
    if (members?.size !== 0) return;
    this.rooms.delete(name);
    if (!name.startsWith('agent:')) return;
    this.agentRooms--;
    // nobody here follows the agent now: its private stream goes, unless the socket.io endpoint still follows it
    this.feed.dropPrivate(name.slice('agent:'.length));
  }

  private release(n: number): void {
    if (n === 0) return;
    this.held -= n;
    if (this.held <= 0) {
      this.held = 0;
      this.feed.stop(this);
    }
  }
}
