import { AppError } from '@ate/contracts';
import type Redis from 'ioredis';

/**
 * Remembers signatures for as long as their timestamp is inside the receive window, so a captured request
 * cannot be sent again. In memory on a single node; in Redis when api nodes share the work.
 */
export abstract class ReplayCache {
  /** True the first time a signature is seen; false on a replay. */
  abstract firstUse(signature: string, ttlMs: number): Promise<boolean>;
  close(): void {
    /* nothing by default */
  }
}

/** Most signatures the in-memory cache holds before it refuses new ones (bounds memory under a flood). */
export const REPLAY_CACHE_MAX = 1_000_000;

export class MemoryReplayCache extends ReplayCache {
  private readonly seen = new Map<string, number>();
  private readonly sweep: NodeJS.Timeout;

  constructor() {
    super();
    this.sweep = setInterval(() => {
      const now = Date.now();
      for (const [sig, until] of this.seen) if (until <= now) this.seen.delete(sig);
    }, 1000);
    this.sweep.unref();
  }

  async firstUse(signature: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const until = this.seen.get(signature);
    if (until !== undefined && until > now) return false;
    if (this.seen.size >= REPLAY_CACHE_MAX) throw new AppError('SERVICE_UNAVAILABLE', 'Too many signed requests in flight to check them for replays; try again shortly.');
    this.seen.set(signature, now + ttlMs);
    return true;
  }

  override close(): void {
    clearInterval(this.sweep);
  }
}

export class RedisReplayCache extends ReplayCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    super();
  }

  async firstUse(signature: string, ttlMs: number): Promise<boolean> {
    try {
      return (await this.redis.set(`${this.prefix}:sig:${signature}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
    } catch {
      // fail closed: a signature that cannot be checked for replay is not accepted
      throw new AppError('SERVICE_UNAVAILABLE', 'Signatures cannot be checked for replays right now (Redis unavailable); nothing was done.');
    }
  }
}
