import { AppError } from '@ate/contracts';
import type { LedgerRequest } from '@ate/ledger';
import type { PoolClient } from 'pg';
import { AuditDrafts, appendAudit } from './audit';
import type { BalanceView } from '@ate/matching';
import { balanceEvent, type Batch } from './batch';
import { holdRedemption } from './approvals';
import type { CommandHandler } from './handlers';
import type { HostCommandOf, HostResult } from './host-types';
import { MarketRuleChange, ruleColumns, UPDATE_MARKET_RULES } from './market-rules';

/**
 * Redemption: N units of an allowance leave the agent's account for the redemption account (a ledger transfer
 * of type `redemption`, id `redeem:<redemption id>`), through the sequencer like a withdrawal: the engine's
 * balance view takes them out exactly as a withdrawal would (open orders' reservations stay untouched), the
 * command is logged (`{t:'r'}`) and replayed at recovery. A distinct kind of command, so a budget policy caps
 * redemptions (budgets-mechanisms.ts: a check before the balance moves, here) without touching withdrawals.
 *
 * Idempotent by (agent, client redemption id): the second command with the same pair does nothing and answers
 * `duplicateTransfer` (the api then reads the first redemption). An expired allowance (command time at or after its
 * expiry, allowances.ts) is refused with ALLOWANCE_EXPIRED; nothing is logged for a refusal.
 */

export const redeem: CommandHandler<HostCommandOf<'redeem'>> = {
  async prepare(ctx, cmd) {
    await ctx.directory.resolve(cmd.agentId);
    const terms = ctx.core.allowances.get(cmd.asset);
    if (!terms || !ctx.core.balances.assets.includes(cmd.asset)) throw new AppError('LEDGER_ASSET_NOT_FOUND', 'No such asset.', { asset: cmd.asset });
    if (terms.kind !== 'allowance') throw new AppError('REDEMPTION_NOT_ALLOWANCE', undefined, { asset: cmd.asset });
    if (cmd.amount <= 0n || cmd.amount > BigInt(Number.MAX_SAFE_INTEGER)) throw new AppError('AMOUNT_OUT_OF_RANGE', 'The amount must be positive.');
    await ctx.directory.ensureAccount(cmd.agentId, cmd.asset);
    await ctx.directory.ensureSystem('redemption', cmd.asset);
  },
  execute(b, cmd, ts) {
    const key = redemptionKey(cmd.agentId, cmd.clientRedemptionId);
    if (b.ids.seen(key) !== undefined) return { seq: null, code: null, events: [], duplicateTransfer: true };
    const r: RedemptionRequest = {
      id: cmd.redemptionId,
      agent: b.directory.numOf(cmd.agentId) as number,
      agentId: cmd.agentId,
      clientRedemptionId: cmd.clientRedemptionId,
      principalId: cmd.principalId,
      asset: cmd.asset,
      amount: Number(cmd.amount),
    };
    const refused = redemptionRefusal(b, r, ts);
    if (refused) return refused;
    // above its policy's threshold for this asset, it waits for the principal instead (approvals.ts)
    const held = holdRedemption(b, r, ts);
    if (held?.code) return held; // refused (too many waiting): the id stays free
    b.ids.remember(key, 0);
    return held ?? burn(b, r, ts, false);
  },
};

/** What a redemption asks for, in engine units. */
export interface RedemptionRequest {
  /** the redemption's id (rdm_...), the id its receipt carries */
  id: string;
  agent: number;
  agentId: string;
  clientRedemptionId: string;
  principalId: string | null;
  asset: string;
  amount: number;
}

/**
 * Why the redemption cannot go ahead now, or null: the allowance expired (on command time), the agent's budget
 * policy refuses it (frozen, expired, a redemption cap), or the agent does not hold that much free of open orders.
 * Nothing is logged for a refusal.
 */
export function redemptionRefusal(b: Batch, r: RedemptionRequest, ts: number): HostResult | null {
  const terms = b.core.allowances.get(r.asset);
  if (b.core.allowances.expired(r.asset, ts))
    return {
      seq: null,
      code: 'ALLOWANCE_EXPIRED',
      events: [],
      details: { asset: r.asset, expiresAt: new Date(terms?.expiresAt as number).toISOString() },
    };
  const overBudget = b.core.spend.redemption(r.agent, r.asset, r.amount, ts);
  if (overBudget) return { seq: null, code: overBudget.code, events: [], ...(overBudget.details ? { details: overBudget.details } : {}) };
  const h = holdingOf(b.core.balances, r.agent, r.asset);
  if (h.total - h.reserved < r.amount)
    return { seq: null, code: 'REDEMPTION_INSUFFICIENT_BALANCE', events: [], details: { asset: r.asset, available: String(h.total - h.reserved) } };
  return null;
}

/**
 * Burns the units (checked by redemptionRefusal in the same step): a ledger transfer to the redemption account,
 * logged as `{ t: 'r' }`, counted against the redemption caps. `held`: the redemption waited for approval and its
 * row exists (it is updated to issued); else its row is written now.
 */
export function burn(b: Batch, r: RedemptionRequest, ts: number, held: boolean): HostResult {
  const b4 = holdingOf(b.core.balances, r.agent, r.asset);
  if (!b.core.funds('withdraw', r.agent, r.asset, r.amount)) throw new Error('a redemption checked as covered could not be withdrawn');
  b.core.spend.redeemed(r.agent, r.asset, r.amount, ts);
  const amount = BigInt(r.amount);
  const transfer: LedgerRequest = {
    kind: 'transfer',
    type: 'redemption',
    id: `redeem:${r.id}`,
    ref: { kind: 'admin', id: r.id },
    legs: [
      { accountId: b.directory.agent(r.agentId, r.asset), side: 'debit', amount },
      { accountId: b.directory.system('redemption', r.asset), side: 'credit', amount },
    ],
  };
  const logged: LoggedRedemption = { t: 'r', agent: r.agent, asset: r.asset, amount: String(r.amount), ts };
  const seq = b.logOther(null, ts, logged, [transfer], () => [balanceEvent(b.core.balances, r.agentId, r.agent, r.asset)]);
  if (held) b.extra.redemptionChanges.push({ id: r.id, status: 'issued', reason: null, commandSeq: seq, at: ts });
  else b.extra.redemptions.push(redemptionRow(b, r, seq, ts, 'issued', null));
  const after = holdingOf(b.core.balances, r.agent, r.asset);
  return { seq: String(seq), code: null, events: [], change: { before: { total: String(b4.total) }, after: { total: String(after.total) } } };
}

/** The redemption's row: issued (burnt at `at`) or pending_approval (held at `at`, until `approvalExpiresAt`). */
export function redemptionRow(
  b: Batch,
  r: RedemptionRequest,
  seq: number,
  at: number,
  status: 'issued' | 'pending_approval',
  approvalExpiresAt: number | null,
): RedemptionRow {
  return {
    id: r.id,
    agentId: r.agentId,
    clientRedemptionId: r.clientRedemptionId,
    principalId: r.principalId,
    asset: r.asset,
    amount: String(r.amount),
    commandSeq: seq,
    issuedAt: at,
    allowanceExpiresAt: b.core.allowances.get(r.asset)?.expiresAt ?? null,
    status,
    approvalExpiresAt,
  };
}

/**
 * A redemption as logged: replayed as a withdrawal of the balance view, and counted against the agent's redemption
 * caps at `ts` (its command time; absent in redemptions logged before the caps existed, which count nothing).
 */
export type LoggedRedemption = { t: 'r'; agent: number; asset: string; amount: string; ts?: number };

/** What the balance view holds of an agent's asset now. */
export function holdingOf(v: BalanceView, agent: number, asset: string): { total: number; reserved: number } {
  v.registerAgent(agent);
  const a = v.assetIndex(asset);
  return { total: v.getTotal(agent, a), reserved: v.getReserved(agent, a) };
}

export const redemptionKey = (agentId: string, clientId: string): string => `r|${agentId}|${clientId}`;

/** A redemption row (table redemption), written with the batch; its receipt is added by the api after the commit. */
export interface RedemptionRow {
  id: string;
  agentId: string;
  clientRedemptionId: string;
  principalId: string | null;
  asset: string;
  amount: string;
  commandSeq: number;
  /** when it was burnt (issued), or held for approval (pending_approval) */
  issuedAt: number;
  allowanceExpiresAt: number | null;
  status: 'issued' | 'pending_approval';
  /** until when it waits for approval (pending_approval), else null */
  approvalExpiresAt: number | null;
}

/** A redemption that waited for approval, as its wait ended: issued (burnt), or rejected, expired, canceled. */
export interface RedemptionChange {
  id: string;
  status: 'issued' | 'rejected' | 'expired' | 'canceled';
  /** why it was not issued (APPROVAL_REJECTED, APPROVAL_EXPIRED, APPROVAL_CANCELLED, or what the burn met at approval) */
  reason: string | null;
  commandSeq: number;
  at: number;
}

/**
 * What a batch writes besides the log, the projections and the ledger: redemption rows, market rule changes, and
 * the audit rows of the audited commands (last: after every effect of the batch, in its transaction).
 */
export class BatchExtras {
  readonly redemptions: RedemptionRow[] = [];
  readonly redemptionChanges: RedemptionChange[] = [];
  readonly ruleChanges: MarketRuleChange[] = [];
  readonly audit = new AuditDrafts();

  async write(client: PoolClient): Promise<void> {
    const r = this.redemptions;
    if (r.length > 0) {
      await client.query(
        `INSERT INTO redemption (id, agent_id, client_redemption_id, principal_id, asset, amount, command_seq, issued_at, allowance_expires_at,
                                 status, approval_expires_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[],
                              $10::text[], $11::bigint[])`,
        [
          r.map((x) => x.id),
          r.map((x) => x.agentId),
          r.map((x) => x.clientRedemptionId),
          r.map((x) => x.principalId),
          r.map((x) => x.asset),
          r.map((x) => x.amount),
          r.map((x) => x.commandSeq),
          r.map((x) => x.issuedAt),
          r.map((x) => x.allowanceExpiresAt),
          r.map((x) => x.status),
          r.map((x) => x.approvalExpiresAt),
        ],
      );
    }
    // after the inserts (a redemption held and decided in the same batch); one statement for all (a freeze may end
    // a hundred waits); a wait ends once, so no id is twice in a batch
    const ch = this.redemptionChanges;
    if (ch.length > 0)
      await client.query(
        `UPDATE redemption r SET status = c.status, reason = c.reason, command_seq = c.command_seq,
                issued_at = CASE WHEN c.status = 'issued' THEN c.at ELSE r.issued_at END, decided_at = c.at
           FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS c(id, status, reason, command_seq, at)
          WHERE r.id = c.id`,
        [ch.map((x) => x.id), ch.map((x) => x.status), ch.map((x) => x.reason), ch.map((x) => x.commandSeq), ch.map((x) => x.at)],
      );
    const c = this.ruleChanges;
    if (c.length > 0) {
      await client.query(
        `INSERT INTO market_rule_change (command_seq, market_id, before, after) SELECT * FROM unnest($1::bigint[], $2::text[], $3::jsonb[], $4::jsonb[])`,
        [c.map((x) => x.commandSeq), c.map((x) => x.marketId), c.map((x) => JSON.stringify(x.before)), c.map((x) => JSON.stringify(x.after))],
      );
      for (const x of c) await client.query(UPDATE_MARKET_RULES, [x.marketId, ...ruleColumns(x.after)]);
    }
    if (this.audit.rows.length > 0) await appendAudit((t, p) => client.query(t, p), this.audit.rows);
  }
}

/** The (agent, client redemption id) pairs of a batch that the database has already (idempotency pre-read). */
export async function existingRedemptionKeys(client: PoolClient, cmds: readonly { kind: string }[]): Promise<string[]> {
  const rs = cmds.filter((c): c is HostCommandOf<'redeem'> => c.kind === 'redeem');
  if (rs.length === 0) return [];
  const rows = await client.query<{ agent_id: string; client_redemption_id: string }>(
    `SELECT r.agent_id, r.client_redemption_id FROM redemption r
       JOIN unnest($1::text[], $2::text[]) AS k(agent_id, client_redemption_id) USING (agent_id, client_redemption_id)`,
    [rs.map((c) => c.agentId), rs.map((c) => c.clientRedemptionId)],
  );
  return rows.rows.map((x) => redemptionKey(x.agent_id, x.client_redemption_id));
}
