import { Controller, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Roles } from '../auth/decorators';
import { ZodBody } from '../common/zod';
import { Actor, ActorOf } from './actor';
import { PolicyBody } from './policy';
import { PrincipalService } from './principal.service';

export const CreateSubAgentBody = z.strictObject({
  name: z.string().trim().min(1).max(128),
  /** credits of my budget the sub-agent's subtree may spend in all, escrowed from my caps until it is revoked */
  carveOut: z.string().max(64),
});
export const CarveOutBody = z.strictObject({ amount: z.string().max(64) });

/**
 * Hierarchical delegation: an agent whose policy allows sub-agents creates them and gives each an escrowed
 * carve-out of its own budget; it sets their policies (never above its own), changes their carve-outs, and revokes
 * them (their subtree frozen, open orders cancelled, unspent carve-outs returned, keys revoked).
 */
@ApiTags('account')
@ApiSecurity('signature')
@Roles('agent')
@Controller('v1/account/subagents')
export class SubAgentsController {
  constructor(private readonly principals: PrincipalService) {}

  @Post()
  create(@ActorOf() a: Actor, @ZodBody(CreateSubAgentBody) body: z.infer<typeof CreateSubAgentBody>) {
    return this.principals.createSubAgent(a, a.agentId as string, body.name, body.carveOut);
  }

  @Get()
  list(@ActorOf() a: Actor) {
    return this.principals.listSubAgents(a.agentId as string);
  }

  @Put(':agentId/carve-out')
  carveOut(@ActorOf() a: Actor, @Param('agentId') agentId: string, @ZodBody(CarveOutBody) body: z.infer<typeof CarveOutBody>) {
    return this.principals.setCarveOut(a, a.agentId as string, agentId, body.amount);
  }

  @Put(':agentId/policy')
  policy(@ActorOf() a: Actor, @Param('agentId') agentId: string, @ZodBody(PolicyBody) body: z.infer<typeof PolicyBody>) {
    return this.principals.setSubAgentPolicy(a, a.agentId as string, agentId, body);
  }

  @Post(':agentId/revoke')
  @HttpCode(200)
  revoke(@ActorOf() a: Actor, @Param('agentId') agentId: string) {
    return this.principals.revokeSubAgent(a, a.agentId as string, agentId);
  }
}
