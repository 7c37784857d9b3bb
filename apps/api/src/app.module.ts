import { DynamicModule, Module, Type } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AdminController } from './admin/admin.controller';
import { AdminService } from './admin/admin.service';
import { ReconciliationService } from './admin/reconciliation.service';
import { AdminLedgerController } from './admin/admin-ledger.controller';
import { AccountController } from './account/account.controller';
import { LedgerService } from './ledger/ledger.service';
import { AdminMarketsController } from './admin/admin-markets.controller';
import { MarketsController } from './trading/markets.controller';
import { OrdersController } from './trading/orders.controller';
import { TradingService } from './trading/trading.service';
import { DeadmanService } from './trading/deadman.service';
import { AuthModule } from './auth/auth.module';
import { AllErrorsFilter } from './common/error-filter';
import { AppConfig } from './config/config';
import { AppConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { EngineLink } from './engine/engine-link';
import { InProcessEngine } from './engine/engine.service';
import { RedisEngine } from './engine/redis-engine.service';
import { HealthController } from './health/health.controller';
import { HealthService } from './health/health.service';
import { RedisModule } from './redis/redis.module';
import { IpLimitGuard, KeyLimitGuard, OrderLimitGuard } from './rate-limit/rate-limit';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { SignatureGuard } from './auth/signature.guard';
import { TimeController } from './time/time.controller';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsService } from './metrics/metrics.service';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, extraModules: Type<unknown>[] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        LoggerModule.forRoot({
          // No per-request middleware: the access log is a Fastify onResponse hook (bootstrap.ts). pino-http as Nest
          // middleware (through @fastify/middie, a child logger and async context per request) cost ~15% of the
          // api's CPU on the order path.
          forRoutes: [],
          pinoHttp: { level: config.LOG_LEVEL, base: { app: 'api' } },
        }),
        RedisModule,
        DatabaseModule,
        AuthModule,
        RateLimitModule,
        ...extraModules,
      ],
      controllers: [HealthController, TimeController, AdminController, AdminLedgerController, AdminMarketsController, AccountController, MarketsController, OrdersController, MetricsController],
      providers: [
        HealthService,
        AdminService,
        LedgerService,
        TradingService,
        DeadmanService,
        ReconciliationService,
        MetricsService,
        // the engine in this process (single-node default) or on an engine node reached over Redis
        { provide: EngineLink, useClass: config.ENGINE_MODE === 'redis' ? RedisEngine : InProcessEngine },
        { provide: APP_FILTER, useClass: AllErrorsFilter },
        // Guards run in this order: address limit, signature (and role), key limit, order rate (order routes only).
        { provide: APP_GUARD, useClass: IpLimitGuard },
        { provide: APP_GUARD, useClass: SignatureGuard },
        { provide: APP_GUARD, useClass: KeyLimitGuard },
        { provide: APP_GUARD, useClass: OrderLimitGuard },
      ],
      exports: [EngineLink, MetricsService],
    };
  }
}
