import type { OrderSide, StpMode, TimeInForce } from './matching-types';

/** The body of POST /v1/orders (and /v1/orders/test). Amounts are decimal strings. */
export interface PlaceOrderRequest {
  /** the market id, e.g. "GPT-4O.1K-CREDIT" (its symbol "GPT-4O.1K/CREDIT" is also taken) */
  market: string;
  side: OrderSide;
  type: 'limit' | 'market';
  /** credits per lot, a multiple of the market's tick size (limit orders) */
  price?: string;
  /** base-asset units, a multiple of the lot size */
  quantity?: string;
  /** credits to spend (market buy) or to raise (market sell) */
  spend?: string;
  timeInForce?: TimeInForce;
  postOnly?: boolean;
  /** GTD: epoch ms */
  expiresAt?: number;
  selfTradePrevention?: StpMode;
  /** unique per agent across all its orders, forever: the same id again returns the same order */
  clientOrderId?: string;
}
