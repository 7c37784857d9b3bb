import { mulberry32 } from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { defineAsset } from '@ate/ledger';
import type { DatabaseService } from '../database/database.service';
import { STATS_WINDOW_MINUTES, TRADE_STATS_24H, TradesRepository } from './trades.repository';
import { insertMarket, testMarketRow } from '@ate/sequencer';

const M = 'ST.1K/CREDIT';
const R = 'SR.1K/CREDIT';

/**
 * GET /v1/markets/:id/stats must cost O(its result), not O(the market's history): its figures come from per-minute
 * aggregates that the trade projection's insert keeps (a statement trigger, in the batch's transaction), so the
 * query reads at most 1,440 rows by a primary key and never the trades. The aggregates are checked against a naive
 * twin computed from the trades themselves.
 */
describe('24-hour stats from per-minute aggregates (real Postgres)', () => {
  jest.setTimeout(60_000);
  let db: TestDatabase;
  let repo: TradesRepository;
  let eventSeq = 0;
  /** half a minute into the minute the file started in: "n minutes ago" is then always the same minute */
  let base: Date;

  /** Inserts trades as the sequencer's batch does: one statement of many rows. [minutes before `base`, price, lots][] */
  const insertTrades = (market: string, rows: [number, number, number][]) =>
    db.pool.query(
      `INSERT INTO trade (market_id, event_seq, command_seq, maker_order_id, taker_order_id, maker_agent_id, taker_agent_id, taker_side,
                          price_ticks, lots, notional, created_at)
       SELECT $1, s, 1, 1, 2, 'agt_a', 'agt_b', 'buy', p, l, p * l, $6::timestamptz - make_interval(secs => a * 60)
         FROM unnest($2::bigint[], $3::float8[], $4::int[], $5::bigint[]) AS t(s, a, p, l)`,
      [market, rows.map(() => ++eventSeq), rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), base],
    );

  beforeAll(async () => {
    db = await createTestDatabase('stats_plan');
    repo = new TradesRepository({ pool: db.pool } as DatabaseService);
    base = (await db.pool.query(`SELECT date_trunc('minute', now()) + interval '30 seconds' AS t`)).rows[0].t;
    // two markets under test, and 20 others whose full windows of aggregates sit in the same table
    const others = Array.from({ length: 20 }, (_, i) => [`SO${i}.1K`, `SO${i}.1K/CREDIT`]);
    for (const [code, id] of [['ST.1K', M], ['SR.1K', R], ...others] as [string, string][]) {
      expect((await defineAsset(db.pool, { code, scale: 0, model: 'm', provider: 'p', tokenClass: 'out' })).ok).toBe(true);
      expect(await insertMarket(db.pool, testMarketRow(code, { id }))).toBe(true);
    }
    await db.pool.query(`INSERT INTO engine_command (seq, market_id, ts, command) VALUES (1, $1, 0, '{"t":"m","c":{"type":"tick","ts":0}}')`, [M]);
    // a long history in one minute two days ago (200,000 trades), then 50 recent ones
    await db.pool.query(
      `INSERT INTO trade (market_id, event_seq, command_seq, maker_order_id, taker_order_id, maker_agent_id, taker_agent_id, taker_side,
                          price_ticks, lots, notional, created_at)
       SELECT $1, g, 1, 1, 2, 'agt_a', 'agt_b', 'buy', 1000 + g % 7, 1, 1000, date_trunc('minute', now()) - interval '2 days' FROM generate_series(1, 200000) g`,
      [M],
    );
    eventSeq = 200_000;
    await insertTrades(
      M,
      Array.from({ length: 50 }, () => [1, 1000, 1]),
    );
    await db.pool.query(
      `INSERT INTO market_stats_minute (market_id, minute, open_seq, open_ticks, close_seq, close_ticks, high_ticks, low_ticks, lots, notional, trades)
       SELECT o, floor(extract(epoch FROM now()) / 60)::bigint - g, g, 1000, g, 1000, 1000, 1000, 1, 1000, 1
         FROM unnest($1::text[]) o, generate_series(0, 1439) g`,
      [others.map((o) => o[1])],
    );
    await db.pool.query('ANALYZE market_stats_minute');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('reads the aggregates by their primary key: never the trades, no scan', async () => {
    const plan = JSON.stringify((await db.pool.query(`EXPLAIN (FORMAT JSON) ${TRADE_STATS_24H}`, [M])).rows[0]);
    expect(plan).toContain('market_stats_minute_pkey');
    expect(plan).not.toContain('"Relation Name":"trade"');
    expect(plan).not.toContain('"Seq Scan"');
  });

  it('answers the last 24 hours only', async () => {
    expect(await repo.last24h(M)).toMatchObject({ n: 50, lots: '50', notional: '50000' });
  });

  it('equals a naive twin over the trades, for random trades in random batches (pinned seed)', async () => {
    const rnd = mulberry32(20261202);
    const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
    for (let batch = 0; batch < 40; batch++) {
      // trades of one batch share a moment; batches fall anywhere in the last 26 hours, some in the same minute
      const age = batch % 5 === 0 ? 0.2 : int(0, 26 * 60) + rnd();
      await insertTrades(
        R,
        Array.from({ length: int(1, 30) }, () => [age, int(900, 1100), int(1, 50)]),
      );
    }
    const naive = await db.pool.query(
      `WITH w AS (SELECT * FROM trade WHERE market_id = $1
                    AND floor(extract(epoch FROM created_at) / 60)::bigint > floor(extract(epoch FROM now()) / 60)::bigint - $2)
       SELECT count(*)::int AS n, min(price_ticks) AS low, max(price_ticks) AS high, coalesce(sum(lots), 0)::text AS lots,
              coalesce(sum(notional), 0)::text AS notional,
              (array_agg(price_ticks ORDER BY floor(extract(epoch FROM created_at) / 60), event_seq))[1] AS open,
              (array_agg(price_ticks ORDER BY floor(extract(epoch FROM created_at) / 60) DESC, event_seq DESC))[1] AS last
         FROM w`,
      [R, STATS_WINDOW_MINUTES],
    );
    const fast = await repo.last24h(R);
    expect(fast.n).toBeGreaterThan(0);
    expect(fast).toEqual(naive.rows[0]);
  });

  it('a new minute prunes the minutes no window can reach (older than 1,500 minutes)', async () => {
    const minutes = async () =>
      (await db.pool.query('SELECT minute FROM market_stats_minute WHERE market_id = $1 ORDER BY minute', [M])).rows.map((r) => Number(r.minute));
    const at = (ago: number) => Math.floor(base.getTime() / 60_000) - ago;
    // the minute two days ago went when the recent trades' minute began
    expect(await minutes()).toEqual([at(1)]);
    await insertTrades(M, [[2000, 1000, 1]]); // a late old minute: kept until the next new minute
    expect(await minutes()).toEqual([at(2000), at(1)]);
    await insertTrades(M, [[1, 1000, 1]]); // a minute that exists: nothing pruned
    expect(await minutes()).toEqual([at(2000), at(1)]);
    await insertTrades(M, [[3, 1000, 1]]); // a new minute: the one older than 1,500 minutes before it goes
    expect(await minutes()).toEqual([at(3), at(1)]);
    expect(await repo.last24h(M)).toMatchObject({ n: 52 });
  });
});
