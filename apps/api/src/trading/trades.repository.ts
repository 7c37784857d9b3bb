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

  /**
   * A page of a market's trades: newest first below the cursor (an event sequence number), or, with `since`
   * (epoch ms), oldest first from the first trade at or after it (then above the cursor); `until`: before it.
   * Every bound is found by an index (the primary key, trade_market_created): O(the page), however long the history.
   */
  async page(marketId: string, q: { since?: number; until?: number; cursor?: string; limit: number }): Promise<TradeRow[]> {
    const params: unknown[] = [marketId, q.limit];
    const bound = (ms: number) => {
      params.push(ms);
      return `coalesce((SELECT event_seq FROM trade WHERE market_id = $1 AND created_at >= timestamptz 'epoch' + $${params.length} * interval '1 millisecond'
                         ORDER BY created_at, event_seq LIMIT 1), 9223372036854775807)`;
    };
    const asc = q.since !== undefined;
    const where = ['market_id = $1'];
    if (q.since !== undefined) where.push(`event_seq >= ${bound(q.since)}`);
    if (q.until !== undefined) where.push(`event_seq < ${bound(q.until)}`);
    if (q.cursor !== undefined) {
      params.push(q.cursor);
      where.push(`event_seq ${asc ? '>' : '<'} $${params.length}`);
    }
    const sql = `SELECT * FROM trade WHERE ${where.join(' AND ')} ORDER BY event_seq ${asc ? 'ASC' : 'DESC'} LIMIT $2`;
    return (await this.db.pool.query<TradeRow>(sql, params)).rows;
  }

  /**
   * The agent's fills (as maker or taker): newest first below the cursor, or with `since` (epoch ms) oldest first
   * above it; the cursor is `<command_seq>.<event_seq>` of the last fill of the previous page.
   */
  async ofAgent(
    agentId: string,
    q: { limit: number; market?: string; since?: number; until?: number; cursor?: [string, string] },
  ): Promise<TradeRow[]> {
    const asc = q.since !== undefined;
    const params: unknown[] = [agentId, q.limit];
    const where = ['(maker_agent_id = $1 OR taker_agent_id = $1)'];
    const add = (sql: string, ...v: unknown[]) => {
      let out = sql;
      for (const x of v) {
        params.push(x);
        out = out.replace('?', `$${params.length}`);
      }
      where.push(out);
    };
    if (q.market) add('market_id = ?', q.market);
    if (q.since !== undefined) add(`created_at >= timestamptz 'epoch' + ? * interval '1 millisecond'`, q.since);
    if (q.until !== undefined) add(`created_at < timestamptz 'epoch' + ? * interval '1 millisecond'`, q.until);
    if (q.cursor) add(`(command_seq, event_seq) ${asc ? '>' : '<'} (?::bigint, ?::bigint)`, q.cursor[0], q.cursor[1]);
    const dir = asc ? 'ASC' : 'DESC';
    return (
      await this.db.pool.query<TradeRow>(
        `SELECT * FROM trade WHERE ${where.join(' AND ')} ORDER BY command_seq ${dir}, event_seq ${dir} LIMIT $2`,
        params,
      )
    ).rows;
  }

  async last24h(marketId: string): Promise<TradeStats> {
    const r = await this.db.pool.query<TradeStats>(TRADE_STATS_24H, [marketId]);
    return r.rows[0] as TradeStats;
  }
}
