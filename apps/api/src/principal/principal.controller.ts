import { Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Roles } from '../auth/decorators';
import { ZodBody, ZodQuery } from '../common/zod';
import { FillsQuery, ListOrdersQuery } from '../trading/orders.controller';
import { Actor, ActorOf } from './actor';
import { PolicyBody } from './policy';
import { PrincipalService } from './principal.service';

const Name = z.string().trim().min(1).max(128);
const AssetCode = z.string().regex(/^[A-Z0-9][A-Z0-9_.:-]{0,63}$/);
export const PrincipalCreateAgentBody = z.strictObject({ name: Name });
export const PrincipalKeyBody = z.strictObject({ label: Name.optional() });
export const TransferBody = z.strictObject({
  /** Idempotency key: the same id again does nothing more (`replayed: true`). */
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/),
  agentId: z.string().max(40),
  /** to_agent: from the principal's own account to the agent's; from_agent: back */
  direction: z.enum(['to_agent', 'from_agent']),
  asset: AssetCode,
  amount: z.string().max(64),
});
export const FreezeBody = z.strictObject({
  /** cancel every open order of the agent in the same sequenced step (default true) */
  cancelOrders: z.boolean().default(true),
});
export const SpendQuery = z.strictObject({
  /** ISO 8601; default 24 hours before `to` */
  from: z.iso.datetime({ offset: true }).optional(),
  /** ISO 8601; default now */
  to: z.iso.datetime({ offset: true }).optional(),
});

export function period(q: z.infer<typeof SpendQuery>): { from: Date; to: Date } {
  const to = q.to ? new Date(q.to) : new Date();
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - 24 * 3600 * 1000);
  return { from, to };
}

/** A principal acting for itself with a principal key: its agents, their keys, funds, policies, freezes, reports. */
@ApiTags('principal')
@ApiSecurity('signature')
@Roles('principal')
@Controller('v1/principal')
export class PrincipalController {
  constructor(private readonly principals: PrincipalService) {}

  @Get('account')
  account(@ActorOf() a: Actor) {
    return this.principals.principalAccount(a.principalId as string);
  }

  @Post('agents')
  createAgent(@ActorOf() a: Actor, @ZodBody(PrincipalCreateAgentBody) body: z.infer<typeof PrincipalCreateAgentBody>) {
    return this.principals.createAgent(a, a.principalId as string, body.name);
  }

  @Get('agents')
  listAgents(@ActorOf() a: Actor) {
    return this.principals.listAgents(a.principalId as string);
  }

  @Get('agents/:agentId/keys')
  listKeys(@ActorOf() a: Actor, @Param('agentId') agentId: string) {
    return this.principals.listAgentKeys(a.principalId as string, agentId);
  }

  @Post('agents/:agentId/keys')
  issueKey(@ActorOf() a: Actor, @Param('agentId') agentId: string, @ZodBody(PrincipalKeyBody) body: z.infer<typeof PrincipalKeyBody>) {
    return this.principals.issueAgentKey(a, a.principalId as string, agentId, body.label);
  }

  @Delete('agents/:agentId/keys/:keyId')
  @HttpCode(204)
  async revokeKey(@ActorOf() a: Actor, @Param('agentId') agentId: string, @Param('keyId') keyId: string): Promise<void> {
    await this.principals.revokeAgentKey(a, a.principalId as string, agentId, keyId);
  }

  @Post('transfers')
  transfer(@ActorOf() a: Actor, @ZodBody(TransferBody) body: z.infer<typeof TransferBody>) {
    return this.principals.transfer(a, a.principalId as string, body);
  }

  @Get('agents/:agentId/balances')
  balances(@ActorOf() a: Actor, @Param('agentId') agentId: string) {
    return this.principals.agentBalances(a.principalId as string, agentId);
  }

  @Get('agents/:agentId/orders')
  orders(@ActorOf() a: Actor, @Param('agentId') agentId: string, @ZodQuery(ListOrdersQuery) q: z.infer<typeof ListOrdersQuery>) {
    return this.principals.agentOrders(a.principalId as string, agentId, q);
  }

  @Get('agents/:agentId/fills')
  fills(@ActorOf() a: Actor, @Param('agentId') agentId: string, @ZodQuery(FillsQuery) q: z.infer<typeof FillsQuery>) {
    return this.principals.agentFills(a.principalId as string, agentId, q);
  }

  @Get('agents/:agentId/policy')
  policy(@ActorOf() a: Actor, @Param('agentId') agentId: string) {
    return this.principals.budget(a.principalId as string, agentId);
  }

  /** Sets the agent's budget policy (the whole policy: rules left out are lifted); answers the effective policy and its new version. */
  @Put('agents/:agentId/policy')
  setPolicy(@ActorOf() a: Actor, @Param('agentId') agentId: string, @ZodBody(PolicyBody) body: z.infer<typeof PolicyBody>) {
    return this.principals.setPolicy(a, a.principalId as string, agentId, body);
  }

  @Delete('agents/:agentId/policy')
  clearPolicy(@ActorOf() a: Actor, @Param('agentId') agentId: string) {
    return this.principals.setPolicy(a, a.principalId as string, agentId, null);
  }

  @Post('agents/:agentId/freeze')
  @HttpCode(200)
  freeze(@ActorOf() a: Actor, @Param('agentId') agentId: string, @ZodBody(FreezeBody) body: z.infer<typeof FreezeBody>) {
    return this.principals.freezeAgent(a, a.principalId as string, agentId, true, { cancelOrders: body.cancelOrders, revokeKeys: false });
  }

  @Post('agents/:agentId/unfreeze')
  @HttpCode(200)
  unfreeze(@ActorOf() a: Actor, @Param('agentId') agentId: string) {
    return this.principals.freezeAgent(a, a.principalId as string, agentId, false, { cancelOrders: false, revokeKeys: false });
  }

  /** The kill switch: in one sequenced step freeze the agent and cancel its open orders, then revoke its keys. */
  @Post('agents/:agentId/kill')
  @HttpCode(200)
  kill(@ActorOf() a: Actor, @Param('agentId') agentId: string) {
    return this.principals.kill(a, a.principalId as string, agentId);
  }

  @Get('agents/:agentId/spend')
  agentSpend(@ActorOf() a: Actor, @Param('agentId') agentId: string, @ZodQuery(SpendQuery) q: z.infer<typeof SpendQuery>) {
    const p = period(q);
    return this.principals.spend(a.principalId as string, agentId, p.from, p.to);
  }

  /** Spend of every agent of the principal over a period, and the total. */
  @Get('spend')
  spend(@ActorOf() a: Actor, @ZodQuery(SpendQuery) q: z.infer<typeof SpendQuery>) {
    const p = period(q);
    return this.principals.spend(a.principalId as string, null, p.from, p.to);
  }
}
