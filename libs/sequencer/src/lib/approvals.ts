import { CREDIT_SCALE, formatAmount, LimitOrderCommand, MarketOrderCommand, MatchingCommand, reject, Rejection } from '@ate/contracts';
import type { Batch } from './batch';
import type { Budgets } from './budgets';
import type { CommandActor } from './budget-handlers';
import type { EngineCore } from './core';
import type { CommandHandler, PrepareContext } from './handlers';
import type { HostCommandOf, HostMarket, HostResult, OrderRecord, PlaceOrder } from './host-types';
import { limitOrMarket } from './order-commands';
import type { PreTradeContext } from './stages';
import { burn, redemptionRefusal, redemptionRow, type RedemptionRequest } from './redemption';

/**
 * Approval above a threshold: a policy with `approval: { above, ttlMs }` makes every order of the agent whose
 * notional is above `above` (credits, minor units) wait as `pending_approval` until its principal approves it (it
 * is then sequenced like any other order, with the id and clientOrderId it was given), rejects it, or `ttlMs` of
 * command time pass (it expires). The pending orders are state of the sequencer like budgets: each hold, approval,
 * rejection and expiry is a logged `{ t: 'p' }` command replayed by EngineCore.replay, and they are in the snapshot.
 *
 * Nothing is reserved while an order waits: neither its funds nor its budget. It is checked when it is held (an
 * order the pre-trade stage or the engine would refuse now is refused at once, with its code, not held) and again,
 * in full, when it is approved: the approval runs the order through the pre-trade stage (budget caps reserve its
 * worst case then) and the engine (which holds its funds then). So the order reserves once, at approval.
 *
 * The notional of an order is what budgets.ts calls it: a limit order's price x quantity; a market order's spend,
 * or its quantity at the top of the price band. Buys and sells alike. An amend may not take an order above the
 * threshold (APPROVAL_AMEND_ABOVE_THRESHOLD): an order may only grow past it by a new order, which waits.
 *
 * Redemptions wait the same way above `approval.redemptionsAbove[asset]` (units of the allowance): held (`hold_r`,
 * nothing burnt, checked first as the burn would be), then approved (`approve_r`, checked again in full and burnt
 * by the same `burn` as any redemption), rejected or expired (`drop_r`). They belong to no market: the expiry timer
 * ticks the asset's market (or any) for them and every tick expires the due ones. Cancelled, by a freeze, kill or
 * revocation of the agent, or (orders) by the agent itself: what waits goes no further, reason APPROVAL_CANCELLED.
 */

/** An order held for approval (engine units: ticks, lots, credits in minor units, ms of command time). */
export interface PendingOrder {
  orderId: number;
  agent: number;
  marketId: string;
  order: PlaceOrder;
  notional: number;
  /** the threshold it was above, as the policy had it when it was held */
  threshold: number;
  requestedAt: number;
  expiresAt: number;
}

/**
 * The approval rule of a policy: orders above `above` credits of notional (null: no order waits) and redemptions
 * of an asset above `redemptionsAbove[asset]` units (in the asset's minor units) wait for the principal, at most
 * `ttlMs` of command time.
 */
export interface ApprovalRule {
  above: number | null;
  ttlMs: number;
  /** per allowance asset: the threshold in its minor units, and its scale (for the view) */
  redemptionsAbove?: Record<string, { above: number; scale: number }>;
}

/**
 * A redemption held for approval: nothing has left the agent's account yet. Approved, it is burnt then (checked
 * again in full: the allowance's expiry, the budget, the balance) and its receipt is signed.
 */
export interface PendingRedemption extends RedemptionRequest {
  /** the threshold it was above (the asset's minor units), as the policy had it when it was held */
  threshold: number;
  requestedAt: number;
  expiresAt: number;
  /** the market the expiry timer ticks for it (any market: the tick expires every due redemption), if any */
  tickMarketId: string | null;
}

/** The shortest and the longest TTL of an approval request. */
export const APPROVAL_TTL_MIN_MS = 10_000;
export const APPROVAL_TTL_MAX_MS = 7 * 24 * 3600 * 1000;
/** Orders one agent may have waiting at once (what a principal can still read through). */
export const APPROVALS_PENDING_PER_AGENT_MAX = 100;

/** How a wait ended without the request going ahead: the principal rejected it, its TTL ran out, or it was cancelled (by the agent, or its freeze). */
export type DropReason = 'rejected' | 'expired' | 'cancelled';

/** A command of the log that changes pending approvals (engine_command `{ t: 'p', ... }`). */
export type ApprovalLogged =
  | { t: 'p'; op: 'hold'; p: PendingOrder }
  /** the principal approved: the order's own matching command (with `heldId`) follows in the log */
  | { t: 'p'; op: 'approve'; orderId: number }
  | { t: 'p'; op: 'drop'; orderId: number; why: DropReason }
  | { t: 'p'; op: 'hold_r'; r: PendingRedemption }
  /** the principal approved: the burn (a `{ t: 'r' }` redemption) follows in the log, unless it was refused then */
  | { t: 'p'; op: 'approve_r'; id: string }
  | { t: 'p'; op: 'drop_r'; id: string; why: DropReason };

export type ApprovalOp =
  | { op: 'approve' | 'reject'; orderId: number }
  | { op: 'approve' | 'reject'; redemptionId: string }
  /** the pending orders and redemptions of these agents, as of this point of the sequence; logs nothing */
  | { op: 'list'; agentIds: string[] };

export interface ApprovalCommand {
  kind: 'approval';
  /** the order's market (approve, reject): the market whose book the decision may change */
  marketId?: string;
  op: ApprovalOp;
  actor?: CommandActor;
}

/** One pending order as `list` answers it. */
export interface PendingApprovalView {
  orderId: number;
  agentId: string;
  marketId: string;
  notional: number;
  threshold: number;
  requestedAt: number;
  expiresAt: number;
}

const fmt = (n: number) => formatAmount(BigInt(n), CREDIT_SCALE);

/** One pending redemption as `list` answers it. */
export type PendingRedemptionView = Omit<PendingRedemption, 'agent' | 'tickMarketId'>;

export class Approvals {
  readonly pending = new Map<number, PendingOrder>();
  readonly redemptions = new Map<string, PendingRedemption>();

  constructor(private readonly budgets: Budgets) {}

  /** The approval rule of an agent's policy, if any (a map lookup; nothing while no agent has a policy). */
  ruleOf(agent: number): ApprovalRule | null {
    if (this.budgets.agents.size === 0) return null;
    return this.budgets.agents.get(agent)?.policy?.approval ?? null;
  }

  /**
   * The pre-trade check (after budgets): an amend may not take an order above its agent's approval threshold, and
   * an order above it is refused when the agent has APPROVALS_PENDING_PER_AGENT_MAX orders waiting already. An
   * approved order (`heldId`) passes.
   */
  readonly check = (ctx: PreTradeContext, c: MatchingCommand): Rejection | null => {
    if (c.type !== 'amend' && c.type !== 'limit' && c.type !== 'market') return null;
    const rule = this.ruleOf(c.agent);
    if (!rule) return null;
    if (c.type !== 'amend') {
      if (c.heldId || rule.above === null || this.size() < APPROVALS_PENDING_PER_AGENT_MAX || orderNotional(ctx.market, c) <= rule.above) return null;
      if (this.waitingOf(c.agent) < APPROVALS_PENDING_PER_AGENT_MAX) return null;
      return reject('APPROVAL_TOO_MANY_PENDING', { rule: 'approval', pending: APPROVALS_PENDING_PER_AGENT_MAX, threshold: fmt(rule.above) });
    }
    if (rule.above === null) return null;
    const notional = c.price * ctx.market.config.tickSize * c.lots;
    if (notional <= rule.above) return null;
    return reject('APPROVAL_AMEND_ABOVE_THRESHOLD', { rule: 'approval', threshold: fmt(rule.above), requested: fmt(notional) });
  };

  apply(c: ApprovalLogged): boolean {
    switch (c.op) {
      case 'hold':
        if (this.pending.has(c.p.orderId)) return false;
        this.pending.set(c.p.orderId, c.p);
        return true;
      case 'hold_r':
        if (this.redemptions.has(c.r.id)) return false;
        this.redemptions.set(c.r.id, c.r);
        return true;
      case 'approve_r':
      case 'drop_r':
        return this.redemptions.delete(c.id);
      default:
        return this.pending.delete(c.orderId);
    }
  }

  /** Requests waiting, orders and redemptions. */
  size(): number {
    return this.pending.size + this.redemptions.size;
  }

  /** How many requests (orders and redemptions) the agent has waiting. */
  waitingOf(agent: number): number {
    let n = 0;
    for (const p of this.pending.values()) if (p.agent === agent) n++;
    for (const r of this.redemptions.values()) if (r.agent === agent) n++;
    return n;
  }

  /** When each pending request expires (the expiry timer's schedule after recovery). */
  deadlines(): { at: number; marketId: string }[] {
    const out = [...this.pending.values()].map((p) => ({ at: p.expiresAt, marketId: p.marketId }));
    for (const r of this.redemptions.values()) if (r.tickMarketId !== null) out.push({ at: r.expiresAt, marketId: r.tickMarketId });
    return out;
  }

  snapshot(): PendingOrder[] {
    return [...this.pending.values()].map((p) => ({ ...p, order: { ...p.order } }));
  }

  snapshotRedemptions(): PendingRedemption[] {
    return [...this.redemptions.values()].map((r) => ({ ...r }));
  }

  restore(list: readonly PendingOrder[], redemptions: readonly PendingRedemption[] = []): void {
    for (const p of list) this.pending.set(p.orderId, { ...p, order: { ...p.order } });
    for (const r of redemptions) this.redemptions.set(r.id, { ...r });
  }
}

/** An order's notional as the approval rule measures it (credits, minor units). */
export function orderNotional(m: HostMarket, c: LimitOrderCommand | MarketOrderCommand): number {
  const tick = m.config.tickSize;
  if (c.type === 'limit') return c.price * tick * c.lots;
  if (c.spend !== undefined) return c.spend;
  const bandTop = Math.min(m.config.maxPriceTicks, Math.floor((m.engine.referencePrice * (10_000 + m.config.priceBandBps)) / 10_000));
  return (c.lots ?? 0) * tick * bandTop;
}

/** The projection row of a pending order (or of how its wait ended: rejected or expired). */
function pendingRow(p: PendingOrder, agentId: string, seq: number, status: OrderRecord['status'], reason: string | null, ts: number): OrderRecord {
  const o = p.order;
  return {
    id: p.orderId,
    marketId: p.marketId,
    agentId,
    clientOrderId: o.clientOrderId ?? null,
    side: o.side,
    type: o.type,
    tif: o.type === 'limit' ? (o.tif ?? 'GTC') : null,
    postOnly: Boolean(o.postOnly),
    priceTicks: o.price ?? null,
    lots: o.lots ?? null,
    spend: o.spend ?? null,
    expiresAt: o.expiresAt ?? null,
    status,
    filledLots: 0,
    openLots: 0,
    filledNotional: 0,
    reason,
    commandSeq: seq,
    createdAt: new Date(p.requestedAt),
    updatedAt: new Date(ts),
  };
}

const approvalDetails = (p: PendingOrder) => ({
  approval: {
    status: 'pending_approval',
    notional: fmt(p.notional),
    threshold: fmt(p.threshold),
    requestedAt: new Date(p.requestedAt).toISOString(),
    expiresAt: new Date(p.expiresAt).toISOString(),
    expiresAtMs: p.expiresAt,
  },
});

/**
 * The place handler's step before the book: an order above its agent's approval threshold is held (logged, its
 * row `pending_approval`) instead of placed; null when it goes on to the book as usual. An order that would be
 * refused now is not held: it goes on and is refused with its code.
 */
export function holdForApproval(
  b: Batch,
  m: HostMarket,
  mc: LimitOrderCommand | MarketOrderCommand,
  agentId: string,
  o: PlaceOrder,
): HostResult | null {
  const rule = b.core.approvals.ruleOf(mc.agent);
  if (!rule || rule.above === null) return null;
  const notional = orderNotional(m, mc);
  if (notional <= rule.above) return null;
  if (b.core.preTradeVerdict(m, mc, agentId) !== null || m.engine.check(mc) !== null) return null;
  const p: PendingOrder = {
    orderId: mc.orderId,
    agent: mc.agent,
    marketId: m.id,
    order: o,
    notional,
    threshold: rule.above,
    requestedAt: mc.ts,
    expiresAt: mc.ts + rule.ttlMs,
  };
  const logged: ApprovalLogged = { t: 'p', op: 'hold', p };
  b.core.approvals.apply(logged);
  b.core.expiries.push({ at: p.expiresAt, marketId: m.id });
  const seq = b.logOther(m.id, mc.ts, logged, [], () => []);
  const row = pendingRow(p, agentId, seq, 'pending_approval', null, mc.ts);
  b.projections.orders.set(p.orderId, row);
  return { seq: String(seq), code: null, events: [], orderId: p.orderId, order: row, details: approvalDetails(p) };
}

/** Whether placing this order now would hold it for approval: its notional, the threshold and the TTL; else null. */
export function approvalNeeded(
  core: EngineCore,
  m: HostMarket,
  mc: LimitOrderCommand | MarketOrderCommand,
): { required: true; notional: string; threshold: string; ttlSeconds: number } | null {
  const rule = core.approvals.ruleOf(mc.agent);
  if (!rule || rule.above === null) return null;
  const notional = orderNotional(m, mc);
  return notional > rule.above ? { required: true, notional: fmt(notional), threshold: fmt(rule.above), ttlSeconds: rule.ttlMs / 1000 } : null;
}

/**
 * The redeem handler's step before the burn: a redemption above its agent's threshold for the asset is held
 * (logged, its row pending_approval, nothing burnt) instead; null when it goes ahead now. It was checked first
 * (redemptionRefusal): one that would be refused now is refused at once, not held.
 */
export function holdRedemption(b: Batch, r: RedemptionRequest, ts: number): HostResult | null {
  const rule = b.core.approvals.ruleOf(r.agent);
  const threshold = rule?.redemptionsAbove?.[r.asset]?.above;
  if (!rule || threshold === undefined || r.amount <= threshold) return null;
  const a = b.core.approvals;
  if (a.waitingOf(r.agent) >= APPROVALS_PENDING_PER_AGENT_MAX)
    return { seq: null, code: 'APPROVAL_TOO_MANY_PENDING', events: [], details: { rule: 'approval', pending: APPROVALS_PENDING_PER_AGENT_MAX } };
  const market = b.core.marketOfAsset(r.asset);
  const p: PendingRedemption = { ...r, threshold, requestedAt: ts, expiresAt: ts + rule.ttlMs, tickMarketId: market };
  const logged: ApprovalLogged = { t: 'p', op: 'hold_r', r: p };
  a.apply(logged);
  if (market !== null) b.core.expiries.push({ at: p.expiresAt, marketId: market });
  const seq = b.logOther(null, ts, logged, [], () => []);
  b.extra.redemptions.push(redemptionRow(b, r, seq, ts, 'pending_approval', p.expiresAt));
  return { seq: String(seq), code: null, events: [] };
}

/** What a dropped request's row says: its status and reason. */
const DROPPED: Record<DropReason, { status: 'rejected' | 'expired' | 'canceled'; reason: string }> = {
  rejected: { status: 'rejected', reason: 'APPROVAL_REJECTED' },
  expired: { status: 'expired', reason: 'APPROVAL_EXPIRED' },
  cancelled: { status: 'canceled', reason: 'APPROVAL_CANCELLED' },
};

/** Ends a wait without placing the order (rejected by the principal, expired, or cancelled): logged, its row updated. */
function drop(b: Batch, p: PendingOrder, why: DropReason, ts: number): number {
  const logged: ApprovalLogged = { t: 'p', op: 'drop', orderId: p.orderId, why };
  b.core.approvals.apply(logged);
  const seq = b.logOther(p.marketId, ts, logged, [], () => []);
  const d = DROPPED[why];
  b.projections.orders.set(p.orderId, pendingRow(p, b.directory.idOf(p.agent), seq, d.status, d.reason, ts));
  return seq;
}

/** Ends a redemption's wait without burning anything: logged, its row updated. */
function dropRedemption(b: Batch, r: PendingRedemption, why: DropReason, ts: number): number {
  const logged: ApprovalLogged = { t: 'p', op: 'drop_r', id: r.id, why };
  b.core.approvals.apply(logged);
  const seq = b.logOther(null, ts, logged, [], () => []);
  const d = DROPPED[why];
  b.extra.redemptionChanges.push({ id: r.id, status: d.status, reason: d.reason, commandSeq: seq, at: ts });
  return seq;
}

/**
 * Expires what has waited past its TTL by `ts` (the tick handler's step): the market's pending orders, and every
 * pending redemption (they belong to no market; the timer ticks some market for them).
 */
export function expireApprovals(b: Batch, m: HostMarket, ts: number): void {
  const a = b.core.approvals;
  if (a.size() === 0) return;
  const due = [...a.pending.values()].filter((p) => p.marketId === m.id && p.expiresAt <= ts).sort((x, y) => x.orderId - y.orderId);
  for (const p of due) drop(b, p, 'expired', ts);
  const dueR = [...a.redemptions.values()].filter((r) => r.expiresAt <= ts).sort((x, y) => x.requestedAt - y.requestedAt || (x.id < y.id ? -1 : 1));
  for (const r of dueR) dropRedemption(b, r, 'expired', ts);
}

/**
 * Cancels what these agents have waiting for approval, orders and redemptions (a freeze, a kill switch or a
 * revocation of their subtree: nothing they asked for goes ahead after it).
 */
export function cancelPendingOf(b: Batch, agents: readonly number[], ts: number): void {
  const a = b.core.approvals;
  if (a.size() === 0) return;
  const set = new Set(agents);
  for (const p of [...a.pending.values()].filter((x) => set.has(x.agent)).sort((x, y) => x.orderId - y.orderId)) drop(b, p, 'cancelled', ts);
  for (const r of [...a.redemptions.values()].filter((x) => set.has(x.agent)).sort((x, y) => x.requestedAt - y.requestedAt || (x.id < y.id ? -1 : 1)))
    dropRedemption(b, r, 'cancelled', ts);
}

/**
 * The agent cancels one of its own orders that waits for approval (DELETE /v1/orders/:id): null when the order is
 * not waiting (the cancel goes to the book as usual).
 */
export function cancelPendingOrder(b: Batch, agent: number, orderId: number, marketId: string, ts: number): HostResult | null {
  const p = b.core.approvals.pending.get(orderId);
  if (!p || p.agent !== agent || p.marketId !== marketId) return null;
  const seq = drop(b, p, 'cancelled', ts);
  return { seq: String(seq), code: null, events: [], orderId };
}

/** The agent's orders of this market (or of every market) that wait for approval, cancelled (its cancel-all): their ids. */
export function cancelPendingOrdersOf(b: Batch, agent: number, marketId: string | null, ts: number): number[] {
  const a = b.core.approvals;
  if (a.pending.size === 0) return [];
  const mine = [...a.pending.values()].filter((p) => p.agent === agent && (marketId === null || p.marketId === marketId));
  for (const p of mine.sort((x, y) => x.orderId - y.orderId)) drop(b, p, 'cancelled', ts);
  return mine.map((p) => p.orderId);
}

/** The order command of a pending order, as the approval sequences it (its own id, out of order: `heldId`). */
function approvedCommand(p: PendingOrder, ts: number): MatchingCommand {
  return { ...(limitOrMarket(p.order, ts, p.orderId, p.agent) as LimitOrderCommand | MarketOrderCommand), heldId: true };
}

const approval: CommandHandler<HostCommandOf<'approval'>> = {
  async prepare(ctx: PrepareContext, cmd) {
    const o = cmd.op;
    if (o.op === 'list') for (const id of o.agentIds) await ctx.directory.resolve(id);
  },
  execute(b, cmd, ts): HostResult {
    const o = cmd.op;
    const a = b.core.approvals;
    if (o.op === 'list') {
      const nums = new Set(o.agentIds.map((id) => b.directory.numOf(id) as number));
      const pending: PendingApprovalView[] = [...a.pending.values()]
        .filter((p) => nums.has(p.agent))
        .sort((x, y) => x.orderId - y.orderId)
        .map((p) => ({
          orderId: p.orderId,
          agentId: b.directory.idOf(p.agent),
          marketId: p.marketId,
          notional: p.notional,
          threshold: p.threshold,
          requestedAt: p.requestedAt,
          expiresAt: p.expiresAt,
        }));
      const redemptions: PendingRedemptionView[] = [...a.redemptions.values()]
        .filter((r) => nums.has(r.agent))
        .sort((x, y) => x.requestedAt - y.requestedAt || (x.id < y.id ? -1 : 1))
        .map(({ agent: _agent, tickMarketId: _tick, ...view }) => view);
      return { seq: null, code: null, events: [], details: { now: ts, pending, redemptions } };
    }
    if ('redemptionId' in o) return decideRedemption(b, o.op, o.redemptionId, ts);
    const p = a.pending.get(o.orderId);
    if (!p || p.marketId !== cmd.marketId) return { seq: null, code: 'APPROVAL_NOT_PENDING', events: [], details: { orderId: String(o.orderId) } };
    const m = b.core.markets.get(p.marketId) as HostMarket;
    if (ts >= p.expiresAt) {
      // decided too late (on command time): it expires now, as the timer would have expired it
      const seq = drop(b, p, 'expired', ts);
      return {
        seq: String(seq),
        code: 'APPROVAL_EXPIRED',
        events: [],
        details: { orderId: String(p.orderId), expiresAt: new Date(p.expiresAt).toISOString() },
      };
    }
    const agentId = b.directory.idOf(p.agent);
    if (o.op === 'reject') {
      const seq = drop(b, p, 'rejected', ts);
      return {
        seq: String(seq),
        code: null,
        events: [],
        orderId: p.orderId,
        change: { before: { status: 'pending_approval' }, after: { status: 'rejected' } },
      };
    }
    const logged: ApprovalLogged = { t: 'p', op: 'approve', orderId: p.orderId };
    a.apply(logged);
    b.logOther(p.marketId, ts, logged, [], () => []);
    const r = b.matching(m, approvedCommand(p, ts), agentId, p.order);
    // the decision is done (and audited) whatever the order then met: its outcome is the order's status and reason
    return {
      ...r,
      code: null,
      details: { ...(r.details ?? {}), outcome: r.code },
      change: { before: { status: 'pending_approval' }, after: { status: r.order?.status ?? null, reason: r.order?.reason ?? null } },
    };
  },
};

/**
 * The principal's decision on a pending redemption. Rejected: nothing burnt. Approved: checked again in full now
 * (the allowance's expiry, the budget, the balance free of open orders) and burnt; if it is refused then, the
 * decision still stands (and is audited) and the redemption ends rejected with the code it met.
 */
function decideRedemption(b: Batch, op: 'approve' | 'reject', id: string, ts: number): HostResult {
  const a = b.core.approvals;
  const r = a.redemptions.get(id);
  if (!r) return { seq: null, code: 'APPROVAL_NOT_PENDING', events: [], details: { redemptionId: id } };
  if (ts >= r.expiresAt) {
    const seq = dropRedemption(b, r, 'expired', ts);
    return { seq: String(seq), code: 'APPROVAL_EXPIRED', events: [], details: { redemptionId: id, expiresAt: new Date(r.expiresAt).toISOString() } };
  }
  if (op === 'reject') {
    const seq = dropRedemption(b, r, 'rejected', ts);
    return { seq: String(seq), code: null, events: [], change: { before: { status: 'pending_approval' }, after: { status: 'rejected' } } };
  }
  const logged: ApprovalLogged = { t: 'p', op: 'approve_r', id };
  a.apply(logged);
  const seq = b.logOther(null, ts, logged, [], () => []);
  const refused = redemptionRefusal(b, r, ts);
  if (refused) {
    b.extra.redemptionChanges.push({ id, status: 'rejected', reason: refused.code, commandSeq: seq, at: ts });
    return {
      seq: String(seq),
      code: null,
      events: [],
      details: { outcome: refused.code, ...(refused.details ?? {}) },
      change: { before: { status: 'pending_approval' }, after: { status: 'rejected', reason: refused.code } },
    };
  }
  const burnt = burn(b, r, ts, true);
  return { ...burnt, change: { before: { status: 'pending_approval' }, after: { status: 'issued', ...(burnt.change?.after as object) } } };
}

export const APPROVAL_HANDLERS = { approval };

/** The approval rule as the policy's view shows it. */
export function approvalRuleView(r: ApprovalRule): { above: string | null; ttlSeconds: number; redemptionsAbove?: Record<string, string> } {
  const red = Object.entries(r.redemptionsAbove ?? {});
  return {
    above: r.above === null ? null : fmt(r.above),
    ttlSeconds: r.ttlMs / 1000,
    ...(red.length > 0 ? { redemptionsAbove: Object.fromEntries(red.map(([a, t]) => [a, formatAmount(BigInt(t.above), t.scale)])) } : {}),
  };
}
