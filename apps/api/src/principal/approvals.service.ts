import { Injectable } from '@nestjs/common';
import { AppError, CREDIT_SCALE, ERROR_CODES, formatAmount, isErrorCode } from '@ate/contracts';
import type { PendingApprovalView, PendingRedemptionView } from '@ate/sequencer';
import { DatabaseService } from '../database/database.service';
import { EngineLink } from '../engine/engine-link';
import { LedgerService } from '../ledger/ledger.service';
import { RedemptionsService } from '../redemptions/redemptions.service';
import { TradingService } from '../trading/trading.service';
import type { Actor } from './actor';

const ORDER_ID = /^[1-9][0-9]{0,15}$/;
const REDEMPTION_ID = /^rdm_[a-z0-9]{12,32}$/;
const fmt = (n: number) => formatAmount(BigInt(n), CREDIT_SCALE);
const iso = (ms: number) => ({ iso: new Date(ms).toISOString(), ms });

/**
 * Orders and redemptions held for approval (libs/sequencer approvals.ts), as their principal sees and decides them.
 * The pending state is the sequencer's; this service checks ownership on the order projection or the redemption row
 * (one of another principal's agent answers 404, as an unknown one), sends the decision through the sequence, and
 * answers with the order or the redemption as committed.
 */
@Injectable()
export class ApprovalsService {
  constructor(
    private readonly db: DatabaseService,
    private readonly engine: EngineLink,
    private readonly trading: TradingService,
    private readonly ledger: LedgerService,
    private readonly redemptions: RedemptionsService,
  ) {}

  /** The order, if it belongs to one of this principal's agents; else 404 as if it did not exist. */
  private async owned(principalId: string, orderId: string) {
    const row = ORDER_ID.test(orderId)
      ? (
          await this.db.pool.query<{ market_id: string; agent_id: string; status: string; principal_id: string | null }>(
            `SELECT o.market_id, o.agent_id, o.status, a.principal_id FROM trading_order o JOIN agent a ON a.id = o.agent_id WHERE o.id = $1`,
            [orderId],
          )
        ).rows[0]
      : undefined;
    if (!row || row.principal_id !== principalId) throw new AppError('NOT_FOUND', 'No such order among your agents’.', { orderId });
    return row;
  }

  private notPending(orderId: string, status: string): never {
    throw new AppError('APPROVAL_NOT_PENDING', ERROR_CODES.APPROVAL_NOT_PENDING.message, { orderId, status });
  }

  /**
   * What this principal's agents have waiting for approval, oldest first: orders (each with its notional and
   * expiry) and redemptions (each with its amount and expiry).
   */
  async list(principalId: string) {
    const agents = (await this.db.prisma.agent.findMany({ where: { principalId }, select: { id: true } })).map((a) => a.id);
    const r = await this.engine.submit({ kind: 'approval', op: { op: 'list', agentIds: agents } });
    const d = r.details as { now: number; pending: PendingApprovalView[]; redemptions: PendingRedemptionView[] };
    const redemptions = await Promise.all(
      d.redemptions.map(async (p) => {
        const scale = await this.ledger.scaleOf(p.asset);
        return {
          redemptionId: p.id,
          agentId: p.agentId,
          asset: p.asset,
          amount: formatAmount(BigInt(p.amount), scale),
          threshold: formatAmount(BigInt(p.threshold), scale),
          requestedAt: iso(p.requestedAt),
          expiresAt: iso(p.expiresAt),
          redemption: await this.redemptions.byId(p.id),
        };
      }),
    );
    const approvals = await Promise.all(
      d.pending.map(async (p) => ({
        orderId: String(p.orderId),
        agentId: p.agentId,
        notional: fmt(p.notional),
        threshold: fmt(p.threshold),
        requestedAt: iso(p.requestedAt),
        expiresAt: iso(p.expiresAt),
        order: await this.trading.getOrder(p.agentId, String(p.orderId)),
      })),
    );
    return { asOf: new Date(d.now).toISOString(), approvals, redemptions };
  }

  /**
   * Approves (the order is sequenced now, like a new one: checked and reserved at this point) or rejects a
   * pending order. The answer is the order as committed: after an approval its status says what it met (open,
   * closed, or rejected with the code placing it would have had).
   */
  async decide(actor: Actor, principalId: string, id: string, decision: 'approve' | 'reject') {
    if (REDEMPTION_ID.test(id)) return this.decideRedemption(actor, principalId, id, decision);
    const orderId = id;
    const row = await this.owned(principalId, orderId);
    if (row.status !== 'pending_approval') this.notPending(orderId, row.status);
    const r = await this.engine.submit({ kind: 'approval', marketId: row.market_id, op: { op: decision, orderId: Number(orderId) }, actor });
    if (r.code === 'APPROVAL_NOT_PENDING') this.notPending(orderId, (await this.owned(principalId, orderId)).status);
    if (r.code) throw new AppError(isErrorCode(r.code) ? r.code : 'CONFLICT', undefined, r.details);
    return { decision: decision === 'approve' ? 'approved' : 'rejected', order: await this.trading.getOrder(row.agent_id, orderId) };
  }

  /**
   * Approves (burnt now, checked in full at this moment: the allowance's expiry, the budget, the balance) or
   * rejects a pending redemption. The answer is the redemption as committed: issued with its receipt, or rejected
   * with the code the burn met (e.g. REDEMPTION_INSUFFICIENT_BALANCE), or with APPROVAL_REJECTED.
   */
  private async decideRedemption(actor: Actor, principalId: string, id: string, decision: 'approve' | 'reject') {
    const row = (
      await this.db.pool.query<{ status: string; principal_id: string | null }>(
        'SELECT r.status, a.principal_id FROM redemption r JOIN agent a ON a.id = r.agent_id WHERE r.id = $1',
        [id],
      )
    ).rows[0];
    if (!row || row.principal_id !== principalId) throw new AppError('NOT_FOUND', 'No such redemption among your agents’.', { redemptionId: id });
    if (row.status !== 'pending_approval')
      throw new AppError('APPROVAL_NOT_PENDING', ERROR_CODES.APPROVAL_NOT_PENDING.message, { redemptionId: id, status: row.status });
    const r = await this.engine.submit({ kind: 'approval', op: { op: decision, redemptionId: id }, actor });
    if (r.code === 'APPROVAL_NOT_PENDING') {
      const now = (await this.db.pool.query<{ status: string }>('SELECT status FROM redemption WHERE id = $1', [id])).rows[0];
      throw new AppError('APPROVAL_NOT_PENDING', ERROR_CODES.APPROVAL_NOT_PENDING.message, { redemptionId: id, status: now?.status ?? null });
    }
    if (r.code) throw new AppError(isErrorCode(r.code) ? r.code : 'CONFLICT', undefined, r.details);
    return { decision: decision === 'approve' ? 'approved' : 'rejected', redemption: await this.redemptions.byId(id) };
  }
}
