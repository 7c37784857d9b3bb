-- Candles of an hour and wider beyond the ~25 hours the per-minute aggregates keep: a market's trades aggregated
-- per hour, kept forever (one row per market and hour with trades: 8,760 a year), maintained by a row trigger on
-- market_stats_minute itself, so it folds exactly what the minutes hold (the trade trigger upserts a minute row; this
-- adds that row's increment to its hour). The minutes' pruning deletes rows and is not seen here.
CREATE TABLE market_stats_hour (
  market_id   text NOT NULL REFERENCES market (id),
  -- floor(epoch seconds of the trades' created_at / 3600)
  hour        bigint NOT NULL,
  -- the first and last trade of the hour, by (minute, the market's event sequence) as the minute candles order them
  open_minute bigint NOT NULL,
  open_seq    bigint NOT NULL,
  open_ticks  integer NOT NULL,
  close_minute bigint NOT NULL,
  close_seq   bigint NOT NULL,
  close_ticks integer NOT NULL,
  high_ticks  integer NOT NULL,
  low_ticks   integer NOT NULL,
  lots        numeric NOT NULL CHECK (lots > 0),
  notional    numeric NOT NULL CHECK (notional > 0),
  trades      bigint NOT NULL CHECK (trades > 0),
  PRIMARY KEY (market_id, hour)
);

CREATE FUNCTION market_stats_hour_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- an UPDATE of a minute adds what it grew by (sums) and its new extremes; an INSERT adds the whole minute
  INSERT INTO market_stats_hour AS s (market_id, hour, open_minute, open_seq, open_ticks, close_minute, close_seq, close_ticks, high_ticks, low_ticks, lots, notional, trades)
  VALUES (NEW.market_id, NEW.minute / 60, NEW.minute, NEW.open_seq, NEW.open_ticks, NEW.minute, NEW.close_seq, NEW.close_ticks, NEW.high_ticks, NEW.low_ticks,
          NEW.lots - CASE WHEN TG_OP = 'UPDATE' THEN OLD.lots ELSE 0 END,
          NEW.notional - CASE WHEN TG_OP = 'UPDATE' THEN OLD.notional ELSE 0 END,
          NEW.trades - CASE WHEN TG_OP = 'UPDATE' THEN OLD.trades ELSE 0 END)
  ON CONFLICT (market_id, hour) DO UPDATE SET
    open_ticks  = CASE WHEN (excluded.open_minute, excluded.open_seq) < (s.open_minute, s.open_seq) THEN excluded.open_ticks ELSE s.open_ticks END,
    open_seq    = CASE WHEN (excluded.open_minute, excluded.open_seq) < (s.open_minute, s.open_seq) THEN excluded.open_seq ELSE s.open_seq END,
    open_minute = least(s.open_minute, excluded.open_minute),
    close_ticks = CASE WHEN (excluded.close_minute, excluded.close_seq) >= (s.close_minute, s.close_seq) THEN excluded.close_ticks ELSE s.close_ticks END,
    close_seq   = CASE WHEN (excluded.close_minute, excluded.close_seq) >= (s.close_minute, s.close_seq) THEN excluded.close_seq ELSE s.close_seq END,
    close_minute = greatest(s.close_minute, excluded.close_minute),
    high_ticks  = greatest(s.high_ticks, excluded.high_ticks),
    low_ticks   = least(s.low_ticks, excluded.low_ticks),
    lots        = s.lots + excluded.lots,
    notional    = s.notional + excluded.notional,
    trades      = s.trades + excluded.trades;
  RETURN NULL;
END $$;

CREATE TRIGGER market_stats_minute_hour AFTER INSERT OR UPDATE ON market_stats_minute
  FOR EACH ROW EXECUTE FUNCTION market_stats_hour_add();

-- the minutes already kept (older trades were never aggregated: their hours start empty)
INSERT INTO market_stats_hour (market_id, hour, open_minute, open_seq, open_ticks, close_minute, close_seq, close_ticks, high_ticks, low_ticks, lots, notional, trades)
SELECT market_id, minute / 60,
       min(minute), (array_agg(open_seq ORDER BY minute, open_seq))[1], (array_agg(open_ticks ORDER BY minute, open_seq))[1],
       max(minute), (array_agg(close_seq ORDER BY minute DESC, close_seq DESC))[1], (array_agg(close_ticks ORDER BY minute DESC, close_seq DESC))[1],
       max(high_ticks), min(low_ticks), sum(lots), sum(notional), sum(trades)
  FROM market_stats_minute
 GROUP BY 1, 2;

GRANT SELECT, INSERT, UPDATE, DELETE ON market_stats_hour TO ate_app;
