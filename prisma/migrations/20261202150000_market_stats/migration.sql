-- GET /v1/markets/:id/stats from state kept per batch: a market's trades aggregated per minute of their time,
-- kept up to date by the trade projection's own insert (one statement trigger over the rows that statement
-- inserted, inside the batch's transaction), so the 24-hour figures read at most 1,440 rows whatever the number of
-- trades (wash trades of an attacker included). Buckets older than ~25 hours are pruned as new minutes start.
CREATE TABLE market_stats_minute (
  market_id   text NOT NULL REFERENCES market (id),
  -- floor(epoch seconds of the trades' created_at / 60)
  minute      bigint NOT NULL,
  -- the first and last trade of the minute (by the market's event sequence) and their prices
  open_seq    bigint NOT NULL,
  open_ticks  integer NOT NULL,
  close_seq   bigint NOT NULL,
  close_ticks integer NOT NULL,
  high_ticks  integer NOT NULL,
  low_ticks   integer NOT NULL,
  lots        numeric NOT NULL CHECK (lots > 0),
  notional    numeric NOT NULL CHECK (notional > 0),
  trades      bigint NOT NULL CHECK (trades > 0),
  PRIMARY KEY (market_id, minute)
);

CREATE FUNCTION market_stats_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH agg AS (
    SELECT market_id, floor(extract(epoch FROM created_at) / 60)::bigint AS minute,
           min(event_seq) AS open_seq, (array_agg(price_ticks ORDER BY event_seq))[1] AS open_ticks,
           max(event_seq) AS close_seq, (array_agg(price_ticks ORDER BY event_seq DESC))[1] AS close_ticks,
           max(price_ticks) AS high_ticks, min(price_ticks) AS low_ticks,
           sum(lots) AS lots, sum(notional) AS notional, count(*) AS trades
      FROM new_trades GROUP BY 1, 2
  ), up AS (
    INSERT INTO market_stats_minute AS s (market_id, minute, open_seq, open_ticks, close_seq, close_ticks, high_ticks, low_ticks, lots, notional, trades)
    SELECT * FROM agg
    ON CONFLICT (market_id, minute) DO UPDATE SET
      open_ticks  = CASE WHEN excluded.open_seq < s.open_seq THEN excluded.open_ticks ELSE s.open_ticks END,
      open_seq    = least(s.open_seq, excluded.open_seq),
      close_ticks = CASE WHEN excluded.close_seq > s.close_seq THEN excluded.close_ticks ELSE s.close_ticks END,
      close_seq   = greatest(s.close_seq, excluded.close_seq),
      high_ticks  = greatest(s.high_ticks, excluded.high_ticks),
      low_ticks   = least(s.low_ticks, excluded.low_ticks),
      lots        = s.lots + excluded.lots,
      notional    = s.notional + excluded.notional,
      trades      = s.trades + excluded.trades
    RETURNING s.market_id, s.minute, (s.xmax = 0) AS fresh
  )
  DELETE FROM market_stats_minute d USING up
   WHERE up.fresh AND d.market_id = up.market_id AND d.minute < up.minute - 1500;
  RETURN NULL;
END $$;

CREATE TRIGGER trade_market_stats AFTER INSERT ON trade REFERENCING NEW TABLE AS new_trades
  FOR EACH STATEMENT EXECUTE FUNCTION market_stats_add();

-- the trades already there (the last 25 hours: older minutes are outside every window)
INSERT INTO market_stats_minute (market_id, minute, open_seq, open_ticks, close_seq, close_ticks, high_ticks, low_ticks, lots, notional, trades)
SELECT market_id, floor(extract(epoch FROM created_at) / 60)::bigint,
       min(event_seq), (array_agg(price_ticks ORDER BY event_seq))[1],
       max(event_seq), (array_agg(price_ticks ORDER BY event_seq DESC))[1],
       max(price_ticks), min(price_ticks), sum(lots), sum(notional), count(*)
  FROM trade WHERE created_at > now() - interval '25 hours'
 GROUP BY 1, 2;

GRANT SELECT, INSERT, UPDATE, DELETE ON market_stats_minute TO ate_app;
