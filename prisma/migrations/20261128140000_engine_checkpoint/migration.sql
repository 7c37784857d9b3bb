-- The engine's state hash per market at a known point of the command log. Recovery replays the log and checks
-- that the rebuilt book hashes to the same value at that point; a mismatch (a replay that diverges, e.g. after a
-- change of the matching rules) stops the engine from serving instead of trading on a wrong book.
CREATE TABLE engine_checkpoint (
  market_id   text PRIMARY KEY REFERENCES market (id),
  command_seq bigint NOT NULL REFERENCES engine_command (seq),
  state_hash  text NOT NULL CHECK (length(state_hash) BETWEEN 1 AND 128),
  updated_at  timestamptz(6) NOT NULL DEFAULT now()
);
