import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { TEST_ADMIN } from './admin-key';
import { testDataDir } from './data-dir';

/** The repository root (the api's main.ts and the tsconfig paths resolve from it). */
export const REPO_ROOT = join(__dirname, '../../../..');

/** A TCP port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts a TypeScript entry point of this repository (e.g. `apps/api/src/main.ts`) as a real process, with `env`
 * on top of this process's environment, and resolves once `ready()` says so (or fails after `timeoutMs`, killing
 * it). `nodeArgs` go before the script (e.g. --cpu-prof).
 */
export async function startTsProcess(
  script: string,
  env: Record<string, string>,
  ready: () => Promise<boolean>,
  opts: { nodeArgs?: string[]; timeoutMs?: number } = {},
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '-r', '@swc-node/register', script], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const t0 = Date.now();
  for (;;) {
    if (await ready().catch(() => false)) return child;
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode} before it was ready`);
    if (Date.now() - t0 > timeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`${script} not ready in ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts the real api process (`apps/api/src/main.ts`; the engine in-process unless `env` says ENGINE_MODE=redis)
 * and resolves once its /ready answers 200 (or fails after `timeoutMs`). With `ready: 'listening'` it resolves
 * once the api answers at all (/health), e.g. to see /ready say 503 while no engine node serves.
 */
export function startApiProcess(
  env: Record<string, string>,
  opts: { nodeArgs?: string[]; timeoutMs?: number; ready?: 'ready' | 'listening' } = {},
): Promise<ChildProcess> {
  const url = `http://127.0.0.1:${env['PORT']}/${opts.ready === 'listening' ? 'health' : 'ready'}`;
  return startTsProcess('apps/api/src/main.ts', env, () => fetch(url).then((r) => r.status === 200), opts);
}

/** The environment of a real api process for a test: its database and port, loopback, quiet logs, the test admin key. */
export function testApiEnv(o: { databaseUrl: string; port: number; masterKey: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: o.databaseUrl,
    PORT: String(o.port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    MASTER_KEY: o.masterKey,
    ADMIN_KEY_ID: TEST_ADMIN.keyId,
    ADMIN_SECRET: TEST_ADMIN.secret,
    DATA_DIR: testDataDir(),
    ...extra,
  };
}

/**
 * Waits until `${url}/ready` answers 200 (each probe bounded at 5 s), or throws naming `what` after `timeoutMs`:
 * e.g. an api in ENGINE_MODE=redis seeing a newly started engine node, which a loaded machine may take seconds for.
 */
export async function untilReady(url: string, what: string, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const status = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(5_000) }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} (not ready in ${timeoutMs} ms; last status ${status || 'none'})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
