import type { MatchingCommand, MatchingEvent, Rejection } from '@ate/contracts';
import { BalanceView, CollectingSink, MatchingEngine } from '@ate/matching';
import { ApprovalLogged, Approvals } from './approvals';
import { AuctionEffects, AuctionOp, AuctionState } from './auctions';
import { BudgetLogged, Budgets } from './budgets';
import { attachMechanismBudgets, MechanismBudgets } from './budgets-mechanisms';
import { AllowanceTerms } from './allowances';
import type { CommittedBook, HostMarket } from './host-types';
import { applyRules, LoggedRules } from './market-rules';
import type { MarketSettings } from './market-config';
import type { OrderFills } from './projections';
import type { LoggedRedemption } from './redemption';
import type { TradeFees } from './settlement';
import { forgetEnded, PostTradeStep, PreTradeCheck, settleTrades } from './stages';

/** A command as the log (engine_command.command) holds it. */
export type LoggedCommand =
  | { t: 'm'; c: MatchingCommand }
  | { t: 'f'; op: 'deposit' | 'withdraw'; agent: number; asset: string; amount: string }
  | { t: 'a'; ts: number; op: AuctionOp }
  | BudgetLogged
  | LoggedRedemption
  | LoggedRules
  | ApprovalLogged;

/** What one matching command did: the engine's code (or the pre-trade stage's refusal), its events, each trade's fees. */
export interface Applied {
  code: Rejection['code'] | null;
  rejection: Rejection | null;
  events: MatchingEvent[];
  fees: TradeFees[];
}

/** What a replayed command of another kind than matching did (EngineCore.replay), for re-emitting its outlet events. */
export interface ReplaySeen {
  /** an agent's balance of an asset it changed */
  balance(agent: number, asset: string): void;
  /** an auction op's effects */
  auction?(effects: AuctionEffects): void;
}

/** The stages a host runs around matching (beyond the built-in settlement of fees and fills). */
export interface Stages {
  preTrade: readonly PreTradeCheck[];
  postTrade: readonly PostTradeStep[];
}

export const NO_STAGES: Stages = { preTrade: [], postTrade: [] };

/**
 * The sequencer's deterministic state machine: every book, the shared balance view, open orders' fills, the
 * command counters and the GTD expiry schedule. Live batches and the replay of the log change it through the same
 * two methods (`matching`, `funds`), so a replay takes exactly the decisions the live run took. No I/O here.
 */
export class EngineCore {
  readonly markets = new Map<string, HostMarket>();
  readonly fills = new Map<number, OrderFills>();
  /** GTD expiry times per market (ms), so a timer can make time pass exactly when an order is due. */
  expiries: { at: number; marketId: string }[] = [];
  seq = 0;
  lastTs = 0;
  lastOrderId = 0;
  /** auctions and posted-price pools (auctions.ts) */
  readonly auctions: AuctionState;
  /** budget policies, spend counters, freezes, principals' own funds (budgets.ts) */
  readonly budgets = new Budgets();
  /** orders held for their principal's approval (approvals.ts) */
  readonly approvals = new Approvals(this.budgets);
  private readonly stages: Stages;
  /** each asset's terms (allowance or not, expiry): loaded with the assets, fixed (allowances.ts) */
  readonly allowances = new AllowanceTerms();
  /** budget policies on auction bids, posted-price purchases and redemptions (budgets-mechanisms.ts) */
  readonly spend: MechanismBudgets;

  constructor(
    readonly balances: BalanceView,
    markets: readonly MarketSettings[],
    private readonly agentIdOf: (num: number) => string,
    stages: Stages = NO_STAGES,
  ) {
    this.auctions = new AuctionState(balances, agentIdOf);
    this.stages = {
      preTrade: [this.budgets.check, this.approvals.check, ...stages.preTrade],
      postTrade: [this.budgets.afterTrade, ...stages.postTrade],
    };
    for (const m of markets) {
      const sink = new CollectingSink();
      this.markets.set(m.id, { ...m, sink, engine: new MatchingEngine(m.config, { balances, sink }) });
    }
    this.spend = attachMechanismBudgets(this.budgets, this.auctions, this.markets);
  }

  /** Runs one matching command through pre-trade, matching and post-trade. */
  matching(m: HostMarket, c: MatchingCommand, agentId: string): Applied {
    this.lastTs = Math.max(this.lastTs, c.ts);
    if ('agent' in c) this.balances.registerAgent(c.agent);
    if ((c.type === 'limit' || c.type === 'market') && c.orderId > this.lastOrderId) this.lastOrderId = c.orderId;
    const refused = this.preTradeVerdict(m, c, agentId);
    if (refused) return { code: refused.code, rejection: refused, events: [], fees: [] };
    const code = m.engine.execute(c);
    const events = m.sink.take();
    const fees = settleTrades({ balances: this.balances, fills: this.fills, agentIdOf: this.agentIdOf }, m, events);
    if (c.type === 'limit' && c.tif === 'GTD' && code === null && c.expiresAt !== undefined && m.engine.order(c.orderId)) {
      this.expiries.push({ at: c.expiresAt, marketId: m.id });
    }
    for (const step of this.stages.postTrade) step({ market: m, command: c, events, fees });
    forgetEnded(this.fills, m, events);
    return { code, rejection: null, events, fees };
  }

  /** The pre-trade stage's refusal of a command (the first check that refuses), or null. */
  preTradeVerdict(m: HostMarket, c: MatchingCommand, agentId: string): Rejection | null {
    const expired = this.allowances.refuseOrder(m.config.baseAsset, c);
    if (expired) return expired;
    for (const check of this.stages.preTrade) {
      const refused = check({ market: m, agentId, balances: this.balances, fills: this.fills }, c);
      if (refused) return refused;
    }
    return null;
  }

  /** Moves funds into or out of the balance view; false when refused (not enough available, or beyond 2^53). */
  funds(op: 'deposit' | 'withdraw', agent: number, asset: string, amount: number): boolean {
    this.balances.registerAgent(agent);
    const a = this.balances.assetIndex(asset);
    return op === 'deposit' ? this.balances.deposit(agent, a, amount) : this.balances.withdraw(agent, a, amount);
  }

  /** The books of these markets as they are now (up to `levels` price levels a side). */
  books(marketIds: Iterable<string>, levels: number): Map<string, CommittedBook> {
    const views = new Map<string, CommittedBook>();
    for (const id of marketIds) {
      const e = this.markets.get(id)?.engine;
      if (e) views.set(id, { seq: e.sequence, state: e.marketState, referencePrice: e.referencePrice, ...e.depth(levels) });
    }
    return views;
  }

  /**
   * A market the expiry timer may tick for something of this asset that belongs to no market (a redemption waiting
   * for approval): the asset's own market if it has one, else the first market; null when there is none.
   */
  marketOfAsset(asset: string): string | null {
    let first: string | null = null;
    for (const m of this.markets.values()) {
      if (m.config.baseAsset === asset) return m.id;
      first ??= m.id;
    }
    return first;
  }

  /** GTD expiries of the orders resting now (after recovery; those of orders that ended since only cause idle ticks). */
  restingExpiries(): { at: number; marketId: string }[] {
    const out: { at: number; marketId: string }[] = [];
    for (const m of this.markets.values())
      for (const o of m.engine.snapshot().orders) if (o.expiresAt !== 0) out.push({ at: o.expiresAt, marketId: m.id });
    return out;
  }

  /**
   * Replays one logged command (recovery); `seq` is its place in the log. A command of another kind than matching
   * tells `seen` each agent balance it changed and an auction op its effects (what its live batch put on the outlet).
   */
  replay(seq: number, marketId: string | null, logged: LoggedCommand, seen?: ReplaySeen): Applied | null {
    this.seq = seq;
    const touched = seen?.balance;
    if (logged.t === 'a') {
      this.lastTs = Math.max(this.lastTs, logged.ts);
      const r = this.spend.replaying(() => this.auctions.apply(logged.op, logged.ts)); // admitted when it ran
      if ('refused' in r) throw new Error(`replay diverged at seq ${seq}: auction ${logged.op.op} refused (${r.refused})`);
      seen?.auction?.(r);
      if (touched) for (const [agent, asset] of r.touched) touched(agent, asset);
      return null;
    }
    if (logged.t === 'b') {
      if (!this.budgets.apply(logged, this.markets.values(), this.balances))
        throw new Error(`replay diverged at seq ${seq}: budget ${logged.op} refused`);
      if (touched && logged.op === 'xfer' && logged.agent !== undefined) touched(logged.agent, logged.asset);
      return null;
    }
    if (logged.t === 'p') {
      if (logged.op === 'hold') {
        this.lastTs = Math.max(this.lastTs, logged.p.requestedAt);
        if (logged.p.orderId > this.lastOrderId) this.lastOrderId = logged.p.orderId;
      } else if (logged.op === 'hold_r') this.lastTs = Math.max(this.lastTs, logged.r.requestedAt);
      if (!this.approvals.apply(logged)) throw new Error(`replay diverged at seq ${seq}: approval ${logged.op} refused`);
      return null;
    }
    if (logged.t === 'r') {
      if (!this.funds('withdraw', logged.agent, logged.asset, Number(logged.amount)))
        throw new Error(`replay diverged at seq ${seq}: redemption refused`);
      if (logged.ts !== undefined) this.spend.redeemed(logged.agent, logged.asset, Number(logged.amount), logged.ts);
      touched?.(logged.agent, logged.asset);
      return null;
    }
    if (logged.t === 'k') {
      const km = this.markets.get(marketId as string);
      if (!km) throw new Error(`replay: unknown market ${marketId} at seq ${seq}`);
      applyRules(km, logged.rules);
      return null;
    }
    if (logged.t === 'f') {
      if (!this.funds(logged.op, logged.agent, logged.asset, Number(logged.amount)))
        throw new Error(`replay diverged at seq ${seq}: funds ${logged.op} refused`);
      touched?.(logged.agent, logged.asset);
      return null;
    }
    const m = this.markets.get(marketId as string);
    if (!m) throw new Error(`replay: unknown market ${marketId} at seq ${seq}`);
    const c = logged.c;
    return this.matching(m, c, 'agent' in c ? this.agentIdOf(c.agent) : '');
  }
}
