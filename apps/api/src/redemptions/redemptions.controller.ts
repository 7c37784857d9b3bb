import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Auth, Public, Roles } from '../auth/decorators';
import type { AuthContext } from '../auth/auth.types';
import { Int8String, ZodBody, ZodQuery } from '../common/zod';
import { ReceiptKeys } from './receipt-keys.service';
import { RedemptionsService } from './redemptions.service';

export const RedeemBody = z.strictObject({
  /** the client's redemption id (idempotency key): the same id again returns the same receipt */
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/),
  asset: z.string().regex(/^[A-Z0-9][A-Z0-9_.:-]{0,63}$/),
  /** units to redeem, a decimal string in the asset's units */
  amount: z.string().max(64),
});
export const RedemptionsQuery = z.strictObject({
  cursor: Int8String.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const RedemptionIdParam = z.string().max(64);

/** Agents redeem allowances (consume them) and get a signed receipt; providers check receipts. */
@ApiTags('redemptions')
@Controller()
export class RedemptionsController {
  constructor(
    private readonly redemptions: RedemptionsService,
    private readonly keys: ReceiptKeys,
  ) {}

  @Post('v1/redemptions')
  @ApiSecurity('signature')
  @Roles('agent')
  @HttpCode(200)
  redeem(@Auth() auth: AuthContext, @ZodBody(RedeemBody) body: z.infer<typeof RedeemBody>) {
    return this.redemptions.redeem(auth.agentId as string, body);
  }

  @Get('v1/redemptions')
  @ApiSecurity('signature')
  @Roles('agent')
  list(@Auth() auth: AuthContext, @ZodQuery(RedemptionsQuery) q: z.infer<typeof RedemptionsQuery>) {
    return this.redemptions.list(auth.agentId as string, q.cursor, q.limit);
  }

  /** Public: a compute provider checks a receipt id (valid: issued here; unknown: not). */
  @Get('v1/redemptions/:id')
  @Public()
  status(@Param('id') id: string) {
    return this.redemptions.status(RedemptionIdParam.safeParse(id).success ? id : '');
  }

  /** Public: the keys receipts are signed with (every key ever used, so old receipts still verify). */
  @Get('.well-known/jwks.json')
  @Public()
  jwks() {
    return this.keys.jwks();
  }
}
