import { CREDIT } from '@ate/contracts';
import { listAssets } from '@ate/ledger';
import { BalanceView, MatchingEngine } from '@ate/matching';
import type { Pool } from 'pg';
import { auctionEvents, bidsBefore } from './auction-events';
import type { AuctionEffects } from './auctions';
import { balanceEvent, committedEvents } from './batch';
import { EngineCore, LoggedCommand, Stages } from './core';
import { Directory, HOST_AGENTS_MAX } from './directory';
import { decodeSnapshot, engineSnapshot, restoreBalancesInto, stateHashIn } from './engine-snapshot';
import type { EngineHostOptions, LoadResult } from './host-types';
import { MarketSettings, marketSettingsOf } from './market-config';
import { rulesAt, selectRuleChanges } from './market-rules';
import { assetTerms } from './allowances';
import type { CommittedCommand } from './outlet';
import * as SQL from './sql';
import { HeldAt, parseV2, v2Mismatch } from './state-hash';

/**
 * Recovery: rebuild the host's state from the newest snapshot that verifies plus the commands logged after it,
 * else from the whole log, checking every state-hash checkpoint from the starting point on.
 */

/** Snapshots kept: the newest, and one to fall back to if the newest does not restore. */
export const SNAPSHOTS_KEPT = 2;
/** Log rows read per page during replay. */
const LOG_PAGE = 10_000;

/** A snapshot that does not restore, or a replay that does not reach its checkpoint. */
export class RecoveryError extends Error {}

interface Checkpoint {
  marketId: string;
  hash: string;
  /** when it was written (a checkpoint predates the assets defined after it) */
  at: Date;
}

type Asset = { code: string; createdAt: Date };

export interface RecoverOptions extends Pick<EngineHostOptions, 'restoreSnapshots' | 'onSnapshotError'> {
  stages: Stages;
  /** re-emit (as outlet events) what the commands after this seq did: snapshots after it are not used */
  emitAfter?: number;
}

export interface Recovered {
  core: EngineCore;
  result: Omit<LoadResult, 'ms'>;
  /** the commands after `emitAfter`, as outlet events (empty without it) */
  replayed: CommittedCommand[];
}

/** Rebuilds the state (directory loaded first); throws when no starting point replays to its checkpoints. */
export async function recover(pool: Pool, directory: Directory, opts: RecoverOptions): Promise<Recovered> {
  const assets = await listAssets(pool);
  const terms = await assetTerms(pool, assets);
  const current = (await SQL.selectMarkets(pool)).map(marketSettingsOf);
  const ruleChanges = await selectRuleChanges(pool);
  const markets = rulesAt(current, ruleChanges, 0); // rules as created; each change replays at its place
  for (const m of markets) for (const asset of [CREDIT, m.config.baseAsset]) await directory.ensureSystem('fees', asset); // before any trade needs them
  await directory.load();
  const checkpoints = new Map<number, Checkpoint[]>();
  for (const r of await SQL.selectCheckpoints(pool)) {
    const at = Number(r.command_seq);
    checkpoints.set(at, [...(checkpoints.get(at) ?? []), { marketId: r.market_id, hash: r.state_hash, at: r.updated_at }]);
  }
  const snapshots =
    opts.restoreSnapshots === false
      ? []
      : (await SQL.selectSnapshots(pool, SNAPSHOTS_KEPT)).filter((s) => opts.emitAfter === undefined || Number(s.command_seq) <= opts.emitAfter);
  // The newest snapshot first, then the one before, then the whole log. Each attempt starts from empty books.
  let rejected = 0;
  for (const snap of [...snapshots, null]) {
    const core = new EngineCore(
      new BalanceView(
        assets.map((a) => a.code),
        HOST_AGENTS_MAX,
      ),
      snap ? rulesAt(current, ruleChanges, Number(snap.command_seq)) : markets,
      (n) => directory.idOf(n),
      opts.stages,
    );
    core.allowances.define(terms);
    const replay = new Replay(pool, core, directory, checkpoints, assets, opts.emitAfter);
    try {
      const from = snap ? await restoreSnapshot(pool, core, directory, rulesAt(current, ruleChanges, Number(snap.command_seq)), snap) : 0;
      const commands = await replay.run(from);
      return {
        core,
        result: { commands, fromSnapshot: snap ? from : null, snapshotsRejected: rejected, checkpointsVerified: replay.verified },
        replayed: replay.emitted,
      };
    } catch (e) {
      if (snap === null || !(e instanceof RecoveryError)) throw e;
      rejected++;
      opts.onSnapshotError?.(new Error(`snapshot of command ${snap.command_seq} not used: ${e.message}`), 'restore');
    }
  }
  throw new Error('unreachable');
}

/** Restores a snapshot into a fresh core; returns its command seq. */
async function restoreSnapshot(pool: Pool, core: EngineCore, directory: Directory, markets: MarketSettings[], row: SQL.SnapshotRow): Promise<number> {
  const data = await SQL.selectSnapshotState(pool, row.command_seq);
  try {
    if (!data) throw new Error('it was deleted meanwhile');
    const seq = Number(row.command_seq);
    const s = decodeSnapshot(data, row.format);
    if (s.seq !== seq) throw new Error(`its state is of command ${s.seq}`);
    const hashes = row.state_hashes ?? {};
    const ids = s.markets.map((m) => m.id);
    if (Object.keys(hashes).sort().join('\n') !== [...ids].sort().join('\n')) throw new Error('its state hashes name other markets than its books');
    restoreBalancesInto(core.balances, s.balances);
    for (const sm of s.markets) {
      const m = core.markets.get(sm.id);
      const settings = markets.find((x) => x.id === sm.id);
      if (!m || !settings) throw new Error(`market ${sm.id} is not in the market table`);
      // the rules come from the market table, as in a replay (they are fixed once a market is created)
      m.engine = MatchingEngine.restore(engineSnapshot(sm.engine, settings.config), { balances: core.balances, sink: m.sink });
      for (const f of sm.fills)
        core.fills.set(f.orderId, { marketId: m.id, agentId: directory.idOf(f.agent), filled: f.filled, notional: f.notional });
    }
    // every book and the shared balances are what they were when the snapshot was taken (a v1 hash: in that view)
    const held = new HeldAt(core.balances);
    for (const sm of s.markets) {
      const engine = (core.markets.get(sm.id) as { engine: MatchingEngine }).engine;
      const want = hashes[sm.id] as string;
      const v2 = parseV2(want);
      if (v2) {
        const diff = v2Mismatch(engine, held.get(seq), v2);
        if (diff) throw new Error(`market ${sm.id} does not restore to the snapshot's state hash: ${diff}`);
      } else {
        const got = stateHashIn(engine, core.balances, s.balances.assets);
        if (got !== want) throw new Error(`market ${sm.id} restores to state hash ${got}, the snapshot says ${want}`);
      }
      if (sm.engine.lastOrderId > s.lastOrderId)
        throw new Error(`market ${sm.id} has seen order ${sm.engine.lastOrderId}, beyond the last order id ${s.lastOrderId}`);
    }
    core.auctions.restore(s.auctions);
    if (s.budgets) core.budgets.restore(s.budgets);
    if (s.approvals || s.redemptionApprovals) core.approvals.restore(s.approvals ?? [], s.redemptionApprovals ?? []);
    core.seq = seq;
    core.lastTs = s.lastTs;
    core.lastOrderId = s.lastOrderId;
    return seq;
  } catch (e) {
    throw new RecoveryError((e as Error).message);
  }
}

/** Replays the log after a starting point into a core, verifying checkpoints (a keyset scan, LOG_PAGE rows a page). */
class Replay {
  verified = 0;
  readonly emitted: CommittedCommand[] = [];
  private readonly held: HeldAt;

  constructor(
    private readonly pool: Pool,
    private readonly core: EngineCore,
    private readonly directory: Directory,
    private readonly checkpoints: Map<number, Checkpoint[]>,
    private readonly assets: Asset[],
    private readonly emitAfter: number | undefined,
  ) {
    this.held = new HeldAt(core.balances);
  }

  async run(from: number): Promise<number> {
    if (from > 0) this.verify(from);
    let n = 0;
    const client = await this.pool.connect();
    try {
      for (let after = from; ; ) {
        const page = await SQL.selectLogPage<LoggedCommand>(client, after, LOG_PAGE);
        try {
          for (const row of page) {
            this.apply(Number(row.seq), row.market_id, Number(row.ts), row.command);
            n++;
          }
        } catch (e) {
          throw e instanceof RecoveryError ? e : new RecoveryError((e as Error).message);
        }
        if (page.length < LOG_PAGE) break;
        after = this.core.seq;
      }
    } finally {
      client.release();
    }
    return n;
  }

  /**
   * Replays one command; after `emitAfter`, also what its live batch emitted: every command once (as live, also
   * one that moved no balance), a matching command's events, an auction op's own events (auctionEvents(), from the
   * bids it found), then another kind's balance events (funds, redemptions, principals' transfers, auction holds,
   * releases, settlements and purchases) from the one balanceEvent() builder, as Batch does.
   */
  private apply(seq: number, marketId: string | null, ts: number, logged: LoggedCommand): void {
    if (this.emitAfter === undefined || seq <= this.emitAfter) {
      this.core.replay(seq, marketId, logged);
      this.verify(seq);
      return;
    }
    const touched: [number, string][] = [];
    const before = logged.t === 'a' ? bidsBefore(this.core.auctions, logged.op) : [];
    let auction: AuctionEffects | undefined;
    const applied = this.core.replay(seq, marketId, logged, {
      balance: (agent, asset) => touched.push([agent, asset]),
      auction: (e) => (auction = e),
    });
    const m = applied && marketId ? this.core.markets.get(marketId) : undefined;
    const idOf = (n: number) => this.directory.idOf(n);
    const events =
      applied && m
        ? committedEvents(this.core, this.directory, m, applied)
        : [
            ...(auction && logged.t === 'a' ? auctionEvents(this.core.auctions, logged.op, before, auction, idOf) : []),
            ...touched.map(([agent, asset]) => balanceEvent(this.core.balances, idOf(agent), agent, asset)),
          ];
    this.emitted.push({ seq, marketId, ts, events });
    this.verify(seq);
  }

  private verify(at: number): void {
    for (const cp of this.checkpoints.get(at) ?? []) {
      const v2 = parseV2(cp.hash);
      if (v2) {
        const e = this.core.markets.get(cp.marketId)?.engine;
        const diff = e ? v2Mismatch(e, this.held.get(at), v2) : 'the market is not in the market table';
        if (diff) throw new RecoveryError(`recovery diverged: market ${cp.marketId} after command ${at}: ${diff}`);
      } else if (!this.matches(cp)) {
        const got = this.core.markets.get(cp.marketId)?.engine.stateHash();
        throw new RecoveryError(`recovery diverged: market ${cp.marketId} hashes to ${got} after command ${at}, the checkpoint says ${cp.hash}`);
      }
      this.verified++;
    }
  }

  /**
   * Whether the market's state hashes to a v1 checkpoint. The hash covers every asset of the balance view, also
   * one with nothing in it, so a checkpoint written before an asset was defined matches only the view without it:
   * such an asset is still empty at that point; the layouts without the empty assets defined after the checkpoint,
   * then without every empty asset, are tried too.
   */
  private matches(cp: Checkpoint): boolean {
    const e = this.core.markets.get(cp.marketId)?.engine;
    if (!e) return false;
    if (e.stateHash() === cp.hash) return true;
    const b = this.core.balances;
    const empty = this.assets.filter((a) => b.supply[b.assetIndex(a.code)] === 0);
    const later = empty.filter((a) => a.createdAt > cp.at);
    for (const drop of later.length < empty.length ? [later, empty] : [empty]) {
      if (drop.length === 0) continue;
      const layout = b.assets.filter((c) => !drop.some((d) => d.code === c));
      if (stateHashIn(e, b, layout) === cp.hash) return true;
    }
    return false;
  }
}
