import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service';

/** A trade row as node-postgres returns it (bigint columns as strings). */
export interface TradeRow {
  market_id: string;
  event_seq: string;
  command_seq: string;
  maker_order_id: string;
  taker_order_id: string;
  maker_agent_id: string;
  taker_agent_id: string;
  taker_side: 'buy' | 'sell';
  price_ticks: number;
  lots: string;
  notional: string;
  buyer_fee: string;
  seller_fee: string;
  created_at: Date;
}

/** 24-hour aggregates of a market's trades (ticks, lots, credits). */
export interface TradeStats {
  n: number;
  low: number | null;
  high: number | null;
  lots: string;
  notional: string;
  open: number | null;
  last: number | null;
}

/** Minutes in a stats window: the current minute and the 1,439 before it. */
export const STATS_WINDOW_MINUTES = 1440;

/**
 * A market's trades of the last 24 hours in whole minutes (from the start of the minute 1,439 minutes before the
 * current one: 23 h 59 min to 24 h of history), from the per-minute aggregates the trade projection keeps
 * (migration 20261202150000_market_stats): at most 1,440 rows by the primary key, however many trades there were.
 */
export const TRADE_STATS_24H = `SELECT coalesce(sum(trades), 0)::int AS n, min(low_ticks) AS low, max(high_ticks) AS high,
         coalesce(sum(lots), 0)::text AS lots, coalesce(sum(notional), 0)::text AS notional,
         (array_agg(open_ticks ORDER BY minute))[1] AS open, (array_agg(close_ticks ORDER BY minute DESC))[1] AS last
    FROM market_stats_minute
   WHERE market_id = $1 AND minute > floor(extract(epoch FROM now()) / 60)::bigint - ${STATS_WINDOW_MINUTES}`;

/** The repository of the trade projection. */
@Injectable()
export class TradesRepository {
  constructor(private readonly db: DatabaseService) {}

  async recent(marketId: string, limit: number): Promise<TradeRow[]> {
    return (await this.db.pool.query<TradeRow>('SELECT * FROM trade WHERE market_id = $1 ORDER BY event_seq DESC LIMIT $2', [marketId, limit])).rows;
  }

  /** The agent's fills (as maker or taker), newest first. */
  async ofAgent(agentId: string, limit: number): Promise<TradeRow[]> {
    return (
      await this.db.pool.query<TradeRow>(
        `SELECT * FROM trade WHERE maker_agent_id = $1 OR taker_agent_id = $1 ORDER BY command_seq DESC, event_seq DESC LIMIT $2`,
        [agentId, limit],
      )
    ).rows;
  }

  async last24h(marketId: string): Promise<TradeStats> {
    const r = await this.db.pool.query<TradeStats>(TRADE_STATS_24H, [marketId]);
    return r.rows[0] as TradeStats;
  }
}
