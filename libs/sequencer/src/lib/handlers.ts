import { AppError, CREDIT, ErrorCode, LimitOrderCommand, MarketOrderCommand, MatchingEvent } from '@ate/contracts';
import { APPROVAL_HANDLERS, approvalNeeded, cancelPendingOrder, cancelPendingOrdersOf, expireApprovals, holdForApproval } from './approvals';
import { AUCTION_HANDLERS } from './auctions';
import type { Batch } from './batch';
import { BUDGET_HANDLERS } from './budget-handlers';
import type { EngineCore } from './core';
import type { Directory } from './directory';
import type { HostCommandKind, HostCommandOf, HostMarket, HostResult } from './host-types';
import { setRules } from './market-rules';
import { limitOrMarket } from './order-commands';
import { sweepExpiredAllowance } from './allowance-sweep';
import { holdingOf, redeem } from './redemption';
import { fundsTransfer } from './settlement';

/**
 * The handler table: one handler per kind of HostCommand. `prepare` runs before sequencing (it may read the
 * database: resolve the agent, open ledger accounts) and refuses what can be refused alone, so a bad command never
 * breaks a batch; `execute` runs inside the batch, in sequence order, without I/O. A new kind of command (a budget
 * policy change, a redemption, an auction bid or settlement) is a new entry here.
 */

export interface PrepareContext {
  core: EngineCore;
  directory: Directory;
}

export interface CommandHandler<C> {
  prepare(ctx: PrepareContext, cmd: C): Promise<void>;
  execute(b: Batch, cmd: C, ts: number): HostResult;
}

export type HandlerTable = { [K in HostCommandKind]: CommandHandler<HostCommandOf<K>> };

/** The largest total an agent may hold of one asset in the engine, in minor units (2^53 - 1). */
export const HOLDING_MAX = Number.MAX_SAFE_INTEGER;

function market(core: EngineCore, marketId: string): HostMarket {
  const m = core.markets.get(marketId);
  if (!m) throw new AppError('NOT_FOUND', 'No such market.', { marketId });
  return m;
}

/** The agent exists (and the market, when the command names one). */
async function agentAndMarket(ctx: PrepareContext, agentId: string, marketId: string | undefined): Promise<void> {
  await ctx.directory.resolve(agentId);
  if (marketId !== undefined) market(ctx.core, marketId);
}

function agentNum(b: Batch, agentId: string): number {
  return b.directory.numOf(agentId) as number; // prepare() resolved it
}

const place: CommandHandler<HostCommandOf<'place'>> = {
  async prepare(ctx, cmd) {
    await agentAndMarket(ctx, cmd.agentId, cmd.marketId);
    await ctx.directory.ensureAccount(cmd.agentId, CREDIT);
    await ctx.directory.ensureAccount(cmd.agentId, market(ctx.core, cmd.marketId).config.baseAsset);
  },
  execute(b, cmd, ts) {
    const o = cmd.order;
    const key = o.clientOrderId ? `${cmd.agentId}|${o.clientOrderId}` : null;
    if (key) {
      const existing = b.ids.seen(key);
      if (existing !== undefined) return { seq: null, code: null, events: [], existingOrderId: existing };
    }
    const orderId = ++b.core.lastOrderId;
    if (key) b.ids.remember(key, orderId);
    const m = market(b.core, cmd.marketId);
    const mc = limitOrMarket(o, ts, orderId, agentNum(b, cmd.agentId)) as LimitOrderCommand | MarketOrderCommand;
    // above its policy's approval threshold, the order waits for the principal instead (approvals.ts)
    return holdForApproval(b, m, mc, cmd.agentId, o) ?? b.matching(m, mc, cmd.agentId, o);
  },
};

const cancel: CommandHandler<HostCommandOf<'cancel'>> = {
  prepare: (ctx, cmd) => agentAndMarket(ctx, cmd.agentId, cmd.marketId),
  execute(b, cmd, ts) {
    const agent = agentNum(b, cmd.agentId);
    // an order waiting for approval is cancelled there, not in the book (approvals.ts)
    const pending = cancelPendingOrder(b, agent, cmd.orderId, cmd.marketId, ts);
    return pending ?? b.matching(market(b.core, cmd.marketId), { type: 'cancel', ts, agent, orderId: cmd.orderId }, cmd.agentId);
  },
};

const amend: CommandHandler<HostCommandOf<'amend'>> = {
  prepare: (ctx, cmd) => agentAndMarket(ctx, cmd.agentId, cmd.marketId),
  execute: (b, cmd, ts) =>
    b.matching(
      market(b.core, cmd.marketId),
      { type: 'amend', ts, agent: agentNum(b, cmd.agentId), orderId: cmd.orderId, price: cmd.price, lots: cmd.lots },
      cmd.agentId,
    ),
};

const cancelAll: CommandHandler<HostCommandOf<'cancel_all'>> = {
  prepare: (ctx, cmd) => agentAndMarket(ctx, cmd.agentId, cmd.marketId),
  execute(b, cmd, ts) {
    const agent = agentNum(b, cmd.agentId);
    // and the orders waiting for approval (approvals.ts): they have no book event, the answer names them
    const waiting = cancelPendingOrdersOf(b, agent, cmd.marketId ?? null, ts);
    const pendingCancelled = waiting.length > 0 ? { details: { pendingCancelled: waiting } } : {};
    if (cmd.marketId) return { ...b.matching(market(b.core, cmd.marketId), { type: 'cancel_all', ts, agent }, cmd.agentId), ...pendingCancelled };
    // every market, each its own logged command, answered as one
    const events: MatchingEvent[] = [];
    let seq: string | null = null;
    for (const m of b.core.markets.values()) {
      const r = b.matching(m, { type: 'cancel_all', ts, agent }, cmd.agentId);
      events.push(...r.events);
      seq = r.seq;
    }
    return { seq, code: null, events, ...pendingCancelled };
  },
};

const setState: CommandHandler<HostCommandOf<'set_state'>> = {
  prepare: async (ctx, cmd) => void market(ctx.core, cmd.marketId),
  execute(b, cmd, ts) {
    const m = market(b.core, cmd.marketId);
    const r = b.matching(m, { type: 'set_state', ts, state: cmd.state }, '');
    sweepExpiredAllowance(b, m, ts); // a market halted at its allowance's expiry is swept when it leaves the halt
    return r;
  },
};

const tick: CommandHandler<HostCommandOf<'tick'>> = {
  prepare: async (ctx, cmd) => void market(ctx.core, cmd.marketId),
  execute(b, cmd, ts) {
    const m = market(b.core, cmd.marketId);
    const r = b.matching(m, { type: 'tick', ts }, '');
    expireApprovals(b, m, ts); // approval requests past their TTL (approvals.ts)
    sweepExpiredAllowance(b, m, ts); // resting orders of an expired allowance (allowance-sweep.ts)
    return r;
  },
};

const funds: CommandHandler<HostCommandOf<'funds'>> = {
  async prepare(ctx, cmd) {
    await ctx.directory.resolve(cmd.agentId);
    if (!ctx.core.balances.assets.includes(cmd.asset)) throw new AppError('LEDGER_ASSET_NOT_FOUND', 'No such asset.', { code: cmd.asset });
    // refused here, alone: inside a batch it would fail every command of the batch
    if (cmd.amount > BigInt(HOLDING_MAX))
      throw new AppError('AMOUNT_OUT_OF_RANGE', 'The amount is beyond what the engine holds per agent.', { maxHolding: String(HOLDING_MAX) });
    await ctx.directory.ensureAccount(cmd.agentId, cmd.asset);
    await ctx.directory.ensureSystem('issuance', cmd.asset);
  },
  execute(b, cmd, ts) {
    const key = `f|${cmd.transferId}`;
    if (b.ids.seen(key) !== undefined) return { seq: null, code: null, events: [], duplicateTransfer: true };
    const agent = agentNum(b, cmd.agentId);
    const before = holdingOf(b.core.balances, agent, cmd.asset).total;
    if (!b.core.funds(cmd.op, agent, cmd.asset, Number(cmd.amount))) {
      // nothing was done: the id stays free (a retry may succeed once funds are there)
      return cmd.op === 'withdraw'
        ? { seq: null, code: 'MATCHING_INSUFFICIENT_BALANCE', events: [] }
        : { seq: null, code: 'AMOUNT_OUT_OF_RANGE', events: [], details: { maxHolding: String(HOLDING_MAX) } };
    }
    b.ids.remember(key, 0);
    const transfer = fundsTransfer(
      cmd.op,
      cmd.transferId,
      b.directory.agent(cmd.agentId, cmd.asset),
      b.directory.system('issuance', cmd.asset),
      cmd.amount,
    );
    const after = holdingOf(b.core.balances, agent, cmd.asset).total;
    return {
      ...b.funds(cmd.op, cmd.agentId, agent, cmd.asset, cmd.amount, ts, transfer),
      change: { before: { total: String(before) }, after: { total: String(after) } },
    };
  },
};

/** What a placement's verdict is now, without placing it: refused (code, details) or accepted (code null). */
export interface PlacementVerdict {
  code: ErrorCode | null;
  details?: Record<string, unknown>;
}

/**
 * A dry run of a place command (POST /v1/orders/test): the pre-trade stage and every rule of the engine up to
 * acceptance, on the state as it is now, reserving nothing. Placing the same order next would answer the same,
 * unless other commands change the book or the balances in between.
 */
export async function testPlacement(ctx: PrepareContext, cmd: HostCommandOf<'place'>): Promise<PlacementVerdict> {
  await place.prepare(ctx, cmd);
  const m = market(ctx.core, cmd.marketId);
  const agent = ctx.directory.numOf(cmd.agentId) as number;
  const mc = limitOrMarket(cmd.order, Math.max(ctx.core.lastTs, Date.now()), ctx.core.lastOrderId + 1, agent) as
    | LimitOrderCommand
    | MarketOrderCommand;
  const refused = ctx.core.preTradeVerdict(m, mc, cmd.agentId);
  if (refused) return { code: refused.code, ...(refused.details ? { details: refused.details } : {}) };
  // placing registers the agent first (an agent never funded holds nothing); the dry run undoes it
  const b = ctx.core.balances;
  const fresh = !b.isKnown(agent);
  if (fresh) b.registerAgent(agent);
  try {
    const code = m.engine.check(mc);
    // accepted, but above the policy's approval threshold: placing it would hold it for the principal (approvals.ts)
    const approval = code === null ? approvalNeeded(ctx.core, m, mc) : null;
    return { code, ...(approval ? { details: { approval } } : {}) };
  } finally {
    if (fresh) b.unregisterAgent(agent);
  }
}

export const HANDLERS: HandlerTable = {
  place,
  cancel,
  amend,
  cancel_all: cancelAll,
  set_state: setState,
  tick,
  funds,
  ...AUCTION_HANDLERS,
  ...BUDGET_HANDLERS,
  ...APPROVAL_HANDLERS,
  redeem,
  set_rules: setRules,
};
