import type { ErrorCode, MatchingEvent, OrderSide } from '@ate/contracts';
import type { HostMarket, OrderRecord, OrderStatus, PlaceOrder } from './host-types';

/**
 * The read models a batch commits beside its commands: one row per order it placed or changed (trading_order) and
 * one per trade (trade). Rows have named fields; `columns()` turns them into the column arrays of one INSERT.
 */

export interface TradeRecord {
  marketId: string;
  eventSeq: number;
  commandSeq: number;
  makerOrderId: number;
  takerOrderId: number;
  makerAgentId: string;
  takerAgentId: string;
  takerSide: OrderSide;
  priceTicks: number;
  lots: number;
  notional: number;
  buyerFee: number;
  sellerFee: number;
}

/** What the host keeps of an open order between batches: who placed it and its fills so far. */
export interface OrderFills {
  marketId: string;
  agentId: string;
  filled: number;
  notional: number;
}

type Columns<T> = { [K in keyof T]: T[K][] };
export type OrderColumns = Columns<Omit<OrderRecord, 'createdAt' | 'updatedAt'>>;
export type TradeColumns = Columns<TradeRecord>;

const ORDER_FIELDS = [
  'id',
  'marketId',
  'agentId',
  'clientOrderId',
  'side',
  'type',
  'tif',
  'postOnly',
  'priceTicks',
  'lots',
  'spend',
  'expiresAt',
  'status',
  'filledLots',
  'openLots',
  'filledNotional',
  'reason',
  'commandSeq',
] as const satisfies readonly (keyof OrderColumns)[];
const TRADE_FIELDS = [
  'marketId',
  'eventSeq',
  'commandSeq',
  'makerOrderId',
  'takerOrderId',
  'makerAgentId',
  'takerAgentId',
  'takerSide',
  'priceTicks',
  'lots',
  'notional',
  'buyerFee',
  'sellerFee',
] as const satisfies readonly (keyof TradeColumns)[];

function columnsOf<T, K extends keyof T>(rows: readonly T[], fields: readonly K[]): { [F in K]: T[F][] } {
  const out = {} as { [F in K]: T[F][] };
  for (const f of fields) out[f] = rows.map((r) => r[f]);
  return out;
}

/** The status of an order after an event touched it: open while it rests; else how it ended. */
function statusAfter(resting: boolean, reason: string | null, expired: boolean, before: OrderStatus): OrderStatus {
  if (resting) return 'open';
  if (reason) return expired ? 'expired' : 'canceled';
  return before === 'open' ? 'closed' : before;
}

/**
 * A market order by spend buys (or sells) whole lots, so it stops with less than a lot's price of its spend left:
 * the engine then cancels "the rest" as unfilled, but the order used all it could. It is filled (`closed`) when it
 * filled something and what is left of its spend is less than one lot at the best price now on the other side; it
 * stays `canceled` (MATCHING_CANCEL_UNFILLED) when that side is empty or could still give it a lot.
 */
function spendUsedUp(m: HostMarket, o: PlaceOrder, reason: string, filledLots: number, notional: number): boolean {
  if (o.type !== 'market' || o.spend === undefined || reason !== 'MATCHING_CANCEL_UNFILLED' || filledLots === 0) return false;
  const { bids, asks } = m.engine.depth(1);
  const best = (o.side === 'buy' ? asks : bids)[0];
  return best !== undefined && o.spend - notional < best[0] * m.config.tickSize;
}

export class BatchProjections {
  readonly orders = new Map<number, OrderRecord>();
  readonly trades: TradeRecord[] = [];

  /** The row of the new order of a place command (accepted or rejected), with what it filled as the taker. */
  placed(
    m: HostMarket,
    orderId: number,
    agentId: string,
    o: PlaceOrder,
    seq: number,
    ts: number,
    code: ErrorCode | null,
    events: MatchingEvent[],
  ): OrderRecord {
    const resting = m.engine.order(orderId);
    let filled = 0;
    let notional = 0;
    for (const e of events) {
      if (e.kind === 'trade' && e.takerOrderId === orderId) {
        filled += e.lots;
        notional += e.notional;
      }
    }
    let ended = events.find((e) => (e.kind === 'cancelled' || e.kind === 'expired') && e.orderId === orderId);
    if (ended?.kind === 'cancelled' && spendUsedUp(m, o, ended.reason, filled, notional)) ended = undefined;
    const status: OrderStatus = code ? 'rejected' : resting ? 'open' : ended ? (ended.kind === 'expired' ? 'expired' : 'canceled') : 'closed';
    const at = new Date(ts);
    const row: OrderRecord = {
      id: orderId,
      marketId: m.id,
      agentId,
      clientOrderId: o.clientOrderId ?? null,
      side: o.side,
      type: o.type,
      tif: o.type === 'limit' ? (o.tif ?? 'GTC') : null,
      postOnly: Boolean(o.postOnly),
      priceTicks: o.price ?? null,
      lots: o.lots ?? null,
      spend: o.spend ?? null,
      expiresAt: o.expiresAt ?? null,
      status,
      filledLots: filled,
      openLots: resting?.lots ?? 0,
      filledNotional: notional,
      reason: code ?? (ended?.kind === 'cancelled' ? ended.reason : null),
      commandSeq: seq,
      createdAt: at,
      updatedAt: at,
    };
    this.orders.set(orderId, row);
    return row;
  }

  /**
   * An existing order changed (filled as a maker, cancelled, expired, amended, reduced): its row is refreshed. For
   * an order of an earlier batch only the changing fields matter (the upsert updates those); the rest are
   * placeholders the insert never uses.
   */
  touched(m: HostMarket, orderId: number, seq: number, fills: OrderFills | undefined, reason: string | null = null, expired = false): void {
    const resting = m.engine.order(orderId);
    const existing = this.orders.get(orderId);
    if (existing) {
      existing.status = statusAfter(resting !== null, reason, expired, existing.status);
      existing.openLots = resting?.lots ?? 0;
      if (resting) existing.priceTicks = resting.price;
      if (reason) existing.reason = reason;
      return;
    }
    this.orders.set(orderId, {
      id: orderId,
      marketId: m.id,
      agentId: fills?.agentId ?? '',
      clientOrderId: null,
      side: 'buy',
      type: 'limit',
      tif: null,
      postOnly: false,
      priceTicks: resting?.price ?? null,
      lots: null,
      spend: null,
      expiresAt: null,
      status: statusAfter(resting !== null, reason, expired, 'closed'),
      filledLots: fills?.filled ?? 0,
      openLots: resting?.lots ?? 0,
      filledNotional: fills?.notional ?? 0,
      reason,
      commandSeq: seq,
      createdAt: new Date(0),
      updatedAt: new Date(0),
    });
  }

  trade(t: TradeRecord): void {
    this.trades.push(t);
  }

  orderColumns(): OrderColumns {
    return columnsOf([...this.orders.values()], ORDER_FIELDS);
  }

  tradeColumns(): TradeColumns {
    return columnsOf(this.trades, TRADE_FIELDS);
  }
}
