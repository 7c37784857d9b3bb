import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AppConfig, loadConfig } from './config';

/** Injection token of the validated, resolved configuration (DATABASE_URL filled in when embedded). */
export const APP_CONFIG = Symbol('APP_CONFIG');

@Global()
@Module({})
export class AppConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppConfigModule,
      imports: [
        // @nestjs/config validates the same schema; ConfigService reads the resolved values.
        ConfigModule.forRoot({ ignoreEnvFile: true, validate: () => loadConfig({ ...process.env, ...stringify(config) }), load: [() => config] }),
      ],
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG, ConfigModule],
    };
  }
}

function stringify(config: AppConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) if (v !== undefined) out[k] = String(v);
  return out;
}
