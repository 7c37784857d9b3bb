-- A principal's spend report reads each agent's won bids in a time window (apps/api/src/principal/spend-lines.ts):
-- by this index it reads only that agent's bids of the window, not every bid of every auction.
CREATE INDEX auction_bid_agent_updated ON auction_bid (agent_id, updated_at);
