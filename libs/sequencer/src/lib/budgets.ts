import { CREDIT_SCALE, formatAmount, marketIdOf, MatchingCommand, reject, Rejection } from '@ate/contracts';
import type { BalanceView } from '@ate/matching';
import type { ApprovalRule } from './approvals';
import type { HostMarket } from './host-types';
import type { PostTradeContext, PreTradeContext } from './stages';

/**
 * Budget policies, spend counters, the freeze of agents and principals' own funds: deterministic state of the
 * sequencer (held by EngineCore.budgets), changed only by logged commands and by what matching does, so a replay
 * of the log rebuilds it exactly. No clock, no I/O: time is the command's `ts`.
 *
 * What counts as spend: the credits an agent pays for allowances, i.e. the notional of every fill in which it is
 * the buyer (taker or maker), at the command time of that fill. The buyer's fee is taken in the allowance itself
 * (settlement.ts), so the credits that leave a buyer are exactly the notional. A seller's fee is netted from what
 * it receives: it is not spend (the spend report lists it as fees).
 *
 * Windows are rolling over command time: a cap of `windowMs` at time t counts the spend with timestamp in
 * (t - windowMs, t]. A fill at time s stops counting at s + windowMs exactly (`freesAt`); nothing resets on a
 * calendar boundary.
 *
 * Admission reserves the worst case: a buy may only be admitted when, for every cap, spend in the window + what
 * the agent's open buy orders still may spend + the new order's worst case <= the cap. A limit buy's worst case is
 * price x lots (it can only fill at or below its price); a market buy by spend, its spend; a market buy by lots,
 * lots at the top of the price band (it cannot fill above it). Fills turn reservation into spend (never more than
 * was reserved), cancels and expiries release it. So spend in any window never exceeds the cap, whatever the
 * concurrency: the sequencer runs one command at a time.
 *
 * Auction payments and posted-price purchases are spend too, and redemptions have caps of their own (in the
 * allowance's units, a separate counter: they spend no credits): budgets-mechanisms.ts, on the state kept here
 * (`holds`, `redeemed`).
 */

/** A spend cap over a rolling window of command time. */
export interface SpendCap {
  windowMs: number;
  /** credits, minor units */
  limit: number;
}

/** A cap on redemptions of one allowance asset over a rolling window (minor units of the asset, whose scale it names). */
export interface RedemptionCap {
  asset: string;
  windowMs: number;
  limit: number;
  scale: number;
}

/** A policy in engine units (credits in minor units, ms). `null` fields: no such rule. */
export interface BudgetPolicy {
  caps: SpendCap[];
  /** credits: the most one order may be worth (price x lots, or its spend) */
  maxOrderNotional: number | null;
  /** per allowance asset: the highest price a buy may pay, credits (minor units) per lot */
  maxPrice: Record<string, number>;
  /** market ids the agent may trade; null: every market */
  markets: string[] | null;
  orderTypes: ('limit' | 'market')[] | null;
  /** epoch ms: from then on the delegation is over (no new order, no amend) */
  expiresAt: number | null;
  /** caps on what the agent redeems of an allowance over rolling windows, in the asset's units (budgets-mechanisms.ts) */
  redemptionCaps?: RedemptionCap[];
  /** whether the agent may create sub-agents and give them carve-outs of its budget (absent: no) */
  subAgents?: boolean;
  /** orders above this notional wait for the principal's approval, at most ttlMs (approvals.ts; absent: none) */
  approval?: ApprovalRule | null;
}

/** The spend of one agent: timestamps and running totals, oldest first (kept as long as the longest window). */
export class SpendLog {
  ts: number[] = [];
  /** cum[i]: total spend up to and including event i */
  cum: number[] = [];
  /** total spend before the first kept event */
  base = 0;

  get total(): number {
    return this.cum.length > 0 ? (this.cum[this.cum.length - 1] as number) : this.base;
  }

  add(ts: number, amount: number): void {
    if (amount <= 0) return;
    const n = this.ts.length;
    if (n > 0 && this.ts[n - 1] === ts) {
      this.cum[n - 1] = (this.cum[n - 1] as number) + amount;
      return;
    }
    this.ts.push(ts);
    this.cum.push(this.total + amount);
  }

  /** Index of the first event with ts > t. */
  private after(t: number): number {
    let lo = 0;
    let hi = this.ts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.ts[mid] as number) > t) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private cumBefore(i: number): number {
    return i === 0 ? this.base : (this.cum[i - 1] as number);
  }

  /** Spend with ts in (now - windowMs, now]. */
  used(now: number, windowMs: number): number {
    return this.total - this.cumBefore(this.after(now - windowMs));
  }

  /** When (epoch ms) at least `amount` of the window's spend will have left it; null if the window never holds that much. */
  freesAt(now: number, windowMs: number, amount: number): number | null {
    const i = this.after(now - windowMs);
    const target = this.cumBefore(i) + amount;
    let lo = i;
    let hi = this.ts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.cum[mid] as number) >= target) hi = mid;
      else lo = mid + 1;
    }
    return lo < this.ts.length ? (this.ts[lo] as number) + windowMs : null;
  }

  /** Forgets events at or before `t` (no window reaches them any more). */
  prune(t: number): void {
    const i = this.after(t);
    if (i < 256) return; // amortised: compact in chunks
    this.base = this.cumBefore(i);
    this.ts = this.ts.slice(i);
    this.cum = this.cum.slice(i);
  }
}

export interface AgentBudget {
  policy: BudgetPolicy | null;
  /** the agent that gave this one its carve-out (a sub-agent), or null */
  parent: number | null;
  /** a sub-agent's carve-out: the most its subtree may ever spend (credits, escrowed in the parent) */
  escrow: number;
  /** the sum of the carve-outs this agent gave its sub-agents: held against its own caps and carve-out */
  childEscrow: number;
  children: number[];
  /** starts at 0 (no policy ever set); each change adds one */
  version: number;
  frozen: boolean;
  /** credits the agent's open buy orders may still spend */
  reserved: number;
  log: SpendLog;
}

/** A command of the log that changes budgets (engine_command `{ t: 'b', ... }`). */
export type BudgetLogged =
  | { t: 'b'; op: 'policy'; agent: number; policy: BudgetPolicy | null }
  /** by: 'operator' when an operator froze or thawed (absent: the principal or a parent); only an operator thaws an operator's freeze */
  | { t: 'b'; op: 'freeze'; agents: number[]; principal?: string; frozen: boolean; by?: 'operator' }
  | { t: 'b'; op: 'xfer'; dir: PrincipalTransferDir; principal: string; agent?: number; asset: string; amount: number }
  /** gives (or changes) a sub-agent's carve-out; ts: the command's time (the parent's windows are read at it) */
  | { t: 'b'; op: 'carve'; parent: number; child: number; amount: number; ts: number }
  /** freezes a node's subtree and returns what its carve-outs did not spend up the tree (its open orders were cancelled just before) */
  | { t: 'b'; op: 'revoke'; agent: number };

export type PrincipalTransferDir = 'to_agent' | 'from_agent' | 'deposit' | 'withdraw';

/** What the snapshot holds of budgets (absent in snapshots written before budgets existed: empty). */
export interface BudgetsSnapshot {
  agents: {
    agent: number;
    policy: BudgetPolicy | null;
    version: number;
    frozen: boolean;
    ts: number[];
    cum: number[];
    base: number;
    parent?: number | null;
    escrow?: number;
  }[];
  orders: [number, { agent: number; perLot: number; lots: number }][];
  /** holds outside the books (auction bids): key, agent, credits (absent: none) */
  holds?: [string, number, number][];
  /** redemption logs of tracked agents: agent, asset, ts, cum, base (absent: none) */
  redeemed?: [number, string, number[], number[], number][];
  principals: [string, [string, number][]][];
  frozenPrincipals: string[];
  /** agents an operator froze (absent: none) */
  operatorFrozen?: number[];
}

/** The usage of one cap at a time, in minor units. */
export interface CapUsage {
  windowMs: number;
  limit: number;
  used: number;
  reserved: number;
  remaining: number;
  /** when the oldest spend still in the window leaves it (null: nothing in it) */
  resetsAt: number | null;
}

/** The longest window a cap may have: 31 days. Spend older than that is forgotten. */
export const CAP_WINDOW_MAX_MS = 31 * 24 * 3600 * 1000;
/** Caps per policy. */
export const CAPS_MAX = 8;

const fmt = (n: number) => formatAmount(BigInt(n), CREDIT_SCALE);
const when = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class Budgets {
  readonly agents = new Map<number, AgentBudget>();
  /** open buy orders of agents with a policy: what each may still spend, per lot, and its open lots */
  readonly orders = new Map<number, { agent: number; perLot: number; lots: number }>();
  /** principals' own accounts (credits and allowances they hold themselves), minor units */
  readonly principals = new Map<string, Map<string, number>>();
  readonly frozenPrincipals = new Set<string>();
  /** agents frozen by an operator: a principal's thaw does not reach them (only an operator's does) */
  readonly operatorFrozen = new Set<number>();
  /** agents with a policy or a carve-out (0: the post-trade step does nothing) */
  private policied = 0;
  /** credits tracked agents hold outside the books (open auction bids; budgets-mechanisms.ts), by key: counted in `reserved` */
  readonly holds = new Map<string, { agent: number; amount: number }>();
  /** what tracked agents redeemed, per agent and allowance asset (budgets-mechanisms.ts) */
  readonly redeemed = new Map<number, Map<string, SpendLog>>();
  /** the holds an agent has outside the books when it becomes tracked, by key (EngineCore: its open auction bids) */
  openHolds: (agent: number) => [string, number][] = () => [];

  /** Whether the agent's buys count: it has a policy, or a carve-out of a parent's budget. */
  static tracked(a: AgentBudget): boolean {
    return a.policy !== null || a.parent !== null;
  }

  /** The pre-trade check (first in the stage): frozen agents and policy rules. Reads only. */
  readonly check = (ctx: PreTradeContext, c: MatchingCommand): Rejection | null => {
    if (this.agents.size === 0 || (c.type !== 'limit' && c.type !== 'market' && c.type !== 'amend')) return null;
    const a = this.agents.get(c.agent);
    if (!a) return null;
    if (a.frozen) return reject('BUDGET_AGENT_FROZEN', { agentId: ctx.agentId, allowed: ['cancel', 'cancel_all'] });
    if (!Budgets.tracked(a)) return null;
    return this.verdict(ctx.market, a, c);
  };

  /** The post-trade step: fills of buyers with a policy become spend, reservations follow their orders. */
  readonly afterTrade = (ctx: PostTradeContext): void => {
    if (this.policied === 0) return;
    const { market: m, command: c, events } = ctx;
    const tick = m.config.tickSize;
    let touched: number[] | null = null;
    for (const e of events) {
      if (e.kind === 'trade') {
        const buyer = e.takerSide === 'buy' ? e.takerAgent : e.makerAgent;
        const a = this.agents.get(buyer);
        if (a && Budgets.tracked(a)) {
          a.log.add(c.ts, e.notional);
          a.log.prune(c.ts - CAP_WINDOW_MAX_MS);
        }
        const buyOrder = e.takerSide === 'buy' ? e.takerOrderId : e.makerOrderId;
        if (this.orders.has(buyOrder)) (touched ??= []).push(buyOrder);
      } else if (e.kind === 'cancelled' || e.kind === 'expired' || e.kind === 'reduced' || e.kind === 'amended') {
        if (this.orders.has(e.orderId)) (touched ??= []).push(e.orderId);
      }
    }
    if (c.type === 'limit' && c.side === 'buy') {
      const a = this.agents.get(c.agent);
      const o = a && Budgets.tracked(a) ? m.engine.order(c.orderId) : null;
      if (a && o) {
        this.orders.set(c.orderId, { agent: c.agent, perLot: o.price * tick, lots: o.lots });
        a.reserved += o.price * tick * o.lots;
      }
    }
    if (touched) for (const id of touched) this.sync(m, id);
  };

  private sync(m: HostMarket, orderId: number): void {
    const r = this.orders.get(orderId);
    if (!r) return;
    const a = this.agents.get(r.agent);
    const o = m.engine.order(orderId);
    const before = r.perLot * r.lots;
    const after = o ? o.price * m.config.tickSize * o.lots : 0;
    if (a) a.reserved += after - before;
    if (o) {
      r.perLot = o.price * m.config.tickSize;
      r.lots = o.lots;
    } else this.orders.delete(orderId);
  }

  /**
   * The verdict on an order of a tracked agent: the per-order rules of its policy and of every ancestor's (a
   * sub-agent is never above its parent), then its caps and its carve-out.
   */
  private verdict(m: HostMarket, a: AgentBudget, c: MatchingCommand & { type: 'limit' | 'market' | 'amend' }): Rejection | null {
    let refused: Rejection | null = null;
    let spend = 0;
    for (let n: AgentBudget | undefined = a; n && !refused; n = n.parent === null ? undefined : this.agents.get(n.parent)) {
      if (n.frozen) return reject('BUDGET_AGENT_FROZEN', { rule: 'frozen', by: n === a ? 'agent' : 'ancestor' });
      if (!n.policy) continue;
      const r = this.rules(m, a, n.policy, c);
      if (typeof r === 'number') spend = r;
      else refused = r;
    }
    if (refused) return refused;
    if (spend === 0) spend = this.worstSpend(m, a, c);
    if (spend <= 0) return null;
    return this.fits(a, c.ts, spend);
  }

  /**
   * Whether `spend` more credits fit the agent's caps at time `ts` (spend in each window + what it holds + the new
   * spend <= the cap) and its carve-out (a sub-agent): null, or BUDGET_EXCEEDED naming the rule. Reads only.
   */
  fits(a: AgentBudget, ts: number, spend: number): Rejection | null {
    for (const cap of a.policy?.caps ?? []) {
      const used = a.log.used(ts, cap.windowMs);
      const held = a.reserved + a.childEscrow;
      const over = used + held + spend - cap.limit;
      if (over > 0) {
        // spend leaves the window with time; what open orders reserve leaves it only when they fill, end or are cancelled
        const freesAt = over <= used ? a.log.freesAt(ts, cap.windowMs, over) : null;
        return reject('BUDGET_EXCEEDED', {
          rule: 'spendCap',
          window: `${cap.windowMs / 1000}s rolling`,
          windowSeconds: cap.windowMs / 1000,
          limit: fmt(cap.limit),
          used: fmt(used),
          reserved: fmt(a.reserved),
          ...(a.childEscrow > 0 ? { carvedOut: fmt(a.childEscrow) } : {}),
          remaining: fmt(Math.max(0, cap.limit - used - held)),
          requested: fmt(spend),
          freesAt: when(freesAt),
          freesAtMs: freesAt,
          ...(freesAt === null
            ? { hint: 'open orders (or auction bids) hold the rest of the cap: cancel (withdraw) some, or wait for them to fill (settle)' }
            : {}),
        });
      }
    }
    if (a.parent !== null) {
      const held = a.log.total + a.reserved + a.childEscrow;
      if (held + spend > a.escrow)
        return reject('BUDGET_EXCEEDED', {
          rule: 'carveOut',
          window: 'lifetime of the carve-out',
          limit: fmt(a.escrow),
          used: fmt(a.log.total),
          reserved: fmt(a.reserved),
          ...(a.childEscrow > 0 ? { carvedOut: fmt(a.childEscrow) } : {}),
          remaining: fmt(Math.max(0, a.escrow - held)),
          requested: fmt(spend),
          freesAt: null,
          freesAtMs: null,
          hint: 'a carve-out never frees with time: the parent agent (or the principal) may raise it',
        });
    }
    return null;
  }

  /** What an order of a tracked agent may add to its spend (its worst case; an amend: the increase). */
  private worstSpend(m: HostMarket, a: AgentBudget, c: MatchingCommand & { type: 'limit' | 'market' | 'amend' }): number {
    const tick = m.config.tickSize;
    if (c.type === 'amend') {
      const r = this.orders.get(c.orderId);
      return r ? c.price * tick * c.lots - r.perLot * r.lots : 0;
    }
    if (c.side === 'sell') return 0;
    if (c.type === 'limit') return c.price * tick * c.lots;
    const bandTop = Math.min(m.config.maxPriceTicks, Math.floor((m.engine.referencePrice * (10_000 + m.config.priceBandBps)) / 10_000));
    return c.spend !== undefined ? c.spend : (c.lots ?? 0) * tick * bandTop;
  }

  /** The per-order rules of one policy on an order of `a`: a refusal, or the order's worst-case spend. */
  private rules(m: HostMarket, a: AgentBudget, p: BudgetPolicy, c: MatchingCommand & { type: 'limit' | 'market' | 'amend' }): Rejection | number {
    if (p.expiresAt !== null && c.ts >= p.expiresAt) return reject('BUDGET_POLICY_EXPIRED', { rule: 'expiresAt', expiresAt: when(p.expiresAt) });
    const tick = m.config.tickSize;
    const bandTop = Math.min(m.config.maxPriceTicks, Math.floor((m.engine.referencePrice * (10_000 + m.config.priceBandBps)) / 10_000));
    let side: 'buy' | 'sell';
    let notional: number | null;
    let spend = 0; // what a buy may add to the agent's spend
    let pricePerLot: number | null; // the highest price per lot a buy may pay
    if (c.type === 'amend') {
      const r = this.orders.get(c.orderId);
      if (!r) return 0; // a sell, or an order from before the policy: nothing to reserve
      side = 'buy';
      notional = c.price * tick * c.lots;
      spend = notional - r.perLot * r.lots;
      pricePerLot = c.price * tick;
    } else {
      if (p.markets && !p.markets.includes(m.id))
        return reject('BUDGET_MARKET_NOT_ALLOWED', { rule: 'markets', market: marketIdOf(m.id), allowed: p.markets.map(marketIdOf) });
      if (p.orderTypes && !p.orderTypes.includes(c.type))
        return reject('BUDGET_ORDER_TYPE_NOT_ALLOWED', { rule: 'orderTypes', type: c.type, allowed: p.orderTypes });
      side = c.side;
      if (c.type === 'limit') {
        notional = c.price * tick * c.lots;
        pricePerLot = c.price * tick;
      } else {
        notional = c.spend !== undefined ? c.spend : (c.lots ?? 0) * tick * bandTop;
        pricePerLot = bandTop * tick;
      }
      if (side === 'buy') spend = notional;
    }
    if (p.maxOrderNotional !== null && notional > p.maxOrderNotional)
      return reject('BUDGET_ORDER_NOTIONAL_EXCEEDED', { rule: 'maxOrderNotional', limit: fmt(p.maxOrderNotional), requested: fmt(notional) });
    if (side === 'sell') return 0;
    const ceiling = p.maxPrice[m.config.baseAsset];
    if (ceiling !== undefined && pricePerLot > ceiling)
      return reject('BUDGET_PRICE_ABOVE_CEILING', {
        rule: 'maxPrice',
        asset: m.config.baseAsset,
        ceiling: fmt(ceiling),
        price: fmt(pricePerLot),
        ...(c.type === 'market' ? { hint: 'a market buy may pay up to the top of the price band: use a limit order at or below the ceiling' } : {}),
      });
    return spend;
  }

  private entry(agent: number): AgentBudget {
    let a = this.agents.get(agent);
    if (!a)
      this.agents.set(
        agent,
        (a = { policy: null, parent: null, escrow: 0, childEscrow: 0, children: [], version: 0, frozen: false, reserved: 0, log: new SpendLog() }),
      );
    return a;
  }

  /** Applies a logged budget command (live and in replay alike); false when refused (nothing changed). */
  apply(cmd: BudgetLogged, markets: Iterable<HostMarket>, balances: BalanceView): boolean {
    switch (cmd.op) {
      case 'policy':
        this.setPolicy(cmd.agent, cmd.policy, markets);
        return true;
      case 'carve':
        return this.carve(cmd.parent, cmd.child, cmd.amount, cmd.ts, markets) === null;
      case 'revoke':
        this.revoke(cmd.agent);
        return true;
      case 'freeze':
        if (!cmd.frozen && cmd.by !== 'operator' && this.frozenByOperator(cmd.agents).length > 0) return false;
        for (const n of cmd.agents) this.entry(n).frozen = cmd.frozen;
        if (cmd.by === 'operator') for (const n of cmd.agents) this.operatorFrozen[cmd.frozen ? 'add' : 'delete'](n);
        if (cmd.principal !== undefined) {
          if (cmd.frozen) this.frozenPrincipals.add(cmd.principal);
          else this.frozenPrincipals.delete(cmd.principal);
        }
        return true;
      case 'xfer':
        return this.transfer(cmd, balances);
    }
  }

  /** Which of these agents an operator froze (a principal may not thaw them). */
  frozenByOperator(agents: readonly number[]): number[] {
    return this.operatorFrozen.size === 0 ? [] : agents.filter((n) => this.operatorFrozen.has(n));
  }

  private setPolicy(agent: number, policy: BudgetPolicy | null, markets: Iterable<HostMarket>): void {
    const a = this.entry(agent);
    const was = Budgets.tracked(a);
    a.policy = policy;
    a.version++;
    this.tracking(a, agent, was, markets);
  }

  /** Starts or stops tracking an agent's open buy orders when it becomes tracked or stops being tracked. */
  private tracking(a: AgentBudget, agent: number, was: boolean, markets: Iterable<HostMarket>): void {
    const now = Budgets.tracked(a);
    if (was === now) return;
    if (!now) {
      this.policied--;
      for (const [id, r] of this.orders) if (r.agent === agent) this.orders.delete(id);
      for (const [key, h] of this.holds) if (h.agent === agent) this.holds.delete(key);
      a.reserved = 0;
      return;
    }
    this.policied++;
    // bids placed before the policy may still spend too
    for (const [key, amount] of this.openHolds(agent)) {
      this.holds.set(key, { agent, amount });
      a.reserved += amount;
    }
    // open buy orders placed before the policy: they may still spend, so they hold their part of the caps
    for (const m of markets) {
      for (const o of m.engine.ordersOf(agent)) {
        if (o.side !== 'buy') continue;
        this.orders.set(o.orderId, { agent, perLot: o.price * m.config.tickSize, lots: o.lots });
        a.reserved += o.price * m.config.tickSize * o.lots;
      }
    }
  }

  /** The agent and every agent below it (sub-agents, theirs, ...), the agent first. */
  subtree(agent: number): number[] {
    const out = [agent];
    for (let i = 0; i < out.length; i++) for (const c of this.agents.get(out[i] as number)?.children ?? []) out.push(c);
    return out;
  }

  /** What a node's carve-out holds now: its spend, its open buys, what it carved out for its own sub-agents. */
  private held(a: AgentBudget): number {
    return a.log.total + a.reserved + a.childEscrow;
  }

  /**
   * Gives `child` a carve-out of `amount` from `parent`'s budget (a new sub-agent, or a change of its carve-out).
   * The parent must have a policy that allows sub-agents, not be frozen, and have room for the increase under each
   * of its caps at `ts` and under its own carve-out; a decrease may not go below what the child's subtree holds.
   * The escrow is held against the parent until the child is revoked: the children's carve-outs never sum to more
   * than the parent may spend.
   */
  carve(parent: number, child: number, amount: number, ts: number, markets: Iterable<HostMarket>): string | null {
    const p = this.agents.get(parent);
    if (!p?.policy?.subAgents) return 'the parent’s policy does not allow sub-agents';
    if (p.frozen) return 'the parent is frozen';
    if (parent === child || amount < 0 || !Number.isSafeInteger(amount)) return 'not a carve-out';
    const existing = this.agents.get(child);
    if (existing && existing.parent !== null && existing.parent !== parent) return 'the agent is another agent’s sub-agent';
    if ((!existing || existing.parent === null) && existing && (existing.children.length > 0 || Budgets.tracked(existing) || existing.frozen))
      return 'only a new agent becomes a sub-agent';
    const linked = existing !== undefined && existing.parent !== null;
    const delta = amount - (linked ? existing.escrow : 0);
    if (delta > 0) {
      for (const cap of p.policy.caps)
        if (p.log.used(ts, cap.windowMs) + p.reserved + p.childEscrow + delta > cap.limit)
          return `the parent’s cap over ${cap.windowMs / 1000}s has ${fmt(Math.max(0, cap.limit - p.log.used(ts, cap.windowMs) - p.reserved - p.childEscrow))} left`;
      if (p.parent !== null && this.held(p) + delta > p.escrow)
        return `the parent’s own carve-out has ${fmt(Math.max(0, p.escrow - this.held(p)))} left`;
    } else if (linked && amount < this.held(existing)) return `the sub-agent’s subtree holds ${fmt(this.held(existing))} already`;
    // nothing changed until here: a refused carve-out leaves no trace in the state
    const c = this.entry(child);
    if (c.parent === null) {
      const was = Budgets.tracked(c);
      c.parent = parent;
      p.children.push(child);
      this.tracking(c, child, was, markets);
    }
    c.escrow = amount;
    p.childEscrow += delta;
    return null;
  }

  /** Freezes the node's subtree and shrinks each carve-out in it to what it holds (spent, or still reserved), bottom-up. */
  private revoke(agent: number): void {
    const nodes = this.subtree(agent);
    for (const n of nodes) this.entry(n).frozen = true;
    for (let i = nodes.length - 1; i >= 0; i--) {
      const a = this.agents.get(nodes[i] as number) as AgentBudget;
      if (a.parent === null) continue;
      const shrink = a.escrow - this.held(a);
      if (shrink <= 0) continue;
      a.escrow -= shrink;
      (this.agents.get(a.parent) as AgentBudget).childEscrow -= shrink;
    }
  }

  /** What the principal holds of an asset in its own account. */
  principalHolding(principal: string, asset: string): number {
    return this.principals.get(principal)?.get(asset) ?? 0;
  }

  private transfer(c: Extract<BudgetLogged, { op: 'xfer' }>, balances: BalanceView): boolean {
    const held = this.principalHolding(c.principal, c.asset);
    const set = (v: number) => {
      let m = this.principals.get(c.principal);
      if (!m) this.principals.set(c.principal, (m = new Map()));
      m.set(c.asset, v);
    };
    const a = balances.assetIndex(c.asset);
    switch (c.dir) {
      case 'deposit':
        if (held + c.amount > Number.MAX_SAFE_INTEGER) return false;
        set(held + c.amount);
        return true;
      case 'withdraw':
        if (held < c.amount) return false;
        set(held - c.amount);
        return true;
      case 'to_agent':
        if (held < c.amount || this.frozenPrincipals.has(c.principal)) return false;
        balances.registerAgent(c.agent as number);
        if (!balances.deposit(c.agent as number, a, c.amount)) return false;
        set(held - c.amount);
        return true;
      case 'from_agent':
        balances.registerAgent(c.agent as number);
        if (held + c.amount > Number.MAX_SAFE_INTEGER || !balances.withdraw(c.agent as number, a, c.amount)) return false;
        set(held + c.amount);
        return true;
    }
  }

  /** Each cap's usage for an agent at time `now`. */
  usage(agent: number, now: number): CapUsage[] {
    const a = this.agents.get(agent);
    if (!a?.policy) return [];
    return a.policy.caps.map((cap) => {
      const used = a.log.used(now, cap.windowMs);
      return {
        windowMs: cap.windowMs,
        limit: cap.limit,
        used,
        reserved: a.reserved + a.childEscrow,
        remaining: Math.max(0, cap.limit - used - a.reserved - a.childEscrow),
        resetsAt: used > 0 ? a.log.freesAt(now, cap.windowMs, 1) : null,
      };
    });
  }

  snapshot(): BudgetsSnapshot {
    return {
      agents: [...this.agents].map(([agent, a]) => ({
        agent,
        policy: a.policy,
        version: a.version,
        frozen: a.frozen,
        ts: [...a.log.ts],
        cum: [...a.log.cum],
        base: a.log.base,
        ...(a.parent !== null ? { parent: a.parent, escrow: a.escrow } : {}),
      })),
      orders: [...this.orders].map(([id, r]) => [id, { ...r }]),
      ...(this.holds.size > 0 ? { holds: [...this.holds].map(([k, h]) => [k, h.agent, h.amount] as [string, number, number]) } : {}),
      ...(this.redeemed.size > 0
        ? {
            redeemed: [...this.redeemed].flatMap(([agent, m]) =>
              [...m].map(([asset, l]) => [agent, asset, [...l.ts], [...l.cum], l.base] as [number, string, number[], number[], number]),
            ),
          }
        : {}),
      principals: [...this.principals].map(([p, m]) => [p, [...m]]),
      frozenPrincipals: [...this.frozenPrincipals],
      ...(this.operatorFrozen.size > 0 ? { operatorFrozen: [...this.operatorFrozen] } : {}),
    };
  }

  restore(s: BudgetsSnapshot): void {
    for (const x of s.agents) {
      const log = new SpendLog();
      log.ts = [...x.ts];
      log.cum = [...x.cum];
      log.base = x.base;
      this.agents.set(x.agent, {
        policy: x.policy,
        parent: x.parent ?? null,
        escrow: x.escrow ?? 0,
        childEscrow: 0,
        children: [],
        version: x.version,
        frozen: x.frozen,
        reserved: 0,
        log,
      });
    }
    for (const [n, a] of this.agents) {
      if (Budgets.tracked(a)) this.policied++;
      if (a.parent === null) continue;
      const p = this.entry(a.parent);
      p.children.push(n);
      p.childEscrow += a.escrow;
    }
    for (const [id, r] of s.orders) {
      this.orders.set(id, { ...r });
      const a = this.agents.get(r.agent);
      if (a) a.reserved += r.perLot * r.lots;
    }
    for (const [key, agent, amount] of s.holds ?? []) {
      this.holds.set(key, { agent, amount });
      const a = this.agents.get(agent);
      if (a) a.reserved += amount;
    }
    for (const [agent, asset, ts, cum, base] of s.redeemed ?? []) {
      const log = new SpendLog();
      log.ts = [...ts];
      log.cum = [...cum];
      log.base = base;
      let m = this.redeemed.get(agent);
      if (!m) this.redeemed.set(agent, (m = new Map()));
      m.set(asset, log);
    }
    for (const [p, m] of s.principals) this.principals.set(p, new Map(m));
    for (const p of s.frozenPrincipals) this.frozenPrincipals.add(p);
    for (const n of s.operatorFrozen ?? []) this.operatorFrozen.add(n);
  }
}
