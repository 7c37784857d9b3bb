import { Controller, Get, Post } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Roles } from '../auth/decorators';
import { Actor, ActorOf } from '../audit/audit.service';
import { ZodBody } from '../common/zod';
import { FundsService } from './funds.service';
import { ReconciliationService } from './reconciliation.service';

const AssetCode = z.string().regex(/^[A-Z0-9][A-Z0-9_.:-]{0,63}$/, 'upper-case letters, digits and _.:- (e.g. GPT-4O.1K)');
export const DefineAssetBody = z.strictObject({
  code: AssetCode,
  /** Decimals of the asset's minor unit (0 = whole allowances). */
  scale: z.number().int().min(0).max(18),
  model: z.string().min(1).max(128),
  provider: z.string().min(1).max(128),
  tokenClass: z.string().min(1).max(64),
  expiresOn: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .nullable()
    .optional(),
});
export const MoveFundsBody = z.strictObject({
  /** Idempotency key: the same id and body again returns the first result; another body is 409. */
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/),
  agentId: z.string().regex(/^agt_[a-z0-9]{8,32}$/),
  asset: AssetCode,
  /** Decimal string in the asset's units, e.g. "100.000" credits. */
  amount: z.string().max(64),
  /** why (kept in the audit log with the operator's key and the request id) */
  reason: z.string().trim().min(1).max(500).optional(),
});

/** Operator endpoints of the ledger: assets, deposits (mint), withdrawals (burn), reconciliation. */
@ApiTags('admin')
@ApiSecurity('signature')
@Roles('admin')
@Controller('v1/admin')
export class AdminLedgerController {
  constructor(
    private readonly funds: FundsService,
    private readonly reconciliation: ReconciliationService,
  ) {}

  @Post('assets')
  defineAsset(@ZodBody(DefineAssetBody) body: z.infer<typeof DefineAssetBody>, @ActorOf() actor: Actor) {
    return this.funds.defineAsset({ ...body, expiresOn: body.expiresOn ?? null }, actor);
  }

  @Post('deposits')
  deposit(@ZodBody(MoveFundsBody) body: z.infer<typeof MoveFundsBody>, @ActorOf() actor: Actor) {
    return this.funds.move('mint', body, actor);
  }

  @Post('withdrawals')
  withdraw(@ZodBody(MoveFundsBody) body: z.infer<typeof MoveFundsBody>, @ActorOf() actor: Actor) {
    return this.funds.move('burn', body, actor);
  }

  /**
   * Checks the ledger's promises 1-6 over the whole journal, and that the engine agrees with the database
   * (balances, open orders), and lists every violation. `ok` is true only when both hold.
   */
  @Get('reconciliation')
  reconcile() {
    return this.reconciliation.run();
  }
}
