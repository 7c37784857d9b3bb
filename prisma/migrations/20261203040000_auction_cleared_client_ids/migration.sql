-- Auctions: the cleared state (the clearing fixed by its own sequenced command, results readable, funds still held
-- until the settlement command), and client ids for bids and posted-price purchases (a retry after a lost answer is
-- answered with the first, never done twice; libs/sequencer auction-ids.ts reads them in each batch's pre-read).

ALTER TABLE auction ADD COLUMN cleared_seq BIGINT;

-- the client id of the bid an auction_bid row holds now (a withdrawn bid's row is replaced by the next bid)
ALTER TABLE auction_bid ADD COLUMN client_bid_id TEXT;

-- every accepted bid that carried a client id (unique per agent, forever), with its body to tell a retry from a conflict
CREATE TABLE auction_bid_request (
  agent_id      TEXT NOT NULL,
  client_bid_id TEXT NOT NULL,
  auction_id    TEXT NOT NULL REFERENCES auction (id),
  seq           BIGINT NOT NULL,
  body          JSONB NOT NULL,
  created_at    TIMESTAMPTZ(6) NOT NULL,
  PRIMARY KEY (agent_id, client_bid_id)
);

ALTER TABLE price_pool_purchase ADD COLUMN client_purchase_id TEXT;
ALTER TABLE price_pool_purchase ADD COLUMN max_price BIGINT;
CREATE UNIQUE INDEX price_pool_purchase_client_id ON price_pool_purchase (agent_id, client_purchase_id) WHERE client_purchase_id IS NOT NULL;

GRANT SELECT, INSERT ON auction_bid_request TO ate_app;
