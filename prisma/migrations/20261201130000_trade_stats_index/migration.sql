-- GET /v1/markets/:id/stats reads the last 24 hours of a market's trades: by this index it reads only those,
-- whatever the market's history (it filtered created_at over every trade of the market).
CREATE INDEX trade_market_created ON trade (market_id, created_at);
