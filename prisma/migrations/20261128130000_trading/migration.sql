-- Trading: markets, the engine's command log, and the order/trade projections written with each batch.
-- Durability and recovery rest on engine_command: every command the sequencer accepted for execution is in it,
-- in order, committed in the same transaction as its effects (orders, trades, ledger transfers). Replaying it
-- through libs/matching (deterministic) rebuilds every book and the in-memory balances exactly.

-- A small integer per agent: the matching engine indexes per-agent arrays by it.
ALTER TABLE agent ADD COLUMN num integer GENERATED ALWAYS AS IDENTITY;
ALTER TABLE agent ADD CONSTRAINT agent_num_unique UNIQUE (num);

CREATE TABLE market (
  id                   text PRIMARY KEY CHECK (id ~ '^[A-Z0-9][A-Z0-9_.:-]{0,63}/CREDIT$'),
  base_asset           text NOT NULL UNIQUE REFERENCES ledger_asset (code),
  -- credits (minor units) per tick per lot: notional = price x tick_size x lots
  tick_size            bigint NOT NULL CHECK (tick_size > 0),
  -- base-asset minor units per lot
  lot_size             bigint NOT NULL CHECK (lot_size > 0),
  min_order_lots       integer NOT NULL CHECK (min_order_lots > 0),
  max_order_lots       integer NOT NULL CHECK (max_order_lots >= min_order_lots),
  max_price_ticks      integer NOT NULL CHECK (max_price_ticks > 0),
  price_band_bps       integer NOT NULL CHECK (price_band_bps BETWEEN 0 AND 10000),
  initial_price_ticks  integer NOT NULL CHECK (initial_price_ticks BETWEEN 1 AND max_price_ticks),
  default_stp          text NOT NULL CHECK (default_stp IN ('cancel_taker', 'cancel_maker', 'cancel_both', 'decrement_cancel')),
  orders_per_agent_max integer NOT NULL CHECK (orders_per_agent_max > 0),
  max_spend_credits    bigint NOT NULL CHECK (max_spend_credits > 0),
  created_at           timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT market_base_not_credit CHECK (base_asset <> 'CREDIT')
);

-- The sequencer's log: append-only, gap-free seq. market_id is null for funds movements (shared balances).
CREATE TABLE engine_command (
  seq        bigint PRIMARY KEY CHECK (seq >= 1),
  market_id  text REFERENCES market (id),
  ts         bigint NOT NULL CHECK (ts >= 0),
  command    jsonb NOT NULL,
  created_at timestamptz(6) NOT NULL DEFAULT now()
);

CREATE FUNCTION engine_command_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'engine_command is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER engine_command_append_only BEFORE UPDATE OR DELETE ON engine_command
  FOR EACH ROW EXECUTE FUNCTION engine_command_refuse_change();
CREATE TRIGGER engine_command_no_truncate BEFORE TRUNCATE ON engine_command
  FOR EACH STATEMENT EXECUTE FUNCTION engine_command_refuse_change();

-- Orders as agents see them (a projection of engine events, updated with each batch).
CREATE TABLE trading_order (
  id              bigint PRIMARY KEY CHECK (id >= 1),
  market_id       text NOT NULL REFERENCES market (id),
  agent_id        text NOT NULL REFERENCES agent (id),
  client_order_id text CHECK (client_order_id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  side            text NOT NULL CHECK (side IN ('buy', 'sell')),
  type            text NOT NULL CHECK (type IN ('limit', 'market')),
  tif             text CHECK (tif IN ('GTC', 'GTD', 'IOC', 'FOK')),
  post_only       boolean NOT NULL DEFAULT false,
  price_ticks     integer CHECK (price_ticks > 0),
  lots            bigint CHECK (lots > 0),
  spend           bigint CHECK (spend > 0),
  expires_at      bigint,
  status          text NOT NULL CHECK (status IN ('open', 'closed', 'canceled', 'rejected', 'expired')),
  filled_lots     bigint NOT NULL DEFAULT 0 CHECK (filled_lots >= 0),
  open_lots       bigint NOT NULL DEFAULT 0 CHECK (open_lots >= 0),
  filled_notional bigint NOT NULL DEFAULT 0 CHECK (filled_notional >= 0),
  reason          text,
  command_seq     bigint NOT NULL REFERENCES engine_command (seq),
  created_at      timestamptz(6) NOT NULL DEFAULT now(),
  updated_at      timestamptz(6) NOT NULL DEFAULT now(),
  -- unique per agent across all orders, not only open ones: a retry after a timeout can never double-place
  CONSTRAINT trading_order_client_id UNIQUE (agent_id, client_order_id)
);
CREATE INDEX trading_order_agent ON trading_order (agent_id, id);
CREATE INDEX trading_order_open ON trading_order (agent_id, market_id) WHERE status = 'open';

CREATE TABLE trade (
  market_id      text NOT NULL REFERENCES market (id),
  event_seq      bigint NOT NULL,
  command_seq    bigint NOT NULL REFERENCES engine_command (seq),
  maker_order_id bigint NOT NULL,
  taker_order_id bigint NOT NULL,
  maker_agent_id text NOT NULL,
  taker_agent_id text NOT NULL,
  taker_side     text NOT NULL CHECK (taker_side IN ('buy', 'sell')),
  price_ticks    integer NOT NULL CHECK (price_ticks > 0),
  lots           bigint NOT NULL CHECK (lots > 0),
  notional       bigint NOT NULL CHECK (notional > 0),
  created_at     timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (market_id, event_seq)
);
CREATE INDEX trade_maker ON trade (maker_agent_id, command_seq);
CREATE INDEX trade_taker ON trade (taker_agent_id, command_seq);
