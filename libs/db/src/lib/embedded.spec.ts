import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO_ROOT = join(__dirname, '../../../..');

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

/**
 * The embedded Postgres is stopped by its owner, last: SIGTERM must not stop it behind the owner's back (the
 * package's own exit hook did, while the api was still draining requests and writing its last batches).
 */
describe('embedded Postgres and SIGTERM', () => {
  jest.setTimeout(60_000);

  it('is still up when the process handles SIGTERM, and stops when its owner stops it', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ate-embedded-'));
    chmodSync(base, 0o755); // the server runs as its own user (we are root here), which must reach the data directory
    const dataDir = join(base, 'pg');
    const port = await freePort();
    const script = `
      const { startEmbeddedPostgres } = require(${JSON.stringify(join(__dirname, 'embedded.ts'))});
      const { Client } = require('pg');
      (async () => {
        const pg = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: ${port} });
        const c = new Client({ connectionString: pg.url });
        await c.connect();
        process.once('SIGTERM', async () => {
          await new Promise((r) => setTimeout(r, 300)); // a graceful shutdown takes a while
          const r = await c.query('SELECT 1 AS one');
          await c.end();
          await pg.stop();
          process.stdout.write('still up: ' + r.rows[0].one + '\\n');
          process.exit(0);
        });
        process.stdout.write('ready\\n');
      })().catch((e) => { process.stderr.write(String(e) + '\\n'); process.exit(1); });
    `;
    const child = spawn(process.execPath, ['-r', '@swc-node/register', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    try {
      const t0 = Date.now();
      while (!out.includes('ready') && child.exitCode === null && Date.now() - t0 < 50_000) await new Promise((r) => setTimeout(r, 50));
      expect({ out, err: err.slice(0, 500) }).toEqual({ out: 'ready\n', err: '' });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('still up: 1');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(base, { recursive: true, force: true });
    }
  });
});
