import { resolve } from 'node:path';
import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { AUTH_RECV_WINDOW_MS } from '@ate/contracts';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { RedisService } from '../redis/redis.module';
import { AdminBootstrapService } from './admin-bootstrap.service';
import { ApiKeysService, KEY_VAULT } from './api-keys.service';
import { KeyEpoch, MemoryKeyEpoch, RedisKeyEpoch } from './key-epoch';
import { KeyVault } from './key-vault';
import { MemoryReplayCache, RedisReplayCache, REPLAY_MARGIN_MS, ReplayCache } from './replay-cache';

/**
 * Signatures one key may have in the in-memory replay cache: what its rate limit lets it sign while the longest
 * TTL runs (two windows plus the margin), and one more window's worth, so a key within its limit never meets it.
 */
export function replayBoundPerKey(config: AppConfig): number {
  const ttl = 2 * AUTH_RECV_WINDOW_MS + REPLAY_MARGIN_MS;
  return config.RATE_LIMIT_PER_KEY * (Math.ceil(ttl / config.RATE_LIMIT_WINDOW_MS) + 1);
}

@Global()
@Module({
  providers: [
    {
      provide: KEY_VAULT,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => KeyVault.load(config.MASTER_KEY, resolve(config.DATA_DIR, 'master.key')).vault,
    },
    {
      provide: ReplayCache,
      inject: [RedisService, APP_CONFIG],
      useFactory: (redis: RedisService, config: AppConfig) =>
        redis.client ? new RedisReplayCache(redis.client, config.REDIS_PREFIX) : new MemoryReplayCache(replayBoundPerKey(config)),
    },
    {
      provide: KeyEpoch,
      inject: [RedisService, APP_CONFIG],
      useFactory: (redis: RedisService, config: AppConfig) =>
        redis.client ? new RedisKeyEpoch(redis.client, config.REDIS_PREFIX) : new MemoryKeyEpoch(),
    },
    ApiKeysService,
    AdminBootstrapService,
  ],
  exports: [ApiKeysService, KEY_VAULT, ReplayCache, KeyEpoch],
})
export class AuthModule implements OnApplicationShutdown {
  constructor(@Inject(ReplayCache) private readonly replays: ReplayCache) {}

  onApplicationShutdown(): void {
    this.replays.close();
  }
}
