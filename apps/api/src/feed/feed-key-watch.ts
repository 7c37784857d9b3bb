import { KEY_CACHE_TTL_MS } from '../auth/api-keys.service';

/** What the watch needs: the key epoch, the key lookup, this node's authenticated connections, a way to close them. */
export interface KeyWatchDeps {
  epoch(): Promise<string>;
  /** whether the key is still active (false: unknown, revoked, or its agent suspended) */
  active(keyId: string): Promise<boolean>;
  /** the keys of this node's authenticated connections */
  keys(): Iterable<string>;
  close(keyId: string): void;
}

/**
 * Closes this node's feed connections whose key was revoked: every `everyMs` it reads the key epoch (Redis with
 * several api nodes: a revocation on any node advances it) and, when it moved (or every KEY_CACHE_TTL_MS, for a
 * change made behind the api's back), looks up each connected key again; a key no longer active has its
 * connections told why and closed. So a revoked key's connections close within about `everyMs` plus a lookup,
 * on every node. Runs only while there are authenticated connections; a tick that fails (Redis or the database
 * away) is retried at the next one, the epoch not taken as seen.
 */
export class KeyWatch {
  private timer: NodeJS.Timeout | null = null;
  private seen: string | null = null;
  private fullAt = 0;
  private busy = false;

  constructor(
    private readonly deps: KeyWatchDeps,
    private readonly everyMs: number,
  ) {}

  /** Starts the watch (a connection authenticated); idempotent. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.seen = null;
  }

  /** One check (exported for the gateway's shutdown and for tests). */
  async tick(): Promise<void> {
    if (this.busy) return;
    const keys = [...new Set(this.deps.keys())];
    if (keys.length === 0) return this.stop();
    this.busy = true;
    try {
      const epoch = await this.deps.epoch();
      const now = Date.now();
      if (epoch === this.seen && now - this.fullAt < KEY_CACHE_TTL_MS) return;
      for (const k of keys) if (!(await this.deps.active(k))) this.deps.close(k);
      this.seen = epoch;
      this.fullAt = now;
    } catch {
      // Redis or the database away: try again at the next tick (the epoch is not taken as seen)
    } finally {
      this.busy = false;
    }
  }
}
