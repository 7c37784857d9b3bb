import { Injectable } from '@nestjs/common';
import { AppError, CREDIT, CREDIT_SCALE, ERROR_CODES, formatAmount, isErrorCode, parseAmount, PlaceOrderRequest } from '@ate/contracts';
import { DatabaseService } from '../database/database.service';
import { HostCommand, HostResult, PlaceOrder } from '@ate/sequencer';
import { EngineLink } from '../engine/engine-link';
import { LedgerService } from '../ledger/ledger.service';

export interface MarketRow {
  id: string;
  base_asset: string;
  tick_size: string;
  lot_size: string;
  min_order_lots: number;
  max_order_lots: number;
  max_price_ticks: number;
  price_band_bps: number;
  initial_price_ticks: number;
  default_stp: string;
  orders_per_agent_max: number;
  max_spend_credits: string;
  maker_fee_bps: number;
  taker_fee_bps: number;
}

/** The order as the API receives it (validated by the controller's schema). */
export type PlaceOrderInput = PlaceOrderRequest;

const iso = (d: Date) => ({ iso: d.toISOString(), ms: d.getTime() });

/** CCXT's order status names: open, closed, canceled (plus rejected and expired). */
export type OrderStatus = 'open' | 'closed' | 'canceled' | 'rejected' | 'expired';

/**
 * Orders and market data for agents: turns decimal strings into ticks and lots (and back), sends commands to
 * the engine (through EngineLink), and reads the projections the engine commits with each batch.
 */
@Injectable()
export class TradingService {
  private marketCache = new Map<string, { row: MarketRow; baseScale: number }>();

  constructor(
    private readonly db: DatabaseService,
    private readonly engine: EngineLink,
    private readonly ledger: LedgerService,
  ) {}

  async market(id: string): Promise<{ row: MarketRow; baseScale: number }> {
    let m = this.marketCache.get(id);
    if (!m) {
      const r = await this.db.pool.query<MarketRow>('SELECT * FROM market WHERE id = $1', [id]);
      if (!r.rows[0]) throw new AppError('NOT_FOUND', 'No such market.', { market: id });
      m = { row: r.rows[0], baseScale: await this.ledger.scaleOf(r.rows[0].base_asset) };
      this.marketCache.set(id, m); // a market's rules are fixed once created
    }
    return m;
  }

  async listMarkets() {
    const r = await this.db.pool.query<MarketRow>('SELECT * FROM market ORDER BY id');
    return Promise.all(r.rows.map(async (row) => this.marketView(row, await this.ledger.scaleOf(row.base_asset))));
  }

  async marketView(row: MarketRow, baseScale: number) {
    const tick = BigInt(row.tick_size);
    const lot = BigInt(row.lot_size);
    const snap = await this.engine.market(row.id);
    return {
      id: row.id,
      base: row.base_asset,
      quote: CREDIT,
      state: snap?.state ?? 'halted',
      tickSize: formatAmount(tick, CREDIT_SCALE),
      lotSize: formatAmount(lot, baseScale),
      minQuantity: formatAmount(lot * BigInt(row.min_order_lots), baseScale),
      maxQuantity: formatAmount(lot * BigInt(row.max_order_lots), baseScale),
      maxPrice: formatAmount(tick * BigInt(row.max_price_ticks), CREDIT_SCALE),
      priceBandBps: row.price_band_bps,
      referencePrice: formatAmount(tick * BigInt(snap?.referencePrice ?? row.initial_price_ticks), CREDIT_SCALE),
      maxOpenOrdersPerAgent: row.orders_per_agent_max,
      maxSpend: formatAmount(BigInt(row.max_spend_credits), CREDIT_SCALE),
      defaultSelfTradePrevention: row.default_stp,
      fees: { makerBps: row.maker_fee_bps, takerBps: row.taker_fee_bps, paidFrom: 'what each side receives (buyer: base, seller: CREDIT), rounded down' },
      precision: { price: CREDIT_SCALE, amount: baseScale },
    };
  }

  /** A price in credits per lot as ticks: a positive multiple of the tick size, at most the market maximum. */
  private priceTicks(row: MarketRow, price: string): number {
    const tick = BigInt(row.tick_size);
    const p = parseAmount(price, CREDIT_SCALE);
    if (p === 0n || p % tick !== 0n) throw new AppError('MATCHING_INVALID_PRICE', 'The price must be a positive multiple of the tick size.', { tickSize: formatAmount(tick, CREDIT_SCALE) });
    if (p / tick > BigInt(row.max_price_ticks)) throw new AppError('MATCHING_INVALID_PRICE', 'The price is above the market maximum.', { maxPrice: formatAmount(tick * BigInt(row.max_price_ticks), CREDIT_SCALE) });
    return Number(p / tick);
  }

  /**
   * A quantity in base-asset units as lots: a positive multiple of the lot size, within the market's limits.
   * `minLots` is the market minimum for new orders; an amend may shrink an order below it (as a fill may).
   */
  private quantityLots(row: MarketRow, baseScale: number, quantity: string, minLots = row.min_order_lots): number {
    const lot = BigInt(row.lot_size);
    const q = parseAmount(quantity, baseScale);
    if (q === 0n || q % lot !== 0n) throw new AppError('MATCHING_INVALID_SIZE', 'The quantity must be a positive multiple of the lot size.', { lotSize: formatAmount(lot, baseScale) });
    const lots = q / lot;
    if (lots < BigInt(minLots) || lots > BigInt(row.max_order_lots)) {
      throw new AppError('MATCHING_INVALID_SIZE', 'The quantity is outside the market limits.', {
        minQuantity: formatAmount(lot * BigInt(minLots), baseScale),
        maxQuantity: formatAmount(lot * BigInt(row.max_order_lots), baseScale),
      });
    }
    return Number(lots);
  }

  /** Converts the request to ticks and lots; refuses prices and sizes that are not whole multiples. */
  private async toEngineOrder(o: PlaceOrderInput): Promise<PlaceOrder> {
    const { row, baseScale } = await this.market(o.market);
    const out: PlaceOrder = { type: o.type, side: o.side };
    if (o.type === 'limit') {
      if (o.price === undefined || o.quantity === undefined) throw new AppError('VALIDATION_FAILED', 'A limit order needs price and quantity.');
      if (o.spend !== undefined) throw new AppError('VALIDATION_FAILED', 'spend is for market orders.');
      out.price = this.priceTicks(row, o.price);
      out.tif = o.timeInForce ?? 'GTC';
      if (o.postOnly) out.postOnly = true;
      if (o.expiresAt !== undefined) out.expiresAt = o.expiresAt;
    } else {
      if (o.price !== undefined || o.timeInForce !== undefined || o.postOnly || o.expiresAt !== undefined) {
        throw new AppError('VALIDATION_FAILED', 'Market orders take quantity or spend, no price, time in force, post-only or expiry.');
      }
      if ((o.quantity === undefined) === (o.spend === undefined)) throw new AppError('VALIDATION_FAILED', 'A market order takes exactly one of quantity or spend.');
      if (o.spend !== undefined) {
        const s = parseAmount(o.spend, CREDIT_SCALE);
        if (s === 0n || s > BigInt(row.max_spend_credits)) throw new AppError('MATCHING_INVALID_SPEND', undefined, { maxSpend: formatAmount(BigInt(row.max_spend_credits), CREDIT_SCALE) });
        out.spend = Number(s);
      }
    }
    if (o.quantity !== undefined) out.lots = this.quantityLots(row, baseScale, o.quantity);
    if (o.selfTradePrevention) out.stp = o.selfTradePrevention;
    if (o.clientOrderId) out.clientOrderId = o.clientOrderId;
    return out;
  }

  async place(agentId: string, o: PlaceOrderInput) {
    const order = await this.toEngineOrder(o);
    const r = await this.engine.submit({ kind: 'place', marketId: o.market, agentId, order });
    // a new order is answered from the row its batch committed; a replayed clientOrderId from the database
    const view = r.order ? await this.orderView(r.order) : await this.getOrder(agentId, String(r.existingOrderId ?? r.orderId));
    if (view.status === 'rejected') this.throwRejection(view.reason, { orderId: view.id, clientOrderId: view.clientOrderId });
    return view;
  }

  /** What an order would hold, without placing it (the order test endpoint). */
  async test(o: PlaceOrderInput) {
    const order = await this.toEngineOrder(o);
    const { row, baseScale } = await this.market(o.market);
    const tick = BigInt(row.tick_size);
    const lot = BigInt(row.lot_size);
    // amount null: a market order sized in lots (buy) or by spend (sell) holds what it fills on the book at the time
    let hold: { asset: string; amount: string | null };
    if (order.side === 'buy') {
      const credits = order.type === 'limit' ? BigInt(order.price as number) * tick * BigInt(order.lots as number) : order.spend !== undefined ? BigInt(order.spend) : null;
      hold = { asset: CREDIT, amount: credits === null ? null : formatAmount(credits, CREDIT_SCALE) };
    } else {
      hold = { asset: row.base_asset, amount: order.lots !== undefined ? formatAmount(lot * BigInt(order.lots), baseScale) : null };
    }
    // the fee comes out of what the order receives: at most the taker rate (a resting fill pays the maker rate)
    const feeAsset = order.side === 'buy' ? row.base_asset : CREDIT;
    const receives = order.side === 'buy' ? (order.lots !== undefined ? lot * BigInt(order.lots) : null) : order.type === 'limit' ? BigInt(order.price as number) * tick * BigInt(order.lots as number) : null;
    const feeMax = receives === null ? null : (receives * BigInt(row.taker_fee_bps)) / 10_000n;
    return {
      valid: true,
      market: o.market,
      hold,
      fee: { asset: feeAsset, maxAmount: feeMax === null ? null : formatAmount(feeMax, order.side === 'buy' ? baseScale : CREDIT_SCALE), makerBps: row.maker_fee_bps, takerBps: row.taker_fee_bps },
    };
  }

  private throwRejection(code: string | null, details: Record<string, unknown>): never {
    if (code && isErrorCode(code)) throw new AppError(code, ERROR_CODES[code].message, details);
    throw new AppError('CONFLICT', 'The order was rejected.', { ...details, reason: code });
  }

  async cancel(agentId: string, orderId: string) {
    const row = await this.orderRow(agentId, orderId); // another agent's order answers like an unknown one
    const r = await this.engine.submit({ kind: 'cancel', marketId: row.market_id, agentId, orderId: Number(row.id) });
    if (r.code) this.throwRejection(r.code, { orderId });
    return this.getOrder(agentId, orderId);
  }

  /**
   * Amends an open order: the new price and/or the new open quantity (what remains open, not the original size).
   * Priority is kept only when the price is unchanged and the size does not grow; an amend never trades.
   */
  async amend(agentId: string, orderId: string, change: { price?: string; quantity?: string }) {
    const row = await this.orderRow(agentId, orderId);
    const { row: m, baseScale } = await this.market(row.market_id);
    const resting = await this.engine.restingOrder(row.market_id, Number(row.id));
    if (!resting) throw new AppError('MATCHING_UNKNOWN_ORDER', undefined, { orderId });
    const price = change.price !== undefined ? this.priceTicks(m, change.price) : resting.price;
    const lots = change.quantity !== undefined ? this.quantityLots(m, baseScale, change.quantity, 1) : resting.lots;
    const r = await this.engine.submit({ kind: 'amend', marketId: row.market_id, agentId, orderId: Number(row.id), price, lots });
    if (r.code) this.throwRejection(r.code, { orderId });
    const amended = r.events.find((e) => e.kind === 'amended');
    return { ...(await this.getOrder(agentId, orderId)), keptPriority: amended?.kind === 'amended' ? amended.keptPriority : true };
  }

  /** 24-hour statistics from the trades of the last 24 hours (CCXT ticker fields). */
  async stats(marketId: string) {
    const { row, baseScale } = await this.market(marketId);
    const tick = BigInt(row.tick_size);
    const lot = BigInt(row.lot_size);
    const r = await this.db.pool.query(
      `SELECT count(*)::int AS n, min(price_ticks) AS low, max(price_ticks) AS high, coalesce(sum(lots), 0)::text AS lots,
              coalesce(sum(notional), 0)::text AS notional,
              (array_agg(price_ticks ORDER BY command_seq, event_seq))[1] AS open,
              (array_agg(price_ticks ORDER BY command_seq DESC, event_seq DESC))[1] AS last
         FROM trade WHERE market_id = $1 AND created_at > now() - interval '24 hours'`,
      [marketId],
    );
    const t = r.rows[0];
    const px = (v: number | null) => (v === null ? null : formatAmount(BigInt(v) * tick, CREDIT_SCALE));
    const book = await this.engine.market(marketId);
    return {
      market: marketId,
      open: px(t.open),
      high: px(t.high),
      low: px(t.low),
      last: px(t.last),
      baseVolume: formatAmount(BigInt(t.lots) * lot, baseScale),
      quoteVolume: formatAmount(BigInt(t.notional), CREDIT_SCALE),
      trades: t.n,
      bid: book?.bids[0] ? px(book.bids[0][0]) : null,
      ask: book?.asks[0] ? px(book.asks[0][0]) : null,
    };
  }

  async cancelAll(agentId: string, market?: string) {
    if (market) await this.market(market);
    const r: HostResult = await this.engine.submit({ kind: 'cancel_all', agentId, ...(market ? { marketId: market } : {}) } as HostCommand);
    if (r.code) this.throwRejection(r.code, {});
    const ids = r.events.flatMap((e) => (e.kind === 'cancelled' ? [String(e.orderId)] : []));
    return { cancelled: ids };
  }

  private async orderRow(agentId: string, orderId: string): Promise<Record<string, any>> {
    if (!/^[1-9][0-9]{0,15}$/.test(orderId)) throw new AppError('MATCHING_UNKNOWN_ORDER', undefined, { orderId });
    const r = await this.db.pool.query('SELECT * FROM trading_order WHERE id = $1 AND agent_id = $2', [orderId, agentId]);
    if (!r.rows[0]) throw new AppError('MATCHING_UNKNOWN_ORDER', undefined, { orderId });
    return r.rows[0];
  }

  async getOrder(agentId: string, orderId: string) {
    return this.orderView(await this.orderRow(agentId, orderId));
  }

  async getOrderByClientId(agentId: string, clientOrderId: string) {
    const r = await this.db.pool.query('SELECT * FROM trading_order WHERE agent_id = $1 AND client_order_id = $2', [agentId, clientOrderId]);
    if (!r.rows[0]) throw new AppError('MATCHING_UNKNOWN_ORDER', undefined, { clientOrderId });
    return this.orderView(r.rows[0]);
  }

  async listOrders(agentId: string, q: { status: 'open' | 'all'; market?: string; cursor?: string; limit: number }) {
    const params: unknown[] = [agentId, q.cursor ?? '9223372036854775807', q.limit + 1];
    let where = 'agent_id = $1 AND id < $2';
    if (q.status === 'open') where += ` AND status = 'open'`;
    if (q.market) {
      params.push(q.market);
      where += ` AND market_id = $${params.length}`;
    }
    const r = await this.db.pool.query(`SELECT * FROM trading_order WHERE ${where} ORDER BY id DESC LIMIT $3`, params);
    const rows = r.rows.slice(0, q.limit);
    const views = await Promise.all(rows.map((x) => this.orderView(x)));
    return { orders: views, nextCursor: r.rows.length > q.limit ? String(rows[rows.length - 1].id) : null };
  }

  async orderView(r: Record<string, any>) {
    const { row, baseScale } = await this.market(r.market_id);
    const tick = BigInt(row.tick_size);
    const lot = BigInt(row.lot_size);
    const qty = (lots: string | number | null) => (lots === null ? null : formatAmount(BigInt(lots) * lot, baseScale));
    const filled = BigInt(r.filled_lots);
    const cost = BigInt(r.filled_notional);
    return {
      id: String(r.id),
      clientOrderId: r.client_order_id as string | null,
      market: r.market_id as string,
      side: r.side as 'buy' | 'sell',
      type: r.type as 'limit' | 'market',
      timeInForce: r.tif as string | null,
      postOnly: r.post_only as boolean,
      price: r.price_ticks === null ? null : formatAmount(BigInt(r.price_ticks) * tick, CREDIT_SCALE),
      quantity: qty(r.lots),
      spend: r.spend === null ? null : formatAmount(BigInt(r.spend), CREDIT_SCALE),
      filled: formatAmount(filled * lot, baseScale),
      remaining: formatAmount(BigInt(r.open_lots) * lot, baseScale),
      cost: formatAmount(cost, CREDIT_SCALE),
      averagePrice: filled > 0n ? formatAmount(cost / filled, CREDIT_SCALE) : null,
      status: r.status as OrderStatus,
      reason: r.reason as string | null,
      createdAt: iso(r.created_at),
      updatedAt: iso(r.updated_at),
    };
  }

  async book(marketId: string, depth: number) {
    const { row, baseScale } = await this.market(marketId);
    // the book as of the last committed batch: never a batch that could still roll back
    const b = await this.engine.market(marketId);
    if (!b) throw new AppError('SERVICE_UNAVAILABLE', 'The market is not loaded.');
    const tick = BigInt(row.tick_size);
    const lot = BigInt(row.lot_size);
    const level = ([p, l]: [number, number]) => [formatAmount(BigInt(p) * tick, CREDIT_SCALE), formatAmount(BigInt(l) * lot, baseScale)];
    return { market: marketId, seq: b.seq, bids: b.bids.slice(0, depth).map(level), asks: b.asks.slice(0, depth).map(level) };
  }

  async trades(marketId: string, limit: number) {
    const { row, baseScale } = await this.market(marketId);
    const tick = BigInt(row.tick_size);
    const lot = BigInt(row.lot_size);
    const r = await this.db.pool.query('SELECT * FROM trade WHERE market_id = $1 ORDER BY event_seq DESC LIMIT $2', [marketId, limit]);
    return {
      market: marketId,
      trades: r.rows.map((t) => ({
        id: `${t.market_id}:${t.event_seq}`,
        price: formatAmount(BigInt(t.price_ticks) * tick, CREDIT_SCALE),
        amount: formatAmount(BigInt(t.lots) * lot, baseScale),
        cost: formatAmount(BigInt(t.notional), CREDIT_SCALE),
        takerSide: t.taker_side,
        timestamp: iso(t.created_at),
      })),
    };
  }

  async fills(agentId: string, limit: number) {
    const r = await this.db.pool.query(
      `SELECT * FROM trade WHERE maker_agent_id = $1 OR taker_agent_id = $1 ORDER BY command_seq DESC, event_seq DESC LIMIT $2`,
      [agentId, limit],
    );
    return {
      fills: await Promise.all(
        r.rows.map(async (t) => {
          const { row, baseScale } = await this.market(t.market_id);
          const maker = t.maker_agent_id === agentId;
          const side = maker ? (t.taker_side === 'buy' ? 'sell' : 'buy') : t.taker_side;
          return {
            id: `${t.market_id}:${t.event_seq}`,
            market: t.market_id,
            orderId: String(maker ? t.maker_order_id : t.taker_order_id),
            side,
            takerOrMaker: maker ? 'maker' : 'taker',
            price: formatAmount(BigInt(t.price_ticks) * BigInt(row.tick_size), CREDIT_SCALE),
            amount: formatAmount(BigInt(t.lots) * BigInt(row.lot_size), baseScale),
            cost: formatAmount(BigInt(t.notional), CREDIT_SCALE),
            fee: side === 'buy'
              ? { currency: row.base_asset, cost: formatAmount(BigInt(t.buyer_fee), baseScale) }
              : { currency: CREDIT, cost: formatAmount(BigInt(t.seller_fee), CREDIT_SCALE) },
            timestamp: iso(t.created_at),
          };
        }),
      ),
    };
  }
}
