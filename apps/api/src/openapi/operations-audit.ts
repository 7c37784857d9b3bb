import type { ErrorCode } from '@ate/contracts';
import type { OperationDoc } from './operations';
import * as S from './schemas-audit';

/** Operations of redemptions, the JWKS, receipt key rotation and the audit log (merged into OPERATIONS). */
const AGENT = 'agt_3k9x2m7q1w8e';
const RECEIPT =
  'eyJhbGciOiJFZERTQSIsImtpZCI6InJrX2E4ZjNrMm05cTR3N3gxejUiLCJ0eXAiOiJhdGUtcmVjZWlwdCtqd3QifQ.eyJpc3MiOiJhdGUtZXhjaGFuZ2UiLCJqdGkiOiJyZG1fN2sybTlxNHc4ZTF4M3o1diJ9.c2lnbmF0dXJl';
const redemption = {
  id: 'rdm_7k2m9q4w8e1x3z5v',
  clientRedemptionId: 'job-42',
  agentId: AGENT,
  principalId: 'prn_a1b2c3d4e5f6',
  asset: 'GPT-4O.1K',
  model: 'gpt-4o',
  tokenClass: 'output',
  amount: '30',
  status: 'issued',
  reason: null,
  issuedAt: '2026-12-02T10:00:00.000Z',
  allowanceExpiresAt: '2027-01-01T00:00:00.000Z',
  approval: null,
  seq: '1841',
  receipt: RECEIPT,
  kid: 'rk_a8f3k2m9q4w7x1z5',
};
// (operations.ts imports this file: its constants are not initialised yet when this one runs)
const AMOUNT_ERRORS: ErrorCode[] = ['AMOUNT_INVALID', 'AMOUNT_TOO_MANY_DECIMALS', 'AMOUNT_NEGATIVE', 'AMOUNT_OUT_OF_RANGE'];
const REDEEM_ERRORS: ErrorCode[] = [
  'LEDGER_ASSET_NOT_FOUND',
  ...AMOUNT_ERRORS,
  'REDEMPTION_NOT_ALLOWANCE',
  'ALLOWANCE_EXPIRED',
  'REDEMPTION_INSUFFICIENT_BALANCE',
  'REDEMPTION_CONFLICT',
  'NOT_FOUND',
  'SERVICE_UNAVAILABLE',
  // the agent's budget policy: frozen, delegation over, a redemption cap (details as for orders)
  'BUDGET_AGENT_FROZEN',
  'BUDGET_POLICY_EXPIRED',
  'BUDGET_EXCEEDED',
  'APPROVAL_TOO_MANY_PENDING',
];

export const AUDIT_OPERATIONS: Record<string, OperationDoc> = {
  'POST /v1/redemptions': {
    operationId: 'redeem',
    summary: 'Redeem (consume) allowance units and get a signed receipt',
    tag: 'redemptions',
    access: 'agent',
    description:
      'N units of an allowance leave the agent for the redemption account (through the engine: open orders keep what they reserve). ' +
      'Idempotent by `id`: the same id again returns the same receipt (replayed: true) and never burns twice; another asset or amount under it is 409. ' +
      'An expired allowance is 422 ALLOWANCE_EXPIRED naming `expiresAt`. The receipt is a compact JWS (EdDSA) a provider verifies offline with /.well-known/jwks.json. ' +
      "Above the agent's policy `approval.redemptionsAbove[asset]`, the redemption is answered `pending_approval` (nothing burnt, no receipt) until its principal approves it " +
      '(POST /v1/principal/approvals/{id}/approve: burnt then) or rejects it, or it expires; the same id again answers its state, with the receipt once issued.',
    errors: REDEEM_ERRORS,
    response: S.RedemptionResult,
    request: { id: 'job-42', asset: 'GPT-4O.1K', amount: '30' },
    example: { ...redemption, replayed: false },
  },
  'GET /v1/redemptions': {
    operationId: 'listRedemptions',
    summary: "The agent's redemptions",
    tag: 'redemptions',
    access: 'agent',
    description: 'Newest first, cursor-paged (`limit` up to 500, default 100).',
    response: S.RedemptionList,
    example: { redemptions: [redemption], nextCursor: null },
  },
  'GET /v1/redemptions/{id}': {
    operationId: 'receiptStatus',
    summary: "A receipt's status (public)",
    tag: 'redemptions',
    access: 'public',
    description: 'For compute providers: `valid` when the exchange issued this receipt id, `unknown` otherwise (also for ids of another shape).',
    response: S.ReceiptStatus,
    example: { id: redemption.id, status: 'valid', asset: 'GPT-4O.1K', amount: '30', issuedAt: redemption.issuedAt, kid: redemption.kid },
  },
  'GET /.well-known/jwks.json': {
    operationId: 'receiptJwks',
    summary: 'Receipt signing keys (JWKS, public)',
    tag: 'redemptions',
    access: 'public',
    description: 'Every key receipts were ever signed with (a rotation keeps the old ones), so any receipt verifies offline by its `kid`.',
    response: S.Jwks,
    example: {
      keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', kid: redemption.kid, alg: 'EdDSA', use: 'sig' }],
    },
  },
  'POST /v1/admin/receipt-keys/rotate': {
    operationId: 'rotateReceiptKey',
    summary: 'Rotate the receipt signing key',
    tag: 'admin',
    access: 'admin',
    description: 'A new Ed25519 key signs from now on; the retired one stays in the JWKS. Audited (receipt_key.rotate).',
    response: S.ReceiptKeyRotated,
    example: { kid: 'rk_q9w8e7r6t5y4u3i2', retired: redemption.kid },
  },
  'PATCH /v1/admin/markets/{marketId}/rules': {
    operationId: 'setMarketRules',
    summary: "Change a market's rules",
    tag: 'admin',
    access: 'admin',
    description:
      "Fees, order size limits, the highest price, the price band, the largest spend: applied in the engine's sequence (every command after it sees them; " +
      'replayed at recovery). Resting orders stay. Tick and lot size are fixed. A highest price below a resting order is refused. Audited with before and after.',
    errors: ['NOT_FOUND', ...AMOUNT_ERRORS, 'SERVICE_UNAVAILABLE'],
    response: S.MarketRulesChanged,
    request: { takerFeeBps: 15, maxOrderLots: 5000, reason: 'tighter limits after the incident of 2026-12-01' },
    example: {
      id: 'GPT-X.1K/CREDIT',
      rules: {
        makerFeeBps: 0,
        takerFeeBps: 15,
        minOrderLots: 1,
        maxOrderLots: 5000,
        maxPriceTicks: 1048576,
        priceBandBps: 1000,
        maxSpend: '1000000.000',
      },
      seq: '2210',
    },
  },
  'POST /v1/admin/keys/{keyId}/rotate': {
    operationId: 'rotateKey',
    summary: 'Rotate an API key',
    tag: 'admin',
    access: 'admin',
    description:
      'A new key for the same owner and role; the old one is revoked at once on every node. One audited transaction. The secret is shown once.',
    errors: ['NOT_FOUND', 'ADMIN_KEY_REVOKED'],
    response: S.RotatedKey,
    example: {
      keyId: 'ak_n3w4k5e6y7i8d9a0b1c2',
      secret: 'q7-2x...',
      replaces: 'ak_0ld0k1e2y3i4d5a6b7c8',
      role: 'agent',
      agentId: AGENT,
      principalId: null,
    },
  },
  'GET /v1/admin/principals': {
    operationId: 'listPrincipals',
    summary: 'List and search principals',
    tag: 'admin',
    access: 'admin',
    description: '`q`: a case-insensitive substring of the id or name. Cursor-paged in id order.',
    errors: ['ADMIN_INVALID_CURSOR'],
    response: S.PrincipalPage,
    example: {
      items: [{ id: 'prn_a1b2c3d4e5f6', name: 'acme', agents: 3, createdAt: { iso: '2026-12-02T09:00:00.000Z', ms: 1796202000000 } }],
      nextCursor: null,
    },
  },
  'GET /v1/admin/agents': {
    operationId: 'listAgents',
    summary: 'List and search agents',
    tag: 'admin',
    access: 'admin',
    description: '`q` (id or name), `principalId`, `status`. Cursor-paged in id order.',
    errors: ['ADMIN_INVALID_CURSOR'],
    response: S.AgentPage,
    example: {
      items: [
        {
          id: AGENT,
          name: 'buyer-1',
          principalId: 'prn_a1b2c3d4e5f6',
          status: 'active',
          createdAt: { iso: '2026-12-02T09:00:00.000Z', ms: 1796202000000 },
        },
      ],
      nextCursor: AGENT,
    },
  },
  'GET /v1/admin/keys': {
    operationId: 'listKeys',
    summary: 'List and search API keys',
    tag: 'admin',
    access: 'admin',
    description: '`q` (key id or label), `agentId`, `principalId`, `role`, `revoked` (true/false). No key material is ever shown.',
    errors: ['ADMIN_INVALID_CURSOR'],
    response: S.KeyPage,
    example: {
      items: [
        {
          keyId: 'ak_0ld0k1e2y3i4d5a6b7c8',
          role: 'agent',
          agentId: AGENT,
          principalId: null,
          label: 'first key',
          createdAt: { iso: '2026-12-02T09:00:00.000Z', ms: 1796202000000 },
          revokedAt: null,
        },
      ],
      nextCursor: null,
    },
  },
  'GET /v1/admin/markets': {
    operationId: 'listAdminMarkets',
    summary: 'List and search markets with their rules',
    tag: 'admin',
    access: 'admin',
    description: '`q`: a substring of the market id or base asset. Cursor-paged in id order.',
    errors: ['ADMIN_INVALID_CURSOR'],
    response: S.MarketAdminPage,
    example: {
      items: [
        {
          id: 'GPT-X.1K/CREDIT',
          baseAsset: 'GPT-X.1K',
          tickSize: '0.001',
          lotSizeUnits: 1,
          rules: {
            makerFeeBps: 0,
            takerFeeBps: 15,
            minOrderLots: 1,
            maxOrderLots: 5000,
            maxPriceTicks: 1048576,
            priceBandBps: 1000,
            maxSpend: '1000000.000',
          },
          createdAt: { iso: '2026-12-02T09:00:00.000Z', ms: 1796202000000 },
        },
      ],
      nextCursor: null,
    },
  },
  'GET /v1/admin/audit': {
    operationId: 'auditLog',
    summary: 'The audit log',
    tag: 'admin',
    access: 'admin',
    description:
      'Every operator (and principal) action, newest first: who (actor, key), what (action, target, before/after), when, the request id, the hash link. ' +
      'Filters: actor (an id or key id), target, action, from/to (ISO 8601); cursor-paged. The chain is verified by GET /v1/admin/reconciliation.',
    errors: ['ADMIN_INVALID_CURSOR'],
    response: S.AuditPage,
    example: {
      entries: [
        {
          seq: '12',
          at: '2026-12-02T10:00:00.000Z',
          actor: { kind: 'admin', id: null, keyId: 'ak_9f8e7d6c5b4a3210fedc' },
          action: 'funds.mint',
          target: { kind: 'agent', id: AGENT },
          requestId: 'req-7f3a',
          reason: 'monthly top-up',
          before: { total: '0' },
          after: { total: '250000' },
          commandSeq: '17',
          hash: 'a3f1'.repeat(16),
          prevHash: '0'.repeat(64),
        },
      ],
      nextCursor: null,
    },
  },
};
