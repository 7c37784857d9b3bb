import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Job, Queue, Worker } from 'bullmq';
import Redis from 'ioredis';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { AuctionScheduling, AuctionsService } from './auctions.service';
import { closeBull } from '../redis/bull-close';

/** The BullMQ queue of auction closings and pool epochs. */
export const AUCTIONS_QUEUE = 'auctions';
/** Attempts of a settlement job, backing off exponentially from SETTLE_BACKOFF_MS. */
export const SETTLE_ATTEMPTS = 20;
export const SETTLE_BACKOFF_MS = 200;
/** Retry delays of the timer fallback, ms (doubling, capped). */
const TIMER_RETRY_MAX_MS = 10_000;

type JobData = { auctionId: string } | { poolId: string };

/**
 * Closes auctions at their deadline and settles them, and ticks congestion pools' epochs. With Redis: a delayed
 * BullMQ job per auction (jobId = the auction's, so scheduling twice adds one job; retries with exponential
 * back-off) and a job scheduler per pool (every epochMs), so one api node runs each. Without Redis: timers, as
 * reconciliation does. Settling is idempotent in the sequencer, so a job that runs twice, or again after the
 * process was killed mid-way, settles the auction once. At start every auction not yet settled is scheduled again.
 */
@Injectable()
export class AuctionScheduler implements AuctionScheduling, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('AuctionScheduler');
  private queue: Queue<JobData> | undefined;
  private worker: Worker<JobData> | undefined;
  private connection: Redis | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly poolTimers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly auctions: AuctionsService,
  ) {
    auctions.scheduling = this;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.REDIS_URL) {
      this.connection = new Redis(this.config.REDIS_URL, { maxRetriesPerRequest: null });
      this.connection.on('error', () => undefined);
      const opts = { connection: this.connection, prefix: `${this.config.REDIS_PREFIX}:bull` };
      this.queue = new Queue<JobData>(AUCTIONS_QUEUE, opts);
      this.queue.on('error', (e) => this.logger.warn(`auctions queue: ${e.message}`));
      this.worker = new Worker<JobData>(AUCTIONS_QUEUE, (job) => this.process(job), {
        ...opts,
        concurrency: 4,
        lockDuration: 10_000,
        stalledInterval: 5_000,
      });
      this.worker.on('failed', (job, e) => this.logger.warn(`auction job ${job?.id}: ${e.message}`));
      this.worker.on('error', (e) => this.logger.warn(`auctions worker: ${e.message}`));
    }
    // what a previous process left: auctions to close and settle, pools to tick
    try {
      for (const a of await this.auctions.unsettled()) await this.auctionCreated(a.id, a.deadline.getTime());
      for (const p of await this.auctions.congestionPools()) await this.poolCreated(p.id, p.epochMs);
    } catch (e) {
      this.logger.error(`rescheduling auctions at start: ${(e as Error).message}`);
    }
  }

  private async process(job: Job<JobData>): Promise<string> {
    if ('auctionId' in job.data) {
      const r = await this.auctions.settle(job.data.auctionId);
      if (r === 'not_due') throw new Error('not due yet'); // a clock ahead of the engine's: retried
      return r;
    }
    await this.auctions.tick(job.data.poolId);
    return 'ticked';
  }

  async auctionCreated(id: string, deadline: number): Promise<void> {
    if (this.stopped) return;
    const delay = Math.max(0, deadline - Date.now());
    if (this.queue) {
      await this.queue.add(
        'settle',
        { auctionId: id },
        {
          jobId: `settle-${id}`,
          delay,
          attempts: SETTLE_ATTEMPTS,
          backoff: { type: 'exponential', delay: SETTLE_BACKOFF_MS },
          removeOnComplete: 1000,
          removeOnFail: 1000,
        },
      );
      return;
    }
    this.later(delay, id, 0);
  }

  private later(delay: number, id: string, attempt: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.auctions.settle(id).then(
        (r) => {
          if (r === 'not_due') this.later(Math.min(SETTLE_BACKOFF_MS * 2 ** attempt, TIMER_RETRY_MAX_MS), id, attempt + 1);
        },
        (e: Error) => {
          this.logger.warn(`settling auction ${id}: ${e.message} (retrying)`);
          this.later(Math.min(SETTLE_BACKOFF_MS * 2 ** attempt, TIMER_RETRY_MAX_MS), id, attempt + 1);
        },
      );
    }, delay);
    t.unref();
    this.timers.add(t);
  }

  async poolCreated(id: string, epochMs: number): Promise<void> {
    if (this.stopped || epochMs <= 0) return;
    if (this.queue) {
      await this.queue.upsertJobScheduler(
        `epoch-${id}`,
        { every: epochMs },
        { name: 'epoch', data: { poolId: id }, opts: { removeOnComplete: 100, removeOnFail: 100 } },
      );
      return;
    }
    if (this.poolTimers.has(id)) return;
    const t = setInterval(() => void this.auctions.tick(id).catch((e: Error) => this.logger.warn(`pool ${id} epoch: ${e.message}`)), epochMs);
    t.unref();
    this.poolTimers.set(id, t);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const t of this.poolTimers.values()) clearInterval(t);
    await closeBull(this.worker, this.queue, this.connection);
  }
}
