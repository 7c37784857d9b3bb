import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';

/** One migration folder in Prisma's layout: `prisma/migrations/<timestamp>_<name>/migration.sql`. */
export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

/**
 * A key for pg_advisory_lock so that two processes starting at once apply migrations one after the other.
 * Any fixed 64-bit number works; this one is "ate-migr" in ASCII.
 */
const MIGRATION_LOCK_KEY = '7017407411829524338';

/** Finds `prisma/migrations`: MIGRATIONS_DIR if set, else the first one found walking up from here or the cwd. */
export function defaultMigrationsDir(): string {
  const fromEnv = process.env['MIGRATIONS_DIR'];
  if (fromEnv) return resolve(fromEnv);
  for (const start of [__dirname, process.cwd()]) {
    let dir = start;
    for (;;) {
      const candidate = join(dir, 'prisma', 'migrations');
      if (existsSync(candidate)) return candidate;
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  throw new Error('prisma/migrations not found (set MIGRATIONS_DIR)');
}

export function readMigrations(dir = defaultMigrationsDir()): MigrationFile[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      // Prisma records the SHA-256 of the file as hex; we do the same so `prisma migrate deploy` agrees with us.
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

const CREATE_HISTORY = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum"            VARCHAR(64) NOT NULL,
  "finished_at"         TIMESTAMPTZ,
  "migration_name"      VARCHAR(255) NOT NULL,
  "logs"                TEXT,
  "rolled_back_at"      TIMESTAMPTZ,
  "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

/**
 * Applies every migration not yet applied, each in its own transaction, in name order, under an advisory lock.
 * Records them in Prisma's `_prisma_migrations` table (same columns and checksums), so this runner and
 * `prisma migrate deploy` can take turns on one database. A migration whose file changed after it was
 * applied is an error: history is never rewritten silently.
 */
export async function migrate(databaseUrl: string, dir = defaultMigrationsDir()): Promise<MigrationResult> {
  const files = readMigrations(dir);
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(CREATE_HISTORY);
    const done = await client.query<{ migration_name: string; checksum: string }>(
      `SELECT migration_name, checksum FROM "_prisma_migrations"
        WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    const appliedChecksums = new Map(done.rows.map((r) => [r.migration_name, r.checksum]));
    const result: MigrationResult = { applied: [], alreadyApplied: [] };
    for (const file of files) {
      const recorded = appliedChecksums.get(file.name);
      if (recorded !== undefined) {
        if (recorded !== file.checksum) {
          throw new Error(`migration ${file.name} was changed after it was applied (checksum differs)`);
        }
        result.alreadyApplied.push(file.name);
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(file.sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
           VALUES ($1, $2, now(), $3, 1)`,
          [randomUUID(), file.checksum, file.name],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file.name} failed: ${(err as Error).message}`);
      }
      result.applied.push(file.name);
    }
    return result;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

/** Names of the migrations on disk that the database has not applied (empty = up to date). */
export async function pendingMigrations(
  query: (sql: string) => Promise<{ rows: { migration_name: string }[] }>,
  dir = defaultMigrationsDir(),
): Promise<string[]> {
  const files = readMigrations(dir);
  let applied = new Set<string>();
  try {
    const r = await query(`SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`);
    applied = new Set(r.rows.map((x) => x.migration_name));
  } catch (e) {
    // no history table yet (42P01 undefined_table): everything is pending; anything else (the database cannot be
    // reached, the login is refused) is not an answer about migrations, and goes to the caller
    if ((e as { code?: string }).code !== '42P01') throw e;
  }
  return files.map((f) => f.name).filter((n) => !applied.has(n));
}
