import { Injectable } from '@nestjs/common';
import { AppError, formatAmount } from '@ate/contracts';
import { randomId } from '../auth/api-keys.service';
import { DatabaseService } from '../database/database.service';
import { EngineLink } from '../engine/engine-link';
import { LedgerService } from '../ledger/ledger.service';
import { RECEIPT_ISSUER, ReceiptClaims, ReceiptKeys } from './receipt-keys.service';

export interface RedeemInput {
  /** the client's redemption id: the same id again returns the same receipt, never a second burn */
  id: string;
  asset: string;
  amount: string;
}

interface RedemptionDbRow {
  id: string;
  agent_id: string;
  client_redemption_id: string;
  principal_id: string | null;
  asset: string;
  amount: string;
  command_seq: string;
  issued_at: string;
  allowance_expires_at: string | null;
  receipt: string | null;
  kid: string | null;
  status: 'issued' | 'pending_approval' | 'rejected' | 'expired' | 'canceled';
  reason: string | null;
  approval_expires_at: string | null;
  decided_at: string | null;
}

const iso = (ms: string | number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

/**
 * Redemptions: the engine burns the units (a `redeem` command: logged, replayed, the redemption row written in its
 * batch), then the receipt is signed here and stored once with the row. A retry with the same client id finds the
 * row and answers it (signing it first if the first attempt never got that far).
 *
 * Above its policy's threshold for the asset (`approval.redemptionsAbove`), a redemption waits as pending_approval:
 * nothing burnt, no receipt, until its principal approves it (burnt then, its receipt signed on the next read) or
 * rejects it, or it expires. The same client id answers its state meanwhile.
 */
@Injectable()
export class RedemptionsService {
  constructor(
    private readonly db: DatabaseService,
    private readonly engine: EngineLink,
    private readonly ledger: LedgerService,
    private readonly keys: ReceiptKeys,
  ) {}

  async redeem(agentId: string, body: RedeemInput) {
    const asset = await this.ledger.asset(body.asset);
    if (asset.kind !== 'allowance') throw new AppError('REDEMPTION_NOT_ALLOWANCE', undefined, { asset: body.asset });
    const amount = await this.ledger.parse(body.asset, body.amount);
    const existing = await this.byClientId(agentId, body.id);
    if (existing) return this.answer(existing, amount, body.asset, true);
    const principal = (await this.db.pool.query<{ principal_id: string | null }>('SELECT principal_id FROM agent WHERE id = $1', [agentId])).rows[0];
    const r = await this.engine.submit({
      kind: 'redeem',
      agentId,
      asset: body.asset,
      amount,
      redemptionId: randomId('rdm_', 16),
      clientRedemptionId: body.id,
      principalId: principal?.principal_id ?? null,
    });
    if (r.code === 'ALLOWANCE_EXPIRED') {
      throw new AppError(
        'ALLOWANCE_EXPIRED',
        `The allowance ${body.asset} expired at ${String(r.details?.['expiresAt'])}; it can no longer be redeemed.`,
        r.details,
      );
    }
    if (r.code === 'REDEMPTION_INSUFFICIENT_BALANCE') {
      const available = BigInt(String(r.details?.['available'] ?? '0'));
      throw new AppError(r.code, undefined, {
        asset: body.asset,
        requested: formatAmount(amount, asset.scale),
        available: formatAmount(available, asset.scale),
      });
    }
    if (r.code) throw new AppError(r.code, undefined, r.details);
    const row = await this.byClientId(agentId, body.id);
    if (!row) throw new Error('a committed redemption has no row');
    return this.answer(row, amount, body.asset, r.duplicateTransfer === true);
  }

  /** An agent's redemptions, newest first (cursor: the command seq of the last one of the previous page). */
  async list(agentId: string, cursor: string | undefined, limit: number) {
    const rows = (
      await this.db.pool.query<RedemptionDbRow>(
        `SELECT * FROM redemption WHERE agent_id = $1 AND ($2::bigint IS NULL OR command_seq < $2) ORDER BY command_seq DESC LIMIT $3`,
        [agentId, cursor ?? null, limit + 1],
      )
    ).rows;
    const page = rows.slice(0, limit);
    const out = [];
    for (const r of page) out.push(await this.view(await this.signed(r)));
    return { redemptions: out, nextCursor: rows.length > limit ? (page.at(-1)?.command_seq ?? null) : null };
  }

  /** Public: whether a receipt id is one the exchange issued (valid) or not (unknown). */
  async status(id: string) {
    // only an issued redemption has a receipt: one waiting for approval, or that never went ahead, is unknown here
    const r = /^rdm_[a-z0-9]{12,32}$/.test(id)
      ? (await this.db.pool.query<RedemptionDbRow>(`SELECT * FROM redemption WHERE id = $1 AND status = 'issued'`, [id])).rows[0]
      : undefined;
    if (!r) return { id, status: 'unknown' as const };
    const scale = await this.ledger.scaleOf(r.asset);
    return {
      id,
      status: 'valid' as const,
      asset: r.asset,
      amount: formatAmount(BigInt(r.amount), scale),
      issuedAt: iso(r.issued_at) as string,
      kid: r.kid,
    };
  }

  private async byClientId(agentId: string, clientId: string): Promise<RedemptionDbRow | undefined> {
    return (
      await this.db.pool.query<RedemptionDbRow>('SELECT * FROM redemption WHERE agent_id = $1 AND client_redemption_id = $2', [agentId, clientId])
    ).rows[0];
  }

  private async answer(row: RedemptionDbRow, amount: bigint, asset: string, replayed: boolean) {
    if (row.asset !== asset || BigInt(row.amount) !== amount) {
      throw new AppError('REDEMPTION_CONFLICT', undefined, { redemptionId: row.id, asset: row.asset, amount: row.amount });
    }
    return { ...(await this.view(await this.signed(row))), replayed };
  }

  /** The redemption as its owner sees it (the principal's approvals answer with it too). */
  async byId(id: string) {
    const r = (await this.db.pool.query<RedemptionDbRow>('SELECT * FROM redemption WHERE id = $1', [id])).rows[0];
    return r ? this.view(await this.signed(r)) : null;
  }

  /** The row with its receipt: signed and stored now if it is issued and has none yet (the stored one wins a race). */
  private async signed(row: RedemptionDbRow): Promise<RedemptionDbRow> {
    if (row.receipt || row.status !== 'issued') return row;
    const a = await this.ledger.asset(row.asset);
    const claims: ReceiptClaims = {
      iss: RECEIPT_ISSUER,
      jti: row.id,
      sub: row.agent_id,
      principal: row.principal_id,
      asset: row.asset,
      model: a.model,
      token_class: a.tokenClass,
      amount: formatAmount(BigInt(row.amount), a.scale),
      iat: Math.floor(Number(row.issued_at) / 1000),
      allowance_exp: row.allowance_expires_at === null ? null : Math.floor(Number(row.allowance_expires_at) / 1000),
    };
    const { jws, kid } = await this.keys.sign(claims);
    await this.db.pool.query('UPDATE redemption SET receipt = $2, kid = $3 WHERE id = $1 AND receipt IS NULL', [row.id, jws, kid]);
    return (await this.db.pool.query<RedemptionDbRow>('SELECT * FROM redemption WHERE id = $1', [row.id])).rows[0] as RedemptionDbRow;
  }

  private async view(r: RedemptionDbRow) {
    const a = await this.ledger.asset(r.asset);
    return {
      id: r.id,
      clientRedemptionId: r.client_redemption_id,
      agentId: r.agent_id,
      principalId: r.principal_id,
      asset: r.asset,
      model: a.model,
      tokenClass: a.tokenClass,
      amount: formatAmount(BigInt(r.amount), a.scale),
      status: r.status,
      reason: r.reason,
      issuedAt: r.status === 'issued' ? (iso(r.issued_at) as string) : null,
      allowanceExpiresAt: iso(r.allowance_expires_at),
      /** present when it waited for approval: until when, and when the wait ended (null while it waits) */
      approval:
        r.approval_expires_at === null
          ? null
          : {
              expiresAt: iso(r.approval_expires_at) as string,
              decidedAt: iso(r.decided_at),
              ...(r.status === 'pending_approval' ? { requestedAt: iso(r.issued_at) } : {}),
            },
      seq: r.command_seq,
      receipt: r.receipt,
      kid: r.kid,
    };
  }
}
