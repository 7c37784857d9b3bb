import { AppError } from '@ate/contracts';
import type Redis from 'ioredis';
import type { EngineHost } from './engine-host';
import type { HostCommand } from './host-types';
import { ensureHostAsset, marketSnapshot, MarketSnapshot, reloadHost, reservedByAsset } from './host-views';
import { EngineRedisKeys, engineRedisKeys } from './redis-keys';
import { EngineRequest, encodeWire, entryTime, parseWireCommand, WireCommand, WireError, WireReply } from './wire';

/** Stream entries taken per XREADGROUP: they are all submitted at once, so they share the host's batches. */
export const ENGINE_READ_COUNT = 500;
/** How long one XREADGROUP blocks when the stream is idle, ms: bounds how long a stop waits for the reader. */
export const ENGINE_READ_BLOCK_MS = 500;
/** Commands submitted and not yet answered before reading pauses (memory bound; the host batches 2,000). */
export const ENGINE_IN_FLIGHT_MAX = 10_000;
/** An api node's reply list expires this long after the last reply, ms (a node that died leaves nothing behind). */
export const ENGINE_REPLY_TTL_MS = 60_000;

export interface RedisEngineServerOptions {
  prefix: string;
  /** this engine node's id (its consumer name in the group) */
  consumer: string;
  readCount?: number;
  log?: { info(msg: string): void; error(msg: string): void };
}

const UNKNOWN_OUTCOME =
  'The engine restarted while this command was in flight; the outcome is unknown: look it up (an order by its clientOrderId) before sending it again.';

/**
 * The engine side of the Redis transport. Reads the command stream in a consumer group (many entries per
 * XREADGROUP, all submitted to the host without waiting for each, so they share batches), answers each on
 * its api node's reply list after the host answered it (after COMMIT), then XACKs it. A command whose
 * deadline passed before it was read is not executed: it is answered "not executed". Entries a previous
 * consumer read but never acknowledged (it was killed) are answered "outcome unknown" at start, never re-run.
 * After each committed batch, the state and committed book of every market that changed go to a Redis hash
 * and a pub/sub channel, before the replies of that batch: an api node that reads after its reply sees its write.
 */
export class RedisEngineServer {
  readonly keys: EngineRedisKeys;
  private readonly reader: Redis;
  private readonly readCount: number;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private inFlight = 0;
  private inFlightWaiters: (() => void)[] = [];
  private outbox: { entryId: string; reply: string | null; payload: string | null }[] = [];
  private flushScheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  private published = new Map<string, { seq: number; state: string }>();
  /** Redis clock minus this process's clock, ms (deadlines are in Redis time: the entry id's timestamp). */
  private clockOffset = 0;
  private readonly log: { info(msg: string): void; error(msg: string): void };

  constructor(
    private readonly host: EngineHost,
    private readonly redis: Redis,
    private readonly opts: RedisEngineServerOptions,
  ) {
    this.keys = engineRedisKeys(opts.prefix);
    this.reader = redis.duplicate();
    this.reader.on('error', () => undefined); // reconnects by itself; the read loop logs what fails
    this.readCount = opts.readCount ?? ENGINE_READ_COUNT;
    this.log = opts.log ?? { info: () => undefined, error: () => undefined };
  }

  /** Creates the group, publishes every market, answers what a previous consumer left unacknowledged, then reads. */
  async start(): Promise<void> {
    try {
      // from the start of the stream: commands queued while no engine ran are read (and expire by their deadline)
      await this.redis.call('XGROUP', 'CREATE', this.keys.stream, this.keys.group, '0', 'MKSTREAM');
    } catch (e) {
      if (!/BUSYGROUP/.test((e as Error).message)) throw e;
    }
    await this.syncClock();
    this.published.clear();
    await this.flush();
    const claimed = await this.claimAbandoned();
    if (claimed > 0) this.log.info(`${claimed} command(s) read by a previous engine and never answered: answered "outcome unknown"`);
    this.loop = this.readLoop();
  }

  /** Measures the Redis clock against ours (call now and then: the heartbeat does). */
  async syncClock(): Promise<void> {
    const t0 = Date.now();
    const [s, us] = (await this.redis.time()) as [string | number, string | number];
    const t1 = Date.now();
    this.clockOffset = Number(s) * 1000 + Math.floor(Number(us) / 1000) - (t0 + t1) / 2;
  }

  /** Called after each committed batch (EngineHost's onBatch): publishes what changed, e.g. after a GTD expiry tick. */
  batchCommitted(): void {
    this.scheduleFlush();
  }

  /** Stops reading, answers everything already read, and publishes the last state. The host is the caller's to stop. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
    while (this.inFlight > 0) await new Promise<void>((r) => this.inFlightWaiters.push(r));
    await this.flush();
    this.reader.disconnect();
  }

  private async readLoop(): Promise<void> {
    while (!this.stopping) {
      if (this.inFlight >= ENGINE_IN_FLIGHT_MAX) {
        await new Promise<void>((r) => this.inFlightWaiters.push(r));
        continue;
      }
      let res: unknown;
      try {
        res = await this.reader.call(
          'XREADGROUP',
          'GROUP',
          this.keys.group,
          this.opts.consumer,
          'COUNT',
          this.readCount,
          'BLOCK',
          ENGINE_READ_BLOCK_MS,
          'STREAMS',
          this.keys.stream,
          '>',
        );
      } catch (e) {
        if (this.stopping) break;
        this.log.error(`reading the command stream: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      for (const [entryId, fields] of streamEntries(res)) this.dispatch(entryId, fields);
    }
  }

  private dispatch(entryId: string, fields: string[] | null): void {
    const text = fieldValue(fields, 'c');
    const cmd = text === null ? null : parseWireCommand(text);
    if (!cmd) {
      this.log.error(`stream entry ${entryId} is not a command: acknowledged, not executed`);
      this.enqueue(entryId, null, null);
      return;
    }
    if (Date.now() + this.clockOffset > entryTime(entryId) + cmd.ttl) {
      this.answer(entryId, cmd, {
        id: cmd.id,
        ok: false,
        error: {
          code: 'SERVICE_UNAVAILABLE',
          message: 'The engine could not start the command before its deadline; nothing was done.',
          details: { outcome: 'not_executed' },
        },
      });
      return;
    }
    this.inFlight++;
    this.execute(cmd.req)
      .then(
        (value) => this.answer(entryId, cmd, { id: cmd.id, ok: true, value, ...(cmd.req.op === 'submit' ? { seqs: this.seqsOf(cmd.req.cmd) } : {}) }),
        (err: unknown) => this.answer(entryId, cmd, { id: cmd.id, ok: false, error: this.wireError(err) }),
      )
      .finally(() => {
        this.inFlight--;
        if (this.inFlight < ENGINE_IN_FLIGHT_MAX) this.inFlightWaiters.splice(0).forEach((f) => f());
      });
  }

  private async execute(req: EngineRequest): Promise<unknown> {
    switch (req.op) {
      case 'submit':
        return this.host.submit(req.cmd);
      case 'test':
        return this.host.test(req.cmd);
      case 'resting':
        return this.host.restingOrder(req.marketId, req.orderId);
      case 'reserved':
        return [...reservedByAsset(this.host, req.agentId)];
      case 'ensure_asset':
        await ensureHostAsset(this.host, req.code);
        return null;
      case 'reload':
        await reloadHost(this.host);
        return null;
      case 'agreement':
        return this.host.agreement();
    }
  }

  /** The committed sequence of each market the command touched (all of them for a cancel-all of every market). */
  private seqsOf(cmd: HostCommand): Record<string, number> {
    const ids = 'marketId' in cmd && cmd.marketId ? [cmd.marketId] : cmd.kind === 'cancel_all' ? this.host.marketIds() : [];
    const out: Record<string, number> = {};
    for (const id of ids) {
      const b = this.host.committedBook(id);
      if (b) out[id] = b.seq;
    }
    return out;
  }

  private wireError(err: unknown): WireError {
    if (err instanceof AppError) return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
    this.log.error(`command failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return { code: 'INTERNAL', message: 'Internal error.' };
  }

  private answer(entryId: string, cmd: WireCommand, reply: WireReply): void {
    this.enqueue(entryId, cmd.reply, encodeWire(reply));
  }

  private enqueue(entryId: string, reply: string | null, payload: string | null): void {
    this.outbox.push({ entryId, reply, payload });
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  /**
   * One pipeline: the markets that changed (hash and channel) first, then the replies, then the XACKs. Redis
   * runs them in that order, so a reply is never seen before the state it produced. If Redis is unreachable,
   * the replies are lost (the api times out: outcome unknown) and the entries stay pending (answered "outcome
   * unknown" by the next start); nothing is executed twice.
   */
  private flush(): Promise<void> {
    this.flushScheduled = false;
    const out = this.outbox.splice(0);
    const changed = this.changedMarkets();
    if (out.length === 0 && changed.length === 0) return this.flushing;
    const p = this.redis.pipeline();
    for (const s of changed) {
      const json = encodeWire(s);
      p.hset(this.keys.markets, s.marketId, json);
      p.publish(this.keys.marketsChannel, json);
    }
    const byReply = new Map<string, string[]>();
    for (const o of out) {
      if (o.reply === null || o.payload === null) continue;
      let l = byReply.get(o.reply);
      if (!l) byReply.set(o.reply, (l = []));
      l.push(o.payload);
    }
    for (const [key, payloads] of byReply) {
      p.rpush(key, ...payloads);
      p.pexpire(key, ENGINE_REPLY_TTL_MS);
    }
    if (out.length > 0) p.xack(this.keys.stream, this.keys.group, ...out.map((o) => o.entryId));
    const sent = p.exec().then(
      (results) => {
        const failed = (results ?? []).find(([e]) => e);
        if (failed) this.log.error(`publishing replies: ${(failed[0] as Error).message}`);
      },
      (e: Error) => this.log.error(`publishing replies: ${e.message}`),
    );
    this.flushing = this.flushing.then(() => sent);
    return this.flushing;
  }

  private changedMarkets(): MarketSnapshot[] {
    const out: MarketSnapshot[] = [];
    for (const id of this.host.marketIds()) {
      const s = marketSnapshot(this.host, id);
      if (!s) continue;
      const last = this.published.get(id);
      if (last && last.seq === s.seq && last.state === s.state) continue;
      this.published.set(id, { seq: s.seq, state: s.state });
      out.push(s);
    }
    return out;
  }

  /** Takes over every entry some consumer read and never acknowledged; answers each "outcome unknown". */
  private async claimAbandoned(): Promise<number> {
    let n = 0;
    for (let start = '0-0'; ; ) {
      const r = (await this.redis.call('XAUTOCLAIM', this.keys.stream, this.keys.group, this.opts.consumer, 0, start, 'COUNT', 1000)) as [
        string,
        unknown,
        string[]?,
      ];
      const entries = streamEntryList(r[1]);
      for (const [entryId, fields] of entries) {
        const text = fieldValue(fields, 'c');
        const cmd = text === null ? null : parseWireCommand(text);
        if (cmd)
          this.answer(entryId, cmd, {
            id: cmd.id,
            ok: false,
            error: { code: 'SERVICE_UNAVAILABLE', message: UNKNOWN_OUTCOME, details: { outcome: 'unknown' } },
          });
        else this.enqueue(entryId, null, null);
        n++;
      }
      for (const id of r[2] ?? []) this.enqueue(id, null, null); // trimmed from the stream while pending
      await this.flush();
      start = r[0];
      if (start === '0-0') return n;
    }
  }
}

/**
 * The entries of an XREADGROUP answer for one stream, in any of its shapes: RESP2 `[[stream, entries]]`, RESP3
 * as ioredis's legacy flat map `[stream, entries]`, or RESP3 as an object `{ stream: entries }`; null when idle.
 */
function streamEntries(res: unknown): [string, string[] | null][] {
  if (res === null || res === undefined) return [];
  if (!Array.isArray(res)) return streamEntryList(Object.values(res as Record<string, unknown>)[0]);
  if (res.length === 0) return [];
  return streamEntryList(Array.isArray(res[0]) ? (res[0] as [string, unknown])[1] : res[1]);
}

function streamEntryList(list: unknown): [string, string[] | null][] {
  return Array.isArray(list) ? (list as [string, string[] | null][]) : [];
}

function fieldValue(fields: string[] | null, name: string): string | null {
  if (!fields) return null;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1] as string;
  return null;
}
