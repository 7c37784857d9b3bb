import type Redis from 'ioredis';
import { CommittedBook, CommittedCommand, decodeWire, EngineHost, EngineRedisKeys, WireBatch } from '@ate/sequencer';

/** A committed batch as the feed reads it, from either outlet. */
export interface FeedBatch {
  commands: CommittedCommand[];
  books: Iterable<[string, CommittedBook]>;
}

/**
 * Where the feed's committed batches come from: the event outlet of the engine host in this process
 * (ENGINE_MODE=in-process), or the engine node's events stream `<p>:engine:events` (ENGINE_MODE=redis). Only
 * what committed comes out of either. Started when the first client subscribes, stopped when the last one
 * leaves: with nobody subscribed, the host builds no events for the feed.
 */
export interface FeedSource {
  /** `agents`: whether agents' events (orders, balances) are needed now; the host then builds them (OutletInterest) */
  start(onBatch: (b: FeedBatch) => void, agents?: () => boolean): void;
  stop(): void;
}

export class HostFeedSource implements FeedSource {
  private off: (() => void) | null = null;

  constructor(private readonly host: EngineHost) {}

  start(onBatch: (b: FeedBatch) => void, agents?: () => boolean): void {
    this.off ??= this.host.subscribe((b) => onBatch(b), agents ? { agents } : {});
  }

  stop(): void {
    this.off?.();
    this.off = null;
  }
}

/** Reads the events stream with a blocking XREAD on a connection of its own, from the entry last there at start. */
export class RedisStreamFeedSource implements FeedSource {
  private conn: Redis | null = null;
  private running = false;

  constructor(
    private readonly connect: () => Redis,
    private readonly keys: EngineRedisKeys,
    private readonly log: { warn(msg: string): void },
  ) {}

  start(onBatch: (b: FeedBatch) => void): void {
    if (this.running) return;
    this.running = true;
    const conn = (this.conn = this.connect());
    conn.on('error', () => undefined);
    void this.loop(conn, onBatch);
  }

  stop(): void {
    this.running = false;
    this.conn?.disconnect();
    this.conn = null;
  }

  private async loop(conn: Redis, onBatch: (b: FeedBatch) => void): Promise<void> {
    let last: string | null = null;
    while (this.running && this.conn === conn) {
      try {
        if (last === null) {
          const r = (await conn.xrevrange(this.keys.events, '+', '-', 'COUNT', 1)) as [string, string[]][];
          last = r[0]?.[0] ?? '0-0';
        }
        const r = (await conn.xread('COUNT', 500, 'BLOCK', 1000, 'STREAMS', this.keys.events, last)) as [string, [string, string[]][]][] | null;
        for (const [id, fields] of r?.[0]?.[1] ?? []) {
          last = id;
          const b = decodeWire<WireBatch>(fields[1] as string);
          onBatch({ commands: b.commands, books: b.books });
        }
      } catch (e) {
        if (!this.running || this.conn !== conn) return;
        this.log.warn(`feed: reading the events stream: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}
