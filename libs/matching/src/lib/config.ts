import type { StpMode } from '@ate/contracts';
import { BOOK_ORDERS_MAX, ORDER_LOTS_MAX, ORDERS_PER_AGENT_MAX, PRICE_BAND_BPS_MAX, PRICE_TICKS_MAX } from './limits';

/** One market: an allowance asset (`baseAsset`) against CREDIT. All fields are integers. */
export interface MarketConfig {
  marketId: string;
  /** name of the allowance asset in the balance view */
  baseAsset: string;
  /** credits (minor units) per lot per tick: notional = price x tickSize x lots */
  tickSize: number;
  /** base-asset minor units per lot */
  lotSize: number;
  /** lots */
  minOrderLots: number;
  /** lots: the command-size limit, at most ORDER_LOTS_MAX */
  maxOrderLots: number;
  /** ticks, at most PRICE_TICKS_MAX */
  maxPriceTicks: number;
  /** basis points around the reference price (last trade, else initial price), edges inclusive */
  priceBandBps: number;
  /** ticks: the reference price before the first trade */
  initialPriceTicks: number;
  /** STP mode of orders that name none */
  defaultStp: StpMode;
  /** orders: open orders per agent in this market */
  ordersPerAgentMax: number;
  /** orders: resting orders in this market (book depth), at most BOOK_ORDERS_MAX */
  bookOrdersMax: number;
  /** credits: largest spend of a spend-sized market order */
  maxSpendCredits: number;
}

export const DEFAULT_MARKET_CONFIG: MarketConfig = {
  marketId: 'M',
  baseAsset: 'BASE',
  tickSize: 1,
  lotSize: 1,
  minOrderLots: 1,
  maxOrderLots: 1_000_000,
  maxPriceTicks: 100_000,
  priceBandBps: 1_000,
  initialPriceTicks: 10_000,
  defaultStp: 'cancel_taker',
  ordersPerAgentMax: ORDERS_PER_AGENT_MAX,
  bookOrdersMax: 1 << 20,
  maxSpendCredits: 1e12,
};

export const STP_MODES: readonly StpMode[] = ['cancel_taker', 'cancel_maker', 'cancel_both', 'decrement_cancel'];

const posInt = (x: number) => Number.isSafeInteger(x) && x > 0;

/** Throws on a config the engine cannot run safely (a setup bug, not a rejection). */
export function validateMarketConfig(c: MarketConfig): void {
  const bad = (m: string) => {
    throw new Error(`invalid market config ${c.marketId}: ${m}`);
  };
  if (!posInt(c.tickSize) || !posInt(c.lotSize)) bad('tickSize and lotSize must be positive integers');
  if (!posInt(c.minOrderLots) || !posInt(c.maxOrderLots) || c.minOrderLots > c.maxOrderLots) bad('order size bounds');
  if (c.maxOrderLots > ORDER_LOTS_MAX) bad(`maxOrderLots must be at most ${ORDER_LOTS_MAX}`);
  if (!posInt(c.maxPriceTicks) || c.maxPriceTicks > PRICE_TICKS_MAX) bad(`maxPriceTicks must be 1..${PRICE_TICKS_MAX}`);
  if (!Number.isInteger(c.priceBandBps) || c.priceBandBps < 0 || c.priceBandBps > PRICE_BAND_BPS_MAX) bad('priceBandBps');
  if (!posInt(c.initialPriceTicks) || c.initialPriceTicks > c.maxPriceTicks) bad('initialPriceTicks');
  if (!STP_MODES.includes(c.defaultStp)) bad('defaultStp');
  if (!posInt(c.ordersPerAgentMax)) bad('ordersPerAgentMax');
  if (!posInt(c.bookOrdersMax) || c.bookOrdersMax > BOOK_ORDERS_MAX) bad(`bookOrdersMax must be 1..${BOOK_ORDERS_MAX}`);
  if (!posInt(c.maxSpendCredits)) bad('maxSpendCredits');
  // every notional and reservation must stay a safe integer
  if (!Number.isSafeInteger(c.maxPriceTicks * c.tickSize * c.maxOrderLots)) bad('maxPrice x tickSize x maxOrderLots is not a safe integer');
  if (!Number.isSafeInteger(c.lotSize * c.maxOrderLots)) bad('lotSize x maxOrderLots is not a safe integer');
}
