-- Snapshots of the engine's whole state (every book, the shared balance view, the sequencer's own maps) after a
-- command of the log. Recovery restores the newest one whose books hash to the stored state hashes, then replays
-- only the commands after it; a snapshot that does not restore or verify is skipped (the one before, then the
-- whole log). The engine keeps the last two. Written after the batch that ends at command_seq has committed.
CREATE TABLE engine_snapshot (
  command_seq  bigint PRIMARY KEY REFERENCES engine_command (seq),
  taken_at     timestamptz(6) NOT NULL DEFAULT now(),
  -- the encoding of `state` (libs/sequencer/src/lib/engine-snapshot.ts); an engine refuses a format it does not know
  format       smallint NOT NULL CHECK (format >= 1),
  -- gzip'd JSON: never queried inside, so not jsonb (no parse and re-encoding by Postgres, a third of the size)
  state        bytea NOT NULL CHECK (octet_length(state) > 0),
  -- each market's state hash at command_seq (libs/matching stateHash: book and balances): {"<market id>": "<hash>"}
  state_hashes jsonb NOT NULL CHECK (jsonb_typeof(state_hashes) = 'object')
);
-- already compressed: TOAST stores it out of line without trying to compress it again
ALTER TABLE engine_snapshot ALTER COLUMN state SET STORAGE EXTERNAL;
