import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, TestDatabase } from './testing';

/**
 * A real exchange for the tests of its clients (apps/mcp, libs/ccxt): a fresh migrated test database and the api
 * process (`apps/api/src/main.ts`, engine in-process) on a free loopback port, with a known admin key. The clients'
 * tests talk to it over HTTP as any user would; nothing of the api is imported.
 */
export interface TestExchange {
  url: string;
  db: TestDatabase;
  admin: { keyId: string; secret: string };
  stop(): Promise<void>;
}

/** The admin key the exchange installs from its configuration (ADMIN_KEY_ID / ADMIN_SECRET). */
export const TEST_EXCHANGE_ADMIN = { keyId: 'ak_admin0000000000000001', secret: 'admin-secret-for-tests-0123456789abcdef' } as const;

const REPO_ROOT = join(__dirname, '../../../..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startTestExchange(label: string, env: Record<string, string> = {}, timeoutMs = 90_000): Promise<TestExchange> {
  const db = await createTestDatabase(label);
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'ate-test-exchange-'));
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/api/src/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: db.appUrl,
      MIGRATION_DATABASE_URL: db.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      MASTER_KEY: randomBytes(32).toString('base64'),
      ADMIN_KEY_ID: TEST_EXCHANGE_ADMIN.keyId,
      ADMIN_SECRET: TEST_EXCHANGE_ADMIN.secret,
      DATA_DIR: dataDir,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
    await db.drop();
  };
  const t0 = Date.now();
  for (;;) {
    const ok = await fetch(`${url}/ready`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return { url, db, admin: TEST_EXCHANGE_ADMIN, stop };
    if (child.exitCode !== null || Date.now() - t0 > timeoutMs) {
      await stop();
      throw new Error(`the exchange (apps/api/src/main.ts) did not become ready (exit ${child.exitCode})`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}
