import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, TestDatabase } from './testing';
import { migrate, pendingMigrations, readMigrations } from './migrate';

describe('migration runner (real Postgres)', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('migrate', { migrated: false });
  });
  afterEach(async () => {
    await db.drop();
  });

  it('applies every migration to an empty database once, in order, in Prisma’s history table', async () => {
    const files = readMigrations();
    expect(files.length).toBeGreaterThan(0);
    expect(await pendingMigrations((s) => db.pool.query(s))).toEqual(files.map((f) => f.name));
    const first = await migrate(db.url);
    expect(first.applied).toEqual(files.map((f) => f.name));
    const again = await migrate(db.url);
    expect(again).toEqual({ applied: [], alreadyApplied: files.map((f) => f.name) });
    const rows = await db.pool.query('SELECT migration_name, checksum FROM "_prisma_migrations" ORDER BY migration_name');
    expect(rows.rows).toEqual(files.map((f) => ({ migration_name: f.name, checksum: f.checksum })));
    expect(await pendingMigrations((s) => db.pool.query(s))).toEqual([]);
  });

  it('says every migration is pending only where the history table is missing; a database it cannot ask is an error', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    await expect(pendingMigrations(() => Promise.reject(refused))).rejects.toBe(refused);
    const login = Object.assign(new Error('role "x" does not exist'), { code: '28000' });
    await expect(pendingMigrations(() => Promise.reject(login))).rejects.toBe(login);
    expect((await pendingMigrations((s) => db.pool.query(s))).length).toBe(readMigrations().length); // 42P01: none applied
  });

  it('two runners at once apply each migration exactly once (advisory lock)', async () => {
    const [a, b] = await Promise.all([migrate(db.url), migrate(db.url)]);
    expect([...a.applied, ...b.applied].sort()).toEqual(readMigrations().map((f) => f.name));
    const n = await db.pool.query('SELECT count(*)::int AS n FROM "_prisma_migrations"');
    expect(n.rows[0].n).toBe(readMigrations().length);
  });

  it('a failing migration leaves nothing behind and names itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mig-'));
    mkdirSync(join(dir, '001_ok'));
    writeFileSync(join(dir, '001_ok', 'migration.sql'), 'CREATE TABLE ok_t (id int);');
    mkdirSync(join(dir, '002_bad'));
    writeFileSync(join(dir, '002_bad', 'migration.sql'), 'CREATE TABLE bad_t (id int); SELECT no_such_fn();');
    await expect(migrate(db.url, dir)).rejects.toThrow(/002_bad failed/);
    const t = await db.pool.query(`SELECT to_regclass('ok_t') AS ok, to_regclass('bad_t') AS bad`);
    expect(t.rows[0]).toEqual({ ok: 'ok_t', bad: null });
    expect(await pendingMigrations((s) => db.pool.query(s), dir)).toEqual(['002_bad']);
  });

  it('refuses a migration whose file changed after it was applied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mig-'));
    mkdirSync(join(dir, '001_a'));
    writeFileSync(join(dir, '001_a', 'migration.sql'), 'CREATE TABLE a_t (id int);');
    await migrate(db.url, dir);
    writeFileSync(join(dir, '001_a', 'migration.sql'), 'CREATE TABLE a_t (id bigint);');
    await expect(migrate(db.url, dir)).rejects.toThrow(/changed after it was applied/);
  });
});
