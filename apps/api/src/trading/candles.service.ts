import { Injectable } from '@nestjs/common';
import { CREDIT_SCALE, formatAmount, marketIdOf } from '@ate/contracts';
import { DatabaseService } from '../database/database.service';
import { MarketCatalog } from './market-catalog';

/** Candle widths in minutes (CCXT's timeframe names); buckets are aligned on the epoch (UTC). */
export const CANDLE_MINUTES = { '1m': 1, '5m': 5, '15m': 15, '1h': 60, '4h': 240, '1d': 1440 } as const;
export type CandleTimeframe = keyof typeof CANDLE_MINUTES;
export const CANDLE_TIMEFRAMES = Object.keys(CANDLE_MINUTES) as [CandleTimeframe, ...CandleTimeframe[]];

interface CandleRow {
  bucket: string;
  open: number;
  high: number;
  low: number;
  close: number;
  lots: string;
  notional: string;
  trades: string;
}

/**
 * OHLCV candles from the aggregates the trade projection keeps (migrations 20261202150000_market_stats and
 * 20261203080000_market_stats_hour): per minute for the last ~25 hours (1,500 minutes; the trade trigger prunes
 * older ones) and per hour for ever (a row trigger on the minutes folds each into its hour). Candles under an hour
 * fold minutes, so they reach back ~25 hours; candles of an hour and wider fold hours, so they reach back to the
 * hour table's start. A candle of N minutes folds at most N rows (N / 60 for hours), so a request reads at most
 * 1,500 minute rows or 36,000 hour rows (1,500 days) by the primary key whatever the number of trades.
 * Minutes or hours without trades have no row, so there is no candle for them (as CCXT venues do).
 */
@Injectable()
export class CandlesService {
  constructor(
    private readonly db: DatabaseService,
    private readonly markets: MarketCatalog,
  ) {}

  async candles(ref: string, q: { timeframe: CandleTimeframe; since?: number; until?: number; limit: number }) {
    const m = await this.markets.get(ref);
    const width = CANDLE_MINUTES[q.timeframe];
    const bucketMs = width * 60_000;
    // candles starting at or after `since`, and before `until` (bucket starts in minutes)
    const from = q.since === undefined ? 0 : Math.ceil(q.since / bucketMs) * width;
    const to = q.until === undefined ? Number.MAX_SAFE_INTEGER : Math.ceil(q.until / bucketMs) * width;
    const newestFirst = q.since === undefined;
    // 1h and wider: the hour rows (bucket bounds are whole hours, since widths of an hour and more are whole hours)
    const perHour = width >= 60;
    const [table, unit, step] = perHour ? ['market_stats_hour', 'hour', 60] : ['market_stats_minute', 'minute', 1];
    const r = await this.db.pool.query<CandleRow>(
      `SELECT (${unit} / $2) * $2 * ${step} AS bucket,
              (array_agg(open_ticks ORDER BY ${unit}))[1] AS open, max(high_ticks) AS high, min(low_ticks) AS low,
              (array_agg(close_ticks ORDER BY ${unit} DESC))[1] AS close,
              sum(lots)::text AS lots, sum(notional)::text AS notional, sum(trades)::text AS trades
         FROM ${table}
        WHERE market_id = $1 AND ${unit} >= $3 AND ${unit} < $4
        GROUP BY 1 ORDER BY 1 ${newestFirst ? 'DESC' : 'ASC'} LIMIT $5`,
      [m.row.id, width / step, Math.floor(from / step), Math.floor(to / step), q.limit],
    );
    const rows = newestFirst ? r.rows.reverse() : r.rows;
    const tick = BigInt(m.row.tick_size);
    const lot = BigInt(m.row.lot_size);
    const price = (t: number) => formatAmount(BigInt(t) * tick, CREDIT_SCALE);
    return {
      market: marketIdOf(m.row.id),
      timeframe: q.timeframe,
      candles: rows.map((c) => ({
        timestamp: Number(c.bucket) * 60_000,
        open: price(c.open),
        high: price(c.high),
        low: price(c.low),
        close: price(c.close),
        volume: formatAmount(BigInt(c.lots) * lot, m.baseScale),
        quoteVolume: formatAmount(BigInt(c.notional), CREDIT_SCALE),
        trades: Number(c.trades),
      })),
    };
  }
}
