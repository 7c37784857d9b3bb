import type { Queue, Worker } from 'bullmq';
import type Redis from 'ioredis';

/** How long shutting down waits for a BullMQ worker and queue to close before it drops their connections. */
export const BULL_CLOSE_MS = 3_000;

/**
 * Closes a BullMQ worker and queue, then their Redis connection, within BULL_CLOSE_MS. With Redis away, close()
 * waits on a connection that never comes back; shutdown must not (SIGTERM, a test's app.close()), and nothing is
 * lost by not waiting: a job a worker held is stalled and picked up again by the next worker.
 */
export async function closeBull(
  worker: Worker | undefined,
  queue: Queue | undefined,
  connection: Redis | undefined,
  ms = BULL_CLOSE_MS,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const closing = (async () => {
    await worker?.close();
    await queue?.close();
  })().catch(() => undefined);
  await Promise.race([closing, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
  // a close that timed out leaves the worker's own blocking connection trying to reconnect: end it too
  void worker?.disconnect().catch(() => undefined);
  void queue?.disconnect().catch(() => undefined);
  connection?.disconnect();
}
