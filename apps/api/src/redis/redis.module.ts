import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';

/** The api's Redis connection when REDIS_URL is set; `client` is null on the single-node default. */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client: Redis | null;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.client = config.REDIS_URL ? new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3, enableOfflineQueue: true }) : null;
    this.client?.on('error', () => undefined); // reconnects by itself; requests that need it fail with their own error
  }

  onApplicationShutdown(): void {
    this.client?.disconnect();
  }
}

@Global()
@Module({ providers: [RedisService], exports: [RedisService] })
export class RedisModule {}
