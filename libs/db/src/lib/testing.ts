import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { ensureLoginRole, withCredentials } from './app-role';
import { migrate } from './migrate';

/** The login role tests run the api and the engine as (a member of ate_app, as in production). */
const TEST_APP_LOGIN = { user: 'ate_test_app', password: 'ate-test-app-password' };
let testLogin: Promise<unknown> | undefined;

/**
 * The server that tests create their databases on. `npm test` (scripts/test.mjs) sets TEST_DATABASE_URL to the
 * machine's Postgres or to an embedded one it started; the default is the machine's Postgres with trust auth.
 */
export function testServerUrl(): string {
  return process.env['TEST_DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = '/' + database;
  return u.toString();
}

export interface TestDatabase {
  name: string;
  /** As the server's superuser: for migrations and for tests that inspect or tamper with rows. */
  url: string;
  /** As a login role with only the rights of `ate_app` (what the api and the engine run as). */
  appUrl: string;
  /** A pool on the new database (closed by drop()). */
  pool: Pool;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database of its own for one test file, so test files run in parallel without sharing state.
 * `migrated: false` gives an empty database (for the migration tests themselves).
 */
export async function createTestDatabase(label: string, opts: { migrated?: boolean; poolMax?: number } = {}): Promise<TestDatabase> {
  const server = testServerUrl();
  const name = `t_${label
    .replace(/[^a-z0-9]/gi, '_')
    .toLowerCase()
    .slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(server, name);
  if (opts.migrated !== false) await migrate(url);
  if (opts.migrated !== false) await (testLogin ??= ensureLoginRole(url, TEST_APP_LOGIN.user, TEST_APP_LOGIN.password));
  const appUrl = withDatabase(withCredentials(server, TEST_APP_LOGIN.user, TEST_APP_LOGIN.password), name);
  const pool = new Pool({ connectionString: url, max: opts.poolMax ?? 10 });
  // pool.end() resolves once it has asked its idle connections to close, not once they have: the FORCE drop
  // below may terminate one still closing, and its error would surface as an unhandled 'error' event
  pool.on('error', () => undefined);
  return {
    name,
    url,
    appUrl,
    pool,
    async drop() {
      await pool.end();
      const c = new Client({ connectionString: server });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
