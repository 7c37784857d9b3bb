import { Controller, Delete, HttpCode, Param, Post } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ZodBody } from '../common/zod';
import { Roles } from '../auth/decorators';
import { AdminService } from './admin.service';
import { Actor, ActorOf } from '../audit/audit.service';

const Name = z.string().trim().min(1).max(128);
export const CreatePrincipalBody = z.strictObject({ name: Name });
export const CreateAgentBody = z.strictObject({
  name: Name,
  principalId: z
    .string()
    .regex(/^prn_[a-z0-9]{8,32}$/)
    .optional(),
  /** Issue the agent's first API key along with it (default true). */
  withKey: z.boolean().default(true),
});
export const CreateKeyBody = z.strictObject({ label: Name.optional() });
const KeyIdParam = z.string().regex(/^ak_[a-z0-9]{16,32}$/);

/** Operator endpoints: principals, agents and their API keys. Admin keys only. */
@ApiTags('admin')
@ApiSecurity('signature')
@Roles('admin')
@Controller('v1/admin')
export class AdminController {
  constructor(private readonly admin: AdminService) {}

  @Post('principals')
  createPrincipal(@ZodBody(CreatePrincipalBody) body: z.infer<typeof CreatePrincipalBody>, @ActorOf() actor: Actor) {
    return this.admin.createPrincipal(body.name, actor);
  }

  @Post('agents')
  createAgent(@ZodBody(CreateAgentBody) body: z.infer<typeof CreateAgentBody>, @ActorOf() actor: Actor) {
    return this.admin.createAgent(body, actor);
  }

  @Post('agents/:agentId/keys')
  createAgentKey(@Param('agentId') agentId: string, @ZodBody(CreateKeyBody) body: z.infer<typeof CreateKeyBody>, @ActorOf() actor: Actor) {
    return this.admin.issueAgentKey(agentId, body.label, actor);
  }

  @Delete('keys/:keyId')
  @HttpCode(204)
  async revokeKey(@Param('keyId') keyId: string, @ActorOf() actor: Actor): Promise<void> {
    await this.admin.revokeKey(KeyIdParam.safeParse(keyId).success ? keyId : '', actor);
  }

  /** A new key for the same owner, the old one revoked, in one audited transaction; the new secret is shown once. */
  @Post('keys/:keyId/rotate')
  @HttpCode(200)
  rotateKey(@Param('keyId') keyId: string, @ActorOf() actor: Actor) {
    return this.admin.rotateKey(KeyIdParam.safeParse(keyId).success ? keyId : '', actor);
  }
}
