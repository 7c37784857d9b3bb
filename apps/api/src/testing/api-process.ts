import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

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
 * Starts the real api process (`apps/api/src/main.ts`, engine in-process) with `env` on top of this process's
 * environment, and resolves once its /ready answers 200 (or fails after `timeoutMs`). `nodeArgs` go before the
 * script (e.g. --cpu-prof).
 */
export async function startApiProcess(env: Record<string, string>, opts: { nodeArgs?: string[]; timeoutMs?: number } = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '-r', '@swc-node/register', 'apps/api/src/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${env['PORT']}/ready`;
  const t0 = Date.now();
  for (;;) {
    const ready = await fetch(url).then((r) => r.status === 200, () => false);
    if (ready) return child;
    if (child.exitCode !== null) throw new Error(`api process exited with ${child.exitCode} before it was ready`);
    if (Date.now() - t0 > (opts.timeoutMs ?? 60_000)) {
      child.kill('SIGKILL');
      throw new Error(`api process not ready in ${opts.timeoutMs ?? 60_000} ms`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
