import { AppError, CREDIT_SCALE, formatAmount, parseAmount, PlaceOrderRequest } from '@ate/contracts';
import type { OrderRecord, PlaceOrder } from '@ate/sequencer';
import type { MarketRef } from './market-catalog';

/** Decimal strings of a request to the engine's integers (ticks, lots, credits), refusing what is not a whole multiple. */

/** A price in credits per lot as ticks: a positive multiple of the tick size, at most the market maximum. */
export function priceTicks(m: MarketRef, price: string): number {
  const tick = BigInt(m.row.tick_size);
  const p = parseAmount(price, CREDIT_SCALE);
  if (p === 0n || p % tick !== 0n)
    throw new AppError('MATCHING_INVALID_PRICE', 'The price must be a positive multiple of the tick size.', {
      tickSize: formatAmount(tick, CREDIT_SCALE),
    });
  if (p / tick > BigInt(m.row.max_price_ticks))
    throw new AppError('MATCHING_INVALID_PRICE', 'The price is above the market maximum.', {
      maxPrice: formatAmount(tick * BigInt(m.row.max_price_ticks), CREDIT_SCALE),
    });
  return Number(p / tick);
}

/**
 * A quantity in base-asset units as lots: a positive multiple of the lot size, within the market's limits.
 * `minLots` is the market minimum for new orders; an amend may shrink an order below it (as a fill may).
 */
export function quantityLots(m: MarketRef, quantity: string, minLots = m.row.min_order_lots): number {
  const lot = BigInt(m.row.lot_size);
  const q = parseAmount(quantity, m.baseScale);
  if (q === 0n || q % lot !== 0n)
    throw new AppError('MATCHING_INVALID_SIZE', 'The quantity must be a positive multiple of the lot size.', {
      lotSize: formatAmount(lot, m.baseScale),
    });
  const lots = q / lot;
  if (lots < BigInt(minLots) || lots > BigInt(m.row.max_order_lots)) {
    throw new AppError('MATCHING_INVALID_SIZE', 'The quantity is outside the market limits.', {
      minQuantity: formatAmount(lot * BigInt(minLots), m.baseScale),
      maxQuantity: formatAmount(lot * BigInt(m.row.max_order_lots), m.baseScale),
    });
  }
  return Number(lots);
}

/** The order in ticks and lots; refuses field combinations the order type does not take. */
export function toEngineOrder(m: MarketRef, o: PlaceOrderRequest): PlaceOrder {
  const out: PlaceOrder = { type: o.type, side: o.side };
  if (o.type === 'limit') {
    if (o.price === undefined || o.quantity === undefined) throw new AppError('VALIDATION_FAILED', 'A limit order needs price and quantity.');
    if (o.spend !== undefined) throw new AppError('VALIDATION_FAILED', 'spend is for market orders.');
    out.price = priceTicks(m, o.price);
    out.tif = o.timeInForce ?? 'GTC';
    if (o.postOnly) out.postOnly = true;
    if (o.expiresAt !== undefined) out.expiresAt = o.expiresAt;
  } else {
    if (o.price !== undefined || o.timeInForce !== undefined || o.postOnly || o.expiresAt !== undefined) {
      throw new AppError('VALIDATION_FAILED', 'Market orders take quantity or spend, no price, time in force, post-only or expiry.');
    }
    if ((o.quantity === undefined) === (o.spend === undefined))
      throw new AppError('VALIDATION_FAILED', 'A market order takes exactly one of quantity or spend.');
    if (o.spend !== undefined) {
      const s = parseAmount(o.spend, CREDIT_SCALE);
      if (s === 0n || s > BigInt(m.row.max_spend_credits))
        throw new AppError('MATCHING_INVALID_SPEND', undefined, { maxSpend: formatAmount(BigInt(m.row.max_spend_credits), CREDIT_SCALE) });
      out.spend = Number(s);
    }
  }
  if (o.quantity !== undefined) out.lots = quantityLots(m, o.quantity);
  if (o.selfTradePrevention) out.stp = o.selfTradePrevention;
  if (o.clientOrderId) out.clientOrderId = o.clientOrderId;
  return out;
}

/**
 * Whether an existing order is the one this request placed (a retry with the same clientOrderId): the same market,
 * side, type and the same terms as the order records them. Self-trade prevention is not recorded and not compared.
 */
export function sameOrder(
  existing: Pick<OrderRecord, 'marketId' | 'side' | 'type' | 'tif' | 'postOnly' | 'priceTicks' | 'lots' | 'spend' | 'expiresAt'>,
  marketId: string,
  o: PlaceOrder,
): boolean {
  return (
    existing.marketId === marketId &&
    existing.side === o.side &&
    existing.type === o.type &&
    existing.tif === (o.type === 'limit' ? (o.tif ?? 'GTC') : null) &&
    existing.postOnly === Boolean(o.postOnly) &&
    existing.priceTicks === (o.price ?? null) &&
    existing.lots === (o.lots ?? null) &&
    existing.spend === (o.spend ?? null) &&
    existing.expiresAt === (o.expiresAt ?? null)
  );
}
