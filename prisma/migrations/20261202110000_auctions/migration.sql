-- Auctions and posted-price pools: projections of the sequencer's auction state (libs/sequencer auctions.ts),
-- written in the same transaction as the commands that change them (engine_command holds the truth).

CREATE TABLE auction (
  id              TEXT PRIMARY KEY,
  mechanism       TEXT NOT NULL,
  seller_agent_id TEXT,
  asset           TEXT NOT NULL,
  units           BIGINT NOT NULL,
  reserve_price   BIGINT NOT NULL,
  fee_bps         INTEGER NOT NULL,
  deadline        TIMESTAMPTZ(6) NOT NULL,
  status          TEXT NOT NULL,
  created_seq     BIGINT NOT NULL,
  closed_seq      BIGINT,
  settled_seq     BIGINT,
  clearing        JSONB,
  -- combinatorial auctions: the items for sale [{ id, asset, units }]
  items           JSONB,
  created_at      TIMESTAMPTZ(6) NOT NULL,
  updated_at      TIMESTAMPTZ(6) NOT NULL
);
CREATE INDEX auction_status_deadline ON auction (status, deadline);

CREATE TABLE auction_bid (
  auction_id TEXT NOT NULL REFERENCES auction (id),
  agent_id   TEXT NOT NULL,
  steps      JSONB NOT NULL,
  hold       BIGINT NOT NULL,
  status     TEXT NOT NULL,
  units_won  BIGINT,
  payment    BIGINT,
  seq        BIGINT NOT NULL,
  created_at TIMESTAMPTZ(6) NOT NULL,
  updated_at TIMESTAMPTZ(6) NOT NULL,
  PRIMARY KEY (auction_id, agent_id)
);

CREATE TABLE price_pool (
  id                 TEXT PRIMARY KEY,
  mode               TEXT NOT NULL,
  asset              TEXT NOT NULL,
  price              BIGINT NOT NULL,
  supply             BIGINT,
  sold               BIGINT NOT NULL,
  capacity_per_epoch BIGINT,
  min_price          BIGINT,
  max_price          BIGINT,
  epoch_ms           INTEGER NOT NULL,
  epoch              INTEGER NOT NULL,
  used               BIGINT NOT NULL,
  started_at         TIMESTAMPTZ(6) NOT NULL,
  created_seq        BIGINT NOT NULL,
  updated_at         TIMESTAMPTZ(6) NOT NULL
);

CREATE TABLE price_pool_epoch (
  pool_id    TEXT NOT NULL REFERENCES price_pool (id),
  epoch      INTEGER NOT NULL,
  price      BIGINT NOT NULL,
  used       BIGINT NOT NULL,
  next_price BIGINT NOT NULL,
  PRIMARY KEY (pool_id, epoch)
);

CREATE TABLE price_pool_purchase (
  pool_id    TEXT NOT NULL REFERENCES price_pool (id),
  seq        BIGINT NOT NULL,
  agent_id   TEXT NOT NULL,
  units      BIGINT NOT NULL,
  price      BIGINT NOT NULL,
  cost       BIGINT NOT NULL,
  epoch      INTEGER NOT NULL,
  created_at TIMESTAMPTZ(6) NOT NULL,
  PRIMARY KEY (pool_id, seq)
);
CREATE INDEX price_pool_purchase_agent ON price_pool_purchase (agent_id, seq);

GRANT SELECT, INSERT, UPDATE ON auction, auction_bid, price_pool TO ate_app;
GRANT SELECT, INSERT ON price_pool_epoch, price_pool_purchase TO ate_app;
