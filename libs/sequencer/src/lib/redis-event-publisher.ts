import type Redis from 'ioredis';
import type { CommittedBatch } from './outlet';
import type { EngineRedisKeys } from './redis-keys';
import { decodeWire, encodeWire } from './wire';

/** Entries the events stream keeps (about: trimmed with `~`); the feed replays a client's gap from them. */
export const EVENTS_STREAM_MAXLEN = 100_000;

/** A committed batch as the events stream holds it (books as entries: a Map does not cross JSON). */
export interface WireBatch {
  seq: number;
  commands: CommittedBatch['commands'];
  books: [string, CommittedBatch['books'] extends Map<string, infer B> ? B : never][];
  replayed?: boolean;
}

/** The entry id of a batch: its last command seq (strictly increasing, so Redis keeps them in order). */
const entryId = (seq: number) => `${seq}-0`;

/**
 * The engine node's publication of the event outlet: each committed batch becomes one entry of the events stream,
 * with the batch's last command seq as its id, in commit order. At start, the node reads the last seq published
 * (`lastSeq`) and recovers with `load({ emitAfter })`, so batches that committed but were not published before a
 * crash are published then: every command's events come out once, none lost, none twice.
 */
export class RedisEventPublisher {
  private chain: Promise<void> = Promise.resolve();
  private last = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: EngineRedisKeys,
    private readonly log: { error(msg: string): void } = { error: () => undefined },
  ) {}

  /** The last command seq published, or null when nothing was ever published (a new stream). */
  async lastSeq(): Promise<number | null> {
    const r = (await this.redis.xrevrange(this.keys.events, '+', '-', 'COUNT', 1)) as [string, string[]][];
    const id = r[0]?.[0];
    this.last = id ? Number(id.slice(0, id.indexOf('-'))) : 0;
    return id ? this.last : null;
  }

  /** Publishes a committed batch (in order, after the ones before it). */
  publish(b: CommittedBatch): void {
    if (b.seq <= this.last) return; // published before (a replay that overlaps what the stream has)
    this.last = b.seq;
    const payload = encodeWire({
      seq: b.seq,
      commands: b.commands,
      books: [...b.books],
      ...(b.replayed ? { replayed: true } : {}),
    } satisfies WireBatch);
    // one connection runs its commands in the order sent: entries land in commit order without waiting for each
    this.chain = this.redis.xadd(this.keys.events, 'MAXLEN', '~', EVENTS_STREAM_MAXLEN, entryId(b.seq), 'b', payload).then(
      () => undefined,
      (e: Error) => this.log.error(`publishing committed events of command ${b.seq}: ${e.message}`),
    );
  }

  /** Resolves when every batch handed over so far is in the stream (or failed): the last one sent is the last one run. */
  flush(): Promise<void> {
    return this.chain;
  }
}

/** Reads the events stream after an entry id (`0` for all), decoded; for subscribers and tests. */
export async function readEvents(redis: Redis, keys: EngineRedisKeys, after = '0', count = 1000): Promise<{ id: string; batch: WireBatch }[]> {
  const r = (await redis.xrange(keys.events, after === '0' ? '-' : `(${after}`, '+', 'COUNT', count)) as [string, string[]][];
  return r.map(([id, fields]) => ({ id, batch: decodeWire<WireBatch>(fields[1] as string) }));
}
