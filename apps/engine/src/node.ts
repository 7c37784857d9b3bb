import { hostname } from 'node:os';
import { pendingMigrations } from '@ate/db';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { EngineConfig, heartbeatKey } from './config';

export interface EngineNodeLog {
  info(msg: string): void;
  error(msg: string): void;
}

/**
 * A standalone engine node: it refuses to serve on a database whose migrations are not all applied, then
 * announces itself in Redis with an expiring heartbeat that api nodes read to know an engine is attached.
 * The trading issue adds market ownership (leases) and the command stream on this same node.
 */
export class EngineNode {
  readonly nodeId: string;
  private readonly pool: Pool;
  private readonly redis: Redis;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: EngineConfig,
    private readonly log: EngineNodeLog,
  ) {
    this.nodeId = config.ENGINE_NODE_ID ?? `${hostname()}-${process.pid}`;
    this.pool = new Pool({ connectionString: config.DATABASE_URL, max: 2 });
    this.pool.on('error', (e) => log.error(`idle database connection lost: ${e.message}`));
    this.redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 3 });
    this.redis.on('error', (e) => log.error(`redis: ${e.message}`));
  }

  async start(): Promise<void> {
    const pending = await pendingMigrations((sql) => this.pool.query(sql));
    if (pending.length > 0) {
      throw new Error(`database has ${pending.length} migration(s) pending (${pending.join(', ')}): run npm run db:migrate`);
    }
    await this.redis.connect();
    await this.beat();
    this.timer = setInterval(() => void this.beat().catch((e: Error) => this.log.error(`heartbeat: ${e.message}`)), this.config.ENGINE_HEARTBEAT_MS);
    this.log.info(`engine node ${this.nodeId} attached`);
  }

  private async beat(): Promise<void> {
    const status = JSON.stringify({ nodeId: this.nodeId, pid: process.pid, at: Date.now() });
    await this.redis.set(heartbeatKey(this.nodeId), status, 'PX', this.config.ENGINE_HEARTBEAT_MS * 3);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.del(heartbeatKey(this.nodeId)).catch(() => undefined);
    this.redis.disconnect();
    await this.pool.end();
    this.log.info(`engine node ${this.nodeId} stopped`);
  }
}
