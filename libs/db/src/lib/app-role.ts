import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Client } from 'pg';

/**
 * The database role the api and the engine run as (created by the migration 20261201100000_app_role): no
 * superuser, owner of nothing, no TRUNCATE or TRIGGER, and only SELECT and INSERT on the journal. Login roles
 * get its rights by membership.
 */
export const APP_ROLE = 'ate_app';

/** `url` with another user and password. */
export function withCredentials(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/**
 * A secret kept in `file` (created exclusively, mode 0600, on first use; an existing file is set to 0600).
 * `created` says whether this call made it.
 */
export function secretFile(file: string): { secret: string; created: boolean } {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    try {
      writeFileSync(file, randomBytes(24).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
      return { secret: readFileSync(file, 'utf8').trim(), created: true };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // another process made it first: use theirs
    }
  }
  chmodSync(file, 0o600);
  return { secret: readFileSync(file, 'utf8').trim(), created: false };
}

/**
 * Makes `login` a login role with `password` and the rights of APP_ROLE (run as a role that may create roles,
 * after the migrations), and returns `adminUrl` with its credentials. Safe to run from several processes at once.
 */
export async function ensureLoginRole(adminUrl: string, login: string, password: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(login)) throw new Error(`not a plain role name: ${login}`);
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const pw = (await c.query<{ q: string }>('SELECT quote_literal($1) AS q', [password])).rows[0]?.q as string;
        const exists = (await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [login])).rowCount === 1;
        await c.query(`${exists ? 'ALTER' : 'CREATE'} ROLE ${login} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD ${pw}`);
        const member =
          (
            await c.query(
              'SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = $1 AND u.rolname = $2',
              [APP_ROLE, login],
            )
          ).rowCount === 1;
        if (!member) await c.query(`GRANT ${APP_ROLE} TO ${login}`);
        return withCredentials(adminUrl, login, password);
      } catch (e) {
        // another database's migration or test may be changing roles at the same moment
        if (attempt >= 5 || !/concurrently|already exists|duplicate key/.test((e as Error).message)) throw e;
      }
    }
  } finally {
    await c.end();
  }
}
