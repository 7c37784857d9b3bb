/**
 * Codes of budget policies, principals' actions and the kill switch (libs/sequencer budgets.ts,
 * apps/api/src/principal). Prefix BUDGET_ (a rule of an agent's policy refused an order) and POLICY_ (a policy
 * was refused as written). Never reuse, rename or renumber a code; add new ones at the end.
 * Statuses: 400 a policy that can never be satisfied, 409 a stale version, 422 a rule refused the order.
 */
export const BUDGET_CODES = {
  BUDGET_EXCEEDED: {
    status: 422,
    message: 'The order would spend beyond a cap of the agent’s budget policy (details: rule, window, limit, used, remaining, freesAt).',
  },
  BUDGET_ORDER_NOTIONAL_EXCEEDED: { status: 422, message: 'The order’s notional is above the most the agent’s policy allows per order.' },
  BUDGET_PRICE_ABOVE_CEILING: { status: 422, message: 'The order’s price is above the ceiling the agent’s policy sets for this asset.' },
  BUDGET_MARKET_NOT_ALLOWED: { status: 422, message: 'The agent’s policy does not allow this market.' },
  BUDGET_ORDER_TYPE_NOT_ALLOWED: { status: 422, message: 'The agent’s policy does not allow this order type.' },
  BUDGET_POLICY_EXPIRED: { status: 422, message: 'The agent’s delegation has expired: its principal must renew the policy.' },
  BUDGET_AGENT_FROZEN: { status: 422, message: 'The agent is frozen: it may only cancel orders.' },
  POLICY_INVALID: { status: 400, message: 'The policy can never be satisfied as written (details: field and reason).' },
  POLICY_VERSION_CONFLICT: { status: 409, message: 'The policy changed since the version given: read it again and retry.' },
  BUDGET_PRINCIPAL_INSUFFICIENT_FUNDS: { status: 422, message: 'The principal’s own account does not hold that much.' },
  BUDGET_CARVE_OUT_REFUSED: { status: 422, message: 'The carve-out cannot be given (details.reason: the parent’s room, policy or state).' },
  POLICY_ABOVE_PARENT: { status: 400, message: 'A sub-agent’s policy may not allow more than its parent’s (details: field).' },
} as const;
