/**
 * Codes of approvals above a threshold (libs/sequencer approvals.ts, apps/api/src/principal) and of who froze an
 * agent. Never reuse, rename or renumber a code; add new ones at the end.
 */
export const APPROVAL_CODES = {
  APPROVAL_NOT_PENDING: {
    status: 409,
    message: 'The order is not waiting for approval (details.status says what it is now): it was approved, rejected or expired already.',
  },
  APPROVAL_EXPIRED: {
    status: 409,
    message: 'The approval request expired (its policy’s TTL, on command time) before it was decided: the agent must place the order again.',
  },
  APPROVAL_AMEND_ABOVE_THRESHOLD: {
    status: 422,
    message:
      'The amend would take the order above the notional the agent’s policy lets it place without approval: place a new order (it waits for approval).',
  },
  APPROVAL_TOO_MANY_PENDING: {
    status: 422,
    message: 'The agent has as many orders waiting for approval as it may (details.pending): wait for its principal to decide some.',
  },
  APPROVAL_REJECTED: { status: 422, message: 'The agent’s principal rejected the order; it was never placed.' },
  BUDGET_FROZEN_BY_OPERATOR: {
    status: 403,
    message: 'An operator froze this agent: only an operator may thaw it (details.agentIds names the agents).',
  },
} as const satisfies Record<string, { status: number; message: string }>;
