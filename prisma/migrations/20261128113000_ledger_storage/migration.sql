-- Ledger storage tuning (measured with npm run bench:ledger).
-- 1. Account rows are rewritten by every batch that touches them. With free space left on each page, Postgres
--    updates them in place (HOT: no new index entries, dead versions pruned on the page). Applies to pages
--    written from now on.
ALTER TABLE ledger_account SET (fillfactor = 50);
-- 2. Ids are compared bytewise (they are ASCII words; no linguistic order is wanted): the "C" collation makes
--    the unique index on ledger_transfer.id and the hold lookups cheaper than the database's default collation.
ALTER TABLE ledger_hold_resolution DROP CONSTRAINT ledger_hold_resolution_hold_id_fkey;
ALTER TABLE ledger_transfer DROP CONSTRAINT ledger_transfer_hold_fk;
ALTER TABLE ledger_hold DROP CONSTRAINT ledger_hold_id_fkey;
ALTER TABLE ledger_transfer ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE ledger_transfer ALTER COLUMN hold_id TYPE text COLLATE "C";
ALTER TABLE ledger_hold ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE ledger_hold_resolution ALTER COLUMN hold_id TYPE text COLLATE "C";
ALTER TABLE ledger_hold ADD CONSTRAINT ledger_hold_id_fkey FOREIGN KEY (id) REFERENCES ledger_transfer (id);
ALTER TABLE ledger_transfer ADD CONSTRAINT ledger_transfer_hold_fk FOREIGN KEY (hold_id) REFERENCES ledger_hold (id)
  DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE ledger_hold_resolution ADD CONSTRAINT ledger_hold_resolution_hold_id_fkey FOREIGN KEY (hold_id)
  REFERENCES ledger_hold (id);
