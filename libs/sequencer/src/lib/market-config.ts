import type { MarketConfig } from '@ate/matching';
import type { FeeRounding } from './host-types';

/** A row of the `market` table as node-postgres returns it (bigint columns as strings). */
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
  fee_rounding: FeeRounding;
}

/** What a new market's row holds (validated by the caller): `fee_rounding` defaults to the table's ('up'). */
export type NewMarketRow = Omit<MarketRow, 'fee_rounding'> & { fee_rounding?: FeeRounding };

/**
 * For tests and benchmarks: the row of a market of `base` against CREDIT (id `BASE/CREDIT`) with everyday rules
 * (tick 1, lot 1, 1 to 1,000,000 lots, prices up to 2^20 ticks from 1000, a 50% band, no fees), and `o` on top.
 */
export function testMarketRow(base: string, o: Partial<NewMarketRow> = {}): NewMarketRow {
  return {
    id: `${base}/CREDIT`,
    base_asset: base,
    tick_size: '1',
    lot_size: '1',
    min_order_lots: 1,
    max_order_lots: 1_000_000,
    max_price_ticks: 1_048_576,
    price_band_bps: 5000,
    initial_price_ticks: 1000,
    default_stp: 'cancel_taker',
    orders_per_agent_max: 100_000,
    max_spend_credits: '1000000000',
    maker_fee_bps: 0,
    taker_fee_bps: 0,
    ...o,
  };
}

/** Resting orders one book may hold (every market alike: not a per-market setting). */
export const BOOK_ORDERS_MAX = 1 << 20;

/** What a market is to the engine host: its matching rules and its fees. */
export interface MarketSettings {
  id: string;
  config: MarketConfig;
  makerFeeBps: number;
  takerFeeBps: number;
  feeRounding: FeeRounding;
}

/** The one mapping from a market row to the engine's rules (the host loads markets with it; admins validate with it). */
export function marketSettingsOf(r: MarketRow): MarketSettings {
  return {
    id: r.id,
    makerFeeBps: r.maker_fee_bps,
    takerFeeBps: r.taker_fee_bps,
    feeRounding: r.fee_rounding ?? 'down',
    config: {
      marketId: r.id,
      baseAsset: r.base_asset,
      tickSize: Number(r.tick_size),
      lotSize: Number(r.lot_size),
      minOrderLots: r.min_order_lots,
      maxOrderLots: r.max_order_lots,
      maxPriceTicks: r.max_price_ticks,
      priceBandBps: r.price_band_bps,
      initialPriceTicks: r.initial_price_ticks,
      defaultStp: r.default_stp as MarketConfig['defaultStp'],
      ordersPerAgentMax: r.orders_per_agent_max,
      bookOrdersMax: BOOK_ORDERS_MAX,
      maxSpendCredits: Number(r.max_spend_credits),
    },
  };
}
