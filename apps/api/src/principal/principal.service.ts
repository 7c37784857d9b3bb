import { Injectable } from '@nestjs/common';
import { AppError, CREDIT, CREDIT_SCALE, ERROR_CODES, formatAmount, isErrorCode } from '@ate/contracts';
import type { BudgetReadDetails, HostResult, PrincipalTransferDir } from '@ate/sequencer';
import type { PoolClient } from 'pg';
import { AccountService } from '../account/account.service';
import { auditOf, AuditService } from '../audit/audit.service';
import { ApiKeysService, randomId } from '../auth/api-keys.service';
import { DatabaseService } from '../database/database.service';
import { EngineLink } from '../engine/engine-link';
import { LedgerService } from '../ledger/ledger.service';
import { MarketCatalog } from '../trading/market-catalog';
import { TradingService } from '../trading/trading.service';
import { Actor, auditActor } from './actor';
import { aboveParent, PolicyInput, policyView, redemptionUsageView, toPolicy, usageView } from './policy';
import { mechanismSpend } from './spend-lines';

const iso = (d: Date) => ({ iso: d.toISOString(), ms: d.getTime() });
const AGENT_ID = /^agt_[a-z0-9]{8,32}$/;
const PRINCIPAL_ID = /^prn_[a-z0-9]{8,32}$/;
const KEY_ID = /^ak_[a-z0-9]{16,32}$/;

export interface TransferInput {
  id: string;
  agentId: string;
  direction: 'to_agent' | 'from_agent';
  asset: string;
  amount: string;
}

export interface PrincipalDepositInput {
  id: string;
  asset: string;
  amount: string;
}

/**
 * What principals do for themselves (principal keys) and what operators do to principals and agents beyond
 * creating them: keys, transfers between a principal's own account and its agents' (through the sequencer),
 * budget policies, freezes and the kill switch, spend reports. Every method that changes state takes the Actor.
 *
 * Ownership: a principal's routes name agents; an agent of another principal (or none) answers exactly like an
 * unknown one, 404 NOT_FOUND, before anything is done.
 *
 * Audit: sequenced actions carry the Actor into their batch (actor-audit.ts); the pure-database ones (agents, keys)
 * write their effect and their audit row in one transaction (AuditService.run), checking ownership inside it.
 */
@Injectable()
export class PrincipalService {
  constructor(
    private readonly db: DatabaseService,
    private readonly keys: ApiKeysService,
    private readonly engine: EngineLink,
    private readonly ledger: LedgerService,
    private readonly markets: MarketCatalog,
    private readonly trading: TradingService,
    private readonly account: AccountService,
    private readonly audit: AuditService,
  ) {}

  private async principal(principalId: string) {
    const p = PRINCIPAL_ID.test(principalId) ? await this.db.prisma.principal.findUnique({ where: { id: principalId } }) : null;
    if (!p) throw new AppError('NOT_FOUND', 'No such principal.', { principalId });
    return p;
  }

  /** The agent, if it is this principal's (null principalId: any agent, for operators); else 404 as if it did not exist. */
  async agent(principalId: string | null, agentId: string) {
    const a = AGENT_ID.test(agentId) ? await this.db.prisma.agent.findUnique({ where: { id: agentId } }) : null;
    if (!a || (principalId !== null && a.principalId !== principalId)) throw new AppError('NOT_FOUND', 'No such agent.', { agentId });
    return a;
  }

  private refuse(r: HostResult, message?: string): void {
    if (!r.code) return;
    const code = isErrorCode(r.code) ? r.code : 'CONFLICT';
    throw new AppError(code, message ?? ERROR_CODES[code].message, r.details);
  }

  private async read(agentIds: string[], principalId?: string): Promise<BudgetReadDetails> {
    const r = await this.engine.submit({ kind: 'budget', op: { op: 'read', agentIds, ...(principalId ? { principalId } : {}) } });
    return r.details as unknown as BudgetReadDetails;
  }

  // --- keys and agents ---

  /** An operator issues a principal a key: the key and its audit row in one transaction. */
  async issuePrincipalKey(actor: Actor, principalId: string, label?: string) {
    if (!PRINCIPAL_ID.test(principalId)) throw new AppError('NOT_FOUND', 'No such principal.', { principalId });
    const k = await this.audit.run(auditOf(auditActor(actor), 'key.issue', { kind: 'principal', id: principalId }), async (c) => {
      if ((await c.query('SELECT 1 FROM principal WHERE id = $1', [principalId])).rowCount === 0)
        throw new AppError('NOT_FOUND', 'No such principal.', { principalId });
      const key = await this.keys.insertIn(c, 'principal', { principalId }, label ?? null);
      return { result: key, after: { keyId: key.keyId, role: 'principal', label: label ?? null } };
    });
    await this.keys.changed(); // a node that cached this key id as unknown looks it up again
    return { keyId: k.keyId, secret: k.secret, principalId };
  }

  /** A principal creates an agent with its first key: the agent, the key and the audit row in one transaction. */
  async createAgent(actor: Actor, principalId: string, name: string) {
    const state = await this.read([], principalId);
    if (state.principal?.frozen) throw new AppError('BUDGET_AGENT_FROZEN', 'The principal is frozen by an operator: it may create no agent.');
    const id = randomId('agt_', 12);
    const out = await this.audit.run(auditOf(auditActor(actor), 'agent.create', { kind: 'agent', id }), async (c) => {
      const a = (
        await c.query<{ status: string; created_at: Date }>(
          'INSERT INTO agent (id, name, principal_id) VALUES ($1, $2, $3) RETURNING status, created_at',
          [id, name, principalId],
        )
      ).rows[0]!;
      const key = await this.keys.insertIn(c, 'agent', { agentId: id }, 'first key');
      return {
        result: {
          ...this.agentView({ id, name, principalId, status: a.status, createdAt: a.created_at }),
          apiKey: { keyId: key.keyId, secret: key.secret },
        },
        after: { name, principalId, keyId: key.keyId },
      };
    });
    await this.keys.changed();
    return out;
  }

  /** The agent's principal, read in the caller's transaction; 404 unless it is `principalId`'s (null: any agent). */
  private async ownedIn(c: PoolClient, principalId: string | null, agentId: string): Promise<void> {
    const a = AGENT_ID.test(agentId)
      ? (await c.query<{ principal_id: string | null }>('SELECT principal_id FROM agent WHERE id = $1', [agentId])).rows[0]
      : undefined;
    if (!a || (principalId !== null && a.principal_id !== principalId)) throw new AppError('NOT_FOUND', 'No such agent.', { agentId });
  }

  private agentView(a: { id: string; name: string; principalId: string | null; status: string; createdAt: Date }) {
    return { id: a.id, name: a.name, principalId: a.principalId, status: a.status, createdAt: iso(a.createdAt) };
  }

  async listAgents(principalId: string) {
    const rows = await this.db.prisma.agent.findMany({ where: { principalId }, orderBy: { createdAt: 'asc' } });
    const state = await this.read(rows.map((r) => r.id));
    return {
      agents: rows.map((a) => ({
        ...this.agentView(a),
        frozen: state.agents[a.id]?.frozen ?? false,
        policyVersion: state.agents[a.id]?.version ?? 0,
      })),
    };
  }

  async issueAgentKey(actor: Actor, principalId: string | null, agentId: string, label?: string) {
    const k = await this.audit.run(auditOf(auditActor(actor), 'key.issue', { kind: 'agent', id: agentId }), async (c) => {
      await this.ownedIn(c, principalId, agentId);
      const key = await this.keys.insertIn(c, 'agent', { agentId }, label ?? null);
      return { result: key, after: { keyId: key.keyId, role: 'agent', label: label ?? null } };
    });
    await this.keys.changed();
    return { keyId: k.keyId, secret: k.secret, agentId };
  }

  async listAgentKeys(principalId: string, agentId: string) {
    await this.agent(principalId, agentId);
    const rows = await this.db.prisma.apiKey.findMany({ where: { agentId }, orderBy: { createdAt: 'asc' } });
    return {
      keys: rows.map((k) => ({ keyId: k.id, label: k.label, createdAt: iso(k.createdAt), revokedAt: k.revokedAt ? iso(k.revokedAt) : null })),
    };
  }

  /** Revokes a key of one of the principal's agents: the revocation and its audit row in one transaction, then the key epoch. */
  async revokeAgentKey(actor: Actor, principalId: string, agentId: string, keyId: string): Promise<void> {
    await this.audit.run(auditOf(auditActor(actor), 'key.revoke', { kind: 'api_key', id: keyId }), async (c) => {
      await this.ownedIn(c, principalId, agentId);
      const k = KEY_ID.test(keyId) ? await this.keys.revokeIn(c, keyId) : null;
      if (!k || k.agentId !== agentId) throw new AppError('NOT_FOUND', 'No such API key.', { keyId });
      // revoked already: nothing done, no row
      return { result: undefined, before: { revoked: k.wasRevoked }, after: { revoked: true, agentId }, unchanged: k.wasRevoked };
    });
    await this.keys.changed([keyId]); // also when it was revoked already: completes a revoke whose epoch change failed
  }

  // --- money ---

  async principalAccount(principalId: string) {
    const state = await this.read([], principalId);
    const holdings = state.principal?.holdings ?? {};
    const balances: Record<string, string> = {};
    for (const [asset, v] of Object.entries(holdings)) balances[asset] = formatAmount(BigInt(v), await this.ledger.scaleOf(asset));
    if (!(CREDIT in balances)) balances[CREDIT] = formatAmount(0n, CREDIT_SCALE);
    return { principalId, frozen: state.principal?.frozen ?? false, balances };
  }

  private async moveFunds(
    actor: Actor,
    op: PrincipalTransferDir,
    principalId: string,
    agentId: string | undefined,
    body: { id: string; asset: string; amount: string },
  ) {
    const amount = await this.ledger.parse(body.asset, body.amount);
    const transferId = `${op === 'deposit' ? 'pdep' : op === 'withdraw' ? 'pwd' : 'ptx'}:${body.id}`;
    const r = await this.engine.submit({
      kind: 'principal_funds',
      op,
      principalId,
      ...(agentId ? { agentId } : {}),
      asset: body.asset,
      amount,
      transferId,
      actor,
    });
    if (r.code === 'MATCHING_INSUFFICIENT_BALANCE')
      throw new AppError('LEDGER_INSUFFICIENT_FUNDS', 'The agent’s available balance is less than that (open orders hold the rest).', {
        asset: body.asset,
      });
    if (r.code === 'BUDGET_AGENT_FROZEN')
      throw new AppError('BUDGET_AGENT_FROZEN', 'The principal is frozen by an operator: it may not fund agents.');
    this.refuse(r);
    return {
      id: body.id,
      asset: body.asset,
      amount: formatAmount(amount, await this.ledger.scaleOf(body.asset)),
      seq: r.seq,
      replayed: r.duplicateTransfer === true,
    };
  }

  /** Moves funds between the principal's own account and one of its agents', through the sequencer. */
  async transfer(actor: Actor, principalId: string, body: TransferInput) {
    await this.agent(principalId, body.agentId);
    const r = await this.moveFunds(actor, body.direction, principalId, body.agentId, body);
    return { ...r, direction: body.direction, agentId: body.agentId, principalId };
  }

  /** An operator's deposit into (mint) or withdrawal from (burn) a principal's own account. */
  async principalFunds(actor: Actor, kind: 'deposit' | 'withdraw', principalId: string, body: PrincipalDepositInput) {
    await this.principal(principalId);
    return { ...(await this.moveFunds(actor, kind, principalId, undefined, body)), kind, principalId };
  }

  // --- reads of an agent ---

  async agentBalances(principalId: string, agentId: string) {
    await this.agent(principalId, agentId);
    return this.account.balances(agentId);
  }

  async agentOrders(principalId: string, agentId: string, q: Parameters<TradingService['listOrders']>[1]) {
    await this.agent(principalId, agentId);
    return { agentId, ...(await this.trading.listOrders(agentId, q)) };
  }

  async agentFills(principalId: string, agentId: string, q: Parameters<TradingService['fills']>[1]) {
    await this.agent(principalId, agentId);
    return { agentId, ...(await this.trading.fills(agentId, q)) };
  }

  // --- policies ---

  /** The agent's policy as the sequencer holds it now, its version, whether it is frozen, and each cap's usage. */
  async budget(principalId: string | null, agentId: string) {
    await this.agent(principalId, agentId);
    return this.budgetView(agentId, await this.read([agentId]));
  }

  private budgetView(agentId: string, s: BudgetReadDetails) {
    const a = s.agents[agentId];
    const fmt = (n: number) => formatAmount(BigInt(n), CREDIT_SCALE);
    return {
      agentId,
      version: a?.version ?? 0,
      frozen: a?.frozen ?? false,
      frozenBy: a?.frozenBy ?? null,
      policy: a?.policy ? policyView(a.policy) : null,
      reserved: fmt(a?.reserved ?? 0),
      usage: (a?.usage ?? []).map(usageView),
      redemptionUsage: (a?.redemptionUsage ?? []).map(redemptionUsageView),
      parentId: a?.parentId ?? null,
      carveOut:
        a && a.parentId !== null
          ? {
              limit: fmt(a.carveOut),
              spent: fmt(a.spentTotal),
              reserved: fmt(a.reserved),
              carvedOut: fmt(a.carvedOut),
              remaining: fmt(Math.max(0, a.carveOut - a.spentTotal - a.reserved - a.carvedOut)),
            }
          : null,
      subAgents: a?.children ?? [],
      carvedOut: fmt(a?.carvedOut ?? 0),
      asOf: new Date(s.now).toISOString(),
    };
  }

  // --- sub-agents (an agent delegating a carve-out of its own budget) ---

  /** The sub-agent, if it is this agent's; else 404 as if it did not exist. */
  private async child(parentId: string, childId: string): Promise<BudgetReadDetails> {
    const s = AGENT_ID.test(childId) && (await this.db.prisma.agent.count({ where: { id: childId } })) ? await this.read([childId]) : null;
    if (!s || s.agents[childId]?.parentId !== parentId) throw new AppError('NOT_FOUND', 'No such sub-agent.', { agentId: childId });
    return s;
  }

  private async credits(field: string, amount: string): Promise<number> {
    const v = await this.ledger.parse(CREDIT, amount).catch((e: AppError) => {
      throw new AppError(e.code, e.message, { ...e.details, field });
    });
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new AppError('AMOUNT_OUT_OF_RANGE', 'Too large.', { field });
    return Number(v);
  }

  /**
   * An agent creates a sub-agent (of the same principal) with a carve-out of its own budget, escrowed in the
   * sequencer: the parent's caps and carve-out hold it until the sub-agent is revoked. Refused (and nothing kept)
   * when the parent's policy does not allow sub-agents or has no room for it.
   *
   * Audit: the carve-out is sequenced and audited in its batch (`budget.carve`, naming the new agent); the agent's
   * row must exist before (the sequencer numbers it), so it is written first and deleted again if the carve-out is
   * refused; once accepted, its first key and the `agent.create` row commit in one transaction. An api that stops
   * between the carve-out and that transaction leaves a keyless sub-agent: UnfinishedSubAgents revokes it (the
   * carve-out goes back to the parent) at the next start or sweep.
   */
  async createSubAgent(actor: Actor, parentId: string, name: string, carveOut: string) {
    const parent = await this.agent(null, parentId);
    const amount = await this.credits('carveOut', carveOut);
    const a = await this.db.prisma.agent.create({ data: { id: randomId('agt_', 12), name, principalId: parent.principalId } });
    let r: HostResult;
    try {
      r = await this.engine.submit({ kind: 'budget', op: { op: 'carve', parentId, childId: a.id, amount }, actor });
    } catch (e) {
      await this.db.prisma.agent.delete({ where: { id: a.id } }).catch(() => undefined);
      throw e;
    }
    if (r.code) {
      await this.db.prisma.agent.delete({ where: { id: a.id } });
      this.refuse(r);
    }
    const key = await this.audit.run(auditOf(auditActor(actor), 'agent.create', { kind: 'agent', id: a.id }), async (c) => {
      const k = await this.keys.insertIn(c, 'agent', { agentId: a.id }, 'first key');
      return { result: k, after: { name, principalId: parent.principalId, parentId, carveOut: amount, keyId: k.keyId } };
    });
    await this.keys.changed();
    return { ...this.agentView(a), parentId, apiKey: { keyId: key.keyId, secret: key.secret }, budget: await this.budget(null, a.id) };
  }

  async listSubAgents(parentId: string) {
    const s = await this.read([parentId]);
    const ids = s.agents[parentId]?.children ?? [];
    const state = await this.read(ids);
    return { agentId: parentId, subAgents: ids.map((id) => this.budgetView(id, state)) };
  }

  async setCarveOut(actor: Actor, parentId: string, childId: string, amount: string) {
    await this.child(parentId, childId);
    const r = await this.engine.submit({
      kind: 'budget',
      op: { op: 'carve', parentId, childId, amount: await this.credits('amount', amount) },
      actor,
    });
    this.refuse(r);
    return this.budget(null, childId);
  }

  async setSubAgentPolicy(actor: Actor, parentId: string, childId: string, body: PolicyInput) {
    await this.child(parentId, childId);
    return this.applyPolicy(actor, childId, body);
  }

  /** Revokes a sub-agent: cancels every open order of its subtree, freezes it, returns the unspent carve-outs up the tree, revokes its keys. */
  async revokeSubAgent(actor: Actor, parentId: string, childId: string) {
    await this.child(parentId, childId);
    return this.revoke(actor, childId);
  }

  private async revoke(actor: Actor, agentId: string) {
    const r = await this.engine.submit({ kind: 'budget', op: { op: 'revoke', agentId }, actor });
    this.refuse(r);
    const agentIds = (r.details?.['agentIds'] as string[] | undefined) ?? [agentId];
    return { ...(await this.revokeKeysOf(actor, agentIds, r, 'revoke')), frozen: true };
  }

  /**
   * The keys of these agents revoked after the sequenced freeze or revocation `r` (its own audit row is in its
   * batch): every key and one `key.revoke` row each, naming that command, in one transaction; then the key epoch.
   */
  private async revokeKeysOf(actor: Actor, agentIds: string[], r: HostResult, why: 'revoke' | 'freeze') {
    const revoked = await this.audit.runMany(async (c) => {
      const keys = (
        await c.query<{ id: string; agent_id: string }>(
          'SELECT id, agent_id FROM api_key WHERE agent_id = ANY($1) AND revoked_at IS NULL ORDER BY id FOR UPDATE',
          [agentIds],
        )
      ).rows;
      if (keys.length > 0) await c.query('UPDATE api_key SET revoked_at = now() WHERE id = ANY($1)', [keys.map((k) => k.id)]);
      const rows = keys.map((k) =>
        auditOf(
          auditActor(actor),
          'key.revoke',
          { kind: 'api_key', id: k.id },
          {
            reason: why === 'revoke' ? 'kill switch' : 'freeze with revokeKeys',
            before: { revoked: false },
            after: { revoked: true, agentId: k.agent_id, commandSeq: r.seq },
          },
        ),
      );
      return { result: keys.map((k) => k.id), rows };
    });
    if (revoked.length > 0) await this.keys.changed(revoked);
    return {
      agentIds,
      seq: r.seq,
      cancelledOrders: r.events.flatMap((e) => (e.kind === 'cancelled' ? [String(e.orderId)] : [])),
      revokedKeys: revoked,
    };
  }

  async setPolicy(actor: Actor, principalId: string, agentId: string, body: PolicyInput | null) {
    await this.agent(principalId, agentId);
    return this.applyPolicy(actor, agentId, body);
  }

  private async applyPolicy(actor: Actor, agentId: string, body: PolicyInput | null) {
    const policy =
      body === null
        ? null
        : await toPolicy(body, {
            now: Date.now(),
            hasAsset: async (code) => this.engineHasAsset(code),
            allowanceScale: async (code) =>
              this.ledger.asset(code).then(
                (a) => (a.kind === 'allowance' ? a.scale : null),
                () => null,
              ),
            hasMarket: async (id) =>
              this.markets.get(id).then(
                () => true,
                () => false,
              ),
          });
    if (policy) {
      // a sub-agent's policy may not allow more than its parent's
      const parentId = (await this.read([agentId])).agents[agentId]?.parentId ?? null;
      if (parentId !== null) {
        const above = aboveParent(policy, (await this.read([parentId])).agents[parentId]?.policy ?? null);
        if (above)
          throw new AppError(
            'POLICY_ABOVE_PARENT',
            `A sub-agent's policy may not allow more than its parent's: ${above.field}: ${above.reason}.`,
            above,
          );
      }
    }
    const r = await this.engine.submit({
      kind: 'budget',
      op: { op: 'set_policy', agentId, policy, ...(body?.expectedVersion !== undefined ? { expectedVersion: body.expectedVersion } : {}) },
      actor,
    });
    this.refuse(r);
    return this.budget(null, agentId);
  }

  private async engineHasAsset(code: string): Promise<boolean> {
    try {
      await this.ledger.asset(code);
      return true;
    } catch {
      return false;
    }
  }

  // --- freeze and the kill switch ---

  /**
   * Freezes (or thaws) agents in one sequenced command. Frozen: no new order, no amend, no transfer to it from its
   * principal; cancels still work. With cancelOrders, every open order of theirs is cancelled in the same step
   * (no order slips in between: the sequencer runs commands one at a time); with revokeKeys, their API keys are
   * revoked after it (the kill switch).
   */
  async freeze(
    actor: Actor,
    target: { agentIds: string[]; principalId?: string },
    frozen: boolean,
    opts: { cancelOrders: boolean; revokeKeys: boolean },
  ) {
    if (!frozen && actor.role === 'principal') {
      const s = await this.read([], actor.principalId as string);
      if (s.principal?.frozen)
        throw new AppError('BUDGET_AGENT_FROZEN', 'The principal is frozen by an operator: only an operator may thaw its agents.');
    }
    const r = await this.engine.submit({
      kind: 'budget',
      op: {
        op: 'freeze',
        agentIds: target.agentIds,
        frozen,
        cancelOrders: frozen && opts.cancelOrders,
        ...(target.principalId ? { principalId: target.principalId } : {}),
      },
      actor,
    });
    this.refuse(r);
    // the sequencer froze each agent's whole subtree (its sub-agents, theirs, ...)
    const agentIds = (r.details?.['agentIds'] as string[] | undefined) ?? target.agentIds;
    const done =
      frozen && opts.revokeKeys
        ? await this.revokeKeysOf(actor, agentIds, r, 'freeze')
        : { agentIds, seq: r.seq, cancelledOrders: r.events.flatMap((e) => (e.kind === 'cancelled' ? [String(e.orderId)] : [])), revokedKeys: [] };
    return { ...done, ...(target.principalId ? { principalId: target.principalId } : {}), frozen };
  }

  /** The kill switch on a node: its subtree's open orders cancelled, frozen, unspent carve-outs returned up the tree, keys revoked. */
  async kill(actor: Actor, principalId: string, agentId: string) {
    await this.agent(principalId, agentId);
    return this.revoke(actor, agentId);
  }

  async freezeAgent(
    actor: Actor,
    principalId: string | null,
    agentId: string,
    frozen: boolean,
    opts: { cancelOrders: boolean; revokeKeys: boolean },
  ) {
    await this.agent(principalId, agentId);
    return this.freeze(actor, { agentIds: [agentId] }, frozen, opts);
  }

  /** An operator freezes (or thaws) a principal: every agent of it, and its transfers to them. */
  async freezePrincipal(actor: Actor, principalId: string, frozen: boolean, opts: { cancelOrders: boolean; revokeKeys: boolean }) {
    await this.principal(principalId);
    const agents = await this.db.prisma.agent.findMany({ where: { principalId }, select: { id: true } });
    return this.freeze(actor, { agentIds: agents.map((a) => a.id), principalId }, frozen, opts);
  }

  // --- spend reports ---

  /**
   * What agents spent over a period (trades committed in [from, to)): credits paid for allowances (spend), allowances
   * bought, credits received for allowances sold, fees paid (the buyer's in the allowance, the seller's in credits),
   * and each cap's usage now; then, each on its own line, what auctions cost (payments at settlement) and won, what
   * posted-price purchases cost and bought, and what was redeemed (allowances consumed: not spend). `spent` is all
   * the credits paid for allowances: trades + auction payments + purchases (spend-lines.ts).
   */
  async spend(principalId: string, agentId: string | null, from: Date, to: Date) {
    const agents = agentId
      ? [(await this.agent(principalId, agentId)).id]
      : (await this.db.prisma.agent.findMany({ where: { principalId }, select: { id: true }, orderBy: { createdAt: 'asc' } })).map((a) => a.id);
    const rows = (
      await this.db.pool.query<{
        agent: string;
        spent: string;
        sold: string;
        seller_fees: string;
        market_id: string;
        bought: string;
        buyer_fees: string;
      }>(
        `WITH t AS (
           SELECT market_id, CASE WHEN taker_side = 'buy' THEN taker_agent_id ELSE maker_agent_id END AS buyer,
                  CASE WHEN taker_side = 'buy' THEN maker_agent_id ELSE taker_agent_id END AS seller, lots, notional, buyer_fee, seller_fee
             FROM trade WHERE (maker_agent_id = ANY($1) OR taker_agent_id = ANY($1)) AND created_at >= $2 AND created_at < $3)
         SELECT a.agent, t.market_id,
                coalesce(sum(t.notional) FILTER (WHERE t.buyer = a.agent), 0)::text AS spent,
                coalesce(sum(t.lots) FILTER (WHERE t.buyer = a.agent), 0)::text AS bought,
                coalesce(sum(t.buyer_fee) FILTER (WHERE t.buyer = a.agent), 0)::text AS buyer_fees,
                coalesce(sum(t.notional) FILTER (WHERE t.seller = a.agent), 0)::text AS sold,
                coalesce(sum(t.seller_fee) FILTER (WHERE t.seller = a.agent), 0)::text AS seller_fees
           FROM unnest($1::text[]) AS a(agent) JOIN t ON t.buyer = a.agent OR t.seller = a.agent
          GROUP BY a.agent, t.market_id`,
        [agents, from, to],
      )
    ).rows;
    const state = await this.read(agents);
    const fmt = (v: bigint) => formatAmount(v, CREDIT_SCALE);
    const lines = await mechanismSpend(this.db.pool, (code) => this.ledger.scaleOf(code), agents, from, to);
    const per = await Promise.all(
      agents.map(async (id) => {
        const mine = rows.filter((r) => r.agent === id);
        const allowances: Record<string, { bought: string; feesPaid: string }> = {};
        for (const r of mine) {
          const m = await this.markets.get(r.market_id);
          const lot = BigInt(m.row.lot_size);
          allowances[m.row.base_asset] = {
            bought: formatAmount(BigInt(r.bought) * lot, m.baseScale),
            feesPaid: formatAmount(BigInt(r.buyer_fees), m.baseScale),
          };
        }
        const sum = (k: 'spent' | 'sold' | 'seller_fees') => mine.reduce((s, r) => s + BigInt(r[k]), 0n);
        const l = lines.get(id) as NonNullable<ReturnType<typeof lines.get>>;
        return {
          agentId: id,
          spent: fmt(sum('spent') + l.auctionPayments + l.purchaseCosts),
          spentBy: { trades: fmt(sum('spent')), auctions: fmt(l.auctionPayments), purchases: fmt(l.purchaseCosts) },
          received: fmt(sum('sold')),
          creditFeesPaid: fmt(sum('seller_fees')),
          redeemed: l.redeemed,
          allowances,
          auctions: { payments: fmt(l.auctionPayments), won: l.won, auctionsWon: l.auctionsWon },
          purchases: { cost: fmt(l.purchaseCosts), bought: l.bought, count: l.purchases },
          budget: this.budgetView(id, state),
        };
      }),
    );
    const total = rows.reduce((s, r) => s + BigInt(r.spent), 0n) + [...lines.values()].reduce((s, l) => s + l.auctionPayments + l.purchaseCosts, 0n);
    return { from: from.toISOString(), to: to.toISOString(), spent: fmt(total), agents: per };
  }
}
