import { bookChecksum, CREDIT, CREDIT_SCALE, FEED_CHECKSUM_DEPTH, formatAmount, marketIdOf } from '@ate/contracts';
import type { MarketSnapshot, OrderRecord } from '@ate/sequencer';
import type { MarketRef } from './market-catalog';
import type { TradeRow, TradeStats } from './trades.repository';

/**
 * Every view the api answers with for orders and market data, formatted in one place: ticks and lots become
 * decimal strings in credits and base-asset units, times become `{ iso, ms }`.
 */

const iso = (d: Date) => ({ iso: d.toISOString(), ms: d.getTime() });

/** The market's price and quantity formatting. */
export function units(m: MarketRef) {
  const tick = BigInt(m.row.tick_size);
  const lot = BigInt(m.row.lot_size);
  return {
    price: (ticks: number | bigint) => formatAmount(BigInt(ticks) * tick, CREDIT_SCALE),
    quantity: (lots: number | bigint | string) => formatAmount(BigInt(lots) * lot, m.baseScale),
    credits: (v: number | bigint | string) => formatAmount(BigInt(v), CREDIT_SCALE),
  };
}

export function marketView(m: MarketRef, snap: MarketSnapshot | undefined) {
  const { row } = m;
  const u = units(m);
  return {
    id: marketIdOf(row.id),
    symbol: row.id,
    base: row.base_asset,
    quote: CREDIT,
    state: snap?.state ?? 'halted',
    tickSize: u.price(1),
    lotSize: u.quantity(1),
    minQuantity: u.quantity(row.min_order_lots),
    maxQuantity: u.quantity(row.max_order_lots),
    maxPrice: u.price(row.max_price_ticks),
    priceBandBps: row.price_band_bps,
    referencePrice: u.price(snap?.referencePrice ?? row.initial_price_ticks),
    maxOpenOrdersPerAgent: row.orders_per_agent_max,
    maxSpend: u.credits(row.max_spend_credits),
    defaultSelfTradePrevention: row.default_stp,
    fees: {
      makerBps: row.maker_fee_bps,
      takerBps: row.taker_fee_bps,
      paidFrom: 'what each side receives (buyer: base, seller: CREDIT)',
      rounding: row.fee_rounding === 'up' ? 'up: each order pays ceil(running total x rate); splitting never pays less' : 'down, per fill',
    },
    precision: { price: CREDIT_SCALE, amount: m.baseScale },
  };
}

export function orderView(r: OrderRecord, m: MarketRef) {
  const u = units(m);
  const filled = BigInt(r.filledLots);
  const cost = BigInt(r.filledNotional);
  return {
    id: String(r.id),
    clientOrderId: r.clientOrderId,
    market: marketIdOf(r.marketId),
    side: r.side,
    type: r.type,
    timeInForce: r.tif,
    postOnly: r.postOnly,
    price: r.priceTicks === null ? null : u.price(r.priceTicks),
    quantity: r.lots === null ? null : u.quantity(r.lots),
    spend: r.spend === null ? null : u.credits(r.spend),
    filled: u.quantity(filled),
    remaining: u.quantity(r.openLots),
    cost: u.credits(cost),
    averagePrice: filled > 0n ? formatAmount(cost / filled, CREDIT_SCALE) : null,
    status: r.status,
    reason: r.reason,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

export type OrderView = ReturnType<typeof orderView>;

export function bookView(m: MarketRef, b: MarketSnapshot, depth: number) {
  const u = units(m);
  const level = ([p, l]: [number, number]): [string, string] => [u.price(p), u.quantity(l)];
  // the feed's checksum (libs/contracts feed.ts) over the top 10 levels, whatever the depth asked
  const checksum = bookChecksum(b.bids.slice(0, FEED_CHECKSUM_DEPTH).map(level), b.asks.slice(0, FEED_CHECKSUM_DEPTH).map(level));
  return { market: marketIdOf(m.row.id), seq: b.seq, checksum, bids: b.bids.slice(0, depth).map(level), asks: b.asks.slice(0, depth).map(level) };
}

export function tradeView(m: MarketRef, t: TradeRow) {
  const u = units(m);
  return {
    id: `${marketIdOf(t.market_id)}:${t.event_seq}`,
    price: u.price(t.price_ticks),
    amount: u.quantity(t.lots),
    cost: u.credits(t.notional),
    takerSide: t.taker_side,
    timestamp: iso(t.created_at),
  };
}

/** A trade as one of its sides saw it (maker or taker), with that side's fee. */
export function fillView(m: MarketRef, t: TradeRow, agentId: string) {
  const u = units(m);
  const maker = t.maker_agent_id === agentId;
  const side = maker ? (t.taker_side === 'buy' ? 'sell' : 'buy') : t.taker_side;
  return {
    id: `${marketIdOf(t.market_id)}:${t.event_seq}`,
    market: marketIdOf(t.market_id),
    orderId: String(maker ? t.maker_order_id : t.taker_order_id),
    side,
    takerOrMaker: maker ? 'maker' : 'taker',
    price: u.price(t.price_ticks),
    amount: u.quantity(t.lots),
    cost: u.credits(t.notional),
    fee:
      side === 'buy'
        ? { currency: m.row.base_asset, cost: formatAmount(BigInt(t.buyer_fee), m.baseScale) }
        : { currency: CREDIT, cost: u.credits(t.seller_fee) },
    timestamp: iso(t.created_at),
  };
}

export function statsView(m: MarketRef, t: TradeStats, book: MarketSnapshot | undefined) {
  const u = units(m);
  const px = (v: number | null) => (v === null ? null : u.price(v));
  return {
    market: marketIdOf(m.row.id),
    open: px(t.open),
    high: px(t.high),
    low: px(t.low),
    last: px(t.last),
    baseVolume: u.quantity(t.lots),
    quoteVolume: u.credits(t.notional),
    trades: t.n,
    bid: book?.bids[0] ? px(book.bids[0][0]) : null,
    ask: book?.asks[0] ? px(book.asks[0][0]) : null,
  };
}
