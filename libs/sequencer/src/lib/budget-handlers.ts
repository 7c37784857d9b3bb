import { AppError, MatchingEvent } from '@ate/contracts';
import { cancelPendingOf } from './approvals';
import type { LedgerRequest } from '@ate/ledger';
import { balanceEvent, type Batch } from './batch';
import type { BudgetLogged, BudgetPolicy, CapUsage, PrincipalTransferDir } from './budgets';
import { withdrawOpenBids, type RedemptionUsage } from './budgets-mechanisms';
import type { CommandHandler } from './handlers';
import type { HostCommandOf, HostResult } from './host-types';

/**
 * The handlers of budget commands (entries `budget` and `principal_funds` of the handler table): policy changes,
 * freezes with the kill switch's cancels, reads of budget state in sequence, and a principal's own funds. Each
 * change is one logged `{ t: 'b' }` command that EngineCore.replay gives to Budgets.apply again at recovery.
 */

export type BudgetOp =
  /** sets (or clears, null) an agent's policy; with expectedVersion, only if the policy is still at that version */
  | { op: 'set_policy'; agentId: string; policy: BudgetPolicy | null; expectedVersion?: number }
  /** freezes (or thaws) agents, and a principal's transfers to its agents; cancelOrders: the kill switch's cancels, in the same step */
  | { op: 'freeze'; agentIds: string[]; principalId?: string; frozen: boolean; cancelOrders: boolean }
  /** the budget state of agents (and a principal's own account) as of this point of the sequence; logs nothing */
  | { op: 'read'; agentIds: string[]; principalId?: string }
  /** gives a (new) sub-agent a carve-out of its parent's budget, or changes it (credits, minor units) */
  | { op: 'carve'; parentId: string; childId: string; amount: number }
  /** revokes a node: cancels every open order of its subtree, freezes it, returns the unspent carve-outs up the tree */
  | { op: 'revoke'; agentId: string };

/**
 * Who asked for a command (a principal's or an operator's action): carried with it into its handler, so that
 * an audit record can be written with its effect. Not logged in engine_command (it changes nothing replayed).
 */
export interface CommandActor {
  role: 'agent' | 'principal' | 'admin';
  keyId: string;
  principalId: string | null;
  agentId: string | null;
  requestId: string;
}

export interface PrincipalFunds {
  op: PrincipalTransferDir;
  principalId: string;
  /** to_agent / from_agent */
  agentId?: string;
  asset: string;
  amount: bigint;
  transferId: string;
  actor?: CommandActor;
}

/** One agent's budget state as `read` answers it (minor units, ms). */
export interface AgentBudgetView {
  /** the parent agent of a sub-agent, else null */
  parentId: string | null;
  /** a sub-agent's carve-out (0 for others), what its subtree spent in all, and what it carved out for its own sub-agents */
  carveOut: number;
  spentTotal: number;
  carvedOut: number;
  children: string[];
  version: number;
  policy: BudgetPolicy | null;
  frozen: boolean;
  /** who froze it: an operator's freeze only an operator thaws */
  frozenBy: 'operator' | 'principal' | null;
  reserved: number;
  /** credits spent over the whole kept history (the last 31 days at least) */
  usage: CapUsage[];
  /** each redemption cap's usage (budgets-mechanisms.ts) */
  redemptionUsage?: RedemptionUsage[];
}

export interface BudgetReadDetails {
  now: number;
  agents: Record<string, AgentBudgetView>;
  principal?: { frozen: boolean; holdings: Record<string, number> };
}

const HOLDING_MAX = Number.MAX_SAFE_INTEGER;

function num(b: Batch, agentId: string): number {
  return b.directory.numOf(agentId) as number; // prepare() resolved it
}

const budget: CommandHandler<HostCommandOf<'budget'>> = {
  async prepare(ctx, cmd) {
    const o = cmd.op;
    const ids = o.op === 'set_policy' || o.op === 'revoke' ? [o.agentId] : o.op === 'carve' ? [o.parentId, o.childId] : o.agentIds;
    for (const id of ids) await ctx.directory.resolve(id);
  },
  execute(b, cmd, ts) {
    const o = cmd.op;
    const budgets = b.core.budgets;
    if (o.op === 'read') {
      const agents: Record<string, AgentBudgetView> = {};
      for (const id of o.agentIds) {
        const n = num(b, id);
        const a = budgets.agents.get(n);
        agents[id] = {
          parentId: a && a.parent !== null ? b.directory.idOf(a.parent) : null,
          carveOut: a && a.parent !== null ? a.escrow : 0,
          spentTotal: a?.log.total ?? 0,
          carvedOut: a?.childEscrow ?? 0,
          children: (a?.children ?? []).map((c) => b.directory.idOf(c)),
          version: a?.version ?? 0,
          policy: a?.policy ?? null,
          frozen: a?.frozen ?? false,
          frozenBy: a?.frozen ? (budgets.operatorFrozen.has(n) ? 'operator' : 'principal') : null,
          reserved: a?.reserved ?? 0,
          usage: budgets.usage(n, ts),
          redemptionUsage: b.core.spend.redemptionUsage(n, ts),
        };
      }
      const details: BudgetReadDetails = { now: ts, agents };
      if (o.principalId !== undefined)
        details.principal = {
          frozen: budgets.frozenPrincipals.has(o.principalId),
          holdings: Object.fromEntries(budgets.principals.get(o.principalId) ?? []),
        };
      return { seq: null, code: null, events: [], details: details as unknown as Record<string, unknown> };
    }
    if (o.op === 'set_policy') {
      const n = num(b, o.agentId);
      const version = budgets.agents.get(n)?.version ?? 0;
      if (o.expectedVersion !== undefined && o.expectedVersion !== version)
        return { seq: null, code: 'POLICY_VERSION_CONFLICT', events: [], details: { version, expectedVersion: o.expectedVersion } };
      const logged: BudgetLogged = { t: 'b', op: 'policy', agent: n, policy: o.policy };
      budgets.apply(logged, b.core.markets.values(), b.core.balances);
      const r = b.record(ts, JSON.stringify(logged), null, () => []);
      return { ...r, details: { version: version + 1, policy: o.policy } };
    }
    if (o.op === 'carve') {
      const logged: BudgetLogged = { t: 'b', op: 'carve', parent: num(b, o.parentId), child: num(b, o.childId), amount: o.amount, ts };
      const why = budgets.carve(logged.parent, logged.child, logged.amount, ts, b.core.markets.values());
      if (why !== null) return { seq: null, code: 'BUDGET_CARVE_OUT_REFUSED', events: [], details: { reason: why } };
      return b.record(ts, JSON.stringify(logged), null, () => []);
    }
    if (o.op === 'revoke') {
      // the subtree's open orders first (each a logged cancel_all), then the revocation: its carve-outs shrink to what was spent
      const nodes = budgets.subtree(num(b, o.agentId));
      cancelPendingOf(b, nodes, ts); // what they have waiting for approval goes no further
      const events = cancelEverything(b, nodes, ts);
      const logged: BudgetLogged = { t: 'b', op: 'revoke', agent: nodes[0] as number };
      budgets.apply(logged, b.core.markets.values(), b.core.balances);
      return { ...b.record(ts, JSON.stringify(logged), null, () => []), events, details: { agentIds: nodes.map((n) => b.directory.idOf(n)) } };
    }
    // freeze / thaw a subtree: one logged command, then (kill switch) each market's cancel_all of each agent, in the same batch
    const nums = [...new Set(o.agentIds.flatMap((id) => budgets.subtree(num(b, id))))];
    // an operator's freeze is recorded as such: only an operator thaws it (a principal's thaw is refused whole)
    const byOperator = cmd.actor?.role === 'admin';
    const locked = o.frozen || byOperator ? [] : budgets.frozenByOperator(nums);
    if (locked.length > 0)
      return {
        seq: null,
        code: 'BUDGET_FROZEN_BY_OPERATOR',
        events: [],
        details: { agentIds: locked.map((n) => b.directory.idOf(n)), frozenBy: 'operator' },
      };
    const logged: BudgetLogged = {
      t: 'b',
      op: 'freeze',
      agents: nums,
      frozen: o.frozen,
      ...(o.principalId !== undefined ? { principal: o.principalId } : {}),
      ...(byOperator ? { by: 'operator' as const } : {}),
    };
    budgets.apply(logged, b.core.markets.values(), b.core.balances);
    const r = b.record(ts, JSON.stringify(logged), null, () => []);
    if (o.frozen) cancelPendingOf(b, nums, ts); // frozen, they may only cancel: nothing they wait for is approved later
    const events = o.cancelOrders ? cancelEverything(b, nums, ts) : [];
    return { ...r, events, details: { agentIds: nums.map((n) => b.directory.idOf(n)) } };
  },
};

/**
 * Cancels every open order of these agents in every market (one logged cancel_all per agent and market with orders),
 * and withdraws their bids in auctions still taking bids (each a logged withdrawal).
 */
function cancelEverything(b: Batch, agents: number[], ts: number): MatchingEvent[] {
  withdrawOpenBids(b, agents, ts);
  const events: MatchingEvent[] = [];
  for (const agent of agents) {
    for (const m of b.core.markets.values()) {
      if (m.engine.ordersOf(agent).length === 0) continue;
      events.push(...b.matching(m, { type: 'cancel_all', ts, agent }, b.directory.idOf(agent)).events);
    }
  }
  return events;
}

const principalFunds: CommandHandler<HostCommandOf<'principal_funds'>> = {
  async prepare(ctx, cmd) {
    if (!ctx.core.balances.assets.includes(cmd.asset)) throw new AppError('LEDGER_ASSET_NOT_FOUND', 'No such asset.', { code: cmd.asset });
    if (cmd.amount > BigInt(HOLDING_MAX))
      throw new AppError('AMOUNT_OUT_OF_RANGE', 'The amount is beyond what the engine holds.', { max: String(HOLDING_MAX) });
    await ctx.directory.ensurePrincipalAccount(cmd.principalId, cmd.asset);
    if (cmd.op === 'to_agent' || cmd.op === 'from_agent') {
      await ctx.directory.resolve(cmd.agentId as string);
      await ctx.directory.ensureAccount(cmd.agentId as string, cmd.asset);
    } else await ctx.directory.ensureSystem('issuance', cmd.asset);
  },
  execute(b, cmd, ts): HostResult {
    const key = `f|${cmd.transferId}`;
    if (b.ids.seen(key) !== undefined) return { seq: null, code: null, events: [], duplicateTransfer: true };
    const agent = cmd.agentId !== undefined ? num(b, cmd.agentId) : undefined;
    const logged: BudgetLogged = {
      t: 'b',
      op: 'xfer',
      dir: cmd.op,
      principal: cmd.principalId,
      ...(agent !== undefined ? { agent } : {}),
      asset: cmd.asset,
      amount: Number(cmd.amount),
    };
    if (!b.core.budgets.apply(logged, b.core.markets.values(), b.core.balances)) {
      const code =
        cmd.op === 'from_agent'
          ? 'MATCHING_INSUFFICIENT_BALANCE'
          : cmd.op === 'deposit'
            ? 'AMOUNT_OUT_OF_RANGE'
            : 'BUDGET_PRINCIPAL_INSUFFICIENT_FUNDS';
      const frozen = cmd.op === 'to_agent' && b.core.budgets.frozenPrincipals.has(cmd.principalId);
      return { seq: null, code: frozen ? 'BUDGET_AGENT_FROZEN' : code, events: [] };
    }
    b.ids.remember(key, 0);
    const p = b.directory.principal(cmd.principalId, cmd.asset);
    const other = agent !== undefined ? b.directory.agent(cmd.agentId as string, cmd.asset) : b.directory.system('issuance', cmd.asset);
    const [from, to] = cmd.op === 'to_agent' || cmd.op === 'withdraw' ? [p, other] : [other, p];
    const transfer: LedgerRequest = {
      kind: 'transfer',
      type: cmd.op === 'deposit' ? 'mint' : cmd.op === 'withdraw' ? 'burn' : 'adjustment',
      id: cmd.transferId,
      ref: { kind: 'admin', id: cmd.transferId },
      legs: [
        { accountId: from, side: 'debit', amount: cmd.amount },
        { accountId: to, side: 'credit', amount: cmd.amount },
      ],
    };
    return b.record(ts, JSON.stringify(logged), transfer, () =>
      agent !== undefined ? [balanceEvent(b.core.balances, cmd.agentId as string, agent, cmd.asset)] : [],
    );
  },
};

export const BUDGET_HANDLERS = { budget, principal_funds: principalFunds };
