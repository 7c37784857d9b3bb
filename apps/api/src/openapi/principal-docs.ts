import type { ErrorCode } from '@ate/contracts';
import { z } from 'zod';
import type { AdminPrincipalsController } from '../principal/admin-principals.controller';
import type { AgentBudgetController } from '../principal/agent-budget.controller';
import type { PrincipalController } from '../principal/principal.controller';
import type { SubAgentsController } from '../principal/sub-agents.controller';
import * as ex from './examples';
import type { OperationDoc } from './operations';
import * as S from './schemas';

/**
 * The OpenAPI documentation of principals' routes, budget policies, freezes and the kill switch (apps/api/src/principal):
 * their response schemas (named components of the same registry as schemas.ts) and their operations, spread into
 * OPERATIONS by operations.ts.
 */
const named = <T extends z.ZodType>(id: string, description: string, schema: T): T => {
  S.responseSchemas.add(schema, { id, description });
  return schema;
};
const Decimal = z
  .string()
  .regex(/^-?[0-9]+(\.[0-9]+)?$/)
  .describe("a decimal string in the asset's units (never a JSON number)");
const Int = z.number().int();
const Iso = z.string().describe('ISO 8601');
const Timestamp = z.strictObject({ iso: z.string(), ms: Int });

export const PrincipalKey = named(
  'PrincipalKey',
  'A new API key of a principal (role principal); the secret is shown only here.',
  z.strictObject({ keyId: z.string(), secret: z.string().describe('shown once: keep it'), principalId: z.string() }),
);
const Movement = {
  id: z.string(),
  asset: z.string(),
  amount: Decimal,
  seq: z.string().nullable().describe('engine_command seq of the transfer (null when replayed)'),
  replayed: z.boolean(),
  principalId: z.string(),
};
export const PrincipalFundsMovement = named(
  'PrincipalFundsMovement',
  "An operator's deposit into (mint) or withdrawal from (burn) a principal's own account, through the sequencer.",
  z.strictObject({ ...Movement, kind: z.enum(['deposit', 'withdraw']) }),
);
export const PrincipalTransfer = named(
  'PrincipalTransfer',
  "A transfer between the principal's own account and one of its agents' (through the sequencer: the engine's balances see it at once).",
  z.strictObject({ ...Movement, direction: z.enum(['to_agent', 'from_agent']), agentId: z.string() }),
);
export const PrincipalAccount = named(
  'PrincipalAccount',
  "The principal's own account: what it holds per asset (not its agents'), and whether an operator froze it.",
  z.strictObject({ principalId: z.string(), frozen: z.boolean(), balances: z.record(z.string(), Decimal) }),
);
export const PrincipalAgentList = named(
  'PrincipalAgentList',
  "The principal's agents, oldest first, with whether each is frozen and its policy's version (0: never set).",
  z.strictObject({
    agents: z.array(
      z.strictObject({
        id: z.string(),
        name: z.string(),
        principalId: z.string().nullable(),
        status: z.string(),
        createdAt: Timestamp,
        frozen: z.boolean(),
        policyVersion: Int,
      }),
    ),
  }),
);
export const AgentKeyList = named(
  'AgentKeyList',
  "An agent's API keys (never their secrets), oldest first.",
  z.strictObject({
    keys: z.array(z.strictObject({ keyId: z.string(), label: z.string().nullable(), createdAt: Timestamp, revokedAt: Timestamp.nullable() })),
  }),
);
export const AgentOrderList = named('AgentOrderList', "A page of an agent's orders, newest first.", S.OrderList.extend({ agentId: z.string() }));
export const AgentFillList = named('AgentFillList', "An agent's fills, newest first.", S.FillList.extend({ agentId: z.string() }));
const Policy = named(
  'BudgetPolicy',
  'A budget policy as set: spend caps over rolling windows of command time, per-order rules, the delegation expiry. null/absent rules: none.',
  z.strictObject({
    spendCaps: z.array(z.strictObject({ windowSeconds: Int, limit: Decimal })),
    maxOrderNotional: Decimal.nullable(),
    maxPrice: z.record(z.string(), Decimal).describe('per allowance asset: the highest price per lot a buy may pay'),
    markets: z.array(z.string()).nullable(),
    orderTypes: z.array(z.enum(['limit', 'market'])).nullable(),
    expiresAt: Iso.nullable(),
    redemptionCaps: z
      .array(z.strictObject({ asset: z.string(), windowSeconds: Int, limit: Decimal }))
      .describe('per allowance asset: the most the agent may redeem over a rolling window, in the asset’s units (redemption is not spend)'),
    subAgents: z.boolean().describe('whether the agent may create sub-agents with carve-outs of its budget'),
    approval: z
      .strictObject({
        above: Decimal.nullable().describe('orders above this notional (credits) wait; null: no order waits'),
        ttlSeconds: Int,
        redemptionsAbove: z
          .record(z.string(), Decimal)
          .optional()
          .describe('per allowance asset: redemptions above this many units wait (absent: none)'),
      })
      .nullable()
      .describe(
        'orders above `above` credits of notional, and redemptions above `redemptionsAbove[asset]` units, wait as pending_approval for the principal, at most ttlSeconds of command time',
      ),
  }),
);
export const Budget = named(
  'Budget',
  "An agent's budget as the sequencer holds it now: its policy and version, whether it is frozen, what open buy orders reserve, and each cap's usage " +
    '(used: spent in the rolling window; remaining: limit - used - reserved; resetsAt: when the oldest spend in the window leaves it).',
  z.strictObject({
    agentId: z.string(),
    version: Int,
    frozen: z.boolean(),
    frozenBy: z.enum(['operator', 'principal']).nullable().describe("who froze it: only an operator thaws an operator's freeze"),
    policy: Policy.nullable(),
    reserved: Decimal,
    usage: z.array(
      z.strictObject({ windowSeconds: Int, limit: Decimal, used: Decimal, reserved: Decimal, remaining: Decimal, resetsAt: Iso.nullable() }),
    ),
    redemptionUsage: z
      .array(z.strictObject({ asset: z.string(), windowSeconds: Int, limit: Decimal, used: Decimal, remaining: Decimal, resetsAt: Iso.nullable() }))
      .describe('each redemption cap now, in its asset’s units'),
    parentId: z.string().nullable().describe('the parent agent of a sub-agent'),
    carveOut: z
      .strictObject({ limit: Decimal, spent: Decimal, reserved: Decimal, carvedOut: Decimal, remaining: Decimal })
      .nullable()
      .describe("a sub-agent's carve-out: the most its subtree may ever spend; remaining = limit - spent - reserved - carvedOut"),
    subAgents: z.array(z.string()),
    carvedOut: Decimal.describe("the carve-outs given to this agent's sub-agents (held against its caps)"),
    asOf: Iso,
  }),
);
export const SubAgent = named(
  'SubAgent',
  'A new sub-agent, its first API key (shown once) and its budget.',
  z.strictObject({
    id: z.string(),
    name: z.string(),
    principalId: z.string().nullable(),
    status: z.string(),
    createdAt: Timestamp,
    parentId: z.string(),
    apiKey: z.strictObject({ keyId: z.string(), secret: z.string() }),
    budget: Budget,
  }),
);
export const SubAgentList = named(
  'SubAgentList',
  "An agent's sub-agents with their budgets.",
  z.strictObject({ agentId: z.string(), subAgents: z.array(Budget) }),
);
export const FreezeResult = named(
  'FreezeResult',
  'What a freeze, thaw or kill switch did, in one sequenced step: the agents, the orders it cancelled, the keys it revoked.',
  z.strictObject({
    agentIds: z.array(z.string()),
    principalId: z.string().optional(),
    frozen: z.boolean(),
    seq: z.string().nullable(),
    cancelledOrders: z.array(z.string()),
    revokedKeys: z.array(z.string()),
  }),
);
export const SpendReport = named(
  'SpendReport',
  'Spend over a period [from, to): credits paid for allowances (spent: trades + auction payments + posted-price purchases, each also on its own line), ' +
    'credits received for allowances sold, fees, allowances bought, won and redeemed (redemption is not spend), and each cap now.',
  z.strictObject({
    from: Iso,
    to: Iso,
    spent: Decimal,
    agents: z.array(
      z.strictObject({
        agentId: z.string(),
        spent: Decimal,
        spentBy: z.strictObject({ trades: Decimal, auctions: Decimal, purchases: Decimal }),
        received: Decimal,
        creditFeesPaid: Decimal,
        redeemed: z.record(z.string(), Decimal).describe('per allowance asset: the units redeemed (consumed; not spend)'),
        allowances: z.record(z.string(), z.strictObject({ bought: Decimal, feesPaid: Decimal })).describe('bought on the book, per asset'),
        auctions: z
          .strictObject({ payments: Decimal, won: z.record(z.string(), Decimal), auctionsWon: Int })
          .describe('auctions settled in the period: payments (VCG or core) and units won per asset'),
        purchases: z
          .strictObject({ cost: Decimal, bought: z.record(z.string(), Decimal), count: Int })
          .describe('posted-price purchases: their cost and the units bought per asset'),
        budget: Budget,
      }),
    ),
  }),
);

// --- examples ---
const PRN = 'prn_7h2k9d4m1x6c';
const AGT = ex.agent.id;
const policy = {
  spendCaps: [
    { windowSeconds: 3600, limit: '100.000' },
    { windowSeconds: 86400, limit: '500.000' },
  ],
  maxOrderNotional: '50.000',
  maxPrice: { 'GPT-X.1K': '2.500' },
  markets: [ex.MARKET_ID],
  orderTypes: ['limit', 'market'] as ('limit' | 'market')[],
  expiresAt: '2027-01-01T00:00:00.000Z',
  redemptionCaps: [{ asset: 'GPT-X.1K', windowSeconds: 86400, limit: '500' }],
  subAgents: true,
  approval: { above: '40.000', ttlSeconds: 3600 },
};
const budget = {
  agentId: AGT,
  version: 3,
  frozen: false,
  frozenBy: null,
  policy,
  reserved: '12.500',
  usage: [
    { windowSeconds: 3600, limit: '100.000', used: '40.000', reserved: '12.500', remaining: '47.500', resetsAt: '2026-12-01T12:41:07.000Z' },
    { windowSeconds: 86400, limit: '500.000', used: '220.000', reserved: '12.500', remaining: '267.500', resetsAt: '2026-12-02T09:02:11.000Z' },
  ],
  redemptionUsage: [{ asset: 'GPT-X.1K', windowSeconds: 86400, limit: '500', used: '30', remaining: '470', resetsAt: '2026-12-02T10:15:00.000Z' }],
  parentId: null,
  carveOut: null,
  subAgents: ['agt_5m2x8c1v9q3k'],
  carvedOut: '30.000',
  asOf: ex.T0.iso,
};
const SUB = 'agt_5m2x8c1v9q3k';
const subBudget = {
  ...budget,
  agentId: SUB,
  version: 1,
  policy: { ...policy, maxOrderNotional: '10.000', subAgents: false },
  reserved: '2.000',
  usage: [],
  parentId: AGT,
  carveOut: { limit: '30.000', spent: '12.000', reserved: '2.000', carvedOut: '0.000', remaining: '16.000' },
  subAgents: [],
  carvedOut: '0.000',
};
const freeze = { agentIds: [AGT], frozen: true, seq: '1042', cancelledOrders: ['42', '43'], revokedKeys: [] as string[] };
const report = {
  from: '2026-11-30T12:00:00.000Z',
  to: ex.T0.iso,
  spent: '232.000',
  agents: [
    {
      agentId: AGT,
      spent: '232.000',
      spentBy: { trades: '220.000', auctions: '9.000', purchases: '3.000' },
      received: '15.000',
      creditFeesPaid: '0.015',
      redeemed: { 'GPT-X.1K': '30' },
      allowances: { 'GPT-X.1K': { bought: '110', feesPaid: '1' } },
      auctions: { payments: '9.000', won: { 'GPT-X.1K': '4' }, auctionsWon: 1 },
      purchases: { cost: '3.000', bought: { 'GPT-X.1K': '2' }, count: 1 },
      budget,
    },
  ],
};
const BUDGET_REFUSALS: ErrorCode[] = [
  'APPROVAL_TOO_MANY_PENDING',
  'APPROVAL_AMEND_ABOVE_THRESHOLD',
  'APPROVAL_REJECTED',
  'BUDGET_EXCEEDED',
  'BUDGET_ORDER_NOTIONAL_EXCEEDED',
  'BUDGET_PRICE_ABOVE_CEILING',
  'BUDGET_MARKET_NOT_ALLOWED',
  'BUDGET_ORDER_TYPE_NOT_ALLOWED',
  'BUDGET_POLICY_EXPIRED',
  'BUDGET_AGENT_FROZEN',
];
/** What placing (or testing) an order may also refuse with when the agent has a policy or is frozen. */
export const ORDER_BUDGET_REFUSALS = BUDGET_REFUSALS;
const AMOUNTS: ErrorCode[] = ['AMOUNT_INVALID', 'AMOUNT_TOO_MANY_DECIMALS', 'AMOUNT_NEGATIVE', 'AMOUNT_OUT_OF_RANGE', 'VALIDATION_FAILED'];
const DOWN: ErrorCode = 'SERVICE_UNAVAILABLE';
const freezeDoc = (operationId: string, summary: string, description: string, access: 'principal' | 'admin'): OperationDoc => ({
  operationId,
  summary,
  description,
  tag: access === 'admin' ? 'admin' : 'principal',
  access,
  errors: ['NOT_FOUND', 'BUDGET_AGENT_FROZEN', DOWN],
  response: FreezeResult,
  example: freeze,
});

export const PRINCIPAL_OPERATIONS: Record<string, OperationDoc> = {
  'POST /v1/admin/principals/{principalId}/keys': {
    operationId: 'createPrincipalKey',
    summary: 'Issue an API key to a principal',
    description: 'A key with role principal: its holder acts for the principal on /v1/principal/... (its agents, their keys, funds, policies).',
    tag: 'admin',
    access: 'admin',
    errors: ['NOT_FOUND'],
    response: PrincipalKey,
    request: { label: 'ops' },
    example: { keyId: 'ak_9d2k4m7q1v8c3x5z6b', secret: 'kS8v...shown-once', principalId: PRN },
  },
  'POST /v1/admin/principals/{principalId}/deposits': {
    operationId: 'depositToPrincipal',
    summary: "Deposit into a principal's own account (mint)",
    description: 'Through the sequencer, idempotent by id. The principal then funds its agents with POST /v1/principal/transfers.',
    tag: 'admin',
    access: 'admin',
    errors: ['NOT_FOUND', 'LEDGER_ASSET_NOT_FOUND', ...AMOUNTS, DOWN],
    response: PrincipalFundsMovement,
    request: { id: 'acme-topup-1', asset: 'CREDIT', amount: '10000' },
    example: { id: 'acme-topup-1', kind: 'deposit', principalId: PRN, asset: 'CREDIT', amount: '10000.000', seq: '1001', replayed: false },
  },
  'POST /v1/admin/principals/{principalId}/withdrawals': {
    operationId: 'withdrawFromPrincipal',
    summary: "Withdraw from a principal's own account (burn)",
    tag: 'admin',
    access: 'admin',
    errors: ['NOT_FOUND', 'LEDGER_ASSET_NOT_FOUND', 'BUDGET_PRINCIPAL_INSUFFICIENT_FUNDS', ...AMOUNTS, DOWN],
    response: PrincipalFundsMovement,
    request: { id: 'acme-payout-1', asset: 'CREDIT', amount: '100' },
    example: { id: 'acme-payout-1', kind: 'withdraw', principalId: PRN, asset: 'CREDIT', amount: '100.000', seq: '1002', replayed: false },
  },
  'POST /v1/admin/agents/{agentId}/freeze': {
    ...freezeDoc(
      'adminFreezeAgent',
      'Freeze an agent (operator)',
      'One sequenced step: the agent may only cancel from then on; cancelOrders (default true) cancels its open orders in the same step; revokeKeys also revokes its keys (the kill switch).',
      'admin',
    ),
    request: { cancelOrders: true, revokeKeys: false },
  },
  'POST /v1/admin/agents/{agentId}/unfreeze': {
    ...freezeDoc('adminUnfreezeAgent', 'Thaw an agent (operator)', 'It may place orders again (revoked keys stay revoked).', 'admin'),
    example: { ...freeze, frozen: false, cancelledOrders: [] },
  },
  'POST /v1/admin/principals/{principalId}/freeze': {
    ...freezeDoc(
      'adminFreezePrincipal',
      'Freeze a principal (operator)',
      'Freezes every agent of the principal and its transfers to them, in one sequenced step; the principal cannot thaw its agents or create new ones until an operator thaws it.',
      'admin',
    ),
    request: { cancelOrders: true, revokeKeys: false },
    example: { ...freeze, principalId: PRN },
  },
  'POST /v1/admin/principals/{principalId}/unfreeze': {
    ...freezeDoc('adminUnfreezePrincipal', 'Thaw a principal (operator)', 'Thaws the principal and every agent of it.', 'admin'),
    example: { ...freeze, principalId: PRN, frozen: false, cancelledOrders: [] },
  },
  'GET /v1/principal/account': {
    operationId: 'getPrincipalAccount',
    summary: "The principal's own account",
    tag: 'principal',
    access: 'principal',
    errors: [DOWN],
    response: PrincipalAccount,
    example: { principalId: PRN, frozen: false, balances: { CREDIT: '9750.000' } },
  },
  'POST /v1/principal/agents': {
    operationId: 'principalCreateAgent',
    summary: 'Create an agent (and its first API key)',
    tag: 'principal',
    access: 'principal',
    errors: ['BUDGET_AGENT_FROZEN', DOWN],
    response: S.Agent,
    request: { name: 'research-bot' },
    example: { ...ex.agent, principalId: PRN },
  },
  'GET /v1/principal/agents': {
    operationId: 'principalListAgents',
    summary: "The principal's agents",
    tag: 'principal',
    access: 'principal',
    errors: [DOWN],
    response: PrincipalAgentList,
    example: {
      agents: [{ id: AGT, name: ex.agent.name, principalId: PRN, status: 'active', createdAt: ex.T0, frozen: false, policyVersion: 3 }],
    },
  },
  'GET /v1/principal/agents/{agentId}/keys': {
    operationId: 'principalListAgentKeys',
    summary: "An agent's API keys",
    tag: 'principal',
    access: 'principal',
    errors: ['NOT_FOUND'],
    response: AgentKeyList,
    example: { keys: [{ keyId: ex.agent.apiKey.keyId, label: 'first key', createdAt: ex.T0, revokedAt: null }] },
  },
  'POST /v1/principal/agents/{agentId}/keys': {
    operationId: 'principalCreateAgentKey',
    summary: 'Issue an API key to one of my agents',
    tag: 'principal',
    access: 'principal',
    errors: ['NOT_FOUND'],
    response: S.ApiKey,
    request: { label: 'second key' },
    example: { ...ex.agent.apiKey, agentId: AGT },
  },
  'DELETE /v1/principal/agents/{agentId}/keys/{keyId}': {
    operationId: 'principalRevokeAgentKey',
    summary: "Revoke one of my agents' keys",
    description: 'Refused from the next request on, on every api node.',
    tag: 'principal',
    access: 'principal',
    errors: ['NOT_FOUND'],
    response: null,
  },
  'POST /v1/principal/transfers': {
    operationId: 'principalTransfer',
    summary: 'Move funds between my account and one of my agents',
    description:
      'Through the sequencer (so the engine sees it at once), idempotent by id. from_agent cannot take what open orders hold; to_agent is refused while an operator has frozen the principal.',
    tag: 'principal',
    access: 'principal',
    errors: [
      'NOT_FOUND',
      'LEDGER_ASSET_NOT_FOUND',
      'LEDGER_INSUFFICIENT_FUNDS',
      'BUDGET_PRINCIPAL_INSUFFICIENT_FUNDS',
      'BUDGET_AGENT_FROZEN',
      ...AMOUNTS,
      DOWN,
    ],
    response: PrincipalTransfer,
    request: { id: 'fund-research-1', agentId: AGT, direction: 'to_agent', asset: 'CREDIT', amount: '250' },
    example: {
      id: 'fund-research-1',
      direction: 'to_agent',
      principalId: PRN,
      agentId: AGT,
      asset: 'CREDIT',
      amount: '250.000',
      seq: '1003',
      replayed: false,
    },
  },
  'GET /v1/principal/agents/{agentId}/balances': {
    operationId: 'principalAgentBalances',
    summary: "One of my agents' balances",
    tag: 'principal',
    access: 'principal',
    errors: ['NOT_FOUND', DOWN],
    response: S.Balances,
    example: { agentId: AGT, balances: { CREDIT: { free: '237.500', used: '12.500', total: '250.000' } } },
  },
  'GET /v1/principal/agents/{agentId}/orders': {
    operationId: 'principalAgentOrders',
    summary: "One of my agents' orders",
    tag: 'principal',
    access: 'principal',
    errors: ['NOT_FOUND'],
    response: AgentOrderList,
    example: { agentId: AGT, orders: [ex.order], nextCursor: null },
  },
  'GET /v1/principal/agents/{agentId}/fills': {
    operationId: 'principalAgentFills',
    summary: "One of my agents' fills",
    tag: 'principal',
    access: 'principal',
    errors: ['NOT_FOUND'],
    response: AgentFillList,
    example: { agentId: AGT, fills: [ex.fill], nextCursor: null },
  },
  'GET /v1/principal/agents/{agentId}/policy': {
    operationId: 'principalGetPolicy',
    summary: "One of my agents' budget",
    tag: 'principal',
    access: 'principal',
    errors: ['NOT_FOUND', DOWN],
    response: Budget,
    example: budget,
  },
  'PUT /v1/principal/agents/{agentId}/policy': {
    operationId: 'principalSetPolicy',
    summary: "Set one of my agents' budget policy",
    description:
      'The whole policy (rules left out are lifted), applied in the sequence: every order after the answer is checked against it. ' +
      'Windows are rolling over command time. With expectedVersion, refused (409) if the policy changed since. Answers the effective policy and its new version.',
    tag: 'principal',
    access: 'principal',
    errors: ['NOT_FOUND', 'POLICY_INVALID', 'POLICY_VERSION_CONFLICT', DOWN],
    response: Budget,
    request: { expectedVersion: 2, ...policy },
    example: budget,
  },
  'DELETE /v1/principal/agents/{agentId}/policy': {
    operationId: 'principalClearPolicy',
    summary: "Lift one of my agents' budget policy",
    tag: 'principal',
    access: 'principal',
    errors: ['NOT_FOUND', DOWN],
    response: Budget,
    example: { ...budget, version: 4, policy: null, reserved: '0.000', usage: [] },
  },
  'POST /v1/principal/agents/{agentId}/freeze': {
    ...freezeDoc(
      'principalFreezeAgent',
      'Freeze one of my agents',
      'One sequenced step: from then on the agent may only cancel; cancelOrders (default true) cancels its open orders in the same step.',
      'principal',
    ),
    request: { cancelOrders: true },
  },
  'POST /v1/principal/agents/{agentId}/unfreeze': {
    ...freezeDoc(
      'principalUnfreezeAgent',
      'Thaw one of my agents',
      'Refused while an operator has frozen the principal, and (403 BUDGET_FROZEN_BY_OPERATOR, naming the agents) when an operator froze the agent or one of its sub-agents: only an operator thaws that.',
      'principal',
    ),
    errors: ['NOT_FOUND', 'BUDGET_AGENT_FROZEN', 'BUDGET_FROZEN_BY_OPERATOR', DOWN],
    example: { ...freeze, frozen: false, cancelledOrders: [] },
  },
  'POST /v1/principal/agents/{agentId}/kill': {
    ...freezeDoc(
      'principalKillAgent',
      'Kill switch',
      'In one sequenced step: freeze the agent and cancel every open order of it (no order slips in after the answer); then revoke every key of it.',
      'principal',
    ),
    example: { ...freeze, revokedKeys: [ex.agent.apiKey.keyId] },
  },
  'GET /v1/principal/agents/{agentId}/spend': {
    operationId: 'principalAgentSpend',
    summary: "One of my agents' spend over a period",
    description: 'from/to: ISO 8601, default the last 24 hours. Spend is the credits paid for allowances (buy fills); the budget part is as of now.',
    tag: 'principal',
    access: 'principal',
    errors: ['NOT_FOUND', DOWN],
    response: SpendReport,
    example: report,
  },
  'GET /v1/principal/spend': {
    operationId: 'principalSpend',
    summary: 'Spend of all my agents over a period',
    tag: 'principal',
    access: 'principal',
    errors: [DOWN],
    response: SpendReport,
    example: report,
  },
  'POST /v1/account/subagents': {
    operationId: 'createSubAgent',
    summary: 'Create a sub-agent with a carve-out of my budget',
    description:
      "Needs a policy with subAgents: true. The carve-out is escrowed in the sequencer: it counts against each of my caps (and my own carve-out) until the sub-agent is revoked, so my sub-agents' carve-outs never sum to more than I may spend.",
    tag: 'account',
    access: 'agent',
    errors: ['BUDGET_CARVE_OUT_REFUSED', ...AMOUNTS, DOWN],
    response: SubAgent,
    request: { name: 'summariser', carveOut: '30' },
    example: {
      id: SUB,
      name: 'summariser',
      principalId: PRN,
      status: 'active',
      createdAt: ex.T0,
      parentId: AGT,
      apiKey: ex.agent.apiKey,
      budget: { ...subBudget, policy: null, carveOut: { ...subBudget.carveOut, spent: '0.000', reserved: '0.000', remaining: '30.000' } },
    },
  },
  'GET /v1/account/subagents': {
    operationId: 'listSubAgents',
    summary: 'My sub-agents',
    tag: 'account',
    access: 'agent',
    errors: [DOWN],
    response: SubAgentList,
    example: { agentId: AGT, subAgents: [subBudget] },
  },
  'PUT /v1/account/subagents/{agentId}/carve-out': {
    operationId: 'setCarveOut',
    summary: "Change a sub-agent's carve-out",
    description:
      'An increase needs room under my caps and my own carve-out; a decrease may not go below what its subtree holds (spent, reserved, carved out).',
    tag: 'account',
    access: 'agent',
    errors: ['NOT_FOUND', 'BUDGET_CARVE_OUT_REFUSED', ...AMOUNTS, DOWN],
    response: Budget,
    request: { amount: '50' },
    example: { ...subBudget, carveOut: { ...subBudget.carveOut, limit: '50.000', remaining: '36.000' } },
  },
  'PUT /v1/account/subagents/{agentId}/policy': {
    operationId: 'setSubAgentPolicy',
    summary: "Set a sub-agent's policy",
    description: 'Never above mine (400 POLICY_ABOVE_PARENT naming the field); the sequencer also applies my rules to its orders.',
    tag: 'account',
    access: 'agent',
    errors: ['NOT_FOUND', 'POLICY_INVALID', 'POLICY_ABOVE_PARENT', 'POLICY_VERSION_CONFLICT', DOWN],
    response: Budget,
    request: { maxOrderNotional: '10', markets: [ex.MARKET_ID], spendCaps: [{ windowSeconds: 3600, limit: '20' }] },
    example: subBudget,
  },
  'POST /v1/account/subagents/{agentId}/revoke': {
    operationId: 'revokeSubAgent',
    summary: 'Revoke a sub-agent',
    description:
      'In one sequenced step: cancel the open orders of its whole subtree, freeze it, return the unspent carve-outs up the tree; then revoke its keys.',
    tag: 'account',
    access: 'agent',
    errors: ['NOT_FOUND', DOWN],
    response: FreezeResult,
    example: { agentIds: [SUB], frozen: true, seq: '1077', cancelledOrders: ['51'], revokedKeys: ['ak_7k2m9x4c1v8q3z5b6n'] },
  },
  'GET /v1/account/budget': {
    operationId: 'getMyBudget',
    summary: 'My budget',
    description: "The policy the agent's principal set, whether it is frozen, and what each cap has left (an agent cannot change it).",
    tag: 'account',
    access: 'agent',
    errors: [DOWN],
    response: Budget,
    example: budget,
  },
};

// each schema holds what its controller returns (type check only)
type Out<F extends (...a: never[]) => unknown> = Awaited<ReturnType<F>>;
type Widen<T> = T extends string
  ? string
  : T extends number
    ? number
    : T extends boolean
      ? boolean
      : T extends readonly (infer E)[]
        ? Widen<E>[]
        : T extends object
          ? { [K in keyof T]: Widen<T[K]> }
          : T;
const fits = <View, Sc extends z.ZodType>(_s: Sc, f: (v: View) => Widen<z.output<Sc>>): void => void f;
fits<Out<AdminPrincipalsController['issueKey']>, typeof PrincipalKey>(PrincipalKey, (v) => v);
fits<Out<AdminPrincipalsController['deposit']>, typeof PrincipalFundsMovement>(PrincipalFundsMovement, (v) => v);
fits<Out<AdminPrincipalsController['freezeAgent']>, typeof FreezeResult>(FreezeResult, (v) => v);
fits<Out<PrincipalController['account']>, typeof PrincipalAccount>(PrincipalAccount, (v) => v);
fits<Out<PrincipalController['createAgent']>, typeof S.Agent>(S.Agent, (v) => v);
fits<Out<PrincipalController['listAgents']>, typeof PrincipalAgentList>(PrincipalAgentList, (v) => v);
fits<Out<PrincipalController['listKeys']>, typeof AgentKeyList>(AgentKeyList, (v) => v);
fits<Out<PrincipalController['issueKey']>, typeof S.ApiKey>(S.ApiKey, (v) => v);
fits<Out<PrincipalController['transfer']>, typeof PrincipalTransfer>(PrincipalTransfer, (v) => v);
fits<Out<PrincipalController['policy']>, typeof Budget>(Budget, (v) => v);
fits<Out<PrincipalController['spend']>, typeof SpendReport>(SpendReport, (v) => v);
fits<Out<PrincipalController['kill']>, typeof FreezeResult>(FreezeResult, (v) => v);
fits<Out<AgentBudgetController['budget']>, typeof Budget>(Budget, (v) => v);
fits<Out<SubAgentsController['create']>, typeof SubAgent>(SubAgent, (v) => v);
fits<Out<SubAgentsController['list']>, typeof SubAgentList>(SubAgentList, (v) => v);
fits<Out<SubAgentsController['revoke']>, typeof FreezeResult>(FreezeResult, (v) => v);
