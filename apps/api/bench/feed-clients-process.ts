// The feed benchmarks' clients process (feed-clients.ts), started the same way by bench:feed and by
// bench:e2e --feed-subscribers. BENCH_PROFILE_CLIENTS=DIR writes a V8 CPU profile of it there.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../src/testing/api-process';

/** What the clients process reports when it ends (feed-clients.ts). */
export interface ClientsResult {
  clients: number;
  messagesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  gapsSeen: number;
  checksumFailures: number;
  resyncs: number;
  reconnects: number;
  unrecovered: number;
  settleMs: number;
}

/**
 * Starts the clients process: `ready` once they all subscribed, `done` with their result once they end, which
 * they do after `stop` hands them the REST book's seq and checksum (and best levels) and their books reach it.
 */
export function startFeedClients(input: object) {
  const dir = process.env['BENCH_PROFILE_CLIENTS'];
  const profile = dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
  const child = spawn(process.execPath, [...profile, '-r', '@swc-node/register', join(__dirname, 'feed-clients.ts'), JSON.stringify(input)], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => (out += String(d)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (d) => {
      err += String(d);
      if (err.includes('subscribed')) resolve();
    });
    child.once('exit', (c) => reject(new Error(`feed clients exited (${c}) before subscribing: ${err}`)));
  });
  const done = new Promise<ClientsResult>((resolve, reject) =>
    child.once('exit', (c) =>
      c === 0 ? resolve(JSON.parse(out.trim().split('\n').pop() as string) as ClientsResult) : reject(new Error(`feed clients failed: ${err}`)),
    ),
  );
  /** `depth`: the clients follow depth-limited books, which must reach the REST book's best `depth` levels a side. */
  const stop = (target: { seq: number; checksum: number; bids?: [string, string][]; asks?: [string, string][] }, depth?: number) =>
    child.stdin?.write(
      `${JSON.stringify({ seq: target.seq, checksum: target.checksum, ...(depth ? { top: { bids: target.bids?.slice(0, depth), asks: target.asks?.slice(0, depth) } } : {}) })}\n`,
    );
  return { child, pid: child.pid, ready, done, stop };
}
