import { Controller, Get } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Auth, Roles } from '../auth/decorators';
import type { AuthContext } from '../auth/auth.types';
import { Int8String, ZodQuery } from '../common/zod';
import { AccountService } from './account.service';

export const StatementQuery = z.strictObject({
  asset: z.string().regex(/^[A-Z0-9][A-Z0-9_.:-]{0,63}$/),
  cursor: Int8String.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/** An agent's own money: balances (CCXT free/used/total) and its ledger statement. */
@ApiTags('account')
@ApiSecurity('signature')
@Roles('agent')
@Controller('v1/account')
export class AccountController {
  constructor(private readonly account: AccountService) {}

  @Get('balances')
  balances(@Auth() auth: AuthContext) {
    return this.account.balances(auth.agentId as string);
  }

  @Get('statement')
  statement(@Auth() auth: AuthContext, @ZodQuery(StatementQuery) q: z.infer<typeof StatementQuery>) {
    return this.account.statement(auth.agentId as string, q.asset, q.cursor, q.limit);
  }
}
