import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Roles } from '../auth/decorators';
import { ZodBody } from '../common/zod';
import { Actor, ActorOf } from './actor';
import { FreezeBody, PrincipalKeyBody } from './principal.controller';
import { PrincipalService } from './principal.service';

export const PrincipalFundsBody = z.strictObject({
  /** Idempotency key: the same id again does nothing more (`replayed: true`). */
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/),
  asset: z.string().regex(/^[A-Z0-9][A-Z0-9_.:-]{0,63}$/),
  amount: z.string().max(64),
});
export const AdminFreezeBody = FreezeBody.extend({
  /** also revoke every API key of the agent(s) (the kill switch) */
  revokeKeys: z.boolean().default(false),
});

/** Operators and principals: a principal's keys and own account, freezing agents and principals. Admin keys only. */
@ApiTags('admin')
@ApiSecurity('signature')
@Roles('admin')
@Controller('v1/admin')
export class AdminPrincipalsController {
  constructor(private readonly principals: PrincipalService) {}

  @Post('principals/:principalId/keys')
  issueKey(@ActorOf() a: Actor, @Param('principalId') principalId: string, @ZodBody(PrincipalKeyBody) body: z.infer<typeof PrincipalKeyBody>) {
    return this.principals.issuePrincipalKey(a, principalId, body.label);
  }

  @Post('principals/:principalId/deposits')
  deposit(@ActorOf() a: Actor, @Param('principalId') principalId: string, @ZodBody(PrincipalFundsBody) body: z.infer<typeof PrincipalFundsBody>) {
    return this.principals.principalFunds(a, 'deposit', principalId, body);
  }

  @Post('principals/:principalId/withdrawals')
  withdraw(@ActorOf() a: Actor, @Param('principalId') principalId: string, @ZodBody(PrincipalFundsBody) body: z.infer<typeof PrincipalFundsBody>) {
    return this.principals.principalFunds(a, 'withdraw', principalId, body);
  }

  @Post('agents/:agentId/freeze')
  @HttpCode(200)
  freezeAgent(@ActorOf() a: Actor, @Param('agentId') agentId: string, @ZodBody(AdminFreezeBody) body: z.infer<typeof AdminFreezeBody>) {
    return this.principals.freezeAgent(a, null, agentId, true, body);
  }

  @Post('agents/:agentId/unfreeze')
  @HttpCode(200)
  unfreezeAgent(@ActorOf() a: Actor, @Param('agentId') agentId: string) {
    return this.principals.freezeAgent(a, null, agentId, false, { cancelOrders: false, revokeKeys: false });
  }

  @Post('principals/:principalId/freeze')
  @HttpCode(200)
  freezePrincipal(@ActorOf() a: Actor, @Param('principalId') principalId: string, @ZodBody(AdminFreezeBody) body: z.infer<typeof AdminFreezeBody>) {
    return this.principals.freezePrincipal(a, principalId, true, body);
  }

  @Post('principals/:principalId/unfreeze')
  @HttpCode(200)
  unfreezePrincipal(@ActorOf() a: Actor, @Param('principalId') principalId: string) {
    return this.principals.freezePrincipal(a, principalId, false, { cancelOrders: false, revokeKeys: false });
  }
}
