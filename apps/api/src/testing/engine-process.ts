import type { ChildProcess } from 'node:child_process';
import { engineRedisKeys, EngineHeartbeat } from '@ate/sequencer';
import Redis from 'ioredis';
import { startTsProcess } from './api-process';

/**
 * Starts the real engine node process (`apps/engine/src/main.ts`) with `env` (DATABASE_URL, REDIS_URL,
 * REDIS_PREFIX, ENGINE_NODE_ID, ...) and resolves once its heartbeat says it serves: it holds the lease, has
 * replayed the log and reads the command stream.
 */
export async function startEngineProcess(
  env: Record<string, string> & { REDIS_URL: string; REDIS_PREFIX: string; ENGINE_NODE_ID: string },
  opts: { timeoutMs?: number } = {},
): Promise<ChildProcess> {
  const redis = new Redis(env.REDIS_URL);
  const key = engineRedisKeys(env.REDIS_PREFIX).heartbeat(env.ENGINE_NODE_ID);
  try {
    return await startTsProcess(
      'apps/engine/src/main.ts',
      env,
      async () => {
        const hb = await redis.get(key);
        return hb !== null && (JSON.parse(hb) as EngineHeartbeat).serving;
      },
      opts,
    );
  } finally {
    redis.disconnect();
  }
}

/** Sends `signal` and resolves when the process has exited. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}
