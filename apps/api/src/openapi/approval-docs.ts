import type { ErrorCode } from '@ate/contracts';
import { z } from 'zod';
import * as ex from './examples';
import type { OperationDoc } from './operations';
import * as S from './schemas';

/**
 * The OpenAPI documentation of approvals above a threshold (apps/api/src/principal/approvals.*): a policy's
 * `approval: { above, ttlSeconds }` makes an agent's orders above `above` credits of notional wait as
 * pending_approval until its principal approves or rejects them here, or they expire.
 */
const named = <T extends z.ZodType>(id: string, description: string, schema: T): T => {
  S.responseSchemas.add(schema, { id, description });
  return schema;
};
const Decimal = z
  .string()
  .regex(/^-?[0-9]+(\.[0-9]+)?$/)
  .describe("a decimal string in the asset's units (never a JSON number)");
const Timestamp = z.strictObject({ iso: z.string(), ms: z.number().int() });

export const PendingApprovalList = named(
  'PendingApprovalList',
  "The orders of the principal's agents waiting for its approval, oldest first: each with its notional, the policy's threshold, and when the request expires (command time).",
  z.strictObject({
    asOf: z.string(),
    approvals: z.array(
      z.strictObject({
        orderId: z.string(),
        agentId: z.string(),
        notional: Decimal,
        threshold: Decimal,
        requestedAt: Timestamp,
        expiresAt: Timestamp,
        order: S.Order,
      }),
    ),
  }),
);
export const ApprovalDecision = named(
  'ApprovalDecision',
  'The decision and the order as committed: approved, it was sequenced at that moment like a new order (checked and reserved then), so its status says what it met; rejected, it is `rejected` with reason APPROVAL_REJECTED.',
  z.strictObject({ decision: z.enum(['approved', 'rejected']), order: S.Order }),
);

const pendingOrder = {
  ...ex.order,
  id: '77',
  clientOrderId: 'big-buy-1',
  price: '2.000',
  quantity: '50',
  filled: '0',
  remaining: '0',
  cost: '0.000',
  averagePrice: null,
  status: 'pending_approval',
  updatedAt: ex.T0,
};
const DECIDE_ERRORS: ErrorCode[] = ['NOT_FOUND', 'APPROVAL_NOT_PENDING', 'APPROVAL_EXPIRED', 'SERVICE_UNAVAILABLE'];

export const APPROVAL_OPERATIONS: Record<string, OperationDoc> = {
  'GET /v1/principal/approvals': {
    operationId: 'principalListApprovals',
    summary: 'Orders of my agents waiting for my approval',
    description:
      "An order whose notional is above its agent's policy `approval.above` waits as pending_approval (nothing reserved) until approved, rejected, or `approval.ttlSeconds` pass (then `expired`, reason APPROVAL_EXPIRED). The agent sees it with GET /v1/orders/{orderId} or /v1/orders/by-client-id/{clientOrderId}.",
    tag: 'principal',
    access: 'principal',
    errors: ['SERVICE_UNAVAILABLE'],
    response: PendingApprovalList,
    example: {
      asOf: ex.T1.iso,
      approvals: [
        {
          orderId: '77',
          agentId: ex.agent.id,
          notional: '100.000',
          threshold: '40.000',
          requestedAt: ex.T0,
          expiresAt: { iso: '2026-12-01T13:00:00.000Z', ms: Date.parse('2026-12-01T13:00:00.000Z') },
          order: pendingOrder,
        },
      ],
    },
  },
  'POST /v1/principal/approvals/{orderId}/approve': {
    operationId: 'principalApproveOrder',
    summary: 'Approve an order of one of my agents',
    description:
      "The order is sequenced now with its id and clientOrderId, like a new order: the budget caps reserve its worst case and the engine holds its funds at this moment (nothing was reserved while it waited, so nothing is reserved twice). The answer is 200 with the order as committed: open, closed, or rejected with the code placing it now would have had (e.g. MATCHING_INSUFFICIENT_FUNDS). An order of another principal's agent is 404.",
    tag: 'principal',
    access: 'principal',
    errors: DECIDE_ERRORS,
    response: ApprovalDecision,
    example: { decision: 'approved', order: { ...pendingOrder, status: 'open', remaining: '50', updatedAt: ex.T1 } },
  },
  'POST /v1/principal/approvals/{orderId}/reject': {
    operationId: 'principalRejectOrder',
    summary: 'Reject an order of one of my agents',
    description:
      'The order ends `rejected` with reason APPROVAL_REJECTED; it was never placed. A retry with its clientOrderId answers 422 APPROVAL_REJECTED.',
    tag: 'principal',
    access: 'principal',
    errors: DECIDE_ERRORS,
    response: ApprovalDecision,
    example: { decision: 'rejected', order: { ...pendingOrder, status: 'rejected', reason: 'APPROVAL_REJECTED', updatedAt: ex.T1 } },
  },
};
