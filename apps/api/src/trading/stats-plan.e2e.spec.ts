import { createTestDatabase, TestDatabase } from '@ate/db';
import { defineAsset } from '@ate/ledger';
import type { DatabaseService } from '../database/database.service';
import { TRADE_STATS_24H, TradesRepository } from './trades.repository';

const M = 'ST.1K/CREDIT';

/**
 * GET /v1/markets/:id/stats must cost O(its result), not O(the market's history): with 200,000 trades older than a
 * day and 50 recent ones, the query reads the recent ones by the (market_id, created_at) index, never the table
 * (it scanned every trade of the market before), and answers the recent ones only.
 */
describe('24-hour stats over a long history (real Postgres)', () => {
  jest.setTimeout(60_000);
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('stats_plan');
    expect((await defineAsset(db.pool, { code: 'ST.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' })).ok).toBe(true);
    await db.pool.query(
      `INSERT INTO market (id, base_asset, tick_size, lot_size, min_order_lots, max_order_lots, max_price_ticks, price_band_bps,
                           initial_price_ticks, default_stp, orders_per_agent_max, max_spend_credits, maker_fee_bps, taker_fee_bps)
       VALUES ($1, 'ST.1K', 1, 1, 1, 1000, 100000, 5000, 1000, 'cancel_taker', 1000, 1000000000, 0, 0)`,
      [M],
    );
    await db.pool.query(`INSERT INTO engine_command (seq, market_id, ts, command) VALUES (1, $1, 0, '{"t":"m","c":{"type":"tick","ts":0}}')`, [M]);
    const trades = (from: number, to: number, age: string) =>
      db.pool.query(
        `INSERT INTO trade (market_id, event_seq, command_seq, maker_order_id, taker_order_id, maker_agent_id, taker_agent_id, taker_side,
                            price_ticks, lots, notional, created_at)
         SELECT $1, g, 1, 1, 2, 'agt_a', 'agt_b', 'buy', 1000 + g % 7, 1, 1000, now() - $4::interval FROM generate_series($2::int, $3::int) g`,
        [M, from, to, age],
      );
    await trades(1, 200_000, '2 days');
    await trades(200_001, 200_050, '1 minute');
    await db.pool.query('ANALYZE trade');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('reads by the index, not by scanning the trades', async () => {
    const plan = JSON.stringify((await db.pool.query(`EXPLAIN (FORMAT JSON) ${TRADE_STATS_24H}`, [M])).rows[0]);
    expect(plan).toContain('trade_market_created');
    expect(plan).not.toContain('"Seq Scan"');
  });

  it('answers the last 24 hours only', async () => {
    const repo = new TradesRepository({ pool: db.pool } as DatabaseService);
    expect(await repo.last24h(M)).toMatchObject({ n: 50, lots: '50', notional: '50000' });
  });
});
