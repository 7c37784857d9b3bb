import type Redis from 'ioredis';
import type { EngineRedisKeys } from './redis-keys';

/**
 * One engine node owns the markets at a time: it holds `<p>:engine:lease` (SET NX PX), renews it with each
 * heartbeat, and serves only while it holds it. A node that finds the lease held waits (a standby) until it
 * expires or is released. The lease is not a fencing token: a deposed node that still writes is stopped by
 * Postgres, since engine_command's primary key (seq) makes its next batch collide with the new owner's
 * (that batch rolls back and the host rebuilds from the log).
 */
export class EngineLease {
  /** When the lease was last confirmed ours (ms, local clock); the lease is ours until this + ttlMs at most. */
  private confirmedAt = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: EngineRedisKeys,
    readonly nodeId: string,
    readonly ttlMs: number,
  ) {}

  /** Takes the lease if it is free (or already ours). Returns null when ours, else the node that holds it. */
  async tryAcquire(): Promise<string | null> {
    const t = Date.now();
    const ok = await this.redis.set(this.keys.lease, this.nodeId, 'PX', this.ttlMs, 'NX');
    if (ok === 'OK') {
      this.confirmedAt = t;
      return null;
    }
    const owner = await this.redis.get(this.keys.lease);
    if (owner === this.nodeId) return (await this.renew()) ? null : this.tryAcquire();
    return owner ?? (await this.tryAcquire());
  }

  /** Extends the lease if it is still ours; false when another node holds it or it lapsed. */
  async renew(): Promise<boolean> {
    const t = Date.now();
    const r = await this.redis.eval(
      `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`,
      1,
      this.keys.lease,
      this.nodeId,
      String(this.ttlMs),
    );
    if (r === 1) this.confirmedAt = t;
    return r === 1;
  }

  /** Whether the lease is certainly still ours (confirmed less than its ttl ago). */
  held(now = Date.now()): boolean {
    return now - this.confirmedAt < this.ttlMs;
  }

  /** Gives the lease up if it is ours (a clean stop: a standby takes over at once). */
  async release(): Promise<void> {
    this.confirmedAt = 0;
    await this.redis.eval(
      `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`,
      1,
      this.keys.lease,
      this.nodeId,
    );
  }
}

/** What a live engine node writes under its heartbeat key. */
export interface EngineHeartbeat {
  nodeId: string;
  pid: number;
  /** ms since the epoch, the node's clock */
  at: number;
  /** true once the node holds the lease, has replayed the log and consumes commands */
  serving: boolean;
}

export interface EngineNodeStatus {
  /** a node holds the lease and its heartbeat says it serves */
  attached: boolean;
  nodeId: string | null;
}

/** Whether an engine node serves the markets now: the lease's owner has a live heartbeat that says so. */
export async function readEngineStatus(redis: Redis, keys: EngineRedisKeys): Promise<EngineNodeStatus> {
  const owner = await redis.get(keys.lease);
  if (!owner) return { attached: false, nodeId: null };
  const hb = await redis.get(keys.heartbeat(owner));
  if (!hb) return { attached: false, nodeId: owner };
  try {
    return { attached: (JSON.parse(hb) as EngineHeartbeat).serving === true, nodeId: owner };
  } catch {
    return { attached: false, nodeId: owner };
  }
}

/** Announces an engine node; the key expires after `ttlMs` unless written again. */
export async function writeHeartbeat(redis: Redis, keys: EngineRedisKeys, hb: EngineHeartbeat, ttlMs: number): Promise<void> {
  await redis.set(keys.heartbeat(hb.nodeId), JSON.stringify(hb), 'PX', ttlMs);
}
