import { Injectable } from '@nestjs/common';
import { AppError, formatAmount } from '@ate/contracts';
import type { AllowanceAssetDef, Asset } from '@ate/ledger';
import { HOLDING_MAX } from '@ate/sequencer';
import { DatabaseService } from '../database/database.service';
import { EngineLink } from '../engine/engine-link';
import { LedgerService } from '../ledger/ledger.service';
import { Actor, auditOf, AuditService } from '../audit/audit.service';
import { defineAsset, getAsset } from '@ate/ledger';
import { unwrap } from '../ledger/ledger.service';

/** An operator's deposit or withdrawal (validated by the controller's schema). */
export interface MoveFundsInput {
  id: string;
  agentId: string;
  asset: string;
  amount: string;
  reason?: string;
}

/**
 * Assets, deposits (mint) and withdrawals (burn). Funds move through the engine's sequencer (its in-memory balances must
 * see every deposit and withdrawal, and a withdrawal may not take funds that open orders hold), committed with the
 * ledger transfer. Idempotent by id: the same id and body again answers the first result (`replayed`); another
 * body under the same id is 409 LEDGER_IDEMPOTENCY_CONFLICT. An agent holds at most HOLDING_MAX (2^53 - 1) minor
 * units of an asset: a deposit beyond it is 400 AMOUNT_OUT_OF_RANGE.
 */
@Injectable()
export class FundsService {
  /** Defines an allowance asset; the engine's balance view holds every asset, so it is reloaded to track it. */
  async defineAsset(def: AllowanceAssetDef, actor?: Actor): Promise<Asset> {
    const asset = actor
      ? await this.audit.run(auditOf(actor, 'asset.define', { kind: 'asset', id: def.code }), async (c) => {
          const existed = (await getAsset(c, def.code)).ok;
          const a = unwrap(await defineAsset(c, def)).asset;
          // defining the same asset again is answered as the first time: nothing changed, no row
          return { result: a, after: a, unchanged: existed };
        })
      : await this.ledger.defineAllowance(def);
    await this.engine.ensureAsset(asset.code);
    return asset;
  }

  constructor(
    private readonly db: DatabaseService,
    private readonly ledger: LedgerService,
    private readonly engine: EngineLink,
    private readonly audit: AuditService,
  ) {}

  /** With an actor, the movement's audit row (reason, key, request id) commits in the engine's batch with it. */
  async move(kind: 'mint' | 'burn', body: MoveFundsInput, actor?: Actor) {
    if (!(await this.db.prisma.agent.count({ where: { id: body.agentId } }))) {
      throw new AppError('NOT_FOUND', 'No such agent.', { agentId: body.agentId });
    }
    const amount = await this.ledger.parse(body.asset, body.amount);
    const transferId = `${kind}:${body.id}`;
    const r = await this.engine.submit({
      kind: 'funds',
      op: kind === 'mint' ? 'deposit' : 'withdraw',
      agentId: body.agentId,
      asset: body.asset,
      amount,
      transferId,
      ...(actor
        ? {
            audit: auditOf(
              actor,
              `funds.${kind}`,
              { kind: 'agent', id: body.agentId },
              { reason: body.reason ?? null, after: { asset: body.asset, amount: body.amount } },
            ),
          }
        : {}),
    });
    let seq = r.seq;
    let replayed = false;
    const scale = await this.ledger.scaleOf(body.asset);
    if (r.duplicateTransfer) {
      // The id is in the journal already: the ledger answers whether the body is the same (replayed) or not (409).
      const again = await this.ledger.mintOrBurn(kind, transferId, body.agentId, body.asset, amount, transferId);
      if (!again.ok) throw new AppError(again.code, again.message, again.details);
      seq = again.seq;
      replayed = true;
    } else if (r.code === 'MATCHING_INSUFFICIENT_BALANCE') {
      throw new AppError('LEDGER_INSUFFICIENT_FUNDS', 'The withdrawal exceeds the available balance (open orders hold the rest).', {
        asset: body.asset,
      });
    } else if (r.code) {
      throw new AppError(r.code, 'The deposit would take the agent beyond the most it may hold of this asset.', {
        asset: body.asset,
        maxHolding: formatAmount(BigInt(HOLDING_MAX), scale),
      });
    }
    return { id: body.id, kind, agentId: body.agentId, asset: body.asset, amount: formatAmount(amount, scale), seq, replayed };
  }
}
