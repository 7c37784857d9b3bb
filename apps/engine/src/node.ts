import { hostname } from 'node:os';
import { redactUrl } from '@ate/contracts';
import { pendingMigrations } from '@ate/db';
import {
  EngineHost,
  EngineLease,
  engineRedisKeys,
  EngineRedisKeys,
  recoverySummary,
  RedisEngineServer,
  RedisEventPublisher,
  writeHeartbeat,
} from '@ate/sequencer';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { EngineConfig } from './config';

export interface EngineNodeLog {
  info(msg: string): void;
  error(msg: string): void;
}

/**
 * A standalone engine node: it refuses to serve on a database whose migrations are not all applied, takes the
 * market lease in Redis (waiting as a standby while another live node holds it), replays the command log into
 * an EngineHost (recovery), then consumes the command stream that api nodes write and answers on their reply
 * lists. Its heartbeat (and the lease, renewed with it) tells api nodes that an engine serves. A node that
 * loses its lease stops taking commands (`onLeaseLost`; the process exits).
 */
export class EngineNode {
  readonly nodeId: string;
  private readonly pool: Pool;
  private readonly redis: Redis;
  private readonly keys: EngineRedisKeys;
  private readonly lease: EngineLease;
  private host: EngineHost | undefined;
  private server: RedisEngineServer | undefined;
  private events: RedisEventPublisher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private serving = false;
  private stopping = false;
  /** the Redis client's last error (what a failed connect was refused with) */
  private redisError: Error | undefined;
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly config: EngineConfig,
    private readonly log: EngineNodeLog,
    private readonly onLeaseLost: () => void = () => undefined,
  ) {
    this.nodeId = config.ENGINE_NODE_ID ?? `${hostname()}-${process.pid}`;
    this.pool = new Pool({ connectionString: config.DATABASE_URL, max: config.ENGINE_DB_POOL_MAX });
    this.pool.on('error', (e) => log.error(`idle database connection lost: ${e.message}`));
    // a connection lost mid-batch fails the batch (answered, then rebuilt from the log); its 'error' event must not crash us
    this.pool.on('connect', (client) => client.on('error', () => undefined));
    this.redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 3 });
    this.redis.on('error', (e) => {
      this.redisError = e;
      log.error(`redis: ${e.message}`);
    });
    this.keys = engineRedisKeys(config.REDIS_PREFIX);
    this.lease = new EngineLease(this.redis, this.keys, this.nodeId, config.ENGINE_HEARTBEAT_MS * 3);
  }

  /** Resolves once the node serves: lease taken, log replayed, command stream consumed. */
  async start(): Promise<void> {
    const pending = await needs('the database', 'DATABASE_URL', this.config.DATABASE_URL, () => pendingMigrations((sql) => this.pool.query(sql)));
    if (pending.length > 0) {
      throw new Error(`database has ${pending.length} migration(s) pending (${pending.join(', ')}): run npm run db:migrate`);
    }
    // ioredis rejects a failed connect with "Connection is closed."; the reason came with its last 'error' event
    await needs('Redis', 'REDIS_URL', this.config.REDIS_URL, () => this.redis.connect().catch((e: Error) => Promise.reject(this.redisError ?? e)));
    await this.acquireLease();
    await this.beat(); // announced (not serving yet) and renewing the lease while the log replays
    this.timer = setInterval(() => void this.tick(), this.config.ENGINE_HEARTBEAT_MS);

    const trace = process.env['ENGINE_TRACE_BATCHES'] === '1'; // one stderr line per batch, for benchmarks
    this.host = new EngineHost(
      this.pool,
      (err) => this.log.error(`batch not committed, rebuilding from the log: ${err.message}`),
      (size, ms) => {
        if (trace) process.stderr.write(`batch ${size} ${ms.toFixed(1)}ms\n`);
        this.server?.batchCommitted();
      },
      { onSnapshotError: (err, phase) => this.log.error(`engine snapshot ${phase === 'write' ? 'not written' : 'not used'}: ${err.message}`) },
    );
    // the event outlet goes to the events stream; what committed after the last entry (a crash between COMMIT and
    // publishing) is published again by the recovery, so no committed event is lost and none comes out twice
    this.events = new RedisEventPublisher(this.redis, this.keys, this.log);
    const published = await this.events.lastSeq();
    const events = this.events;
    this.host.subscribe((b) => events.publish(b));
    const r = await this.host.load(published === null ? {} : { emitAfter: published });
    this.log.info(`engine recovered ${recoverySummary(r)}, markets: ${this.host.marketIds().join(', ') || 'none'}`);
    this.server = new RedisEngineServer(this.host, this.redis, { prefix: this.config.REDIS_PREFIX, consumer: this.nodeId, log: this.log });
    await this.server.start();
    this.serving = true;
    await this.beat();
    this.log.info(`engine node ${this.nodeId} serves the markets (lease ${this.keys.lease})`);
  }

  /** Waits while another node holds the lease; a node stopped meanwhile gives up. */
  private async acquireLease(): Promise<void> {
    let waiting = false;
    for (;;) {
      if (this.stopping) throw new Error('stopped before the lease was free');
      const owner = await this.lease.tryAcquire();
      if (owner === null) return;
      if (!waiting) this.log.info(`standby: the markets are owned by engine node ${owner}; waiting for its lease to end`);
      waiting = true;
      await new Promise((r) => setTimeout(r, this.config.ENGINE_HEARTBEAT_MS));
    }
  }

  private async tick(): Promise<void> {
    try {
      if (!(await this.lease.renew())) return this.lost('another node holds the lease');
      await this.beat();
      await this.server?.syncClock();
    } catch (e) {
      this.log.error(`heartbeat: ${(e as Error).message}`);
      if (!this.lease.held()) this.lost('the lease could not be renewed in time');
    }
  }

  private lost(why: string): void {
    if (this.stopping) return;
    this.log.error(`engine node ${this.nodeId} lost the market lease (${why}): it stops taking commands`);
    clearInterval(this.timer);
    this.onLeaseLost();
  }

  private async beat(): Promise<void> {
    await writeHeartbeat(
      this.redis,
      this.keys,
      { nodeId: this.nodeId, pid: process.pid, at: Date.now(), serving: this.serving },
      this.config.ENGINE_HEARTBEAT_MS * 3,
    );
  }

  /** Stops reading commands, answers and commits what was read, writes a checkpoint, gives up the lease. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    try {
      await this.server?.stop();
      await this.host?.stop();
      await this.events?.flush();
      this.serving = false;
      if (this.redis.status === 'ready') {
        await this.redis.del(this.keys.heartbeat(this.nodeId)).catch(() => undefined);
        await this.lease.release().catch(() => undefined);
      }
    } finally {
      this.redis.disconnect();
      await this.pool.end();
      this.log.info(`engine node ${this.nodeId} stopped`);
    }
  }
}

/**
 * Runs a start-up step that needs a service; its failure names the service, where it was looked for (without a
 * password) and the setting to change, e.g. `cannot use Redis at redis://127.0.0.1:6999: connect ECONNREFUSED
 * 127.0.0.1:6999: check REDIS_URL`.
 */
async function needs<T>(service: string, setting: string, url: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    // a connect to several addresses (localhost: ::1 and 127.0.0.1) fails with an AggregateError and no message
    // (checked by shape: errors made in another realm, e.g. a test's sandbox, are not `instanceof` this one's)
    const first = (e as { errors?: unknown[] } | null)?.errors?.[0] ?? e;
    const err = first as { message?: unknown; name?: unknown } | null;
    const cause = typeof err?.message === 'string' && err.message ? err.message : typeof err?.name === 'string' ? err.name : String(first);
    throw new Error(`cannot use ${service} at ${redactUrl(url) ?? '(a URL that does not parse)'}: ${cause}: check ${setting}`);
  }
}
