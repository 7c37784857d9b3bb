import { AppError, CREDIT, MatchingCode, MatchingCommand, MatchingEvent, MarketState, OrderSide, StpMode, TimeInForce } from '@ate/contracts';
import { applyBatch, LedgerRequest, openAccount, systemAccount } from '@ate/ledger';
import { BalanceView, CollectingSink, MarketConfig, MatchingEngine } from '@ate/matching';
import { pendingMigrations } from '@ate/db';
import type { Pool, PoolClient } from 'pg';
import { AgreementReport, engineAgreement } from './agreement';
import { decodeSnapshot, encodeSnapshot, engineSnapshot, HostState, restoreBalancesInto, SNAPSHOT_FORMAT, stateHashes, stateHashIn } from './engine-snapshot';

/**
 * The sequencer of the single-node exchange: one writer for every market hosted here and for the balances
 * they share. Commands queue up; a batch of them runs through libs/matching in order, then ONE Postgres
 * transaction writes the commands (engine_command), the order and trade projections, and the ledger transfers
 * (settlement of each trade, funds in and out); only after COMMIT are the callers answered. An acknowledged
 * command is therefore durable, and replaying engine_command rebuilds the books and balances exactly.
 */

/** Commands per batch: bounds one transaction's size and the wait of the last command in it. */
export const HOST_BATCH_MAX = 2_000;
/** Waits between two attempts to rebuild after a failed batch, ms (doubling from the first to the last). */
export const RECOVERY_RETRY_MIN_MS = 100;
export const RECOVERY_RETRY_MAX_MS = 5_000;
/** Batches whose transactions may be open at once (one committing while the next executes and writes). */
export const HOST_PIPELINE_DEPTH = 2;
/**
 * Commands between two state-hash checkpoints. Hashing walks the book (O(resting orders)), so it runs every
 * this many commands and at shutdown, not every batch; recovery verifies the last one.
 */
export const CHECKPOINT_EVERY_COMMANDS = 5_000;
/**
 * Commands between two snapshots of the whole state (engine_snapshot). Recovery restores the newest snapshot that
 * verifies and replays only the commands after it. Taking one copies the state between two batches (O(resting
 * orders + agents), synchronous); encoding and writing it happen after that batch commits, off its path.
 */
export const SNAPSHOT_EVERY_COMMANDS = 100_000;
/** Snapshots kept: the newest, and one to fall back to if the newest does not restore. */
export const SNAPSHOTS_KEPT = 2;
/** Price levels per side kept in the committed book view (the most GET /v1/markets/:id/book serves). */
export const BOOK_VIEW_LEVELS = 1_000;
/** Agents the shared balance view holds (agent.num below this; one bit each there, balances are sparse). */
export const HOST_AGENTS_MAX = 1 << 20;

export interface PlaceOrder {
  type: 'limit' | 'market';
  side: OrderSide;
  /** ticks (limit) */
  price?: number;
  lots?: number;
  /** credits, minor units (market by spend) */
  spend?: number;
  tif?: TimeInForce;
  postOnly?: boolean;
  stp?: StpMode;
  expiresAt?: number;
  clientOrderId?: string;
}

export type HostCommand =
  | { kind: 'place'; marketId: string; agentId: string; order: PlaceOrder }
  | { kind: 'cancel'; marketId: string; agentId: string; orderId: number }
  | { kind: 'cancel_all'; agentId: string; marketId?: string }
  | { kind: 'amend'; marketId: string; agentId: string; orderId: number; price: number; lots: number }
  | { kind: 'set_state'; marketId: string; state: MarketState }
  /** lets time pass in a market: GTD orders due by now expire */
  | { kind: 'tick'; marketId: string }
  | { kind: 'funds'; op: 'deposit' | 'withdraw'; agentId: string; asset: string; amount: bigint; transferId: string };

export interface HostResult {
  /** engine_command seq of the command (null when nothing was logged, e.g. a replayed clientOrderId) */
  seq: string | null;
  code: MatchingCode | null;
  orderId?: number;
  events: MatchingEvent[];
  /** the order already placed under this clientOrderId (idempotent placement) */
  existingOrderId?: number;
  /** a funds movement whose transfer id is already in the journal: nothing was done again */
  duplicateTransfer?: boolean;
  /** the new order's row as committed with the batch (read after the batch commits: final for the batch) */
  order?: Record<string, unknown>;
}

interface Market {
  id: string;
  config: MarketConfig;
  makerFeeBps: number;
  takerFeeBps: number;
  engine: MatchingEngine;
  sink: CollectingSink;
}

export interface CommittedBook {
  /** the market's event sequence number at that point */
  seq: number;
  /** the market's state at that point (a set_state of a batch not yet committed is not seen) */
  state: MarketState;
  referencePrice: number;
  bids: [number, number][];
  asks: [number, number][];
}

interface OrderState {
  marketId: string;
  agentId: string;
  filled: number;
  notional: number;
}

interface Pending {
  cmd: HostCommand;
  resolve: (r: HostResult) => void;
  reject: (e: unknown) => void;
}

export interface EngineHostOptions {
  /** Commands between two snapshots (default SNAPSHOT_EVERY_COMMANDS); 0 writes none, not even at stop(). */
  snapshotEvery?: number;
  /** Recovery starts from the newest snapshot that verifies (default); false replays the whole log. */
  restoreSnapshots?: boolean;
  /**
   * Told when a snapshot could not be written (it never fails a batch; the next batch takes another) or was not
   * used at recovery (recovery fell back to the previous snapshot or to the whole log).
   */
  onSnapshotError?: (err: Error, phase: 'write' | 'restore') => void;
  /** Told after each snapshot written: its command seq, its size (bytes, compressed) and its time (ms, after the copy). */
  onSnapshot?: (info: { seq: number; bytes: number; ms: number }) => void;
}

/** What recovery did. */
export interface LoadResult {
  /** commands replayed from the log (those after the snapshot, or all of them) */
  commands: number;
  /** command seq of the snapshot recovery started from, null for a replay of the whole log */
  fromSnapshot: number | null;
  /** snapshots found but not used (did not decode, restore or verify; a newer one is tried first) */
  snapshotsRejected: number;
  ms: number;
  /** state-hash checkpoints verified (those at or after the starting point) */
  checkpointsVerified: number;
}

/** One line for the log: where recovery started, what it replayed, what it verified. */
export function recoverySummary(r: LoadResult): string {
  const from = r.fromSnapshot === null ? 'the whole log' : `the snapshot at command ${r.fromSnapshot}`;
  const skipped = r.snapshotsRejected > 0 ? ` (${r.snapshotsRejected} snapshot(s) skipped: did not verify)` : '';
  return `from ${from}${skipped}: ${r.commands} commands replayed in ${r.ms} ms, ${r.checkpointsVerified} state hash(es) verified`;
}

/** A snapshot that does not restore, or a replay that does not reach its checkpoint. */
class RecoveryError extends Error {}

interface Checkpoint {
  marketId: string;
  hash: string;
  /** when it was written (a checkpoint predates the assets defined after it) */
  at: Date;
}

type LoggedCommand =
  | { t: 'm'; c: MatchingCommand }
  | { t: 'f'; op: 'deposit' | 'withdraw'; agent: number; asset: string; amount: string };

export class EngineHost {
  private markets = new Map<string, Market>();
  private balances!: BalanceView;
  private agentNum = new Map<string, number>();
  private agentByNum = new Map<number, string>();
  private accounts = new Map<string, string>();
  private orders = new Map<number, OrderState>();
  private seq = 0;
  private lastTs = 0;
  private lastOrderId = 0;
  private queue: Pending[] = [];
  private running = false;
  private paused = false;
  private idle: (() => void)[] = [];
  private stopped = false;
  private broken: Error | null = null;
  /** GTD expiry times per market (ms), so a timer can make time pass exactly when an order is due. */
  private expiries: { at: number; marketId: string }[] = [];
  private expiryTimer: NodeJS.Timeout | undefined;
  private checkpointSeq = 0;
  /** The book of each market as of the last committed batch: readers never see a batch that may roll back. */
  private committedBooks = new Map<string, CommittedBook>();
  /** checkpoints verified by the last load() */
  private verified = 0;
  private readonly snapshotEvery: number;
  /** seq of the last snapshot taken (or restored): the next is due SNAPSHOT_EVERY_COMMANDS later */
  private snapshotSeq = 0;
  /** seq of the last snapshot known to be in the database */
  private snapshotWrittenSeq = 0;
  /** snapshot writes, one after another */
  private snapshotChain: Promise<void> = Promise.resolve();
  private snapshotsQueued = 0;

  constructor(
    private readonly pool: Pool,
    /** Told when a batch fails to commit (the host then rebuilds itself from the log). */
    private readonly onBatchError: (err: Error) => void = () => undefined,
    /** Told after each committed batch: its size (commands) and its time (ms), for metrics. */
    private readonly onBatch: (size: number, ms: number) => void = () => undefined,
    private readonly options: EngineHostOptions = {},
  ) {
    this.snapshotEvery = options.snapshotEvery ?? SNAPSHOT_EVERY_COMMANDS;
  }

  /** Migrations not yet applied: the host cannot load before they are. */
  async pendingMigrations(): Promise<string[]> {
    return pendingMigrations((sql) => this.pool.query(sql));
  }

  get attached(): boolean {
    return !this.stopped && this.broken === null;
  }

  market(id: string): Market | undefined {
    return this.markets.get(id);
  }

  /** What the agent's open orders hold of an asset, in minor units (0 for an agent or asset the engine has not seen). */
  reserved(agentId: string, asset: string): bigint {
    return this.holdings(agentId, asset).reserved;
  }

  /** What the engine holds of an agent's asset (minor units): its total and what its open orders reserve. */
  holdings(agentId: string, asset: string): { total: bigint; reserved: bigint } {
    const n = this.agentNum.get(agentId);
    if (n === undefined || !this.balances?.assets.includes(asset) || !this.balances.isKnown(n)) return { total: 0n, reserved: 0n };
    const a = this.balances.assetIndex(asset);
    return { total: BigInt(this.balances.getTotal(n, a)), reserved: BigInt(this.balances.getReserved(n, a)) };
  }

  /** Whether the engine's memory and the database agree (balances, open orders); pauses batches meanwhile. */
  agreement(): Promise<AgreementReport> {
    return engineAgreement(this, this.pool);
  }

  /** The book as of the last committed batch (ticks and lots), or undefined for an unknown market. */
  committedBook(marketId: string): CommittedBook | undefined {
    return this.committedBooks.get(marketId);
  }

  /** The books of these markets as they are now. */
  private bookViews(marketIds: Iterable<string>): Map<string, CommittedBook> {
    const views = new Map<string, CommittedBook>();
    for (const id of marketIds) {
      const e = this.markets.get(id)?.engine;
      if (e) views.set(id, { seq: e.sequence, state: e.marketState, referencePrice: e.referencePrice, ...e.depth(BOOK_VIEW_LEVELS) });
    }
    return views;
  }

  hasAsset(code: string): boolean {
    return this.balances?.assets.includes(code) ?? false;
  }

  marketIds(): string[] {
    return [...this.markets.keys()];
  }

  /**
   * Loads markets and agents, then rebuilds every book and the balances (recovery): from the newest snapshot
   * that verifies plus the commands logged after it, else from the whole command log. Safe to call again to reload.
   */
  async load(): Promise<LoadResult> {
    try {
      return await this.rebuild();
    } catch (e) {
      // A host that could not rebuild (database down, replay diverged from its checkpoint) takes no commands.
      this.broken = e as Error;
      throw e;
    }
  }

  private async rebuild(): Promise<LoadResult> {
    const t0 = Date.now();
    const assets = (await this.pool.query<{ code: string; created_at: Date }>('SELECT code, created_at FROM ledger_asset ORDER BY code')).rows;
    const markets: { id: string; config: MarketConfig; makerFeeBps: number; takerFeeBps: number }[] = [];
    for (const r of (await this.pool.query('SELECT * FROM market ORDER BY id')).rows) {
      markets.push({
        id: r.id,
        makerFeeBps: r.maker_fee_bps,
        takerFeeBps: r.taker_fee_bps,
        config: {
          marketId: r.id,
          baseAsset: r.base_asset,
          tickSize: Number(r.tick_size),
          lotSize: Number(r.lot_size),
          minOrderLots: r.min_order_lots,
          maxOrderLots: r.max_order_lots,
          maxPriceTicks: r.max_price_ticks,
          priceBandBps: r.price_band_bps,
          initialPriceTicks: r.initial_price_ticks,
          defaultStp: r.default_stp,
          ordersPerAgentMax: r.orders_per_agent_max,
          bookOrdersMax: 1 << 20,
          maxSpendCredits: Number(r.max_spend_credits),
        },
      });
      // fee accounts of both assets exist before any trade needs them
      for (const asset of [CREDIT, r.base_asset as string]) {
        const acc = await systemAccount(this.pool, 'fees', asset);
        if (!acc.ok) throw new Error(`fees account of ${asset}: ${acc.code}`);
      }
    }
    this.agentNum = new Map();
    this.agentByNum = new Map();
    for (const r of (await this.pool.query<{ id: string; num: number }>('SELECT id, num FROM agent')).rows) {
      this.agentNum.set(r.id, r.num);
      this.agentByNum.set(r.num, r.id);
    }
    // ledger account ids of every agent and system account: settlement legs name makers placed before a restart
    this.accounts = new Map();
    for (const r of (await this.pool.query<{ id: string; owner_kind: string; owner_id: string; asset: string }>(
      `SELECT id, owner_kind, owner_id, asset FROM ledger_account WHERE owner_kind IN ('agent', 'system')`,
    )).rows) {
      this.accounts.set(r.owner_kind === 'agent' ? `${r.owner_id}|${r.asset}` : `system:${r.owner_id}|${r.asset}`, r.id);
    }
    const checkpoints = new Map<number, Checkpoint[]>();
    for (const r of (await this.pool.query<{ market_id: string; command_seq: string; state_hash: string; updated_at: Date }>('SELECT * FROM engine_checkpoint')).rows) {
      const at = Number(r.command_seq);
      checkpoints.set(at, [...(checkpoints.get(at) ?? []), { marketId: r.market_id, hash: r.state_hash, at: r.updated_at }]);
    }
    const snapshots =
      this.options.restoreSnapshots === false
        ? []
        : (await this.pool.query<{ command_seq: string; format: number; state_hashes: Record<string, string> }>(
            'SELECT command_seq, format, state_hashes FROM engine_snapshot ORDER BY command_seq DESC LIMIT $1',
            [SNAPSHOTS_KEPT],
          )).rows;

    // The newest snapshot first, then the one before, then the whole log. Each attempt starts from empty books.
    let rejected = 0;
    for (const snap of [...snapshots, null]) {
      this.balances = new BalanceView(assets.map((a) => a.code), HOST_AGENTS_MAX);
      this.markets = new Map();
      for (const m of markets) {
        const sink = new CollectingSink();
        this.markets.set(m.id, { ...m, sink, engine: new MatchingEngine(m.config, { balances: this.balances, sink }) });
      }
      this.orders = new Map();
      this.expiries = [];
      this.seq = 0;
      this.lastTs = 0;
      this.lastOrderId = 0;
      this.verified = 0;
      try {
        const from = snap ? await this.restoreSnapshot(snap) : 0;
        const n = await this.replayLog(from, checkpoints, assets);
        this.checkpointSeq = this.seq;
        this.committedBooks = this.bookViews(this.markets.keys());
        this.recentIds = new Map();
        this.broken = null;
        // GTD expiries of the orders resting now (those of orders that ended meanwhile would only cause idle ticks)
        this.expiries = [];
        for (const m of this.markets.values()) {
          for (const o of m.engine.snapshot().orders) if (o.expiresAt !== 0) this.expiries.push({ at: o.expiresAt, marketId: m.id });
        }
        this.scheduleExpiry();
        this.snapshotSeq = this.snapshotWrittenSeq = from;
        // a long replay (or a snapshot that did not restore) is not done again at the next start
        if (this.snapshotEvery > 0 && this.seq > from && (this.seq - from >= this.snapshotEvery || rejected > 0)) {
          this.snapshotSeq = this.seq;
          this.scheduleSnapshot(this.captureState());
        }
        return { commands: n, fromSnapshot: snap ? from : null, snapshotsRejected: rejected, ms: Date.now() - t0, checkpointsVerified: this.verified };
      } catch (e) {
        if (snap === null || !(e instanceof RecoveryError)) throw e;
        rejected++;
        this.options.onSnapshotError?.(new Error(`snapshot of command ${snap.command_seq} not used: ${e.message}`), 'restore');
      }
    }
    throw new Error('unreachable');
  }

  /** Restores the host from a snapshot (into the fresh books and view); returns its command seq. */
  private async restoreSnapshot(row: { command_seq: string; format: number; state_hashes: Record<string, string> }): Promise<number> {
    const data = (await this.pool.query<{ state: Buffer }>('SELECT state FROM engine_snapshot WHERE command_seq = $1', [row.command_seq])).rows[0]?.state;
    try {
      if (!data) throw new Error('it was deleted meanwhile');
      const seq = Number(row.command_seq);
      const s = decodeSnapshot(data, row.format);
      if (s.seq !== seq) throw new Error(`its state is of command ${s.seq}`);
      const hashes = row.state_hashes ?? {};
      const ids = s.markets.map((m) => m.id);
      if (Object.keys(hashes).sort().join('\n') !== [...ids].sort().join('\n')) throw new Error('its state hashes name other markets than its books');
      restoreBalancesInto(this.balances, s.balances);
      for (const sm of s.markets) {
        const m = this.markets.get(sm.id);
        if (!m) throw new Error(`market ${sm.id} is not in the market table`);
        // the rules come from the market table, as in a replay (they are fixed once a market is created)
        m.engine = MatchingEngine.restore(engineSnapshot(sm.engine, m.config), { balances: this.balances, sink: m.sink });
        for (const f of sm.fills) this.orders.set(f.orderId, { marketId: m.id, agentId: this.agentByNum.get(f.agent) ?? '', filled: f.filled, notional: f.notional });
      }
      // every book and the shared balances are what they were when the snapshot was taken (hashed in that view)
      for (const sm of s.markets) {
        const got = stateHashIn((this.markets.get(sm.id) as Market).engine, this.balances, s.balances.assets);
        if (got !== hashes[sm.id]) throw new Error(`market ${sm.id} restores to state hash ${got}, the snapshot says ${hashes[sm.id]}`);
        if (sm.engine.lastOrderId > s.lastOrderId) throw new Error(`market ${sm.id} has seen order ${sm.engine.lastOrderId}, beyond the last order id ${s.lastOrderId}`);
      }
      this.seq = seq;
      this.lastTs = s.lastTs;
      this.lastOrderId = s.lastOrderId;
      return seq;
    } catch (e) {
      throw new RecoveryError((e as Error).message);
    }
  }

  /** Replays the command log after `from` (a cursor-free keyset scan, 10,000 commands a page), verifying checkpoints. */
  private async replayLog(from: number, checkpoints: Map<number, Checkpoint[]>, assets: { code: string; created_at: Date }[]): Promise<number> {
    const verify = (at: number): void => {
      for (const cp of checkpoints.get(at) ?? []) {
        if (!this.checkpointMatches(cp, assets)) {
          const got = this.markets.get(cp.marketId)?.engine.stateHash();
          throw new RecoveryError(`recovery diverged: market ${cp.marketId} hashes to ${got} after command ${at}, the checkpoint says ${cp.hash}`);
        }
        this.verified++;
      }
    };
    if (from > 0) verify(from);
    let n = 0;
    const client = await this.pool.connect();
    try {
      for (let after = from; ; ) {
        const page = await client.query<{ seq: string; market_id: string | null; command: LoggedCommand }>(
          'SELECT seq, market_id, command FROM engine_command WHERE seq > $1 ORDER BY seq LIMIT 10000',
          [after],
        );
        try {
          for (const row of page.rows) {
            this.seq = Number(row.seq);
            this.replay(row.market_id, row.command);
            n++;
            verify(this.seq);
          }
        } catch (e) {
          throw e instanceof RecoveryError ? e : new RecoveryError((e as Error).message);
        }
        if (page.rows.length < 10000) break;
        after = this.seq;
      }
    } finally {
      client.release();
    }
    return n;
  }

  /**
   * Whether the market's state hashes to the checkpoint. The hash covers every asset of the balance view, also
   * one with nothing in it, so a checkpoint written before an asset was defined matches only the view without it:
   * such an asset is still empty at that point; the layouts without the empty assets defined after the checkpoint,
   * then without every empty asset, are tried too.
   */
  private checkpointMatches(cp: Checkpoint, assets: { code: string; created_at: Date }[]): boolean {
    const e = this.markets.get(cp.marketId)?.engine;
    if (!e) return false;
    if (e.stateHash() === cp.hash) return true;
    const empty = assets.filter((a) => this.balances.supply[this.balances.assetIndex(a.code)] === 0);
    const later = empty.filter((a) => a.created_at > cp.at);
    for (const drop of later.length < empty.length ? [later, empty] : [empty]) {
      if (drop.length === 0) continue;
      const layout = this.balances.assets.filter((c) => !drop.some((d) => d.code === c));
      if (stateHashIn(e, this.balances, layout) === cp.hash) return true;
    }
    return false;
  }

  /** A copy of the whole state (between two batches): what a snapshot holds. */
  private captureState(): HostState {
    const balances = this.balances.snapshot();
    const markets = [...this.markets.values()].map((m) => {
      const engine = m.engine.snapshot();
      engine.balances = balances; // every engine's copy of the shared view is the same
      return { id: m.id, engine };
    });
    const fills = new Map<number, { filled: number; notional: number }>();
    for (const [id, o] of this.orders) fills.set(id, { filled: o.filled, notional: o.notional });
    return { seq: this.seq, lastTs: this.lastTs, lastOrderId: this.lastOrderId, balances, markets, fills };
  }

  /** At a batch's written point (this batch executed, the next not yet): a copy of the state if a snapshot is due. */
  private snapshotDue(): HostState | null {
    if (this.snapshotEvery <= 0 || this.seq - this.snapshotSeq < this.snapshotEvery || this.snapshotsQueued >= 2) return null;
    try {
      const s = this.captureState();
      this.snapshotSeq = s.seq;
      return s;
    } catch (e) {
      this.options.onSnapshotError?.(e as Error, 'write');
      return null;
    }
  }

  /** Writes a captured state once the writes before it are done; a failure is reported and the next batch takes another. */
  private scheduleSnapshot(s: HostState): void {
    this.snapshotsQueued++;
    this.snapshotChain = this.snapshotChain
      .then(() => this.writeSnapshot(s))
      .catch((e: Error) => {
        this.snapshotSeq = Math.min(this.snapshotSeq, this.snapshotWrittenSeq);
        this.options.onSnapshotError?.(e, 'write');
      })
      .finally(() => this.snapshotsQueued--);
  }

  private async writeSnapshot(s: HostState): Promise<void> {
    await new Promise((r) => setImmediate(r)); // the batch's callers are answered first
    const t0 = performance.now();
    const hashes = stateHashes(s);
    const data = await encodeSnapshot(s);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO engine_snapshot (command_seq, format, state, state_hashes) VALUES ($1, $2, $3, $4)
         ON CONFLICT (command_seq) DO UPDATE SET format = EXCLUDED.format, state = EXCLUDED.state, state_hashes = EXCLUDED.state_hashes, taken_at = now()`,
        [s.seq, SNAPSHOT_FORMAT, data, JSON.stringify(hashes)],
      );
      await client.query(
        'DELETE FROM engine_snapshot WHERE command_seq NOT IN (SELECT command_seq FROM engine_snapshot ORDER BY command_seq DESC LIMIT $1)',
        [SNAPSHOTS_KEPT],
      );
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
    this.snapshotWrittenSeq = Math.max(this.snapshotWrittenSeq, s.seq);
    this.options.onSnapshot?.({ seq: s.seq, bytes: data.length, ms: performance.now() - t0 });
  }

  /** At shutdown (nothing in flight): the pending snapshot writes, then one of the final state. */
  private async finalSnapshot(): Promise<void> {
    await this.snapshotChain;
    if (this.snapshotEvery <= 0 || this.broken || !this.balances || this.seq === 0 || this.seq <= this.snapshotWrittenSeq) return;
    this.snapshotSeq = this.seq;
    this.scheduleSnapshot(this.captureState());
    await this.snapshotChain;
  }

  private replay(marketId: string | null, logged: LoggedCommand): void {
    if (logged.t === 'f') {
      this.balances.registerAgent(logged.agent);
      const a = this.balances.assetIndex(logged.asset);
      const ok = logged.op === 'deposit' ? this.balances.deposit(logged.agent, a, Number(logged.amount)) : this.balances.withdraw(logged.agent, a, Number(logged.amount));
      if (!ok) throw new Error(`replay diverged at seq ${this.seq}: funds ${logged.op} refused`);
      return;
    }
    const m = this.markets.get(marketId as string);
    if (!m) throw new Error(`replay: unknown market ${marketId} at seq ${this.seq}`);
    const c = logged.c;
    this.lastTs = Math.max(this.lastTs, c.ts);
    if ('agent' in c) this.balances.registerAgent(c.agent);
    if ((c.type === 'limit' || c.type === 'market') && c.orderId > this.lastOrderId) this.lastOrderId = c.orderId;
    m.engine.execute(c);
    const events = m.sink.take();
    for (const e of events) if (e.kind === 'trade') this.applyFees(m, e);
    if (c.type === 'limit' && c.tif === 'GTD' && c.expiresAt !== undefined && m.engine.order(c.orderId)) this.expiries.push({ at: c.expiresAt, marketId: m.id });
    this.trackFills(m, events);
    this.forgetEnded(m, events);
  }

  /**
   * The fees of a trade, taken from what each side receives (the buyer pays in the base asset, the seller in
   * credits), rounded down; moved out of the engine's balance view here, into the ledger's fees accounts by the
   * settlement. Runs for live trades and in replay alike, so the view and the ledger stay equal.
   */
  private applyFees(m: Market, e: Extract<MatchingEvent, { kind: 'trade' }>): { buyerFee: number; sellerFee: number } {
    const buyerIsTaker = e.takerSide === 'buy';
    const buyerBps = buyerIsTaker ? m.takerFeeBps : m.makerFeeBps;
    const sellerBps = buyerIsTaker ? m.makerFeeBps : m.takerFeeBps;
    const base = e.lots * m.config.lotSize;
    const buyerFee = Number((BigInt(base) * BigInt(buyerBps)) / 10_000n);
    const sellerFee = Number((BigInt(e.notional) * BigInt(sellerBps)) / 10_000n);
    const [buyer, seller] = buyerIsTaker ? [e.takerAgent, e.makerAgent] : [e.makerAgent, e.takerAgent];
    if (buyerFee > 0 && !this.balances.withdraw(buyer, this.balances.assetIndex(m.config.baseAsset), buyerFee)) {
      throw new Error(`fee of ${buyerFee} could not be taken from agent ${buyer}`); // it just received more than that
    }
    if (sellerFee > 0 && !this.balances.withdraw(seller, this.balances.assetIndex(CREDIT), sellerFee)) {
      throw new Error(`fee of ${sellerFee} could not be taken from agent ${seller}`);
    }
    return { buyerFee, sellerFee };
  }

  /** Keeps what the projections need for open orders: fills so far. */
  private trackFills(m: Market, events: MatchingEvent[]): void {
    for (const e of events) {
      if (e.kind === 'accepted') {
        this.orders.set(e.orderId, { marketId: m.id, agentId: this.agentByNum.get(e.agent) ?? '', filled: 0, notional: 0 });
      } else if (e.kind === 'trade') {
        for (const id of [e.makerOrderId, e.takerOrderId]) {
          const o = this.orders.get(id);
          if (o) {
            o.filled += e.lots;
            o.notional += e.notional;
          }
        }
      }
    }
  }

  /** Forgets orders that no longer rest (their rows are final). */
  private forgetEnded(m: Market, events: MatchingEvent[]): void {
    for (const e of events) {
      const id = e.kind === 'accepted' || e.kind === 'cancelled' || e.kind === 'expired' ? e.orderId : e.kind === 'trade' ? e.makerOrderId : 0;
      if (id && !m.engine.order(id)) this.orders.delete(id);
    }
  }

  /**
   * Queues a command; resolves once its batch is committed. What can be checked before sequencing (the agent,
   * the market, the asset) is checked here, so a bad command fails alone and never breaks a batch.
   */
  async submit(cmd: HostCommand): Promise<HostResult> {
    if (this.stopped) throw new AppError('SERVICE_UNAVAILABLE', 'The engine is shutting down.');
    if (this.broken) throw new AppError('SERVICE_UNAVAILABLE', 'The engine is recovering.', { reason: this.broken.message });
    await this.prepare(cmd);
    return new Promise((resolve, reject) => {
      this.queue.push({ cmd, resolve, reject });
      this.kick();
    });
  }

  private async prepare(cmd: HostCommand): Promise<void> {
    if (cmd.kind !== 'set_state' && cmd.kind !== 'tick') await this.num(cmd.agentId);
    if ('marketId' in cmd && cmd.marketId !== undefined && !this.markets.has(cmd.marketId)) {
      throw new AppError('NOT_FOUND', 'No such market.', { marketId: cmd.marketId });
    }
    if (cmd.kind === 'place') {
      const m = this.markets.get(cmd.marketId) as Market;
      await this.accountId(cmd.agentId, CREDIT, this.pool);
      await this.accountId(cmd.agentId, m.config.baseAsset, this.pool);
    } else if (cmd.kind === 'funds') {
      if (!this.balances.assets.includes(cmd.asset)) throw new AppError('LEDGER_ASSET_NOT_FOUND', 'No such asset.', { code: cmd.asset });
      // refused here, alone: inside a batch it would fail every command of the batch
      if (cmd.amount > BigInt(Number.MAX_SAFE_INTEGER)) throw new AppError('AMOUNT_OUT_OF_RANGE', 'The amount is beyond what the engine holds per agent.');
      await this.accountId(cmd.agentId, cmd.asset, this.pool);
      await this.issuanceId(cmd.asset);
    }
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
      const committed = this.runBatch(
        batch.map((p) => p.cmd),
        prev,
        written,
      );
      const settled = committed.then(
        (results) => {
          this.onBatch(batch.length, performance.now() - started);
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
    this.scheduleExpiry();
    // commands queued while the last batches were finishing: their kick() found this drain still running
    this.kick();
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

  /**
   * GTD orders expire on time: a timer at the earliest known expiry sends a tick through the sequence (so the
   * expiry is logged and replays exactly). Expiries of orders that ended earlier just cause a harmless tick.
   */
  private scheduleExpiry(): void {
    if (this.stopped || this.expiries.length === 0) return;
    this.expiries.sort((a, b) => a.at - b.at);
    const next = this.expiries[0] as { at: number };
    clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(() => {
      const now = Date.now();
      const due = new Set<string>();
      while (this.expiries.length > 0 && (this.expiries[0] as { at: number }).at <= now) due.add((this.expiries.shift() as { marketId: string }).marketId);
      for (const marketId of due) void this.submit({ kind: 'tick', marketId }).catch(() => undefined);
      this.scheduleExpiry();
    }, Math.max(0, Math.min(next.at - Date.now() + 1, 2 ** 31 - 1)));
    this.expiryTimer.unref();
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
    clearTimeout(this.expiryTimer);
    await this.flush();
    await this.checkpoint();
    await this.finalSnapshot();
  }

  private async accountId(agentId: string, asset: string, db: Pool | PoolClient): Promise<string> {
    const key = `${agentId}|${asset}`;
    let id = this.accounts.get(key);
    if (!id) {
      const r = await openAccount(db, { kind: 'agent', id: agentId }, asset);
      if (!r.ok) throw new AppError(r.code, r.message, r.details);
      id = r.account.id;
      this.accounts.set(key, id);
    }
    return id;
  }

  private systemId(name: 'fees' | 'issuance', asset: string): string {
    const id = this.accounts.get(`system:${name}|${asset}`);
    if (!id) throw new Error(`no ${name} account known for ${asset}`);
    return id;
  }

  private async issuanceId(asset: string): Promise<string> {
    const key = `system:issuance|${asset}`;
    let id = this.accounts.get(key);
    if (!id) {
      const r = await systemAccount(this.pool, 'issuance', asset);
      if (!r.ok) throw new AppError(r.code, r.message, r.details);
      id = r.account.id;
      this.accounts.set(key, id);
    }
    return id;
  }

  private async num(agentId: string): Promise<number> {
    let n = this.agentNum.get(agentId);
    if (n === undefined) {
      const r = await this.pool.query<{ num: number }>('SELECT num FROM agent WHERE id = $1', [agentId]);
      if (!r.rows[0]) throw new AppError('NOT_FOUND', 'No such agent.', { agentId });
      n = r.rows[0].num;
      if (n >= HOST_AGENTS_MAX) throw new AppError('SERVICE_UNAVAILABLE', 'This node holds no more agents (HOST_AGENTS_MAX).');
      this.agentNum.set(agentId, n);
      this.agentByNum.set(n, agentId);
    }
    return n;
  }

  /**
   * Ids (clientOrderIds as `agent|id`, funds transfer ids as `f|id`) of batches that may not be visible to a
   * later batch's pre-read: those not yet committed (gen null), and those committed after a pre-read in flight
   * began. An entry committed at generation g is dropped once a batch whose pre-read began at generation >= g
   * has executed: every later pre-read sees it in the database.
   */
  private recentIds = new Map<string, { orderId: number; gen: number | null }>();
  private commitGen = 0;

  private async runBatch(cmds: HostCommand[], prev: Promise<boolean>, written: () => void): Promise<HostResult[]> {
    // Agents, markets and ledger accounts were resolved in prepare().
    const client = await this.pool.connect();
    let failed = false;
    const mine: string[] = [];
    try {
      // Idempotency pre-read, one query per kind: clientOrderIds already placed, funds transfers already in the journal.
      const readGen = this.commitGen;
      const placed = new Map<string, number>();
      const coids = cmds.flatMap((c) => (c.kind === 'place' && c.order.clientOrderId ? [[c.agentId, c.order.clientOrderId] as const] : []));
      if (coids.length > 0) {
        const r = await client.query<{ agent_id: string; client_order_id: string; id: string }>(
          `SELECT o.agent_id, o.client_order_id, o.id FROM trading_order o
             JOIN unnest($1::text[], $2::text[]) AS k(agent_id, client_order_id) USING (agent_id, client_order_id)`,
          [coids.map((k) => k[0]), coids.map((k) => k[1])],
        );
        for (const row of r.rows) placed.set(`${row.agent_id}|${row.client_order_id}`, Number(row.id));
      }
      // Funds movements are idempotent by transfer id: one already in the journal (or earlier) is not executed
      // again; the caller compares bodies.
      const fundIds = cmds.flatMap((c) => (c.kind === 'funds' ? [c.transferId] : []));
      if (fundIds.length > 0) {
        for (const row of (await client.query<{ id: string }>('SELECT id FROM ledger_transfer WHERE id = ANY($1::text[])', [fundIds])).rows) placed.set(`f|${row.id}`, 0);
      }
      // The engines run this batch only now: after every earlier batch ran (drain() starts this one once the
      // previous one has written), so in sequence order.
      for (const [k, v] of this.recentIds) if (v.gen !== null && v.gen <= readGen) this.recentIds.delete(k);
      const seen = (key: string): number | undefined => this.recentIds.get(key)?.orderId ?? placed.get(key);
      const remember = (key: string, orderId: number): void => {
        this.recentIds.set(key, { orderId, gen: null });
        mine.push(key);
      };

      await client.query('BEGIN');
      const results: HostResult[] = [];
      const logRows: { seq: number; market: string | null; ts: number; json: string }[] = [];
      const orderRows = new Map<number, unknown[]>();
      const tradeRows: unknown[][] = [];
      const ledger: LedgerRequest[] = [];

      for (const cmd of cmds) {
        const ts = (this.lastTs = Math.max(this.lastTs, Date.now()));
        if (cmd.kind === 'funds') {
          if (seen(`f|${cmd.transferId}`) !== undefined) {
            results.push({ seq: null, code: null, events: [], duplicateTransfer: true });
            continue;
          }
          remember(`f|${cmd.transferId}`, 0);
          results.push(this.funds(cmd, ts, logRows, ledger));
          continue;
        }
        const m = this.markets.get(cmd.marketId ?? '');
        if (cmd.kind === 'cancel_all' && !cmd.marketId) {
          // every market, each its own logged command, answered as one
          const events: MatchingEvent[] = [];
          let seq: string | null = null;
          for (const mk of this.markets.values()) {
            const r = this.exec(mk, { type: 'cancel_all', ts, agent: this.agentNum.get(cmd.agentId) as number }, logRows, orderRows, tradeRows, ledger, cmd);
            events.push(...r.events);
            seq = r.seq;
          }
          results.push({ seq, code: null, events });
          continue;
        }
        if (!m) throw new Error(`command for unknown market ${cmd.marketId} reached the host`);
        const agent = cmd.kind === 'set_state' || cmd.kind === 'tick' ? 0 : (this.agentNum.get(cmd.agentId) as number);
        let mc: MatchingCommand;
        switch (cmd.kind) {
          case 'place': {
            const o = cmd.order;
            if (o.clientOrderId) {
              const existing = seen(`${cmd.agentId}|${o.clientOrderId}`);
              if (existing !== undefined) {
                results.push({ seq: null, code: null, events: [], existingOrderId: existing });
                continue;
              }
            }
            const orderId = ++this.lastOrderId;
            if (o.clientOrderId) remember(`${cmd.agentId}|${o.clientOrderId}`, orderId);
            mc =
              o.type === 'limit'
                ? { type: 'limit', ts, orderId, agent, side: o.side, price: o.price as number, lots: o.lots as number, tif: o.tif ?? 'GTC', ...(o.expiresAt !== undefined ? { expiresAt: o.expiresAt } : {}), ...(o.postOnly ? { postOnly: true } : {}), ...(o.stp ? { stp: o.stp } : {}), ...(o.clientOrderId ? { clientOrderId: o.clientOrderId } : {}) }
                : { type: 'market', ts, orderId, agent, side: o.side, ...(o.lots !== undefined ? { lots: o.lots } : {}), ...(o.spend !== undefined ? { spend: o.spend } : {}), ...(o.stp ? { stp: o.stp } : {}), ...(o.clientOrderId ? { clientOrderId: o.clientOrderId } : {}) };
            const r = this.exec(m, mc, logRows, orderRows, tradeRows, ledger, cmd);
            results.push({ ...r, orderId, order: this.rowRecord(orderRows.get(orderId) as unknown[], mc.ts) });
            continue;
          }
          case 'cancel':
            mc = { type: 'cancel', ts, agent, orderId: cmd.orderId };
            break;
          case 'cancel_all':
            mc = { type: 'cancel_all', ts, agent };
            break;
          case 'amend':
            mc = { type: 'amend', ts, agent, orderId: cmd.orderId, price: cmd.price, lots: cmd.lots };
            break;
          case 'set_state':
            mc = { type: 'set_state', ts, state: cmd.state };
            break;
          case 'tick':
            mc = { type: 'tick', ts };
            break;
        }
        results.push(this.exec(m, mc, logRows, orderRows, tradeRows, ledger, cmd));
      }

      // the command log and both projections in one statement (one round trip; foreign keys are checked at its end)
      if (logRows.length > 0) {
        const orders = [...orderRows.values()];
        const ocol = (i: number) => orders.map((r) => r[i]);
        const tcol = (i: number) => tradeRows.map((r) => r[i]);
        await client.query(
          `WITH cmd AS (
             INSERT INTO engine_command (seq, market_id, ts, command)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::jsonb[])
           ), ord AS (
             INSERT INTO trading_order (id, market_id, agent_id, client_order_id, side, type, tif, post_only, price_ticks, lots, spend,
                                        expires_at, status, filled_lots, open_lots, filled_notional, reason, command_seq)
             SELECT * FROM unnest($5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::boolean[],
                                  $13::int[], $14::bigint[], $15::bigint[], $16::bigint[], $17::text[], $18::bigint[], $19::bigint[],
                                  $20::bigint[], $21::text[], $22::bigint[])
             ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, filled_lots = EXCLUDED.filled_lots,
               open_lots = EXCLUDED.open_lots, filled_notional = EXCLUDED.filled_notional,
               reason = COALESCE(EXCLUDED.reason, trading_order.reason),
               price_ticks = COALESCE(EXCLUDED.price_ticks, trading_order.price_ticks), updated_at = now()
           )
           INSERT INTO trade (market_id, event_seq, command_seq, maker_order_id, taker_order_id, maker_agent_id, taker_agent_id,
                              taker_side, price_ticks, lots, notional, buyer_fee, seller_fee)
           SELECT * FROM unnest($23::text[], $24::bigint[], $25::bigint[], $26::bigint[], $27::bigint[], $28::text[], $29::text[],
                                $30::text[], $31::int[], $32::bigint[], $33::bigint[], $34::bigint[], $35::bigint[])`,
          [
            logRows.map((r) => r.seq),
            logRows.map((r) => r.market),
            logRows.map((r) => r.ts),
            logRows.map((r) => r.json),
            ...Array.from({ length: 18 }, (_, i) => ocol(i)),
            ...Array.from({ length: 13 }, (_, i) => tcol(i)),
          ],
        );
      }
      if (ledger.length > 0) {
        const lr = await applyBatch(client, ledger);
        const bad = lr.find((r) => !r.ok);
        // The engine reserved the funds of every trade before matching; a ledger refusal here is a broken invariant.
        if (bad && !bad.ok) throw new Error(`ledger refused a settlement the engine made: ${bad.code} ${JSON.stringify(bad.details ?? {})}`);
      }
      if (this.seq - this.checkpointSeq >= CHECKPOINT_EVERY_COMMANDS) await this.writeCheckpoints(client);
      // the books as this batch leaves them (the next batch may run before this one commits)
      const books = this.bookViews(new Set(logRows.flatMap((r) => (r.market ? [r.market] : []))));
      // a copy of the state as this batch leaves it, when a snapshot is due (written once this batch has committed)
      const snapshot = this.snapshotDue();
      written();
      if (!(await prev)) throw new Error('an earlier batch in the pipeline did not commit');
      await client.query('COMMIT');
      this.commitGen++;
      for (const k of mine) {
        const e = this.recentIds.get(k);
        if (e) e.gen = this.commitGen;
      }
      for (const [id, b] of books) this.committedBooks.set(id, b);
      if (snapshot) this.scheduleSnapshot(snapshot);
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

  /** Records every market's state hash at the current command (in the batch's transaction). */
  private async writeCheckpoints(client: PoolClient): Promise<void> {
    if (this.seq === 0) return;
    const ms = [...this.markets.values()];
    await client.query(
      `INSERT INTO engine_checkpoint (market_id, command_seq, state_hash)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
       ON CONFLICT (market_id) DO UPDATE SET command_seq = EXCLUDED.command_seq, state_hash = EXCLUDED.state_hash, updated_at = now()`,
      [ms.map((m) => m.id), ms.map(() => this.seq), ms.map((m) => m.engine.stateHash())],
    );
    this.checkpointSeq = this.seq;
  }

  /** A checkpoint at the current command, in a transaction of its own (at shutdown, with nothing in flight). */
  private async checkpoint(): Promise<void> {
    if (this.seq === this.checkpointSeq || this.broken || !this.balances) return;
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

  private funds(cmd: Extract<HostCommand, { kind: 'funds' }>, ts: number, logRows: { seq: number; market: string | null; ts: number; json: string }[], ledger: LedgerRequest[]): HostResult {
    const agent = this.agentNum.get(cmd.agentId) as number;
    this.balances.registerAgent(agent);
    const asset = this.balances.assetIndex(cmd.asset); // prepare() checked it; assets are never removed
    const amount = Number(cmd.amount); // prepare() refused amounts beyond 2^53 - 1
    const ok = cmd.op === 'deposit' ? this.balances.deposit(agent, asset, amount) : this.balances.withdraw(agent, asset, amount);
    if (!ok) return { seq: null, code: cmd.op === 'withdraw' ? 'MATCHING_INSUFFICIENT_BALANCE' : 'MATCHING_INVALID_COMMAND', events: [] };
    const seq = ++this.seq;
    logRows.push({ seq, market: null, ts, json: JSON.stringify({ t: 'f', op: cmd.op, agent, asset: cmd.asset, amount: String(amount) }) });
    const user = this.accounts.get(`${cmd.agentId}|${cmd.asset}`) as string;
    const issuance = this.accounts.get(`system:issuance|${cmd.asset}`) as string;
    const [from, to] = cmd.op === 'deposit' ? [issuance, user] : [user, issuance];
    ledger.push({
      kind: 'transfer',
      type: cmd.op === 'deposit' ? 'mint' : 'burn',
      id: cmd.transferId,
      ref: { kind: 'admin', id: cmd.transferId },
      legs: [
        { accountId: from, side: 'debit', amount: cmd.amount },
        { accountId: to, side: 'credit', amount: cmd.amount },
      ],
    });
    return { seq: String(seq), code: null, events: [] };
  }

  /** Runs one matching command, logs it, and collects its projection rows and settlement transfers. */
  private exec(
    m: Market,
    mc: MatchingCommand,
    logRows: { seq: number; market: string | null; ts: number; json: string }[],
    orderRows: Map<number, unknown[]>,
    tradeRows: unknown[][],
    ledger: LedgerRequest[],
    cmd: HostCommand,
  ): HostResult {
    if ('agent' in mc) this.balances.registerAgent(mc.agent);
    const code = m.engine.execute(mc);
    const events = m.sink.take();
    if (mc.type === 'limit' && mc.tif === 'GTD' && code === null && mc.expiresAt !== undefined && m.engine.order(mc.orderId)) {
      this.expiries.push({ at: mc.expiresAt, marketId: m.id });
    }
    const seq = ++this.seq;
    logRows.push({ seq, market: m.id, ts: mc.ts, json: JSON.stringify({ t: 'm', c: mc }) });
    this.trackFills(m, events);
    const lotSize = BigInt(m.config.lotSize);
    const own = mc.type === 'limit' || mc.type === 'market' ? mc.orderId : -1;

    // the new order itself (accepted or rejected)
    if ((mc.type === 'limit' || mc.type === 'market') && cmd.kind === 'place') {
      this.orderRow(orderRows, m, mc.orderId, cmd.agentId, cmd.order, seq, code, events);
    }
    for (const e of events) {
      if (e.kind === 'trade') {
        const maker = this.agentByNum.get(e.makerAgent) as string;
        const taker = this.agentByNum.get(e.takerAgent) as string;
        const { buyerFee, sellerFee } = this.applyFees(m, e);
        tradeRows.push([m.id, e.seq, seq, e.makerOrderId, e.takerOrderId, maker, taker, e.takerSide, e.price, e.lots, e.notional, buyerFee, sellerFee]);
        const [buyer, seller] = e.takerSide === 'buy' ? [taker, maker] : [maker, taker];
        const acct = (agent: string, asset: string): string => {
          const id = this.accounts.get(`${agent}|${asset}`);
          if (!id) throw new Error(`no ledger account known for ${agent} in ${asset}`); // prepare() opens them before sequencing
          return id;
        };
        const notional = BigInt(e.notional);
        const base = BigInt(e.lots) * lotSize;
        ledger.push({
          kind: 'transfer',
          type: 'settlement',
          id: `trade:${m.config.baseAsset}:${e.seq}`, // ledger ids allow no slash; one market per base asset
          ref: { kind: 'trade', id: `${m.id}:${e.seq}` },
          legs: [
            // legs name distinct accounts: each side's fee is netted from what it receives (fee <= 10% < amount)
            { accountId: acct(buyer, CREDIT), side: 'debit', amount: notional },
            { accountId: acct(seller, CREDIT), side: 'credit', amount: notional - BigInt(sellerFee) },
            ...(sellerFee > 0 ? [{ accountId: this.systemId('fees', CREDIT), side: 'credit' as const, amount: BigInt(sellerFee) }] : []),
            { accountId: acct(seller, m.config.baseAsset), side: 'debit', amount: base },
            { accountId: acct(buyer, m.config.baseAsset), side: 'credit', amount: base - BigInt(buyerFee) },
            ...(buyerFee > 0 ? [{ accountId: this.systemId('fees', m.config.baseAsset), side: 'credit' as const, amount: BigInt(buyerFee) }] : []),
          ],
        });
        if (e.makerOrderId !== own) this.touch(orderRows, m, e.makerOrderId, seq);
      } else if ((e.kind === 'cancelled' || e.kind === 'expired' || e.kind === 'reduced' || e.kind === 'amended') && e.orderId !== own) {
        this.touch(orderRows, m, e.orderId, seq, e.kind === 'cancelled' ? e.reason : e.kind === 'expired' ? 'expired' : null, e.kind === 'expired');
      }
    }
    this.forgetEnded(m, events);
    return { seq: String(seq), code, events };
  }

  /** A live view of a projection row, shaped as the trading_order columns (what a SELECT after commit returns). */
  private rowRecord(row: unknown[], ts: number): Record<string, unknown> {
    const at = new Date(ts);
    const cols = ['id', 'market_id', 'agent_id', 'client_order_id', 'side', 'type', 'tif', 'post_only', 'price_ticks', 'lots', 'spend', 'expires_at', 'status', 'filled_lots', 'open_lots', 'filled_notional', 'reason', 'command_seq'];
    const rec: Record<string, unknown> = { created_at: at, updated_at: at };
    cols.forEach((c, i) => Object.defineProperty(rec, c, { enumerable: true, get: () => row[i] }));
    return rec;
  }

  /** The projection row of the new order of a place command. */
  private orderRow(orderRows: Map<number, unknown[]>, m: Market, orderId: number, agentId: string, o: PlaceOrder, seq: number, code: MatchingCode | null, events: MatchingEvent[]): void {
    const resting = m.engine.order(orderId);
    let filled = 0;
    let notional = 0;
    for (const e of events) if (e.kind === 'trade' && e.takerOrderId === orderId) {
      filled += e.lots;
      notional += e.notional;
    }
    const cancelled = events.find((e) => (e.kind === 'cancelled' || e.kind === 'expired') && e.orderId === orderId);
    const status = code ? 'rejected' : resting ? 'open' : cancelled ? (cancelled.kind === 'expired' ? 'expired' : 'canceled') : 'closed';
    const reason = code ?? (cancelled?.kind === 'cancelled' ? cancelled.reason : null);
    orderRows.set(orderId, [
      orderId, m.id, agentId, o.clientOrderId ?? null, o.side, o.type, o.type === 'limit' ? (o.tif ?? 'GTC') : null, Boolean(o.postOnly),
      o.price ?? null, o.lots ?? null, o.spend ?? null, o.expiresAt ?? null, status, filled, resting?.lots ?? 0, notional, reason, seq,
    ]);
  }

  /** An existing order changed (filled as a maker, cancelled, expired, amended, reduced): refresh its row. */
  private touch(orderRows: Map<number, unknown[]>, m: Market, orderId: number, _seq: number, reason: string | null = null, expired = false): void {
    const existing = orderRows.get(orderId);
    const resting = m.engine.order(orderId);
    const st = this.orders.get(orderId);
    if (existing) {
      existing[12] = resting ? 'open' : reason ? (expired ? 'expired' : 'canceled') : existing[12] === 'open' ? 'closed' : existing[12];
      existing[14] = resting?.lots ?? 0;
      if (resting) existing[8] = resting.price;
      if (reason) existing[16] = reason;
      return;
    }
    // Only the changed columns matter for ON CONFLICT; the rest are placeholders the insert never uses.
    orderRows.set(orderId, [
      orderId, m.id, st?.agentId ?? '', null, 'buy', 'limit', null, false, resting?.price ?? null, null, null, null,
      resting ? 'open' : reason ? (expired ? 'expired' : 'canceled') : 'closed', st?.filled ?? 0, resting?.lots ?? 0, st?.notional ?? 0, reason, _seq,
    ]);
  }
}
