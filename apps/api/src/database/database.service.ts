import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createPrismaClient, PrismaClient, pendingMigrations } from '@ate/db';
import { Pool } from 'pg';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';

/** The api's connections to Postgres: a pg pool for raw SQL and the typed Prisma client. Closed on shutdown. */
@Injectable()
export class DatabaseService implements OnApplicationShutdown {
  private readonly logger = new Logger(DatabaseService.name);
  readonly pool: Pool;
  readonly prisma: PrismaClient;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    if (!config.DATABASE_URL) throw new Error('DATABASE_URL must be resolved before the api module starts');
    this.pool = new Pool({ connectionString: config.DATABASE_URL, max: config.DB_POOL_MAX });
    // An idle connection dropped by the server (restart, failover) is an event to log, not a crash:
    // the pool replaces it on next use, and /ready reports the database while it is away.
    this.pool.on('error', (err) => this.logger.warn(`idle database connection lost: ${err.message}`));
    // A connection that drops while checked out (a batch in flight) fails its query, which the caller handles (the
    // engine answers 503 and rebuilds from the log); its 'error' event would otherwise crash the process.
    this.pool.on('connect', (client) => client.on('error', () => undefined));
    this.prisma = createPrismaClient(config.DATABASE_URL, { max: 2 });
  }

  /** Round trip to the database within `timeoutMs`; false when unreachable. */
  async ping(timeoutMs = 1000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([this.pool.query('SELECT 1'), new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('timeout')), timeoutMs)))]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  pendingMigrations(): Promise<string[]> {
    return pendingMigrations((sql) => this.pool.query(sql));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.prisma.$disconnect();
    await this.pool.end();
  }
}
