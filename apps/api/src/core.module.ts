import { DynamicModule, Global, Module } from '@nestjs/common';
import type { AppConfig } from './config/config';
import { EngineLink } from './engine/engine-link';
import { InProcessEngine } from './engine/engine.service';
import { RedisEngine } from './engine/redis-engine.service';
import { LedgerService } from './ledger/ledger.service';

/**
 * What every feature module composes: the link to the engine (hosted in this process, the single-node default, or
 * on an engine node reached over Redis) and the door to the ledger.
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      providers: [LedgerService, { provide: EngineLink, useClass: config.ENGINE_MODE === 'redis' ? RedisEngine : InProcessEngine }],
      exports: [LedgerService, EngineLink],
    };
  }
}
