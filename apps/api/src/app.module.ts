import { DynamicModule, Module, Type } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AccountController } from './account/account.controller';
import { AccountService } from './account/account.service';
import { AdminModule } from './admin/admin.module';
import { AuctionsModule } from './auctions/auctions.module';
import { FeedModule } from './feed/feed.module';
import { AuditModule } from './audit/audit.module';
import { AdminListsModule } from './admin-lists/admin-lists.module';
import { RedemptionsModule } from './redemptions/redemptions.module';
import { CoreModule } from './core.module';
import { TradingModule } from './trading/trading.module';
import { PrincipalModule } from './principal/principal.module';
import { AuthModule } from './auth/auth.module';
import { AllErrorsFilter } from './common/error-filter';
import { AppConfig } from './config/config';
import { AppConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { HealthController } from './health/health.controller';
import { HealthService } from './health/health.service';
import { RedisModule } from './redis/redis.module';
import { IpLimitGuard, KeyLimitGuard, OrderLimitGuard, PublicLimitGuard } from './rate-limit/rate-limit';
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
        CoreModule.forRoot(config),
        TradingModule,
        AdminModule,
        AuctionsModule,
        PrincipalModule,
        FeedModule,
        AuditModule,
        AdminListsModule,
        RedemptionsModule,
        ...extraModules,
      ],
      controllers: [HealthController, TimeController, AccountController, MetricsController],
      providers: [
        HealthService,
        AccountService,
        MetricsService,
        { provide: APP_FILTER, useClass: AllErrorsFilter },
        // Guards run in this order: address limit, public-route limit (public routes only), signature (and role),
        // key limit (signed routes only), order rate (order routes only).
        { provide: APP_GUARD, useClass: IpLimitGuard },
        { provide: APP_GUARD, useClass: PublicLimitGuard },
        { provide: APP_GUARD, useClass: SignatureGuard },
        { provide: APP_GUARD, useClass: KeyLimitGuard },
        { provide: APP_GUARD, useClass: OrderLimitGuard },
      ],
    };
  }
}
