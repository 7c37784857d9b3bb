import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { RedisService } from '../redis/redis.module';
import { MemoryThrottlerStorage } from './memory-storage';
import {
  budgetKey,
  isOrderRoute,
  isPublicRoute,
  THROTTLE_IP,
  THROTTLE_KEY,
  THROTTLE_ORDERS,
  THROTTLE_PUBLIC,
  trackByAgent,
  trackByIp,
  trackByKey,
} from './rate-limit';

/** Counters live in Redis when REDIS_URL is set (limits hold across api nodes), in memory otherwise. */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG, RedisService],
      useFactory: (config: AppConfig, redis: RedisService) => ({
        throttlers: [
          {
            name: THROTTLE_IP,
            ttl: config.RATE_LIMIT_WINDOW_MS,
            limit: config.RATE_LIMIT_PER_ADDRESS,
            getTracker: trackByIp,
            generateKey: budgetKey(config.REDIS_PREFIX),
          },
          // public routes are unsigned: they draw on their own limit, not on a per-key budget shared by address
          {
            name: THROTTLE_KEY,
            ttl: config.RATE_LIMIT_WINDOW_MS,
            limit: config.RATE_LIMIT_PER_KEY,
            getTracker: trackByKey,
            generateKey: budgetKey(config.REDIS_PREFIX),
            skipIf: isPublicRoute,
          },
          {
            name: THROTTLE_PUBLIC,
            ttl: config.RATE_LIMIT_WINDOW_MS,
            limit: config.RATE_LIMIT_PUBLIC_PER_ADDRESS,
            getTracker: trackByIp,
            generateKey: budgetKey(config.REDIS_PREFIX),
            skipIf: (ctx) => !isPublicRoute(ctx),
          },
          {
            name: THROTTLE_ORDERS,
            ttl: config.ORDER_RATE_WINDOW_MS,
            limit: config.ORDER_RATE_PER_AGENT,
            getTracker: trackByAgent,
            generateKey: budgetKey(config.REDIS_PREFIX),
            skipIf: (ctx) => !isOrderRoute(ctx),
          },
        ],
        storage: redis.client ? new ThrottlerStorageRedisService(redis.client) : new MemoryThrottlerStorage(),
      }),
    }),
  ],
  exports: [ThrottlerModule],
})
export class RateLimitModule {}
