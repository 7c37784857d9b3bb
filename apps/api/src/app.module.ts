import { DynamicModule, Module, Type } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AllErrorsFilter } from './common/error-filter';
import { AppConfig } from './config/config';
import { AppConfigModule } from './config/config.module';
import { DatabaseService } from './database/database.service';
import { EngineLink } from './engine/engine-link';
import { InProcessEngineLink } from './engine/in-process-engine-link';
import { HealthController } from './health/health.controller';
import { HealthService } from './health/health.service';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, extraModules: Type<unknown>[] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.LOG_LEVEL,
            // Fastify assigns the id (from x-request-id when the client sends a sane one); logs carry the same id.
            genReqId: (req) => (req as { id?: string }).id ?? '',
            customProps: () => ({ app: 'api' }),
            redact: ['req.headers.authorization', 'req.headers["x-ate-signature"]', 'req.headers.cookie'],
            autoLogging: { ignore: (req) => req.url === '/health' },
          },
        }),
        ...extraModules,
      ],
      controllers: [HealthController],
      providers: [
        DatabaseService,
        HealthService,
        { provide: EngineLink, useClass: InProcessEngineLink },
        { provide: APP_FILTER, useClass: AllErrorsFilter },
      ],
      exports: [DatabaseService, EngineLink],
    };
  }
}
