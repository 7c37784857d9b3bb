import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { AppError } from '@ate/contracts';
import type Redis from 'ioredis';
import type { AgreementReport } from './agreement';
import type { PlacementVerdict } from './handlers';
import type { HostCommand, HostCommandOf, HostResult } from './host-types';
import { EngineNodeStatus, readEngineStatus } from './engine-lease';
import type { MarketSnapshot, RestingOrder } from './host-views';
import { EngineRedisKeys, engineRedisKeys } from './redis-keys';
import { decodeWire, encodeWire, EngineAnswers, EngineOp, EngineRequest, WireCommand, WireReply } from './wire';

/** Replies taken per LPOP after a BLPOP woke up. */
const REPLIES_PER_POP = 1_000;
/** The command stream keeps about this many entries (XADD MAXLEN ~): far more than an engine has in flight. */
export const ENGINE_STREAM_MAXLEN = 100_000;
/** How often an api node re-reads whether an engine node serves (and refreshes its market cache when one appears), ms. */
export const ENGINE_STATUS_POLL_MS = 1_000;

export interface RedisEngineClientOptions {
  prefix: string;
  /** ms after queuing by which the engine must have started a command; later, it is not executed */
  deadlineMs: number;
  /** ms the api waits for a reply before answering "outcome unknown"; longer than deadlineMs */
  timeoutMs: number;
  /** names this api node's reply list; default: host name, pid and a random suffix */
  nodeId?: string;
  log?: { error(msg: string): void };
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  timer: NodeJS.Timeout;
}

/**
 * The api side of the Redis transport. Each request is one XADD on the command stream carrying a request id,
 * this node's reply list and a ttl (the deadline, counted from the entry's Redis timestamp); replies come back
 * on the reply list (one BLPOP loop per api node) and settle the pending promise with that id. A request not
 * answered within `timeoutMs` fails with SERVICE_UNAVAILABLE, outcome unknown. Market state and committed books
 * are read from a local cache kept by the engine's pub/sub channel, refreshed from the Redis hash when a reply
 * showed a newer committed sequence than the cache holds (read-your-writes).
 */
export class RedisEngineClient {
  readonly keys: EngineRedisKeys;
  readonly nodeId: string;
  private readonly replyKey: string;
  private readonly popper: Redis;
  private readonly subscriber: Redis;
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;
  private stopped = false;
  private replyLoop: Promise<void> | undefined;
  private readonly snapshots = new Map<string, MarketSnapshot>();
  /** the least committed sequence a reader must see per market (from replies) */
  private readonly minSeq = new Map<string, number>();
  private attached = false;
  private statusTimer: NodeJS.Timeout | undefined;
  private drained: (() => void)[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly opts: RedisEngineClientOptions,
  ) {
    if (!(opts.timeoutMs > opts.deadlineMs)) throw new Error('the reply timeout must be longer than the command deadline');
    this.keys = engineRedisKeys(opts.prefix);
    this.nodeId = opts.nodeId ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.replyKey = this.keys.reply(this.nodeId);
    this.popper = redis.duplicate();
    this.subscriber = redis.duplicate();
    for (const c of [this.popper, this.subscriber]) c.on('error', () => undefined); // they reconnect by themselves
  }

  async start(): Promise<void> {
    this.subscriber.on('message', (_channel: string, message: string) => this.cache(message));
    // after a reconnect the channel may have missed changes: read the hash again
    this.subscriber.on('ready', () => void this.refreshAll().catch(() => undefined));
    await this.subscriber.subscribe(this.keys.marketsChannel);
    await this.refreshAll();
    await this.status();
    this.statusTimer = setInterval(() => void this.status().catch(() => undefined), ENGINE_STATUS_POLL_MS);
    this.statusTimer.unref();
    this.replyLoop = this.popReplies();
  }

  /** Resolves when no request waits for a reply any more (each ends by its reply or its timeout). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await new Promise<void>((r) => this.drained.push(r));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.statusTimer);
    this.popper.disconnect();
    this.subscriber.disconnect();
    await this.replyLoop;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(this.unknownOutcome('The api is shutting down'));
      this.pending.delete(id);
    }
  }

  /** Whether an engine node serves now (its lease and heartbeat); also what fast refusals go by between polls. */
  async status(): Promise<EngineNodeStatus> {
    const s = await readEngineStatus(this.redis, this.keys);
    if (s.attached && !this.attached) await this.refreshAll().catch(() => undefined); // a (re)started engine published anew
    this.attached = s.attached;
    return s;
  }

  submit(cmd: HostCommand): Promise<HostResult> {
    return this.request({ op: 'submit', cmd });
  }

  /** What placing this order would answer now, without placing it. */
  test(cmd: HostCommandOf<'place'>): Promise<PlacementVerdict> {
    return this.request({ op: 'test', cmd });
  }

  restingOrder(marketId: string, orderId: number): Promise<RestingOrder | null> {
    return this.request({ op: 'resting', marketId, orderId });
  }

  async reserved(agentId: string): Promise<Map<string, bigint>> {
    return new Map(await this.request({ op: 'reserved', agentId }));
  }

  async ensureAsset(code: string): Promise<void> {
    await this.request({ op: 'ensure_asset', code });
    await this.refreshAll();
  }

  agreement(): Promise<AgreementReport> {
    return this.request({ op: 'agreement' });
  }

  async reload(): Promise<void> {
    await this.request({ op: 'reload' });
    await this.refreshAll(); // a new market is served by the time this answers
  }

  /** The market's state and committed book (local cache), or undefined for a market no engine has published. */
  async market(marketId: string): Promise<MarketSnapshot | undefined> {
    const cached = this.snapshots.get(marketId);
    if (cached && cached.seq >= (this.minSeq.get(marketId) ?? 0)) return cached;
    const json = await this.redis.hget(this.keys.markets, marketId);
    if (json) this.cache(json);
    return this.snapshots.get(marketId);
  }

  request<O extends EngineOp>(req: Extract<EngineRequest, { op: O }>): Promise<EngineAnswers[O]> {
    if (this.stopped)
      return Promise.reject(new AppError('SERVICE_UNAVAILABLE', 'The api is shutting down; nothing was done.', { outcome: 'not_executed' }));
    if (!this.attached)
      return Promise.reject(new AppError('SERVICE_UNAVAILABLE', 'No engine node is attached; nothing was done.', { outcome: 'not_executed' }));
    const id = String(++this.nextId);
    const wire: WireCommand = { id, reply: this.replyKey, ttl: this.opts.deadlineMs, req };
    return new Promise<EngineAnswers[O]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(id);
        reject(this.unknownOutcome(`The engine did not answer within ${this.opts.timeoutMs} ms`));
      }, this.opts.timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.redis.xadd(this.keys.stream, 'MAXLEN', '~', ENGINE_STREAM_MAXLEN, '*', 'c', encodeWire(wire)).catch((e: Error) => {
        if (!this.settle(id)) return;
        reject(this.unknownOutcome(`The command could not be queued (${e.message})`));
      });
    });
  }

  private unknownOutcome(why: string): AppError {
    return new AppError(
      'SERVICE_UNAVAILABLE',
      `${why}; the outcome is unknown: look it up (an order by its clientOrderId) before sending it again.`,
      { outcome: 'unknown' },
    );
  }

  /** Forgets a pending request; false if it was settled already. */
  private settle(id: string): boolean {
    const p = this.pending.get(id);
    if (!p) return false;
    clearTimeout(p.timer);
    this.pending.delete(id);
    if (this.pending.size === 0) this.drained.splice(0).forEach((f) => f());
    return true;
  }

  private async popReplies(): Promise<void> {
    while (!this.stopped) {
      try {
        const first = await this.popper.blpop(this.replyKey, 1);
        if (!first) continue;
        const more = (await this.popper.lpop(this.replyKey, REPLIES_PER_POP)) ?? [];
        for (const text of [first[1], ...more]) this.onReply(text);
      } catch (e) {
        if (this.stopped) return;
        this.opts.log?.error(`reading engine replies: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  private onReply(text: string): void {
    let r: WireReply;
    try {
      r = decodeWire<WireReply>(text);
    } catch {
      this.opts.log?.error('an engine reply is not JSON: dropped');
      return;
    }
    const p = this.pending.get(r.id);
    if (!p || !this.settle(r.id)) return; // answered after its timeout: the caller was told "outcome unknown"
    if (r.ok) {
      for (const [m, seq] of Object.entries(r.seqs ?? {})) if (seq > (this.minSeq.get(m) ?? 0)) this.minSeq.set(m, seq);
      p.resolve(r.value);
    } else {
      p.reject(new AppError(r.error.code, r.error.message, r.error.details));
    }
  }

  private cache(json: string): void {
    let s: MarketSnapshot;
    try {
      s = decodeWire<MarketSnapshot>(json);
    } catch {
      return;
    }
    const cur = this.snapshots.get(s.marketId);
    if (!cur || s.seq >= cur.seq) this.snapshots.set(s.marketId, s);
  }

  private async refreshAll(): Promise<void> {
    const all = await this.redis.hgetall(this.keys.markets);
    for (const json of Object.values(all)) this.cache(json);
  }
}
