import { Injectable } from '@nestjs/common';
import { AppError, CREDIT, CREDIT_SCALE, ERROR_CODES, formatAmount, isErrorCode, marketIdOf, PlaceOrderRequest } from '@ate/contracts';
import type { OrderRecord } from '@ate/sequencer';
import { EngineLink } from '../engine/engine-link';
import { MarketCatalog } from './market-catalog';
import { OrdersRepository } from './orders.repository';
import { TradesRepository } from './trades.repository';
import { priceTicks, quantityLots, sameOrder, toEngineOrder } from './units';
import { fillView, orderView, OrderView } from './views';

/** The order as the API receives it (validated by the controller's schema). */
export type PlaceOrderInput = PlaceOrderRequest;

const ORDER_ID = /^[1-9][0-9]{0,15}$/;

/**
 * An agent's orders: converts requests to ticks and lots, sends commands to the engine (EngineLink), and answers
 * with the views of what the engine committed (the new order as its batch committed it, or the projection).
 */
@Injectable()
export class TradingService {
  constructor(
    private readonly engine: EngineLink,
    private readonly markets: MarketCatalog,
    private readonly orders: OrdersRepository,
    private readonly trades: TradesRepository,
  ) {}

  private async view(r: OrderRecord): Promise<OrderView> {
    return orderView(r, await this.markets.get(r.marketId));
  }

  async place(agentId: string, o: PlaceOrderInput): Promise<OrderView> {
    const m = await this.markets.get(o.market);
    const order = toEngineOrder(m, o);
    const r = await this.engine.submit({ kind: 'place', marketId: m.row.id, agentId, order });
    if (r.order) {
      const view = orderView(r.order, m);
      if (view.status === 'rejected') this.throwRejection(view.reason, { orderId: view.id, clientOrderId: view.clientOrderId, ...r.details });
      // above the policy's approval threshold: held, with when the request expires (approvals.ts)
      if (view.status === 'pending_approval') return { ...view, ...(r.details ?? {}) } as OrderView;
      return view;
    }
    // a clientOrderId placed before: the same order again is that order; another order under the same id is a conflict
    const existing = await this.orderRecord(agentId, String(r.existingOrderId ?? r.orderId));
    if (!sameOrder(existing, m.row.id, order)) {
      throw new AppError('CONFLICT', 'This clientOrderId names another order (a different body).', {
        orderId: String(existing.id),
        clientOrderId: o.clientOrderId,
      });
    }
    const view = await this.view(existing);
    if (view.status === 'rejected') this.throwRejection(view.reason, { orderId: view.id, clientOrderId: view.clientOrderId });
    return view;
  }

  /**
   * What placing the order would answer now, without placing it: the same refusal (code and details) placing
   * would give, or `valid` with the funds the order would hold and the most it would pay in fees.
   */
  async test(agentId: string, o: PlaceOrderInput) {
    const m = await this.markets.get(o.market);
    const order = toEngineOrder(m, o);
    const verdict = await this.engine.test({ kind: 'place', marketId: m.row.id, agentId, order });
    if (verdict.code) this.throwRejection(verdict.code, { orderId: null, clientOrderId: o.clientOrderId ?? null, ...verdict.details });
    const tick = BigInt(m.row.tick_size);
    const lot = BigInt(m.row.lot_size);
    // amount null: a market order sized in lots (buy) or by spend (sell) holds what it fills on the book at the time
    let hold: { asset: string; amount: string | null };
    if (order.side === 'buy') {
      const credits =
        order.type === 'limit'
          ? BigInt(order.price as number) * tick * BigInt(order.lots as number)
          : order.spend !== undefined
            ? BigInt(order.spend)
            : null;
      hold = { asset: CREDIT, amount: credits === null ? null : formatAmount(credits, CREDIT_SCALE) };
    } else {
      hold = { asset: m.row.base_asset, amount: order.lots !== undefined ? formatAmount(lot * BigInt(order.lots), m.baseScale) : null };
    }
    // the fee comes out of what the order receives: at most the taker rate (a resting fill pays the maker rate)
    const feeAsset = order.side === 'buy' ? m.row.base_asset : CREDIT;
    const receives =
      order.side === 'buy'
        ? order.lots !== undefined
          ? lot * BigInt(order.lots)
          : null
        : order.type === 'limit'
          ? BigInt(order.price as number) * tick * BigInt(order.lots as number)
          : null;
    const bps = BigInt(m.row.taker_fee_bps);
    const feeMax = receives === null ? null : m.row.fee_rounding === 'up' ? (receives * bps + 9_999n) / 10_000n : (receives * bps) / 10_000n;
    const approval = verdict.details?.['approval'] as { required: true; notional: string; threshold: string; ttlSeconds: number } | undefined;
    return {
      valid: true,
      market: marketIdOf(m.row.id),
      ...(approval ? { approval } : {}),
      hold,
      fee: {
        asset: feeAsset,
        maxAmount: feeMax === null ? null : formatAmount(feeMax, order.side === 'buy' ? m.baseScale : CREDIT_SCALE),
        makerBps: m.row.maker_fee_bps,
        takerBps: m.row.taker_fee_bps,
      },
    };
  }

  private throwRejection(code: string | null, details: Record<string, unknown>): never {
    if (code && isErrorCode(code)) throw new AppError(code, ERROR_CODES[code].message, details);
    throw new AppError('CONFLICT', 'The order was rejected.', { ...details, reason: code });
  }

  async cancel(agentId: string, orderId: string) {
    const row = await this.orderRecord(agentId, orderId); // another agent's order answers like an unknown one
    const r = await this.engine.submit({ kind: 'cancel', marketId: row.marketId, agentId, orderId: row.id });
    if (r.code) this.throwRejection(r.code, { orderId });
    return this.getOrder(agentId, orderId);
  }

  /**
   * Amends an open order: the new price and/or the new open quantity (what remains open, not the original size).
   * Priority is kept only when the price is unchanged and the size does not grow; an amend never trades.
   */
  async amend(agentId: string, orderId: string, change: { price?: string; quantity?: string }) {
    const row = await this.orderRecord(agentId, orderId);
    const m = await this.markets.get(row.marketId);
    const resting = await this.engine.restingOrder(row.marketId, row.id);
    if (!resting) throw new AppError('MATCHING_UNKNOWN_ORDER', undefined, { orderId });
    const price = change.price !== undefined ? priceTicks(m, change.price) : resting.price;
    const lots = change.quantity !== undefined ? quantityLots(m, change.quantity, 1) : resting.lots;
    const r = await this.engine.submit({ kind: 'amend', marketId: row.marketId, agentId, orderId: row.id, price, lots });
    if (r.code) this.throwRejection(r.code, { orderId, ...r.details });
    const amended = r.events.find((e) => e.kind === 'amended');
    return { ...(await this.getOrder(agentId, orderId)), keptPriority: amended?.kind === 'amended' ? amended.keptPriority : true };
  }

  async cancelAll(agentId: string, market?: string) {
    if (market) await this.markets.get(market);
    const r = await this.engine.submit(market ? { kind: 'cancel_all', agentId, marketId: market } : { kind: 'cancel_all', agentId });
    if (r.code) this.throwRejection(r.code, {});
    // the book's cancels, then the orders that were waiting for approval (they have no book event)
    const waiting = ((r.details?.['pendingCancelled'] as number[] | undefined) ?? []).map(String);
    return { cancelled: [...r.events.flatMap((e) => (e.kind === 'cancelled' ? [String(e.orderId)] : [])), ...waiting] };
  }

  private async orderRecord(agentId: string, orderId: string): Promise<OrderRecord> {
    const r = ORDER_ID.test(orderId) ? await this.orders.byId(agentId, orderId) : undefined;
    if (!r) throw new AppError('MATCHING_UNKNOWN_ORDER', undefined, { orderId });
    return r;
  }

  async getOrder(agentId: string, orderId: string): Promise<OrderView> {
    return this.view(await this.orderRecord(agentId, orderId));
  }

  async getOrderByClientId(agentId: string, clientOrderId: string): Promise<OrderView> {
    const r = await this.orders.byClientId(agentId, clientOrderId);
    if (!r) throw new AppError('MATCHING_UNKNOWN_ORDER', undefined, { clientOrderId });
    return this.view(r);
  }

  async listOrders(
    agentId: string,
    q: {
      status: 'open' | 'closed' | 'canceled' | 'pending_approval' | 'all';
      market?: string;
      cursor?: string;
      limit: number;
      since?: number;
      until?: number;
    },
  ) {
    const { status, limit, ...rest } = q;
    const rows = await this.orders.list(agentId, { ...rest, ...(status !== 'all' ? { status } : {}), limit: limit + 1 });
    const page = rows.slice(0, limit);
    return {
      orders: await Promise.all(page.map((r) => this.view(r))),
      nextCursor: rows.length > limit ? String((page[page.length - 1] as OrderRecord).id) : null,
    };
  }

  async fills(agentId: string, q: { limit: number; market?: string; since?: number; until?: number; cursor?: string }) {
    const { cursor, limit, ...rest } = q;
    const rows = await this.trades.ofAgent(agentId, {
      ...rest,
      limit: limit + 1,
      ...(cursor ? { cursor: fillCursor(cursor, q.since !== undefined) } : {}),
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      fills: await Promise.all(page.map(async (t) => fillView(await this.markets.get(t.market_id), t, agentId))),
      nextCursor: rows.length > limit && last ? `${last.command_seq}.${last.event_seq}` : null,
    };
  }
}

/** `<command seq>.<event seq>`; a bare command sequence number starts past all of that command's fills. */
function fillCursor(cursor: string, ascending: boolean): [string, string] {
  const [cs, es] = cursor.split('.') as [string, string | undefined];
  return [cs, es ?? (ascending ? '9223372036854775807' : '0')];
}
