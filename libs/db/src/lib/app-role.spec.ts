import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from './testing';

/**
 * What the api and the engine may do to the database (as a login role with the rights of ate_app): read and write
 * their state, append to the journal, and nothing that could rewrite it or switch its guards off.
 */
describe('the ate_app role (real Postgres)', () => {
  let db: TestDatabase;
  let app: Client;
  beforeAll(async () => {
    db = await createTestDatabase('app_role');
    app = new Client({ connectionString: db.appUrl });
    await app.connect();
  });
  afterAll(async () => {
    await app?.end();
    await db?.drop();
  });

  const code = (sql: string) =>
    app.query(sql).then(
      () => 'ok',
      (e: { code?: string }) => e.code,
    );

  it('is neither a superuser nor the owner of any table', async () => {
    const r = await app.query(`SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = current_user`);
    expect(r.rows[0]).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false });
    const owned = await app.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND pg_has_role(current_user, tableowner, 'USAGE')`);
    expect(owned.rows).toEqual([]);
  });

  // Precedence: privilege checks refuse before any trigger runs (42501 insufficient_privilege, 42P01 not found).
  it.each([
    ['TRUNCATE the journal', 'TRUNCATE ledger_transfer CASCADE', '42501'],
    ['TRUNCATE the command log', 'TRUNCATE engine_command', '42501'],
    ['TRUNCATE a mutable table', 'TRUNCATE trading_order', '42501'],
    ['rewrite a journal entry', 'UPDATE ledger_entry SET amount = 0', '42501'],
    ['delete a transfer', 'DELETE FROM ledger_transfer', '42501'],
    ['delete a command', 'DELETE FROM engine_command', '42501'],
    ['delete a hold', 'DELETE FROM ledger_hold', '42501'],
    ['delete an account', 'DELETE FROM ledger_account', '42501'],
    ['change an asset', `UPDATE ledger_asset SET scale = 0`, '42501'],
    ['switch the journal triggers off', 'ALTER TABLE ledger_entry DISABLE TRIGGER ALL', '42501'],
    ['drop a trigger', 'DROP TRIGGER ledger_transfer_append_only ON ledger_transfer', '42501'],
    ['add a trigger', `CREATE TRIGGER t BEFORE INSERT ON ledger_entry FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()`, '42501'],
    ['create a table', 'CREATE TABLE intruder (x int)', '42501'],
    ['write the migration history', `DELETE FROM "_prisma_migrations"`, '42501'],
    ['become superuser', 'ALTER ROLE current_user SUPERUSER', '42501'],
    ['read and append what it needs', 'SELECT (SELECT count(*) FROM ledger_transfer) + (SELECT count(*) FROM "_prisma_migrations")', 'ok'],
  ])('%s -> %s', async (_name, sql, expected) => {
    expect(await code(sql)).toBe(expected);
  });

  it('every table is granted to ate_app, none with TRUNCATE, TRIGGER or REFERENCES (a new table needs its grant)', async () => {
    const tables = await db.pool.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
    const grants = await db.pool.query<{ t: string; p: string }>(
      `SELECT table_name AS t, string_agg(privilege_type, ',' ORDER BY privilege_type) AS p
         FROM information_schema.role_table_grants WHERE grantee = 'ate_app' AND table_schema = 'public' GROUP BY 1 ORDER BY 1`,
    );
    expect(grants.rows.map((g) => g.t)).toEqual(tables.rows.map((t) => t.t));
    for (const g of grants.rows) expect(g.p).not.toMatch(/TRUNCATE|TRIGGER|REFERENCES/);
    const journal = grants.rows.filter((g) =>
      ['ledger_transfer', 'ledger_entry', 'ledger_hold', 'ledger_hold_resolution', 'engine_command'].includes(g.t),
    );
    expect(journal.map((g) => g.p)).toEqual(Array(5).fill('INSERT,SELECT'));
  });
});
