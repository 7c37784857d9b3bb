import { AppError } from '@ate/contracts';
import { applyBatch } from '@ate/ledger';
import { pendingMigrations } from '@ate/db';
import type { Pool, PoolClient } from 'pg';
import { AgreementReport, engineAgreement, EngineReads } from './agreement';
import { actorAudit } from './actor-audit';
import { allowanceExpiries } from './allowance-sweep';
import { compactStatements } from './auctions';
import { Batch } from './batch';
import { EngineCore, NO_STAGES, Stages } from './core';
import { Directory } from './directory';
import { ExpiryTimer } from './expiry';
import { HANDLERS, PlacementVerdict, testPlacement } from './handlers';
import type { CommittedBook, EngineHostOptions, HostCommand, HostCommandOf, HostMarket, HostResult, LoadResult } from './host-types';
import { BatchIds, preRead, RecentIds } from './idempotency';
import { EventOutlet, OutletInterest, OutletSubscriber } from './outlet';
import { recover } from './recovery';
import { Snapshots } from './snapshots';
import { upsertCheckpoints, writeBatchRows } from './sql';
import { checkpointHashes } from './state-hash';

/**
 * The sequencer of the exchange: one writer for every market hosted here and for the balances they share.
 *
 *   submit -> prepare (handler, may read the database) -> queue -> batch: for each command its handler's execute
 *   (pre-trade -> matching -> post-trade, in EngineCore) -> ONE transaction: command log + projections + ledger
 *   transfers -> COMMIT -> answer the callers -> emit to the event outlet
 *
 * Only after COMMIT are callers answered, so an acknowledged command is durable, and replaying engine_command
 * rebuilds the books and balances exactly (recovery.ts). Batches are pipelined two deep (drain()).
 */

/** Commands per batch: bounds one transaction's size and the wait of the last command in it. */
export const HOST_BATCH_MAX = 2_000;
/** Waits between two attempts to rebuild after a failed batch, ms (doubling from the first to the last). */
export const RECOVERY_RETRY_MIN_MS = 100;
export const RECOVERY_RETRY_MAX_MS = 5_000;
/** Batches whose transactions may be open at once (one committing while the next executes and writes). */
export const HOST_PIPELINE_DEPTH = 2;
/**
 * Commands between two state-hash checkpoints. Hashing walks the changed books and the balances held (state hash
 * v2, state-hash.ts), so it runs every this many commands and at shutdown, not every batch; recovery verifies the last one.
 */
export const CHECKPOINT_EVERY_COMMANDS = 5_000;
/** Price levels per side kept in the committed book view (the most GET /v1/markets/:id/book serves). */
export const BOOK_VIEW_LEVELS = 1_000;

export interface EngineHostStages extends EngineHostOptions {
  /** checks and steps around matching (deterministic: they run in replay too) */
  stages?: Partial<Stages>;
}

interface Pending {
  cmd: HostCommand;
  resolve: (r: HostResult) => void;
  reject: (e: unknown) => void;
}

export class EngineHost implements EngineReads {
  private core: EngineCore | undefined;
  private readonly directory: Directory;
  private readonly recent = new RecentIds();
  private readonly stages: Stages;
  private readonly snapshots: Snapshots;
  /** Committed events go out here (subscribe()). */
  readonly outlet: EventOutlet;
  private queue: Pending[] = [];
  private running = false;
  private paused = false;
  private idle: (() => void)[] = [];
  private stopped = false;
  private broken: Error | null = null;
  private readonly expiry = new ExpiryTimer((marketId) => void this.submit({ kind: 'tick', marketId }).catch(() => undefined));
  private checkpointSeq = 0;
  /** The book of each market as of the last committed batch: readers never see a batch that may roll back. */
  private committedBooks = new Map<string, CommittedBook>();
  private readonly batchObservers = new Set<(size: number, ms: number) => void>();

  constructor(
    private readonly pool: Pool,
    /** Told when a batch fails to commit (the host then rebuilds itself from the log). */
    private readonly onBatchError: (err: Error) => void = () => undefined,
    /** Told after each committed batch: its size (commands) and its time (ms), for metrics. */
    private readonly onBatch: (size: number, ms: number) => void = () => undefined,
    private readonly options: EngineHostStages = {},
  ) {
    this.directory = new Directory(pool);
    this.stages = { preTrade: options.stages?.preTrade ?? NO_STAGES.preTrade, postTrade: options.stages?.postTrade ?? NO_STAGES.postTrade };
    this.snapshots = new Snapshots(pool, options);
    this.outlet = new EventOutlet((e) => onBatchError(new Error(`an event subscriber failed: ${e.message}`)));
  }

  /** Migrations not yet applied: the host cannot load before they are. */
  async pendingMigrations(): Promise<string[]> {
    return pendingMigrations((sql) => this.pool.query(sql));
  }

  get attached(): boolean {
    return !this.stopped && this.broken === null;
  }

  /** The state machine, read-only for readers (books, balances); undefined before the first load(). */
  get state(): EngineCore | undefined {
    return this.core;
  }

  /** Commands queued and not yet in a batch (for metrics). */
  get queueDepth(): number {
    return this.queue.length;
  }

  /** Subscribes to what committed batches did; returns the function that unsubscribes. */
  /**
   * Tells `fn` the size (commands) and time (ms) of each committed batch, e.g. for metrics; returns the way to stop.
   * Unlike subscribe(), this builds no events: it costs the order path nothing measurable.
   */
  observeBatches(fn: (size: number, ms: number) => void): () => void {
    this.batchObservers.add(fn);
    return () => this.batchObservers.delete(fn);
  }

  subscribe(fn: OutletSubscriber, interest?: OutletInterest): () => void {
    return this.outlet.subscribe(fn, interest);
  }

  market(id: string): HostMarket | undefined {
    return this.core?.markets.get(id);
  }

  /** What the agent's open orders hold of an asset, in minor units (0 for an agent or asset the engine has not seen). */
  reserved(agentId: string, asset: string): bigint {
    return this.holdings(agentId, asset).reserved;
  }

  /** What the engine holds of an agent's asset (minor units): its total and what its open orders reserve. */
  holdings(agentId: string, asset: string): { total: bigint; reserved: bigint } {
    const n = this.directory.numOf(agentId);
    const b = this.core?.balances;
    if (n === undefined || !b || !b.assets.includes(asset) || !b.isKnown(n)) return { total: 0n, reserved: 0n };
    const a = b.assetIndex(asset);
    return { total: BigInt(b.getTotal(n, a)), reserved: BigInt(b.getReserved(n, a)) };
  }

  /** What the engine's budget state holds in principals' own accounts (minor units). */
  *principalHoldings(): Iterable<{ principalId: string; asset: string; total: bigint }> {
    for (const [principalId, held] of this.core?.budgets.principals ?? [])
      for (const [asset, v] of held) yield { principalId, asset, total: BigInt(v) };
  }

  /** An open order as it rests now (ticks and lots: an amend starts from it), or null. */
  restingOrder(marketId: string, orderId: number): { price: number; lots: number } | null {
    const o = this.market(marketId)?.engine.order(orderId);
    return o ? { price: o.price, lots: o.lots } : null;
  }

  /** Orders resting in the market's book (0 for an unknown market). */
  openOrders(marketId: string): number {
    return this.market(marketId)?.engine.openOrders ?? 0;
  }

  /** Whether the engine's memory and the database agree (balances, open orders); pauses batches meanwhile. */
  agreement(): Promise<AgreementReport> {
    return engineAgreement(this, this.pool);
  }

  /** The book as of the last committed batch (ticks and lots), or undefined for an unknown market. */
  committedBook(marketId: string): CommittedBook | undefined {
    return this.committedBooks.get(marketId);
  }

  hasAsset(code: string): boolean {
    return this.core?.balances.assets.includes(code) ?? false;
  }

  marketIds(): string[] {
    return [...(this.core?.markets.keys() ?? [])];
  }

  /**
   * Loads markets and agents, then rebuilds every book and the balances (recovery.ts). Safe to call again to
   * reload. With `emitAfter`, what the commands after that seq did is emitted to the outlet again (marked
   * replayed), so a subscriber that missed them (the engine died between COMMIT and publishing) gets them.
   */
  async load(opts: { emitAfter?: number } = {}): Promise<LoadResult> {
    const t0 = Date.now();
    try {
      const r = await recover(this.pool, this.directory, {
        stages: this.stages,
        restoreSnapshots: this.options.restoreSnapshots,
        onSnapshotError: this.options.onSnapshotError,
        ...opts,
      });
      const core = (this.core = r.core);
      this.checkpointSeq = core.seq;
      this.committedBooks = core.books(core.markets.keys(), BOOK_VIEW_LEVELS);
      this.recent.reset();
      this.broken = null;
      core.expiries = [...core.restingExpiries(), ...core.approvals.deadlines(), ...allowanceExpiries(core, Date.now())];
      this.expiry.schedule(core.expiries);
      this.snapshots.recovered(core, r.result.fromSnapshot ?? 0, r.result.snapshotsRejected);
      if (r.replayed.length > 0) {
        const last = r.replayed[r.replayed.length - 1] as { seq: number };
        this.outlet.emit({ seq: last.seq, commands: r.replayed, books: core.books(core.markets.keys(), BOOK_VIEW_LEVELS), replayed: true });
      }
      return { ...r.result, ms: Date.now() - t0 };
    } catch (e) {
      // A host that could not rebuild (database down, replay diverged from its checkpoint) takes no commands.
      this.broken = e as Error;
      throw e;
    }
  }

  /**
   * Queues a command; resolves once its batch is committed. Its handler's prepare() checks what can be checked
   * before sequencing (the agent, the market, the asset), so a bad command fails alone and never breaks a batch.
   */
  async submit(cmd: HostCommand): Promise<HostResult> {
    if (this.stopped) throw new AppError('SERVICE_UNAVAILABLE', 'The engine is shutting down.');
    if (this.broken || !this.core) throw new AppError('SERVICE_UNAVAILABLE', 'The engine is recovering.');
    await (HANDLERS[cmd.kind].prepare as (ctx: unknown, c: HostCommand) => Promise<void>)({ core: this.core, directory: this.directory }, cmd);
    return new Promise((resolve, reject) => {
      this.queue.push({ cmd, resolve, reject });
      this.kick();
    });
  }

  /** What placing this order would answer now, without placing it (nothing is reserved or logged). */
  async test(cmd: HostCommandOf<'place'>): Promise<PlacementVerdict> {
    if (this.broken || !this.core) throw new AppError('SERVICE_UNAVAILABLE', 'The engine is recovering.');
    return testPlacement({ core: this.core, directory: this.directory }, cmd);
  }

  private kick(): void {
    if (!this.running && !this.paused && this.queue.length > 0) {
      this.running = true;
      setImmediate(() => void this.drain());
    }
  }

  /**
   * Runs batches until the queue is empty. Batches run through the engines strictly one after another (the host
   * is the single writer), but their transactions overlap: batch N+1 executes and writes while batch N commits.
   * N+1 starts writing only once N has written everything but its COMMIT (so N+1 can only wait on N's locks,
   * never the reverse: no deadlock), and commits only after N did; if N fails, N+1 rolls back too.
   */
  private async drain(): Promise<void> {
    let prev: Promise<boolean> = Promise.resolve(true);
    const inflight = new Set<Promise<unknown>>();
    while (this.queue.length > 0 && !this.paused && !this.broken) {
      if (inflight.size >= HOST_PIPELINE_DEPTH) {
        await Promise.race(inflight);
        continue;
      }
      const batch = this.queue.splice(0, HOST_BATCH_MAX);
      const started = performance.now();
      let written!: () => void;
      const wrote = new Promise<void>((r) => (written = r));
      const settled = this.runBatch(
        batch.map((p) => p.cmd),
        prev,
        written,
      ).then(
        (results) => {
          const ms = performance.now() - started;
          this.onBatch(batch.length, ms);
          for (const fn of this.batchObservers) fn(batch.length, ms);
          batch.forEach((p, i) => p.resolve(results[i] as HostResult));
          return true;
        },
        (err: unknown) => {
          // Nothing of this batch was committed, but the in-memory engines ran it: the host rebuilds from the log.
          if (!this.broken) {
            this.broken = err as Error;
            this.onBatchError(err as Error);
          }
          batch.forEach((p) => p.reject(new AppError('SERVICE_UNAVAILABLE', 'The command could not be committed; nothing was done.')));
          return false;
        },
      );
      prev = settled;
      inflight.add(settled);
      void settled.then(() => inflight.delete(settled));
      await Promise.race([wrote, settled]);
    }
    await Promise.all(inflight);
    if (this.broken) {
      this.queue.splice(0).forEach((p) => p.reject(new AppError('SERVICE_UNAVAILABLE', 'The engine is recovering.')));
      await this.recover();
    }
    this.running = false;
    this.idle.splice(0).forEach((f) => f());
    this.expiry.schedule(this.core?.expiries);
    // commands queued while the last batches were finishing: their kick() found this drain still running
    this.kick();
  }

  /**
   * One batch: pre-read its idempotency keys, execute every command through its handler (in sequence order, after
   * every earlier batch executed), write the log, projections and ledger transfers in its transaction, wait for
   * the batch before it, COMMIT, then publish its books and events. Resolves with each command's result.
   */
  private async runBatch(cmds: HostCommand[], prev: Promise<boolean>, written: () => void): Promise<HostResult[]> {
    const client = await this.pool.connect();
    const core = this.core as EngineCore;
    let failed = false;
    try {
      const readGen = this.recent.generation;
      const ids = new BatchIds(this.recent, await preRead(client, cmds));
      // drain() starts this batch's execution once the previous one has written: the engines run it in sequence
      this.recent.prune(readGen);
      await client.query('BEGIN');
      const b = new Batch(core, this.directory, ids, this.outlet.active, this.outlet.wantsAgents);
      const results = cmds.map((cmd) => {
        const ts = (core.lastTs = Math.max(core.lastTs, Date.now()));
        const r = (HANDLERS[cmd.kind].execute as (b: Batch, c: HostCommand, ts: number) => HostResult)(b, cmd, ts);
        b.extra.audit.add(actorAudit(cmd), r, ts);
        return r;
      });
      if (b.log.length > 0) await writeBatchRows(client, b.log, b.projections.orderColumns(), b.projections.tradeColumns());
      for (const q of compactStatements(b.sql)) await client.query(q.text, q.values);
      if (b.ledger.length > 0) {
        const bad = (await applyBatch(client, b.ledger)).find((r) => !r.ok);
        // The engine reserved the funds of every trade before matching; a ledger refusal here is a broken invariant.
        if (bad && !bad.ok) throw new Error(`ledger refused a settlement the engine made: ${bad.code} ${JSON.stringify(bad.details ?? {})}`);
      }
      await b.extra.write(client);
      if (core.seq - this.checkpointSeq >= CHECKPOINT_EVERY_COMMANDS) await this.writeCheckpoints(client);
      const books = core.books(b.markets, BOOK_VIEW_LEVELS); // as this batch leaves them (the next batch may run before this one commits)
      const snapshot = this.snapshots.due(core); // written once this batch has committed
      const lastSeq = core.seq; // the next batch may execute (and count on) before this one commits
      written();
      if (!(await prev)) throw new Error('an earlier batch in the pipeline did not commit');
      await client.query('COMMIT');
      this.recent.committed(ids.mine);
      for (const [id, book] of books) this.committedBooks.set(id, book);
      if (snapshot) this.snapshots.schedule(snapshot);
      if (b.committed.length > 0) this.outlet.emit({ seq: lastSeq, commands: b.committed, books });
      return results;
    } catch (err) {
      failed = true;
      written();
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      // a connection that failed mid-batch may be broken: the pool opens a fresh one instead of handing it out again
      client.release(failed ? true : undefined);
    }
  }

  /**
   * Rebuilds from the log after a batch failed, retrying (backing off up to RECOVERY_RETRY_MAX_MS) while the
   * database is away: a rebuild that fails once (its connections were cut too) must not leave the host broken.
   * Gives up only when the host is stopped.
   */
  private async recover(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.load();
        return;
      } catch (e) {
        this.onBatchError(new Error(`recovery failed, retrying: ${(e as Error).message}`));
        await new Promise((r) => setTimeout(r, Math.min(RECOVERY_RETRY_MIN_MS * 2 ** attempt, RECOVERY_RETRY_MAX_MS)));
      }
    }
  }

  private waitIdle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /** Runs `fn` with no batch in flight (e.g. reloading after a new asset or market), then carries on. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.paused = true;
    try {
      await this.waitIdle();
      return await fn();
    } finally {
      this.paused = false;
      this.kick();
    }
  }

  /** Resolves when every submitted command has been committed and answered. */
  async flush(): Promise<void> {
    while (this.running || (this.queue.length > 0 && !this.paused)) await this.waitIdle().then(() => new Promise((r) => setImmediate(r)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.expiry.stop();
    await this.flush();
    await this.checkpoint();
    await this.snapshots.final(this.broken ? undefined : this.core);
  }

  /** Records every market's state hash at the current command (in the batch's transaction). */
  private async writeCheckpoints(client: PoolClient): Promise<void> {
    const core = this.core as EngineCore;
    if (core.seq === 0) return;
    await upsertCheckpoints(client, core.seq, checkpointHashes(core));
    this.checkpointSeq = core.seq;
  }

  /** A checkpoint at the current command, in a transaction of its own (at shutdown, with nothing in flight). */
  private async checkpoint(): Promise<void> {
    if (!this.core || this.core.seq === this.checkpointSeq || this.broken) return;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await this.writeCheckpoints(client);
      await client.query('COMMIT');
    } catch {
      await client.query('ROLLBACK').catch(() => undefined);
    } finally {
      client.release();
    }
  }
}
