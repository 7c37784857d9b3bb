-- Redemptions with signed receipts, the receipt signing keys (JWKS), market rule changes, and the audit log.

-- The keys that sign redemption receipts (Ed25519). The private key is sealed with the master key like API
-- signing keys (AES-256-GCM, the kid as associated data); the public key is served in /.well-known/jwks.json
-- as long as the row exists, so receipts signed before a rotation still verify. One key signs at a time: the
-- newest whose retired_at is null.
CREATE TABLE receipt_signing_key (
  kid         text PRIMARY KEY CHECK (kid ~ '^rk_[a-z0-9]{8,32}$'),
  public_jwk  jsonb NOT NULL,
  private_enc bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  retired_at  timestamptz
);

-- A redemption: N units of an allowance left the agent for the redemption account (ledger transfer
-- `redeem:<id>`, committed in the engine's batch with this row). The receipt (compact JWS) is signed by the api
-- after the commit and stored once; Ed25519 signatures are deterministic, so a retry that signs again with the
-- same key produces the same receipt.
CREATE TABLE redemption (
  id                   text PRIMARY KEY CHECK (id ~ '^rdm_[a-z0-9]{12,32}$'),
  agent_id             text NOT NULL REFERENCES agent (id),
  client_redemption_id text NOT NULL,
  principal_id         text,
  asset                text NOT NULL REFERENCES ledger_asset (code),
  amount               bigint NOT NULL CHECK (amount > 0),
  command_seq          bigint NOT NULL,
  issued_at            bigint NOT NULL,
  allowance_expires_at bigint,
  receipt              text,
  kid                  text REFERENCES receipt_signing_key (kid),
  created_at           timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT redemption_client_id UNIQUE (agent_id, client_redemption_id)
);
CREATE INDEX redemption_agent ON redemption (agent_id, command_seq DESC);

-- Only the receipt is ever written after the insert, and only once.
CREATE FUNCTION redemption_receipt_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'redemption rows are never deleted' USING ERRCODE = 'check_violation';
  END IF;
  IF OLD.receipt IS NOT NULL OR NEW.id <> OLD.id OR NEW.agent_id <> OLD.agent_id OR NEW.client_redemption_id <> OLD.client_redemption_id
     OR NEW.asset <> OLD.asset OR NEW.amount <> OLD.amount OR NEW.command_seq <> OLD.command_seq OR NEW.issued_at <> OLD.issued_at
     OR NEW.allowance_expires_at IS DISTINCT FROM OLD.allowance_expires_at OR NEW.principal_id IS DISTINCT FROM OLD.principal_id THEN
    RAISE EXCEPTION 'a redemption is fixed once written (only its receipt is added, once)' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER redemption_fixed BEFORE UPDATE OR DELETE ON redemption FOR EACH ROW EXECUTE FUNCTION redemption_receipt_once();

-- A change of a market's rules (fees, size and price limits, band), committed in the engine's batch with the
-- command that applied it (engine_command seq). The market row holds the rules now; recovery starts a market from
-- the `before` of its first change after the starting point, so a replay applies each change where it happened.
CREATE TABLE market_rule_change (
  command_seq bigint PRIMARY KEY,
  market_id   text NOT NULL REFERENCES market (id),
  before      jsonb NOT NULL,
  after       jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX market_rule_change_market ON market_rule_change (market_id, command_seq);

-- The audit log: every admin (and principal) action, append-only and hash-chained like the ledger journal:
--   hash(n) = SHA-256("<hex of hash(n-1)>\n<seq>\n<canonical body>"), hash(0) = 32 zero bytes,
-- written in the same transaction as the action's effect (libs/sequencer/src/lib/audit.ts).
CREATE TABLE audit_chain_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  seq       bigint NOT NULL,
  hash      bytea NOT NULL CHECK (length(hash) = 32)
);
INSERT INTO audit_chain_head (singleton, seq, hash) VALUES (true, 0, decode(repeat('00', 32), 'hex'));

CREATE TABLE audit_log (
  seq         bigint PRIMARY KEY CHECK (seq > 0),
  at          timestamptz NOT NULL,
  actor_kind  text NOT NULL CHECK (actor_kind IN ('admin', 'principal', 'agent', 'system')),
  actor_id    text,
  key_id      text,
  action      text NOT NULL CHECK (action ~ '^[a-z][a-z_.]{1,63}$'),
  target_kind text NOT NULL,
  target_id   text NOT NULL,
  request_id  text,
  reason      text,
  before      jsonb,
  after       jsonb,
  command_seq bigint,
  prev_hash   bytea NOT NULL CHECK (length(prev_hash) = 32),
  hash        bytea NOT NULL CHECK (length(hash) = 32)
);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_target ON audit_log (target_id, seq);
CREATE INDEX audit_log_key ON audit_log (key_id, seq);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_log_at ON audit_log (at, seq);

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

GRANT SELECT, INSERT, UPDATE ON receipt_signing_key, redemption, audit_chain_head TO ate_app;
GRANT SELECT, INSERT ON market_rule_change, audit_log TO ate_app;
