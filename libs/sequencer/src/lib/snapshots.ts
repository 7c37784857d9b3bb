import type { Pool } from 'pg';
import type { EngineCore } from './core';
import { encodeSnapshot, HostState, SNAPSHOT_FORMAT } from './engine-snapshot';
import type { EngineHostOptions } from './host-types';
import { SNAPSHOTS_KEPT } from './recovery';
import { writeSnapshotRow } from './sql';
import { capturedHashes } from './state-hash';

/**
 * Commands between two snapshots of the whole state (engine_snapshot). Recovery restores the newest snapshot that
 * verifies and replays only the commands after it. Taking one copies the state between two batches (O(resting
 * orders + balances held), synchronous); encoding and writing it happen after that batch commits, off its path.
 */
export const SNAPSHOT_EVERY_COMMANDS = 100_000;

/** A copy of the whole state (between two batches): what a snapshot holds. */
export function captureState(core: EngineCore): HostState {
  const balances = core.balances.snapshotSparse(); // O(balances held), once for all markets
  const markets = [...core.markets.values()].map((m) => ({ id: m.id, engine: m.engine.snapshot({ balances: false }) }));
  const fills = new Map<number, { filled: number; notional: number }>();
  for (const [id, o] of core.fills) fills.set(id, { filled: o.filled, notional: o.notional });
  const budgets = core.budgets.agents.size + core.budgets.principals.size > 0 ? core.budgets.snapshot() : undefined;
  return {
    seq: core.seq,
    lastTs: core.lastTs,
    lastOrderId: core.lastOrderId,
    balances,
    markets,
    fills,
    auctions: core.auctions.toJSON(),
    ...(budgets ? { budgets } : {}),
    ...(core.approvals.pending.size > 0 ? { approvals: core.approvals.snapshot() } : {}),
    ...(core.approvals.redemptions.size > 0 ? { redemptionApprovals: core.approvals.snapshotRedemptions() } : {}),
  };
}

/** Takes snapshots when due and writes them one after another, never failing a batch. */
export class Snapshots {
  readonly every: number;
  /** seq of the last snapshot taken (or restored): the next is due `every` commands later */
  private takenSeq = 0;
  /** seq of the last snapshot known to be in the database */
  private writtenSeq = 0;
  /** snapshot writes, one after another */
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(
    private readonly pool: Pool,
    private readonly options: EngineHostOptions,
  ) {
    this.every = options.snapshotEvery ?? SNAPSHOT_EVERY_COMMANDS;
  }

  /** The writes queued so far, done. */
  get written(): Promise<void> {
    return this.chain;
  }

  /**
   * After recovery from the snapshot at `from` (0: the whole log) to `seq`: a long replay (or one that skipped a
   * snapshot) is not done again at the next start.
   */
  recovered(core: EngineCore, from: number, rejected: number): void {
    this.takenSeq = this.writtenSeq = from;
    if (this.every > 0 && core.seq > from && (core.seq - from >= this.every || rejected > 0)) this.take(core);
  }

  /** At a batch's written point (this batch executed, the next not yet): a copy of the state if a snapshot is due. */
  due(core: EngineCore): HostState | null {
    if (this.every <= 0 || core.seq - this.takenSeq < this.every || this.queued >= 2) return null;
    try {
      const s = captureState(core);
      this.takenSeq = s.seq;
      return s;
    } catch (e) {
      this.options.onSnapshotError?.(e as Error, 'write');
      return null;
    }
  }

  /** Writes a captured state once the writes before it are done; a failure is reported and the next batch takes another. */
  schedule(s: HostState): void {
    this.queued++;
    this.chain = this.chain
      .then(() => this.write(s))
      .catch((e: Error) => {
        this.takenSeq = Math.min(this.takenSeq, this.writtenSeq);
        this.options.onSnapshotError?.(e, 'write');
      })
      .finally(() => this.queued--);
  }

  /** At shutdown (nothing in flight): the pending writes, then one of the final state. */
  async final(core: EngineCore | undefined): Promise<void> {
    await this.chain;
    if (this.every <= 0 || !core || core.seq === 0 || core.seq <= this.writtenSeq) return;
    this.take(core);
    await this.chain;
  }

  private take(core: EngineCore): void {
    this.takenSeq = core.seq;
    this.schedule(captureState(core));
  }

  private async write(s: HostState): Promise<void> {
    await new Promise((r) => setImmediate(r)); // the batch's callers are answered first
    const t0 = performance.now();
    const hashes = capturedHashes(s);
    const data = await encodeSnapshot(s);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await writeSnapshotRow(client, { seq: s.seq, format: SNAPSHOT_FORMAT, state: data, hashes }, SNAPSHOTS_KEPT);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
    this.writtenSeq = Math.max(this.writtenSeq, s.seq);
    this.options.onSnapshot?.({ seq: s.seq, bytes: data.length, ms: performance.now() - t0 });
  }
}
