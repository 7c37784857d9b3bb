import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AuthContext, Role } from '../auth/auth.types';
import type { Actor as AuditActor } from '../audit/audit.service';

/**
 * Who does a principal or admin action: the role, the key that signed it, the principal it acts for (principal
 * keys), and the request id. Every handler of this folder receives it and passes it down to the service method
 * that changes state, so an audit log can record each action with its actor.
 */
export interface Actor {
  role: Role;
  keyId: string;
  principalId: string | null;
  /** the agent, for an agent's own actions (its sub-agents) */
  agentId: string | null;
  requestId: string;
}

export function actorOf(auth: AuthContext, requestId: string): Actor {
  return { role: auth.role, keyId: auth.keyId, principalId: auth.principalId, agentId: auth.agentId, requestId };
}

/** The verified caller of a signed request, with its request id. */
export const ActorOf = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const req = ctx.switchToHttp().getRequest<FastifyRequest & { auth?: AuthContext }>();
  if (!req.auth) throw new Error('@ActorOf() used on a public route');
  return actorOf(req.auth, String(req.id));
});

/** The actor as an audit row names it (who: the principal's or agent's id, null for an operator; which key; the request). */
export function auditActor(a: Actor): AuditActor {
  return {
    actorKind: a.role,
    actorId: a.role === 'principal' ? a.principalId : a.role === 'agent' ? a.agentId : null,
    keyId: a.keyId,
    requestId: a.requestId,
  };
}
