import { AppError, AUTH_RECV_WINDOW_MS } from '@ate/contracts';
import type Redis from 'ioredis';

/**
 * How long past the end of its receive window a signature is still remembered: covers clocks of api nodes that
 * disagree by up to this much (each node checks the window on its own clock). Keep node clocks in sync (NTP).
 */
export const REPLAY_MARGIN_MS = AUTH_RECV_WINDOW_MS;

/**
 * How long to remember a signature with timestamp `ts`, accepted at `now` (the time the window was checked
 * against): until the end of its window, `ts + AUTH_RECV_WINDOW_MS`, plus the margin.
 */
export function replayTtlMs(ts: number, now: number): number {
  return Math.max(1, ts + AUTH_RECV_WINDOW_MS + REPLAY_MARGIN_MS - now);
}

/**
 * Remembers signatures for as long as their timestamp is inside the receive window (plus a margin), so a captured
 * request cannot be sent again. In memory on a single node; in Redis when api nodes share the work.
 */
export abstract class ReplayCache {
  /** True the first time a signature is seen; false on a replay. `now` is the time the window was checked at. */
  abstract firstUse(signature: string, keyId: string, ttlMs: number, now: number): Promise<boolean>;
  close(): void {
    /* nothing by default */
  }
}

/** Most signatures the in-memory cache holds before it refuses new ones (bounds memory under a flood). */
export const REPLAY_CACHE_MAX = 1_000_000;

/**
 * In memory, bounded twice: per key (`maxPerKey`, set above what the key's rate limit lets it sign in a TTL, so a
 * key within its limit never meets it and one key cannot fill the cache for all), and in all (`max`).
 */
export class MemoryReplayCache extends ReplayCache {
  private readonly seen = new Map<string, { until: number; keyId: string }>();
  private readonly perKey = new Map<string, number>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly maxPerKey: number,
    private readonly max = REPLAY_CACHE_MAX,
  ) {
    super();
    this.sweep = setInterval(() => this.forgetEnded(Date.now()), 1000);
    this.sweep.unref();
  }

  async firstUse(signature: string, keyId: string, ttlMs: number, now: number): Promise<boolean> {
    const seen = this.seen.get(signature);
    if (seen !== undefined && seen.until > Date.now()) return false;
    const held = this.perKey.get(keyId) ?? 0;
    if (held >= this.maxPerKey) {
      throw new AppError('RATE_LIMITED', 'This key has too many signed requests in flight to check them for replays; slow down.', {
        limit: 'signatures_per_key',
        max: this.maxPerKey,
      });
    }
    if (this.seen.size >= this.max)
      throw new AppError('SERVICE_UNAVAILABLE', 'Too many signed requests in flight to check them for replays; try again shortly.');
    if (seen !== undefined) this.release(seen.keyId);
    this.seen.set(signature, { until: now + ttlMs, keyId });
    this.perKey.set(keyId, held + 1);
    return true;
  }

  /** Drops the signatures whose time has passed (every second; tests call it with a time of their choosing). */
  forgetEnded(now: number): void {
    for (const [sig, s] of this.seen) {
      if (s.until <= now) {
        this.seen.delete(sig);
        this.release(s.keyId);
      }
    }
  }

  private release(keyId: string): void {
    const n = (this.perKey.get(keyId) ?? 1) - 1;
    if (n <= 0) this.perKey.delete(keyId);
    else this.perKey.set(keyId, n);
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

  async firstUse(signature: string, _keyId: string, ttlMs: number): Promise<boolean> {
    try {
      return (await this.redis.set(`${this.prefix}:sig:${signature}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
    } catch {
      // fail closed: a signature that cannot be checked for replay is not accepted
      throw new AppError('SERVICE_UNAVAILABLE', 'Signatures cannot be checked for replays right now (Redis unavailable); nothing was done.');
    }
  }
}
