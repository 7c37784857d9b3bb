import { AppError, MatchingEvent } from '@ate/contracts';
import type { LedgerRequest } from '@ate/ledger';
import { balanceEvent, type Batch } from './batch';
import type { BudgetLogged, BudgetPolicy, CapUsage, PrincipalTransferDir } from './budgets';
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
  | { op: 'read'; agentIds: string[]; principalId?: string };

export interface PrincipalFunds {
  op: PrincipalTransferDir;
  principalId: string;
  /** to_agent / from_agent */
  agentId?: string;
  asset: string;
  amount: bigint;
  transferId: string;
}

/** One agent's budget state as `read` answers it (minor units, ms). */
export interface AgentBudgetView {
  version: number;
  policy: BudgetPolicy | null;
  frozen: boolean;
  reserved: number;
  /** credits spent over the whole kept history (the last 31 days at least) */
  usage: CapUsage[];
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
    for (const id of o.op === 'set_policy' ? [o.agentId] : o.agentIds) await ctx.directory.resolve(id);
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
          version: a?.version ?? 0,
          policy: a?.policy ?? null,
          frozen: a?.frozen ?? false,
          reserved: a?.reserved ?? 0,
          usage: budgets.usage(n, ts),
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
      const r = b.other(ts, JSON.stringify(logged), null, () => []);
      return { ...r, details: { version: version + 1, policy: o.policy } };
    }
    // freeze / thaw: one logged command, then (kill switch) each market's cancel_all of each agent, in the same batch
    const nums = o.agentIds.map((id) => num(b, id));
    const logged: BudgetLogged = {
      t: 'b',
      op: 'freeze',
      agents: nums,
      frozen: o.frozen,
      ...(o.principalId !== undefined ? { principal: o.principalId } : {}),
    };
    budgets.apply(logged, b.core.markets.values(), b.core.balances);
    const r = b.other(ts, JSON.stringify(logged), null, () => []);
    const events: MatchingEvent[] = [];
    if (o.cancelOrders) {
      o.agentIds.forEach((agentId, i) => {
        const agent = nums[i] as number;
        for (const m of b.core.markets.values()) {
          if (m.engine.ordersOf(agent).length === 0) continue;
          events.push(...b.matching(m, { type: 'cancel_all', ts, agent }, agentId).events);
        }
      });
    }
    return { ...r, events };
  },
};

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
    return b.other(ts, JSON.stringify(logged), transfer, () =>
      agent !== undefined ? [balanceEvent(b.core.balances, cmd.agentId as string, agent, cmd.asset)] : [],
    );
  },
};

export const BUDGET_HANDLERS = { budget, principal_funds: principalFunds };
