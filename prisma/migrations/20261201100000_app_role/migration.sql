-- The role the api and the engine run as: it may read and write what they need and nothing more. Not a
-- superuser, not the owner of any table (only an owner may disable triggers or alter a table), no TRUNCATE,
-- no TRIGGER, and on the journal (transfers, entries, holds, hold resolutions, the engine's command log) only
-- SELECT and INSERT: the append-only triggers are a second wall behind missing privileges.
-- Login roles are granted `ate_app` (the embedded Postgres creates `ate_api`; see docs/SECURITY.md).
-- Every later migration that adds a table grants it here too (libs/db/src/lib/app-role.spec.ts checks it).
-- Roles are cluster-wide: another database on the server may have created it already (or be creating it now).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ate_app') THEN
    CREATE ROLE ate_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ate_app;
GRANT USAGE ON SCHEMA public TO ate_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ate_app;

-- mutable state
GRANT SELECT, INSERT, UPDATE, DELETE ON app_setting, principal, agent, api_key, market, trading_order, trade,
  engine_checkpoint, engine_snapshot TO ate_app;
GRANT SELECT, INSERT, UPDATE ON ledger_account, ledger_chain_head TO ate_app;
-- fixed once written
GRANT SELECT, INSERT ON ledger_asset TO ate_app;
-- the journal: append-only
GRANT SELECT, INSERT ON ledger_transfer, ledger_entry, ledger_hold, ledger_hold_resolution, engine_command TO ate_app;
-- the migration history: read (the api and the engine refuse to serve with migrations pending), never written
GRANT SELECT ON "_prisma_migrations" TO ate_app;
