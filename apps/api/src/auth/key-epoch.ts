import { randomUUID } from 'node:crypto';
import { AppError } from '@ate/contracts';
import type Redis from 'ioredis';

/**
 * The key-cache epoch: a token that changes whenever a key is revoked or issued. Every cached key lookup is
 * tagged with the epoch read before its database read, and is used only while the epoch is still the same, so a
 * revocation takes effect for every request that starts after it was acknowledged: in this process (memory) or
 * on every api node (Redis: one GET per signed request). A random token rather than a counter, so a Redis that
 * lost its keys cannot bring an old epoch back.
 */
export abstract class KeyEpoch {
  abstract current(): Promise<string>;
  /** Called after the database change it announces has committed. */
  abstract advance(): Promise<void>;
}

export class MemoryKeyEpoch extends KeyEpoch {
  private n = 0;
  async current(): Promise<string> {
    return String(this.n);
  }
  async advance(): Promise<void> {
    this.n++;
  }
}

export class RedisKeyEpoch extends KeyEpoch {
  private readonly key: string;
  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    super();
    this.key = `${prefix}:auth:key-epoch`;
  }

  async current(): Promise<string> {
    try {
      return (await this.redis.get(this.key)) ?? 'none';
    } catch {
      // fail closed: without the epoch a cached key might be one revoked on another node
      throw new AppError('SERVICE_UNAVAILABLE', 'API keys cannot be checked right now (Redis unavailable); nothing was done.');
    }
  }

  async advance(): Promise<void> {
    try {
      await this.redis.set(this.key, randomUUID());
    } catch {
      throw new AppError(
        'SERVICE_UNAVAILABLE',
        'The key change is saved but other api nodes could not be told (Redis unavailable); repeat the request.',
      );
    }
  }
}
