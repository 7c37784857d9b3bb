import type { Pool } from 'pg';
import { BATCH_REQUESTS_DEFAULT, BATCH_REQUESTS_MAX, BATCH_WINDOW_MS, BATCHES_IN_FLIGHT_MAX } from './limits';
import type { LedgerRequest, LedgerResult } from './types';
import { commitBatch } from './writer';

export interface GroupCommitOptions {
  /** Requests per transaction, count (default BATCH_REQUESTS_DEFAULT, at most BATCH_REQUESTS_MAX). */
  maxBatch?: number;
  /** Wait for more requests before committing a partial batch, ms (default BATCH_WINDOW_MS). */
  windowMs?: number;
  /** Batches in flight at once (default BATCHES_IN_FLIGHT_MAX). */
  inFlight?: number;
  /** Called after each committed batch with its size and its commit time, ms. */
  onBatch?: (size: number, ms: number) => void;
}

interface Pending {
  req: LedgerRequest;
  resolve: (r: LedgerResult) => void;
  reject: (e: unknown) => void;
}

/**
 * Collects requests from many callers and commits them in batches (group commit): one transaction, one fsync,
 * per batch. Each caller gets its own request's result. Batches commit in the order their requests were
 * submitted (a batch takes the chain head lock only after the previous one has it). If a batch's transaction
 * fails, every request of that batch is rejected with the error (none of it was written).
 */
export class GroupCommitWriter {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = 0;
  private lastLocked: Promise<void> = Promise.resolve();
  private idle: (() => void)[] = [];
  private readonly maxBatch: number;
  private readonly windowMs: number;
  private readonly inFlight: number;

  constructor(
    private readonly pool: Pool,
    private readonly opts: GroupCommitOptions = {},
  ) {
    this.maxBatch = Math.min(opts.maxBatch ?? BATCH_REQUESTS_DEFAULT, BATCH_REQUESTS_MAX);
    this.windowMs = opts.windowMs ?? BATCH_WINDOW_MS;
    this.inFlight = opts.inFlight ?? BATCHES_IN_FLIGHT_MAX;
  }

  submit(req: LedgerRequest): Promise<LedgerResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      this.schedule();
    });
  }

  submitMany(reqs: readonly LedgerRequest[]): Promise<LedgerResult[]> {
    return Promise.all(reqs.map((r) => this.submit(r)));
  }

  /** Resolves when everything submitted so far is committed (or failed). */
  flush(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle.push(resolve);
      this.schedule(true);
    });
  }

  private schedule(now = false): void {
    while (this.running < this.inFlight && this.queue.length >= this.maxBatch) this.launch();
    if (this.queue.length === 0 || this.running >= this.inFlight) return;
    if (now || this.windowMs <= 0) {
      this.launch();
      return;
    }
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.running < this.inFlight && this.queue.length > 0) this.launch();
      }, this.windowMs);
    }
  }

  private launch(): void {
    const batch = this.queue.splice(0, this.maxBatch);
    this.running++;
    let locked!: () => void;
    const turn = this.lastLocked;
    this.lastLocked = new Promise<void>((r) => (locked = r));
    const started = performance.now();
    commitBatch(
      this.pool,
      batch.map((p) => p.req),
      { turn, locked },
    )
      .then(
        (results) => {
          this.opts.onBatch?.(batch.length, performance.now() - started);
          batch.forEach((p, i) => p.resolve(results[i] as LedgerResult));
        },
        (err) => batch.forEach((p) => p.reject(err)),
      )
      .finally(() => {
        locked(); // in case the batch failed before taking the lock
        this.running--;
        if (this.queue.length > 0) this.schedule(this.idle.length > 0);
        else if (this.running === 0) this.idle.splice(0).forEach((f) => f());
      });
  }
}
