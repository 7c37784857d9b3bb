import { CREDIT_SCALE, ErrorCode, formatAmount, marketIdOf, reject, Rejection } from '@ate/contracts';
import { AUCTION_HANDLERS, type AuctionState } from './auctions';
import type { Batch } from './batch';
import { AgentBudget, Budgets, CAP_WINDOW_MAX_MS, SpendLog } from './budgets';
import type { HostMarket } from './host-types';

/**
 * Budget policies beyond the book: auction bids, posted-price purchases and redemptions, on the state of
 * budgets.ts (`holds`, `redeemed`, the spend logs), changed only by logged commands (AuctionState.apply calls the
 * hooks below live and in replay alike; a redemption is counted by its handler and by its replay), so a replay of
 * the log, and a snapshot, hold exactly the same counters.
 *
 * What counts as spend (credits that leave the agent for allowances): a fill's notional (budgets.ts), an auction's
 * payment (VCG or core: what the winner pays, never above its bid) and a posted-price purchase's cost. Redemptions
 * spend no credits (allowances leave, to be consumed): they are not spend, and count against redemption caps of their
 * own, per allowance asset, in that asset's units.
 *
 * - A bid is checked like an order (in this order: frozen, the delegation's expiry, allowed assets, the per-order
 *   notional cap applied to its maximum payment, the price ceiling applied to its highest unit price, then every
 *   spend cap and the carve-out) and reserves its maximum payment against the windows (`holds`, counted in the
 *   agent's `reserved`, exactly like an open buy order). Withdrawing it, losing, or the auction's cancel release
 *   it; winning releases it and consumes exactly the payment, at the settlement's command time.
 * - A purchase is checked the same way with max price x units as its worst case and, being done in one command,
 *   consumes the cost it paid (never more than that worst case).
 * - A seller agent's auction (its units escrowed) is refused like a sell order: frozen, delegation over, asset not
 *   allowed.
 * - A redemption is refused when the agent (or an ancestor) is frozen or its delegation is over, and when it would
 *   take the agent's redemptions of that asset in a rolling window beyond a cap of its own policy.
 *
 * The checks run after the mechanism's own (auction open, bid well formed, pool price within max price) and before
 * the balance's (funds available); a refusal changes nothing. Only tracked agents (a policy, or a carve-out) keep
 * counters; a frozen agent is refused whether tracked or not.
 */

/** Redemption caps per policy (per asset and window). */
export const REDEMPTION_CAPS_MAX = 16;

/** A redemption cap's usage at a time, in minor units of its asset. */
export interface RedemptionUsage {
  asset: string;
  scale: number;
  windowMs: number;
  limit: number;
  used: number;
  remaining: number;
  /** when the oldest redemption still in the window leaves it (null: none in it) */
  resetsAt: number | null;
}

/** The refusal shape of AuctionState.apply. */
export interface SpendRefusal {
  refused: ErrorCode;
  details?: Record<string, unknown>;
}

/** An auction as the hooks see it. */
export interface BidAuction {
  id: string;
  mechanism: string;
  asset: string;
  items: readonly { asset: string }[];
}

/** What AuctionState calls (optional: a state without a budget behind it, as in its own tests, calls nothing). */
export interface AuctionBudgetHooks {
  /** a bid that may pay `hold` credits at most: refused (nothing reserved), or reserved */
  bid(a: BidAuction, agent: number, hold: number, steps: readonly { price: bigint }[], ts: number): SpendRefusal | null;
  /** a seller agent's sale of these assets (an auction it creates): refused when frozen, its delegation over, or an asset not allowed */
  sell(agent: number, assets: string[], ts: number): SpendRefusal | null;
  /** the bid's reservation released (withdrawn, or its funds could not be held after all) */
  unbid(auctionId: string, agent: number): void;
  /** the auction ended (settled or cancelled): every bidder's reservation released, each winner's payment spent */
  ended(auctionId: string, bidders: Iterable<number>, payments: readonly { winner: number; payment: bigint }[], ts: number): void;
  /** a purchase of `units` at `maxPrice` per unit at most: refused, or null (nothing held: it completes in its command) */
  purchase(agent: number, asset: string, units: bigint, maxPrice: bigint, ts: number): SpendRefusal | null;
  /** what the purchase cost, spent */
  purchased(agent: number, cost: bigint, ts: number): void;
}

const fmt = (n: number) => formatAmount(BigInt(n), CREDIT_SCALE);
const when = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const MAX = BigInt(Number.MAX_SAFE_INTEGER);
const clamp = (v: bigint): number => (v > MAX ? Number.MAX_SAFE_INTEGER : Number(v));

/** The key of a bid's reservation in Budgets.holds. */
export const bidHoldKey = (auctionId: string, agent: number): string => `a|${auctionId}|${agent}`;

const asRefusal = (r: Rejection | null): SpendRefusal | null => (r ? { refused: r.code, ...(r.details ? { details: r.details } : {}) } : null);

export class MechanismBudgets implements AuctionBudgetHooks {
  /**
   * False while the log is replayed: a logged bid or purchase was admitted when it ran, so its replay applies its
   * effects and never refuses (a command logged before these rules existed replays as it was taken).
   */
  enforce = true;

  /** Runs `f` (the replay of a logged command) with the checks off, its effects on. */
  replaying<T>(f: () => T): T {
    this.enforce = false;
    try {
      return f();
    } finally {
      this.enforce = true;
    }
  }

  constructor(
    private readonly budgets: Budgets,
    private readonly markets: ReadonlyMap<string, HostMarket>,
  ) {}

  bid(a: BidAuction, agent: number, hold: number, steps: readonly { price: bigint }[], ts: number): SpendRefusal | null {
    const assets = a.mechanism === 'vcg_multi_unit' ? [a.asset] : [...new Set(a.items.map((it) => it.asset))];
    // a multi-unit schedule's first step is its highest price (non-increasing); a bundle has no unit price
    const top = a.mechanism === 'vcg_multi_unit' && steps.length > 0 ? (steps[0] as { price: bigint }).price : null;
    if (this.enforce) {
      const refused = this.admit(agent, 'bid', assets, hold, top, ts);
      if (refused) return refused;
    }
    const b = this.budgets.agents.get(agent);
    if (b && Budgets.tracked(b) && hold > 0) {
      this.budgets.holds.set(bidHoldKey(a.id, agent), { agent, amount: hold });
      b.reserved += hold;
    }
    return null;
  }

  sell(agent: number, assets: string[], ts: number): SpendRefusal | null {
    const a = this.enforce ? this.budgets.agents.get(agent) : undefined;
    return a ? asRefusal(this.rules(a, 'sell', assets, null, null, ts)) : null;
  }

  unbid(auctionId: string, agent: number): void {
    const key = bidHoldKey(auctionId, agent);
    const h = this.budgets.holds.get(key);
    if (!h) return;
    this.budgets.holds.delete(key);
    const b = this.budgets.agents.get(h.agent);
    if (b) b.reserved -= h.amount;
  }

  ended(auctionId: string, bidders: Iterable<number>, payments: readonly { winner: number; payment: bigint }[], ts: number): void {
    for (const agent of [...bidders]) this.unbid(auctionId, agent);
    for (const p of payments) if (p.payment > 0n) this.spend(p.winner, Number(p.payment), ts);
  }

  purchase(agent: number, asset: string, units: bigint, maxPrice: bigint, ts: number): SpendRefusal | null {
    if (!this.enforce) return null;
    return this.admit(agent, 'purchase', [asset], clamp(units * maxPrice), maxPrice, ts);
  }

  purchased(agent: number, cost: bigint, ts: number): void {
    if (cost > 0n) this.spend(agent, Number(cost), ts);
  }

  /** The verdict on a redemption of `amount` (the asset's minor units) at command time `ts`: a refusal, or null. Reads only. */
  redemption(agent: number, asset: string, amount: number, ts: number): Rejection | null {
    const a = this.budgets.agents.get(agent);
    if (!a) return null;
    const refused = this.rules(a, 'redemption', [asset], null, null, ts);
    if (refused) return refused;
    for (const cap of a.policy?.redemptionCaps ?? []) {
      if (cap.asset !== asset) continue;
      const log = this.budgets.redeemed.get(agent)?.get(asset);
      const used = log?.used(ts, cap.windowMs) ?? 0;
      const over = used + amount - cap.limit;
      if (over <= 0) continue;
      const freesAt = amount <= cap.limit && log ? log.freesAt(ts, cap.windowMs, over) : null;
      const f = (n: number) => formatAmount(BigInt(n), cap.scale);
      return reject('BUDGET_EXCEEDED', {
        rule: 'redemptionCap',
        asset,
        window: `${cap.windowMs / 1000}s rolling`,
        windowSeconds: cap.windowMs / 1000,
        limit: f(cap.limit),
        used: f(used),
        reserved: f(0),
        remaining: f(Math.max(0, cap.limit - used)),
        requested: f(amount),
        freesAt: when(freesAt),
        freesAtMs: freesAt,
        ...(freesAt === null ? { hint: 'the amount is above the cap itself: redeem less at a time' } : {}),
      });
    }
    return null;
  }

  /** Each redemption cap's usage for an agent at time `now`. */
  redemptionUsage(agent: number, now: number): RedemptionUsage[] {
    const a = this.budgets.agents.get(agent);
    return (a?.policy?.redemptionCaps ?? []).map((cap) => {
      const log = this.budgets.redeemed.get(agent)?.get(cap.asset);
      const used = log?.used(now, cap.windowMs) ?? 0;
      return {
        asset: cap.asset,
        scale: cap.scale,
        windowMs: cap.windowMs,
        limit: cap.limit,
        used,
        remaining: Math.max(0, cap.limit - used),
        resetsAt: used > 0 && log ? log.freesAt(now, cap.windowMs, 1) : null,
      };
    });
  }

  /** A redemption done: counted against the agent's redemption caps (tracked agents only). */
  redeemed(agent: number, asset: string, amount: number, ts: number): void {
    const a = this.budgets.agents.get(agent);
    if (!a || !Budgets.tracked(a) || amount <= 0) return;
    let m = this.budgets.redeemed.get(agent);
    if (!m) this.budgets.redeemed.set(agent, (m = new Map()));
    let log = m.get(asset);
    if (!log) m.set(asset, (log = new SpendLog()));
    log.add(ts, amount);
    log.prune(ts - CAP_WINDOW_MAX_MS);
  }

  /** Credits a tracked agent spent at `ts` (an auction payment, a purchase): in its spend log, like a fill's notional. */
  private spend(agent: number, amount: number, ts: number): void {
    const a = this.budgets.agents.get(agent);
    if (!a || !Budgets.tracked(a)) return;
    a.log.add(ts, amount);
    a.log.prune(ts - CAP_WINDOW_MAX_MS);
  }

  /** The rules of the agent and its ancestors, then (tracked agents) its caps and carve-out against `spend` more. */
  private admit(agent: number, what: 'bid' | 'purchase', assets: string[], spend: number, unitPrice: bigint | null, ts: number): SpendRefusal | null {
    const a = this.budgets.agents.get(agent);
    if (!a) return null;
    const refused = this.rules(a, what, assets, spend, unitPrice, ts);
    if (refused) return asRefusal(refused);
    if (!Budgets.tracked(a) || spend <= 0) return null;
    return asRefusal(this.budgets.fits(a, ts, spend));
  }

  /** Per-command rules of the agent's policy and of every ancestor's (a sub-agent is never above its parent). */
  private rules(
    a: AgentBudget,
    what: 'bid' | 'purchase' | 'sell' | 'redemption',
    assets: string[],
    notional: number | null,
    unitPrice: bigint | null,
    ts: number,
  ): Rejection | null {
    for (let n: AgentBudget | undefined = a; n; n = n.parent === null ? undefined : this.budgets.agents.get(n.parent)) {
      if (n.frozen)
        return reject('BUDGET_AGENT_FROZEN', {
          rule: 'frozen',
          by: n === a ? 'agent' : 'ancestor',
          allowed: ['cancel', 'cancel_all', 'withdraw a bid'],
        });
      const p = n.policy;
      if (!p) continue;
      if (p.expiresAt !== null && ts >= p.expiresAt) return reject('BUDGET_POLICY_EXPIRED', { rule: 'expiresAt', expiresAt: when(p.expiresAt) });
      if (what === 'redemption') continue;
      for (const asset of assets) {
        if (p.markets && !p.markets.some((id) => this.markets.get(id)?.config.baseAsset === asset))
          return reject('BUDGET_MARKET_NOT_ALLOWED', {
            rule: 'markets',
            asset,
            allowed: p.markets.map(marketIdOf),
            hint: 'an auction or a pool of an asset is allowed when the policy allows a market of that asset',
          });
      }
      if (notional !== null && p.maxOrderNotional !== null && notional > p.maxOrderNotional)
        return reject('BUDGET_ORDER_NOTIONAL_EXCEEDED', {
          rule: 'maxOrderNotional',
          limit: fmt(p.maxOrderNotional),
          requested: fmt(notional),
          what: what === 'bid' ? 'the bid’s maximum payment' : 'max price x units',
        });
      if (unitPrice !== null && assets.length === 1) {
        const asset = assets[0] as string;
        const ceiling = p.maxPrice[asset];
        const lot = this.lotSize(asset);
        if (ceiling !== undefined && lot !== null && unitPrice * BigInt(lot) > BigInt(ceiling))
          return reject('BUDGET_PRICE_ABOVE_CEILING', {
            rule: 'maxPrice',
            asset,
            ceiling: fmt(ceiling),
            price: formatAmount(unitPrice * BigInt(lot), CREDIT_SCALE),
            hint: `the ceiling is per lot of ${lot} units; ${what === 'bid' ? 'the bid’s highest unit price' : 'max price'} x ${lot} is above it`,
          });
      }
    }
    return null;
  }

  /** The lot size (units) of the asset's market, or null when it has none (the per-lot ceiling does not apply). */
  private lotSize(asset: string): number | null {
    for (const m of this.markets.values()) if (m.config.baseAsset === asset) return m.config.lotSize;
    return null;
  }
}

/** The reservations an agent's open bids hold (when it becomes tracked, its bids from before hold their part). */
export function bidHolds(auctions: AuctionState, agent: number): [string, number][] {
  const out: [string, number][] = [];
  for (const a of auctions.auctions.values()) {
    const bid = a.bids.get(agent);
    if (bid && bid.hold > 0) out.push([bidHoldKey(a.id, agent), bid.hold]);
  }
  return out;
}

/** Wires the rules into the auction state and the budgets of one EngineCore. */
export function attachMechanismBudgets(budgets: Budgets, auctions: AuctionState, markets: ReadonlyMap<string, HostMarket>): MechanismBudgets {
  const mb = new MechanismBudgets(budgets, markets);
  auctions.budget = mb;
  budgets.openHolds = (agent) => bidHolds(auctions, agent);
  return mb;
}

/**
 * The kill switch's (and a revocation's) withdrawal of the agents' bids in auctions still taking bids: each a logged
 * withdrawal in the freeze's batch, so no bid of a frozen agent can win after it (a bid in an auction already past
 * its deadline stays: it was admitted within the caps and settles). The auctions withdrawn from.
 */
export function withdrawOpenBids(b: Batch, agents: readonly number[], ts: number): string[] {
  const set = new Set(agents);
  const todo: [string, number][] = [];
  for (const a of b.core.auctions.auctions.values()) {
    if (a.status !== 'open' || ts >= a.deadline) continue;
    for (const agent of a.bids.keys()) if (set.has(agent)) todo.push([a.id, agent]);
  }
  const out: string[] = [];
  for (const [auctionId, agent] of todo) {
    const r = AUCTION_HANDLERS.auction_withdraw.execute(b, { kind: 'auction_withdraw', auctionId, agentId: b.directory.idOf(agent) }, ts);
    if (r.code === null) out.push(auctionId);
  }
  return out;
}
