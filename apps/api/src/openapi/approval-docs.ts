import type { ErrorCode } from '@ate/contracts';
import { z } from 'zod';
import * as ex from './examples';
import type { OperationDoc } from './operations';
import * as S from './schemas';
import { Redemption } from './schemas-audit';

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
    redemptions: z
      .array(
        z.strictObject({
          redemptionId: z.string(),
          agentId: z.string(),
          asset: z.string(),
          amount: Decimal,
          threshold: Decimal,
          requestedAt: Timestamp,
          expiresAt: Timestamp,
          redemption: Redemption,
        }),
      )
      .describe("redemptions above the policy's approval.redemptionsAbove for their asset, waiting (nothing burnt yet)"),
  }),
);
export const ApprovalDecision = named(
  'ApprovalDecision',
  'The decision and the order or redemption as committed. An order approved was sequenced at that moment like a new order (checked and reserved then), so its status says what it met; rejected, it is `rejected` with reason APPROVAL_REJECTED. ' +
    'A redemption approved was checked in full and burnt then: `issued` with its receipt, or `rejected` with the code the burn met; rejected, reason APPROVAL_REJECTED.',
  z.strictObject({ decision: z.enum(['approved', 'rejected']), order: S.Order.optional(), redemption: Redemption.optional() }),
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
const pendingRedemption = {
  id: 'rdm_9x8c7v6b5n4m3l2k',
  clientRedemptionId: 'job-77',
  agentId: ex.agent.id,
  principalId: 'prn_a1b2c3d4e5f6',
  asset: 'GPT-4O.1K',
  model: 'gpt-4o',
  tokenClass: 'output',
  amount: '500',
  status: 'pending_approval',
  reason: null,
  issuedAt: null,
  allowanceExpiresAt: '2027-01-01T00:00:00.000Z',
  approval: { expiresAt: '2026-12-01T13:00:00.000Z', decidedAt: null, requestedAt: ex.T0.iso },
  seq: '1900',
  receipt: null,
  kid: null,
};
const DECIDE_ERRORS: ErrorCode[] = ['NOT_FOUND', 'APPROVAL_NOT_PENDING', 'APPROVAL_EXPIRED', 'SERVICE_UNAVAILABLE'];

export const APPROVAL_OPERATIONS: Record<string, OperationDoc> = {
  'GET /v1/principal/approvals': {
    operationId: 'principalListApprovals',
    summary: 'Orders and redemptions of my agents waiting for my approval',
    description:
      "An order whose notional is above its agent's policy `approval.above` waits as pending_approval (nothing reserved) until approved, rejected, or `approval.ttlSeconds` pass (then `expired`, reason APPROVAL_EXPIRED). The agent sees it with GET /v1/orders/{orderId} or /v1/orders/by-client-id/{clientOrderId}. " +
      "A redemption above `approval.redemptionsAbove[asset]` waits the same way (nothing burnt); the agent sees it with GET /v1/redemptions or by posting the same redemption id again. An agent's cancel, its freeze, the kill switch and a revocation cancel what it has waiting (reason APPROVAL_CANCELLED).",
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
      redemptions: [
        {
          redemptionId: 'rdm_9x8c7v6b5n4m3l2k',
          agentId: ex.agent.id,
          asset: 'GPT-4O.1K',
          amount: '500',
          threshold: '100',
          requestedAt: ex.T0,
          expiresAt: { iso: '2026-12-01T13:00:00.000Z', ms: Date.parse('2026-12-01T13:00:00.000Z') },
          redemption: pendingRedemption,
        },
      ],
    },
  },
  'POST /v1/principal/approvals/{id}/approve': {
    operationId: 'principalApproveOrder',
    summary: 'Approve an order or a redemption of one of my agents',
    description:
      '`id` is an order id or a redemption id (rdm_...). A redemption is checked in full and burnt now (the allowance’s expiry, the budget, the balance free of open orders): the answer carries it issued with its receipt, or rejected with the code the burn met. ' +
      "The order is sequenced now with its id and clientOrderId, like a new order: the budget caps reserve its worst case and the engine holds its funds at this moment (nothing was reserved while it waited, so nothing is reserved twice). The answer is 200 with the order as committed: open, closed, or rejected with the code placing it now would have had (e.g. MATCHING_INSUFFICIENT_FUNDS). An order of another principal's agent is 404.",
    tag: 'principal',
    access: 'principal',
    errors: DECIDE_ERRORS,
    response: ApprovalDecision,
    example: { decision: 'approved', order: { ...pendingOrder, status: 'open', remaining: '50', updatedAt: ex.T1 } },
  },
  'POST /v1/principal/approvals/{id}/reject': {
    operationId: 'principalRejectOrder',
    summary: 'Reject an order or a redemption of one of my agents',
    description:
      'The order ends `rejected` with reason APPROVAL_REJECTED; it was never placed. A retry with its clientOrderId answers 422 APPROVAL_REJECTED. ' +
      'A redemption (id rdm_...) ends `rejected`, nothing burnt; the same redemption id again answers it as it is.',
    tag: 'principal',
    access: 'principal',
    errors: DECIDE_ERRORS,
    response: ApprovalDecision,
    example: { decision: 'rejected', order: { ...pendingOrder, status: 'rejected', reason: 'APPROVAL_REJECTED', updatedAt: ex.T1 } },
  },
};
