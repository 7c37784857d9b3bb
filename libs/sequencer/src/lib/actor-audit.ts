import type { AuditContext } from './audit';
import type { CommandActor } from './budget-handlers';
import type { HostCommand } from './host-types';

/**
 * The audit row of a principal's or an operator's budget command (a policy, a freeze or kill, a carve-out, a
 * revocation, a principal's own funds), built from the actor the command carries (budget-handlers.ts), so that
 * every such action is written with its effect, in its batch. A command with its own `audit` keeps it; reads and
 * commands without an actor are not audited.
 */
export function actorAudit(cmd: HostCommand): AuditContext | undefined {
  if (cmd.audit) return cmd.audit;
  if (cmd.kind === 'budget') {
    const { op, actor } = cmd;
    if (!actor || op.op === 'read') return undefined;
    const target =
      op.op === 'set_policy' || op.op === 'revoke'
        ? { kind: 'agent', id: op.agentId }
        : op.op === 'carve'
          ? { kind: 'agent', id: op.childId }
          : op.principalId
            ? { kind: 'principal', id: op.principalId }
            : { kind: 'agent', id: op.agentIds.join(',') };
    return { ...who(actor), action: `budget.${op.op}`, targetKind: target.kind, targetId: target.id, after: op };
  }
  if (cmd.kind === 'principal_funds' && cmd.actor) {
    const { actor, op, principalId, agentId, asset, amount, transferId } = cmd;
    return {
      ...who(actor),
      action: `principal.${op}`,
      targetKind: agentId ? 'agent' : 'principal',
      targetId: agentId ?? principalId,
      after: { principalId, asset, amount, transferId },
    };
  }
  if (cmd.kind === 'approval' && cmd.actor && cmd.op.op !== 'list') {
    const { actor, op } = cmd;
    return {
      ...who(actor),
      action: `approval.${op.op}`,
      targetKind: 'redemptionId' in op ? 'redemption' : 'order',
      targetId: 'redemptionId' in op ? op.redemptionId : String(op.orderId),
      after: { ...op, marketId: cmd.marketId },
    };
  }
  return undefined;
}

function who(a: CommandActor): Pick<AuditContext, 'actorKind' | 'actorId' | 'keyId' | 'requestId'> {
  return {
    actorKind: a.role,
    actorId: a.role === 'principal' ? a.principalId : a.role === 'agent' ? a.agentId : null,
    keyId: a.keyId,
    requestId: a.requestId,
  };
}
