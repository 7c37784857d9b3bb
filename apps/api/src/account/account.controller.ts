import { Controller, Get } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Auth, Roles } from '../auth/decorators';
import type { AuthContext } from '../auth/auth.types';
import { Int8String, ZodQuery } from '../common/zod';
import { EngineLink } from '../engine/engine-link';
import { LedgerService } from '../ledger/ledger.service';

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
  constructor(
    private readonly ledger: LedgerService,
    private readonly engine: EngineLink,
  ) {}

  @Get('balances')
  async balances(@Auth() auth: AuthContext) {
    const agentId = auth.agentId as string;
    const reserved = await this.engine.reserved(agentId);
    const list = await this.ledger.balances({ kind: 'agent', id: agentId }, (asset) => reserved.get(asset) ?? 0n);
    return { agentId: auth.agentId, balances: Object.fromEntries(list.map(({ asset, ...b }) => [asset, b])) };
  }

  @Get('statement')
  statement(@Auth() auth: AuthContext, @ZodQuery(StatementQuery) q: z.infer<typeof StatementQuery>) {
    return this.ledger.statement(auth.agentId as string, q.asset, q.cursor, q.limit);
  }
}
