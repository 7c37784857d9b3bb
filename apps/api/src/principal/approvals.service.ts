import { Injectable } from '@nestjs/common';
import { AppError, CREDIT_SCALE, ERROR_CODES, formatAmount, isErrorCode } from '@ate/contracts';
import type { PendingApprovalView } from '@ate/sequencer';
import { DatabaseService } from '../database/database.service';
import { EngineLink } from '../engine/engine-link';
import { TradingService } from '../trading/trading.service';
import type { Actor } from './actor';

const ORDER_ID = /^[1-9][0-9]{0,15}$/;
const fmt = (n: number) => formatAmount(BigInt(n), CREDIT_SCALE);
const iso = (ms: number) => ({ iso: new Date(ms).toISOString(), ms });

/**
 * Orders held for approval (libs/sequencer approvals.ts), as their principal sees and decides them. The pending
 * state is the sequencer's; this service checks ownership on the order projection (an order of another principal's
 * agent answers 404, as an unknown one), sends the decision through the sequence, and answers with the order as
 * committed.
 */
@Injectable()
export class ApprovalsService {
  constructor(
    private readonly db: DatabaseService,
    private readonly engine: EngineLink,
    private readonly trading: TradingService,
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

  /** The orders of this principal's agents waiting for approval, oldest first, each with its notional and expiry. */
  async list(principalId: string) {
    const agents = (await this.db.prisma.agent.findMany({ where: { principalId }, select: { id: true } })).map((a) => a.id);
    const r = await this.engine.submit({ kind: 'approval', op: { op: 'list', agentIds: agents } });
    const d = r.details as { now: number; pending: PendingApprovalView[] };
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
    return { asOf: new Date(d.now).toISOString(), approvals };
  }

  /**
   * Approves (the order is sequenced now, like a new one: checked and reserved at this point) or rejects a
   * pending order. The answer is the order as committed: after an approval its status says what it met (open,
   * closed, or rejected with the code placing it would have had).
   */
  async decide(actor: Actor, principalId: string, orderId: string, decision: 'approve' | 'reject') {
    const row = await this.owned(principalId, orderId);
    if (row.status !== 'pending_approval') this.notPending(orderId, row.status);
    const r = await this.engine.submit({ kind: 'approval', marketId: row.market_id, op: { op: decision, orderId: Number(orderId) }, actor });
    if (r.code === 'APPROVAL_NOT_PENDING') this.notPending(orderId, (await this.owned(principalId, orderId)).status);
    if (r.code) throw new AppError(isErrorCode(r.code) ? r.code : 'CONFLICT', undefined, r.details);
    return { decision: decision === 'approve' ? 'approved' : 'rejected', order: await this.trading.getOrder(row.agent_id, orderId) };
  }
}
