import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import {
  AgreementReport,
  HostCommand,
  HostCommandOf,
  HostResult,
  MarketSnapshot,
  PlacementVerdict,
  RedisEngineClient,
  RestingOrder,
} from '@ate/sequencer';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { RedisService } from '../redis/redis.module';
import { EngineLink, EngineLinkStatus } from './engine-link';

/**
 * The engine on a standalone engine node, reached over Redis (ENGINE_MODE=redis): commands go on the command
 * stream and are answered after the engine committed them; market state and books come from the cache the
 * engine's publications keep. A command the engine did not start before ENGINE_COMMAND_DEADLINE_MS is not
 * executed (503, nothing was done); one not answered within ENGINE_REPLY_TIMEOUT_MS is 503 with the outcome
 * unknown (the client looks the order up by its clientOrderId). See libs/sequencer/src/lib/redis-engine-client.ts.
 */
@Injectable()
export class RedisEngine extends EngineLink implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly client: RedisEngineClient;
  private readonly logger = new Logger('Engine');

  constructor(@Inject(APP_CONFIG) config: AppConfig, redis: RedisService) {
    super();
    if (!redis.client) throw new Error('ENGINE_MODE=redis needs REDIS_URL');
    this.client = new RedisEngineClient(redis.client, {
      prefix: config.REDIS_PREFIX,
      deadlineMs: config.ENGINE_COMMAND_DEADLINE_MS,
      timeoutMs: config.ENGINE_REPLY_TIMEOUT_MS,
      log: { error: (m) => this.logger.error(m) },
    });
  }

  async onModuleInit(): Promise<void> {
    await this.client.start();
    const s = await this.client.status();
    this.logger.log(
      `engine over Redis (api node ${this.client.nodeId}): ${s.attached ? `engine node ${s.nodeId} serves` : 'no engine node serves yet'}`,
    );
  }

  /** Requests in flight get their replies (or their timeouts) before the connections close. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.client.drain();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.stop();
  }

  submit(cmd: HostCommand): Promise<HostResult> {
    return this.client.submit(cmd);
  }

  test(cmd: HostCommandOf<'place'>): Promise<PlacementVerdict> {
    return this.client.test(cmd);
  }

  market(marketId: string): Promise<MarketSnapshot | undefined> {
    return this.client.market(marketId);
  }

  restingOrder(marketId: string, orderId: number): Promise<RestingOrder | null> {
    return this.client.restingOrder(marketId, orderId);
  }

  reserved(agentId: string): Promise<Map<string, bigint>> {
    return this.client.reserved(agentId);
  }

  ensureAsset(code: string): Promise<void> {
    return this.client.ensureAsset(code);
  }

  reload(): Promise<void> {
    return this.client.reload();
  }

  agreement(): Promise<AgreementReport> {
    return this.client.agreement();
  }

  async status(): Promise<EngineLinkStatus> {
    const s = await this.client.status().catch(() => ({ attached: false }));
    return { attached: s.attached, mode: 'redis' };
  }
}
