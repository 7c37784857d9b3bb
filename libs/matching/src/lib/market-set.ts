import type { MatchingCommand } from '@ate/contracts';
import { BalanceView, type SparseBalancesSnapshot } from './balances';
import type { MarketConfig } from './config';
import { type CommandResult, MatchingEngine } from './engine';
import type { EventSink } from './events';
import { AGENTS_DEFAULT } from './limits';
import type { EngineSnapshot } from './snapshot';

/** The shared view once, sparse; each market's snapshot with empty `balances`. */
export interface MarketSetSnapshot {
  balances: SparseBalancesSnapshot;
  markets: EngineSnapshot[];
}

/**
 * Several markets, one engine each, sharing one balance view (so an agent's CREDIT is one pool across markets).
 * Each market keeps its own sequence numbers; commands for a market go to `execute(marketId, command)`.
 * Funds commands given to any market move the shared view.
 */
export class MarketSet {
  readonly balances: BalanceView;
  private readonly engines = new Map<string, MatchingEngine>();

  /** A new view over `assets` (CREDIT is added if missing), or an existing view (restore). */
  constructor(assets: readonly string[] | BalanceView, agentsMax: number = AGENTS_DEFAULT) {
    this.balances = assets instanceof BalanceView ? assets : new BalanceView(assets.includes('CREDIT') ? assets : ['CREDIT', ...assets], agentsMax);
  }

  addMarket(config: MarketConfig, sink?: EventSink): MatchingEngine {
    if (this.engines.has(config.marketId)) throw new Error(`market ${config.marketId} exists`);
    const e = new MatchingEngine(config, { balances: this.balances, sink });
    this.engines.set(config.marketId, e);
    return e;
  }

  market(marketId: string): MatchingEngine | undefined {
    return this.engines.get(marketId);
  }

  get marketIds(): string[] {
    return [...this.engines.keys()];
  }

  execute(marketId: string, c: MatchingCommand): CommandResult | 'UNKNOWN_MARKET' {
    const e = this.engines.get(marketId);
    return e === undefined ? 'UNKNOWN_MARKET' : e.execute(c);
  }

  /** The kill switch: cancel-all for the agent in every market (in market id order), each through its own sequence. */
  cancelAllEverywhere(agent: number, ts: number): Record<string, CommandResult> {
    const out: Record<string, CommandResult> = {};
    for (const id of [...this.engines.keys()].sort()) out[id] = (this.engines.get(id) as MatchingEngine).execute({ type: 'cancel_all', ts, agent });
    return out;
  }

  snapshot(): MarketSetSnapshot {
    return { balances: this.balances.snapshotSparse(), markets: [...this.engines.values()].map((e) => e.snapshot({ balances: false })) };
  }

  static restore(s: MarketSetSnapshot, sinks: Record<string, EventSink> = {}): MarketSet {
    const set = new MarketSet(BalanceView.restoreSparse(s.balances));
    for (const m of s.markets)
      set.engines.set(m.config.marketId, MatchingEngine.restore(m, { balances: set.balances, sink: sinks[m.config.marketId] }));
    return set;
  }

  /** Every engine's invariants, and reserved funds in the shared view = what all open orders of all markets need. */
  assertInvariants(): void {
    const v = this.balances;
    const n = v.assets.length;
    /** agent -> reserved per asset that its open orders need */
    const need = new Map<number, Float64Array>();
    for (const e of this.engines.values()) {
      e.assertInvariants();
      const cr = v.assetIndex('CREDIT');
      const ba = v.assetIndex(e.config.baseAsset);
      for (const o of e.snapshot({ balances: false }).orders) {
        let row = need.get(o.agent);
        if (row === undefined) need.set(o.agent, (row = new Float64Array(n)));
        row[o.side === 'buy' ? cr : ba] += o.reserved;
      }
    }
    const total = new Float64Array(n);
    const reserved = new Float64Array(n);
    const none = new Float64Array(n);
    v.forEachKnown((a) => {
      v.row(a, total, reserved);
      const want = need.get(a) ?? none;
      need.delete(a);
      for (let i = 0; i < n; i++) {
        if (want[i] !== reserved[i]) throw new Error(`matching invariant broken: agent ${a} ${v.assets[i]} reserved ${reserved[i]} != ${want[i]}`);
      }
    });
    if (need.size > 0) throw new Error(`matching invariant broken: orders of unknown agents ${[...need.keys()].join(', ')}`);
  }
}
