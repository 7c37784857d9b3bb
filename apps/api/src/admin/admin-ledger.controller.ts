import { Controller, Get, Post } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { AppError, formatAmount } from '@ate/contracts';
import { z } from 'zod';
import { Roles } from '../auth/decorators';
import { ZodBody } from '../common/zod';
import { DatabaseService } from '../database/database.service';
import { LedgerService } from '../ledger/ledger.service';
import { EngineLink } from '../engine/engine-link';
import { ReconciliationService } from './reconciliation.service';

const AssetCode = z.string().regex(/^[A-Z0-9][A-Z0-9_.:-]{0,63}$/, 'upper-case letters, digits and _.:- (e.g. GPT-4O.1K)');
export const DefineAssetBody = z.strictObject({
  code: AssetCode,
  /** Decimals of the asset's minor unit (0 = whole allowances). */
  scale: z.number().int().min(0).max(18),
  model: z.string().min(1).max(128),
  provider: z.string().min(1).max(128),
  tokenClass: z.string().min(1).max(64),
  expiresOn: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).nullable().optional(),
});
export const MoveFundsBody = z.strictObject({
  /** Idempotency key: the same id and body again returns the first result; another body is 409. */
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/),
  agentId: z.string().regex(/^agt_[a-z0-9]{8,32}$/),
  asset: AssetCode,
  /** Decimal string in the asset's units, e.g. "100.000" credits. */
  amount: z.string().max(64),
});

/** Operator endpoints of the ledger: assets, deposits (mint), withdrawals (burn), reconciliation. */
@ApiTags('admin')
@ApiSecurity('signature')
@Roles('admin')
@Controller('v1/admin')
export class AdminLedgerController {
  constructor(
    private readonly ledger: LedgerService,
    private readonly db: DatabaseService,
    private readonly engine: EngineLink,
    private readonly reconciliation: ReconciliationService,
  ) {}

  @Post('assets')
  async defineAsset(@ZodBody(DefineAssetBody) body: z.infer<typeof DefineAssetBody>) {
    const asset = await this.ledger.defineAllowance({ ...body, expiresOn: body.expiresOn ?? null });
    // the engine's balance view holds every asset: reload it so deposits of the new asset are tracked
    await this.engine.ensureAsset(asset.code);
    return asset;
  }

  @Post('deposits')
  deposit(@ZodBody(MoveFundsBody) body: z.infer<typeof MoveFundsBody>) {
    return this.move('mint', body);
  }

  @Post('withdrawals')
  withdraw(@ZodBody(MoveFundsBody) body: z.infer<typeof MoveFundsBody>) {
    return this.move('burn', body);
  }

  /**
   * Checks the ledger's promises 1-6 over the whole journal, and that the engine agrees with the database
   * (balances, open orders), and lists every violation. `ok` is true only when both hold.
   */
  @Get('reconciliation')
  reconcile() {
    return this.reconciliation.run();
  }

  /**
   * Funds move through the engine's sequencer (its in-memory balances must see every deposit and withdrawal,
   * and a withdrawal may not take funds that open orders hold), committed with the ledger transfer.
   */
  private async move(kind: 'mint' | 'burn', body: z.infer<typeof MoveFundsBody>) {
    if (!(await this.db.prisma.agent.count({ where: { id: body.agentId } }))) {
      throw new AppError('NOT_FOUND', 'No such agent.', { agentId: body.agentId });
    }
    const amount = await this.ledger.parse(body.asset, body.amount);
    const transferId = `${kind}:${body.id}`;
    const r = await this.engine.submit({ kind: 'funds', op: kind === 'mint' ? 'deposit' : 'withdraw', agentId: body.agentId, asset: body.asset, amount, transferId });
    let seq = r.seq;
    let replayed = false;
    if (r.duplicateTransfer) {
      // The id is in the journal already: the ledger answers whether the body is the same (replayed) or not (409).
      const again = await this.ledger.mintOrBurn(kind, transferId, body.agentId, body.asset, amount, transferId);
      if (!again.ok) throw new AppError(again.code, again.message, again.details);
      seq = again.seq;
      replayed = true;
    } else if (r.code) {
      throw new AppError('LEDGER_INSUFFICIENT_FUNDS', 'The withdrawal exceeds the available balance (open orders hold the rest).', { asset: body.asset });
    }
    const scale = await this.ledger.scaleOf(body.asset);
    return { id: body.id, kind, agentId: body.agentId, asset: body.asset, amount: formatAmount(amount, scale), seq, replayed };
  }
}
