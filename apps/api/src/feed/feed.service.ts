import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import {
  CREDIT,
  CREDIT_SCALE,
  formatAmount,
  FeedAuction,
  FeedAuctionBid,
  marketIdOf,
  FeedBalance,
  FeedBookMessage,
  FeedFill,
  FeedOrderUpdate,
  FeedPrivateMessage,
  FeedTicker,
  FeedTrade,
} from '@ate/contracts';
import { AuctionBidEvent, AuctionEvent, CommittedBook, CommittedEvent, engineRedisKeys } from '@ate/sequencer';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { DatabaseService } from '../database/database.service';
import { EngineLink } from '../engine/engine-link';
import { InProcessEngine } from '../engine/engine.service';
import { LedgerService } from '../ledger/ledger.service';
import { MarketCatalog, MarketRef } from '../trading/market-catalog';
import { TRADE_STATS_24H, TradeStats } from '../trading/trades.repository';
import { units } from '../trading/views';
import { FeedBook } from './feed-book';
import { FeedMetrics } from './feed-metrics';
import { PrivateReplayMiss, PrivateStreams } from './feed-private';
import { FeedBatch, FeedSource, HostFeedSource, RedisStreamFeedSource } from './feed-source';

/** Where the feed's messages go (the gateway: socket.io rooms of this node). */
export interface FeedOut {
  /** a book message: of the whole view, or of a depth-limited one (`m.depth`) */
  book(market: string, m: FeedBookMessage): void;
  trade(market: string, t: FeedTrade): void;
  ticker(market: string, t: FeedTicker): void;
  /** whether anyone on this node follows the agent (private messages are built only then) */
  followsAgent(agent: string): boolean;
  /** whether anyone on this node follows any agent (else the engine host builds no agents' events for the feed) */
  followsAnyAgent?(): boolean;
  private(agent: string, m: FeedPrivateMessage): void;
  /** whether anyone on this node follows the public auctions channel (its messages are built only then) */
  followsAuctions?(): boolean;
  auction?(m: FeedAuction): void;
}

type BookTouch = { side: 'buy' | 'sell'; price: number };

/** Every endpoint's FeedOut as one: messages go to each, an agent is followed if any follows it. */
class FeedOuts implements FeedOut {
  readonly all: FeedOut[] = [];
  book(market: string, m: FeedBookMessage): void {
    for (const o of this.all) o.book(market, m);
  }
  trade(market: string, t: FeedTrade): void {
    for (const o of this.all) o.trade(market, t);
  }
  ticker(market: string, t: FeedTicker): void {
    for (const o of this.all) o.ticker(market, t);
  }
  followsAgent(agent: string): boolean {
    return this.all.some((o) => o.followsAgent(agent));
  }
  followsAnyAgent(): boolean {
    return this.all.some((o) => o.followsAnyAgent?.() ?? true);
  }
  private(agent: string, m: FeedPrivateMessage): void {
    for (const o of this.all) o.private(agent, m);
  }
  followsAuctions(): boolean {
    return this.all.some((o) => o.followsAuctions?.() ?? false);
  }
  auction(m: FeedAuction): void {
    for (const o of this.all) o.auction?.(m);
  }
}

/** How often a ticker's 24 h volumes are read again from the trades table, at most (ms). */
const VOLUME_REFRESH_MS = 5_000;

/**
 * The feed's state, fed only by committed batches (FeedSource): each followed market's book (FeedBook: seq,
 * deltas, replay buffer), its ticker, and the agents' private updates with their sequence. Batches are applied
 * one after another in commit order (an async chain: a market's or an asset's formatting is read once). One per
 * node: its endpoints (socket.io, plain WebSocket) attach as FeedOuts and get the same messages, seqs included; it
 * reads while any of them holds a subscription.
 */
@Injectable()
export class FeedService implements OnApplicationShutdown {
  private readonly logger = new Logger('Feed');
  private readonly source: FeedSource;
  /** where its messages go: the endpoints attached (it reads only once one of them holds a subscription) */
  private readonly outs = new FeedOuts();
  /** the endpoints holding subscriptions (it reads committed batches while there is one) */
  private readonly holders = new Set<FeedOut>();
  private running = false;
  private chain: Promise<void> = Promise.resolve();
  /** each market's newest committed view seen since the source started */
  private readonly latest = new Map<string, CommittedBook>();
  private readonly books = new Map<string, FeedBook>();
  private readonly opening = new Map<string, Promise<FeedBook>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly refs = new Map<string, MarketRef>();
  private readonly scales = new Map<string, number>();
  private readonly agentSeq = new Map<string, number>();
  private readonly tickers = new Map<string, { t: FeedTicker; volumeAt: number; reading: boolean }>();
  /** each followed agent's private stream on this node: its epoch and the replay buffer */
  private readonly streams: PrivateStreams;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly engine: EngineLink,
    private readonly catalog: MarketCatalog,
    private readonly ledger: LedgerService,
    private readonly db: DatabaseService,
    private readonly metrics: FeedMetrics,
  ) {
    this.streams = new PrivateStreams(config.FEED_PRIVATE_REPLAY);
    if (engine instanceof InProcessEngine) this.source = new HostFeedSource(engine.host);
    else {
      const url = config.REDIS_URL as string; // ENGINE_MODE=redis needs it (config.ts)
      this.source = new RedisStreamFeedSource(
        () => new Redis(url, { maxRetriesPerRequest: null }),
        engineRedisKeys(config.REDIS_PREFIX),
        this.logger,
      );
    }
  }

  attach(out: FeedOut): void {
    if (!this.outs.all.includes(out)) this.outs.all.push(out);
  }

  /** Starts reading committed batches (an endpoint's first subscriber); idempotent. */
  start(by: FeedOut): void {
    this.holders.add(by);
    if (this.running) return;
    this.running = true;
    this.source.start(
      (b) => this.onBatch(b, Date.now()),
      () => this.outs.followsAnyAgent(),
    );
  }

  /**
   * An endpoint's last subscriber left. Once no endpoint holds one, it stops reading and forgets the books: the
   * next subscriber starts from a snapshot.
   */
  stop(by: FeedOut): void {
    this.holders.delete(by);
    if (!this.running || this.holders.size > 0) return;
    this.running = false;
    this.source.stop();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.latest.clear();
    this.books.clear();
    this.opening.clear();
    this.tickers.clear();
    this.streams.clear();
  }

  onApplicationShutdown(): void {
    this.holders.clear();
    if (this.running) this.stop(this.outs);
  }

  /** The market's formatting, or NOT_FOUND (AppError) for a market that does not exist. */
  async market(id: string): Promise<MarketRef> {
    let r = this.refs.get(id);
    if (!r) this.refs.set(id, (r = await this.catalog.get(id)));
    return r;
  }

  /** The market's feed book, opened from its newest committed view (the engine's, or one a batch brought since). */
  book(market: string): Promise<FeedBook> {
    const have = this.books.get(market);
    if (have) return Promise.resolve(have);
    let p = this.opening.get(market);
    if (!p) {
      p = (async () => {
        const ref = await this.market(market);
        const fromEngine = await this.engine.market(market);
        const seen = this.latest.get(market);
        const base = seen && (!fromEngine || seen.seq >= fromEngine.seq) ? seen : fromEngine;
        if (!base) throw Object.assign(new Error('market not loaded'), { code: 'SERVICE_UNAVAILABLE' });
        const u = units(ref);
        const fb = new FeedBook(
          marketIdOf(market),
          base,
          { price: (t) => u.price(t), quantity: (l) => u.quantity(l) },
          this.config.FEED_REPLAY_DELTAS,
        );
        if (this.running) this.books.set(market, fb);
        return fb;
      })().finally(() => this.opening.delete(market));
      this.opening.set(market, p);
    }
    return p;
  }

  /** The ticker as last computed (built on first ask). */
  async ticker(market: string): Promise<FeedTicker> {
    const fb = await this.book(market);
    const t = this.tickers.get(market);
    if (t) return t.t;
    const ref = await this.market(market);
    const stats = (await this.db.pool.query<TradeStats>(TRADE_STATS_24H, [market])).rows[0] as TradeStats;
    const u = units(ref);
    const view = this.latest.get(market) ?? (await this.engine.market(market));
    const made: FeedTicker = {
      market: marketIdOf(market),
      seq: fb.seq,
      last: stats.last === null ? null : u.price(stats.last),
      bid: view?.bids[0] ? u.price(view.bids[0][0]) : null,
      ask: view?.asks[0] ? u.price(view.asks[0][0]) : null,
      baseVolume24h: u.quantity(stats.lots),
      quoteVolume24h: u.credits(stats.notional),
      ts: Date.now(),
    };
    this.tickers.set(market, { t: made, volumeAt: Date.now(), reading: false });
    return made;
  }

  /** The agent's private sequence on this node so far (the next message carries one more). */
  agentSeqOf(agent: string): number {
    return this.agentSeq.get(agent) ?? 0;
  }

  /**
   * The agent's private stream on this node, opened if need be: its epoch (new each time the node starts counting
   * the agent's updates again) and its seq so far. A subscriber's replays name both.
   */
  privateStream(agent: string): { epoch: string; seq: number } {
    return { ...this.streams.open(agent), seq: this.agentSeqOf(agent) };
  }

  /** The agent's private messages after `since` in stream `epoch` (bounded buffer: FEED_PRIVATE_REPLAY), or why not. */
  privateSince(agent: string, since: number, epoch: string | undefined): FeedPrivateMessage[] | PrivateReplayMiss {
    return this.streams.since(agent, epoch, since, this.agentSeqOf(agent));
  }

  /** Forgets the agent's private stream on this node, unless another endpoint here still follows the agent. */
  dropPrivate(agent: string): void {
    if (this.outs.followsAgent(agent)) return;
    this.streams.drop(agent);
  }

  private onBatch(b: FeedBatch, now: number): void {
    this.chain = this.chain
      .then(() => this.apply(b, now))
      .catch((e: Error) => this.logger.error(`feed: a committed batch not applied: ${e.message}`));
  }

  private async apply(b: FeedBatch, now: number): Promise<void> {
    if (!this.running) return;
    const out = this.outs;
    const touched = new Map<string, BookTouch[]>();
    for (const c of b.commands) {
      // a market's formatting is read once (then cached: no await per command on the hot path)
      const ref = c.marketId ? (this.refs.get(c.marketId) ?? (await this.market(c.marketId))) : null;
      for (const e of c.events) {
        if (e.kind === 'book' && c.marketId) {
          let t = touched.get(c.marketId);
          if (!t) touched.set(c.marketId, (t = []));
          t.push({ side: e.side, price: e.price });
        } else if (e.kind === 'trade' && ref) this.trade(out, ref, c.seq, c.ts, e);
        else if (e.kind === 'auction') this.auction(out, c.seq, c.ts, e);
        else if (e.kind === 'auction_bid') this.auctionBid(out, c.seq, c.ts, e);
        else if (e.kind !== 'balance') this.orderEvent(out, ref, c.seq, c.ts, e);
        else if (out.followsAgent(e.agentId)) await this.balanceEvent(out, c.seq, c.ts, e);
      }
    }
    for (const [m, view] of b.books) {
      const seen = this.latest.get(m);
      if (seen && seen.seq >= view.seq) continue;
      this.latest.set(m, view);
      const fb = this.books.get(m);
      if (!fb) continue;
      fb.absorb(view, touched.get(m) ?? [], now);
      this.schedule(m, fb);
    }
  }

  private schedule(m: string, fb: FeedBook): void {
    if (this.config.FEED_CONFLATE_MS === 0) return this.flush(m, fb);
    if (this.timers.has(m)) return void this.metrics.conflated.inc();
    this.timers.set(
      m,
      setTimeout(() => {
        this.timers.delete(m);
        if (this.books.get(m) === fb) this.flush(m, fb);
      }, this.config.FEED_CONFLATE_MS),
    );
  }

  private flush(m: string, fb: FeedBook): void {
    const msgs = fb.flush();
    if (msgs.length === 0) return;
    for (const msg of msgs) this.outs.book(m, msg);
    const t = this.tickers.get(m);
    if (!t) return;
    const view = this.latest.get(m);
    const ref = this.refs.get(m) as MarketRef;
    const u = units(ref);
    const bid = view?.bids[0] ? u.price(view.bids[0][0]) : null;
    const ask = view?.asks[0] ? u.price(view.asks[0][0]) : null;
    if (bid !== t.t.bid || ask !== t.t.ask) this.emitTicker(m, { ...t.t, bid, ask, seq: fb.seq, ts: Date.now() });
  }

  private emitTicker(m: string, t: FeedTicker): void {
    const held = this.tickers.get(m);
    if (!held) return;
    held.t = t;
    this.outs.ticker(m, t);
    if (Date.now() - held.volumeAt < VOLUME_REFRESH_MS || held.reading) return;
    held.reading = true;
    void this.db.pool
      .query<TradeStats>(TRADE_STATS_24H, [m])
      .then((r) => {
        const s = r.rows[0] as TradeStats;
        const u = units(this.refs.get(m) as MarketRef);
        held.t = { ...held.t, baseVolume24h: u.quantity(s.lots), quoteVolume24h: u.credits(s.notional) };
      })
      .catch(() => undefined)
      .finally(() => {
        held.reading = false;
        held.volumeAt = Date.now();
      });
  }

  private trade(out: FeedOut, ref: MarketRef, commandSeq: number, ts: number, e: Extract<CommittedEvent, { kind: 'trade' }>): void {
    const m = ref.row.id; // the engine's key (the symbol): rooms and caches; messages name the market by its id
    const shown = marketIdOf(m);
    const u = units(ref);
    const id = `${shown}:${e.seq}`;
    const price = u.price(e.price);
    const amount = u.quantity(e.lots);
    out.trade(m, { market: shown, id, seq: e.seq, price, amount, takerSide: e.takerSide, ts });
    const held = this.tickers.get(m);
    if (held) this.emitTicker(m, { ...held.t, last: price, seq: e.seq, ts });
    const makerSide = e.takerSide === 'buy' ? 'sell' : 'buy';
    const fill = (agent: string, side: 'buy' | 'sell', orderId: number, takerOrMaker: 'taker' | 'maker') => {
      if (!out.followsAgent(agent)) return;
      const fee =
        side === 'buy'
          ? { currency: ref.row.base_asset, cost: formatAmount(BigInt(e.buyerFee), ref.baseScale) }
          : { currency: CREDIT, cost: u.credits(e.sellerFee) };
      this.sendPrivate(out, agent, commandSeq, ts, {
        type: 'fill',
        market: shown,
        id,
        orderId: String(orderId),
        side,
        takerOrMaker,
        price,
        amount,
        fee,
      });
    };
    fill(e.takerAgentId, e.takerSide, e.takerOrderId, 'taker');
    fill(e.makerAgentId, makerSide, e.makerOrderId, 'maker');
  }

  private auction(out: FeedOut, commandSeq: number, ts: number, e: AuctionEvent): void {
    if (!out.auction || !out.followsAuctions?.()) return;
    const c = (v: bigint) => formatAmount(v, CREDIT_SCALE);
    out.auction({
      event: e.event,
      auctionId: e.auctionId,
      mechanism: e.mechanism,
      sellerAgentId: e.sellerId,
      asset: e.asset,
      units: e.units.toString(),
      reservePrice: c(e.reservePrice),
      deadline: new Date(e.deadline).toISOString(),
      bids: e.bids,
      ...(e.result ? { result: { unitsSold: e.result.unitsSold.toString(), revenue: c(e.result.revenue), winners: e.result.winners } } : {}),
      seq: commandSeq,
      ts,
    });
  }

  private auctionBid(out: FeedOut, commandSeq: number, ts: number, e: AuctionBidEvent): void {
    if (!out.followsAgent(e.agentId)) return;
    const c = (v: bigint) => formatAmount(v, CREDIT_SCALE);
    const body: FeedAuctionBid = {
      type: 'auction_bid',
      event: e.event,
      auctionId: e.auctionId,
      ...(e.hold !== undefined ? { hold: c(e.hold) } : {}),
      ...(e.units !== undefined ? { units: e.units.toString() } : {}),
      ...(e.items !== undefined ? { items: e.items } : {}),
      ...(e.payment !== undefined ? { payment: c(e.payment) } : {}),
    };
    this.sendPrivate(out, e.agentId, commandSeq, ts, body);
  }

  private async balanceEvent(out: FeedOut, commandSeq: number, ts: number, e: Extract<CommittedEvent, { kind: 'balance' }>): Promise<void> {
    let scale = this.scales.get(e.asset);
    if (scale === undefined) this.scales.set(e.asset, (scale = await this.ledger.scaleOf(e.asset)));
    const f = (v: bigint) => formatAmount(v, scale);
    this.sendPrivate(out, e.agentId, commandSeq, ts, {
      type: 'balance',
      asset: e.asset,
      total: f(e.total),
      used: f(e.reserved),
      free: f(e.total - e.reserved),
    });
  }

  private orderEvent(out: FeedOut, ref: MarketRef | null, commandSeq: number, ts: number, e: CommittedEvent): void {
    if (!ref || e.kind === 'book' || e.kind === 'state' || e.kind === 'trade' || e.kind === 'auction' || e.kind === 'auction_bid') return;
    if (e.kind === 'balance' || !out.followsAgent(e.agentId)) return;
    const u = units(ref);
    const base = { type: 'order' as const, event: e.kind, market: marketIdOf(ref.row.id), orderId: String(e.orderId) };
    const extra =
      e.kind === 'accepted'
        ? { side: e.side, ...(e.price > 0 ? { price: u.price(e.price) } : {}), quantity: u.quantity(e.lots) }
        : e.kind === 'rejected'
          ? { reason: e.code }
          : e.kind === 'cancelled'
            ? { quantity: u.quantity(e.lots), reason: e.reason }
            : e.kind === 'expired'
              ? { quantity: u.quantity(e.lots) }
              : e.kind === 'reduced'
                ? { quantity: u.quantity(e.lots) }
                : { price: u.price(e.price), quantity: u.quantity(e.lots) };
    this.sendPrivate(out, e.agentId, commandSeq, ts, { ...base, ...extra });
  }

  private sendPrivate(
    out: FeedOut,
    agent: string,
    commandSeq: number,
    ts: number,
    body: FeedOrderUpdate | FeedFill | FeedBalance | FeedAuctionBid,
  ): void {
    const seq = (this.agentSeq.get(agent) ?? 0) + 1;
    this.agentSeq.set(agent, seq);
    const m = { agent, seq, commandSeq, ts, ...body } as FeedPrivateMessage;
    this.streams.push(m);
    out.private(agent, m);
  }
}
