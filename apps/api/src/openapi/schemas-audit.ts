import { z } from 'zod';
import type { AdminMarketsController } from '../admin/admin-markets.controller';
import type { AdminController } from '../admin/admin.controller';
import type { AdminListsController } from '../admin-lists/admin-lists.controller';
import type { AuditController } from '../audit/audit.controller';
import type { ReceiptKeysController } from '../redemptions/receipt-keys.controller';
import type { RedemptionsController } from '../redemptions/redemptions.controller';
import { responseSchemas } from './schemas';

/** Response schemas of redemptions, the JWKS and the audit log (named components, like schemas.ts). */
const named = <T extends z.ZodType>(id: string, description: string, schema: T): T => {
  responseSchemas.add(schema, { id, description });
  return schema;
};
const Decimal = z.string().regex(/^-?[0-9]+(\.[0-9]+)?$/);
const Iso = z.string().describe('ISO 8601 instant');

export const Redemption = named(
  'Redemption',
  'A redemption: units of an allowance consumed, with its signed receipt (compact JWS, EdDSA/Ed25519; verify with /.well-known/jwks.json).',
  z.strictObject({
    id: z.string().describe('the receipt id (rdm_...), the `jti` claim'),
    clientRedemptionId: z.string(),
    agentId: z.string(),
    principalId: z.string().nullable(),
    asset: z.string(),
    model: z.string().nullable(),
    tokenClass: z.string().nullable(),
    amount: Decimal,
    status: z
      .enum(['issued', 'pending_approval', 'rejected', 'expired', 'canceled'])
      .describe(
        'issued: burnt, with its receipt; pending_approval: above the policy’s approval.redemptionsAbove, waiting for the principal (nothing burnt); rejected, expired, canceled: never burnt (reason says why)',
      ),
    reason: z
      .string()
      .nullable()
      .describe('why it was not issued: APPROVAL_REJECTED, APPROVAL_EXPIRED, APPROVAL_CANCELLED, or the code the burn met when approved'),
    issuedAt: Iso.nullable().describe('when the units were burnt (null unless issued)'),
    allowanceExpiresAt: Iso.nullable(),
    approval: z
      .strictObject({ expiresAt: Iso, decidedAt: Iso.nullable(), requestedAt: Iso.nullable().optional() })
      .nullable()
      .describe('present when it waited for approval: until when, and when the wait ended (null while waiting)'),
    seq: z.string().describe('the engine command that burned the units (or, not issued, the last command about it)'),
    receipt: z
      .string()
      .nullable()
      .describe('compact JWS; claims iss, jti, sub (agent), principal, asset, model, token_class, amount, iat, allowance_exp (null unless issued)'),
    kid: z.string().nullable(),
  }),
);
export const RedemptionResult = named(
  'RedemptionResult',
  'A redemption as answered to its request; replayed: the same id again.',
  Redemption.extend({ replayed: z.boolean() }),
);
export const RedemptionList = named(
  'RedemptionList',
  "The agent's redemptions, newest first; nextCursor: pass it as cursor for the next page (null: the last page).",
  z.strictObject({ redemptions: z.array(Redemption), nextCursor: z.string().nullable() }),
);
export const ReceiptStatus = named(
  'ReceiptStatus',
  'Whether a receipt id was issued here (valid) or not (unknown).',
  z.strictObject({
    id: z.string(),
    status: z.enum(['valid', 'unknown']),
    asset: z.string().optional(),
    amount: Decimal.optional(),
    issuedAt: Iso.optional(),
    kid: z.string().nullable().optional(),
  }),
);
export const Jwks = named(
  'Jwks',
  'A JWK Set (RFC 7517) of the receipt signing keys: every key ever used (OKP / Ed25519), newest first.',
  z.strictObject({
    keys: z.array(
      z.strictObject({
        kty: z.literal('OKP'),
        crv: z.literal('Ed25519'),
        x: z.string(),
        kid: z.string(),
        alg: z.literal('EdDSA'),
        use: z.literal('sig'),
      }),
    ),
  }),
);
export const ReceiptKeyRotated = named(
  'ReceiptKeyRotated',
  'The new signing key and the one it retired (still in the JWKS).',
  z.strictObject({ kid: z.string(), retired: z.string().nullable() }),
);
export const AuditEntry = named(
  'AuditEntry',
  'One audit row: who (actor and key), what (action, target, before and after), when, the request id, and its link in the hash chain.',
  z.strictObject({
    seq: z.string(),
    at: Iso,
    actor: z.strictObject({ kind: z.enum(['admin', 'principal', 'agent', 'system']), id: z.string().nullable(), keyId: z.string().nullable() }),
    action: z.string(),
    target: z.strictObject({ kind: z.string(), id: z.string() }),
    requestId: z.string().nullable(),
    reason: z.string().nullable(),
    before: z.unknown(),
    after: z.unknown(),
    commandSeq: z.string().nullable().describe('the engine command it committed with (sequenced actions)'),
    hash: z.string(),
    prevHash: z.string(),
  }),
);
export const AuditPage = named(
  'AuditPage',
  'Audit rows newest first; nextCursor: pass it as cursor for the next page (null: the last page).',
  z.strictObject({ entries: z.array(AuditEntry), nextCursor: z.string().nullable() }),
);

export const MarketRulesChanged = named(
  'MarketRulesChanged',
  "The market's rules in force from the engine command `seq` on.",
  z.strictObject({
    id: z.string(),
    rules: z.strictObject({
      makerFeeBps: z.number().int(),
      takerFeeBps: z.number().int(),
      minOrderLots: z.number().int(),
      maxOrderLots: z.number().int(),
      maxPriceTicks: z.number().int(),
      priceBandBps: z.number().int(),
      maxSpend: Decimal,
    }),
    seq: z.string(),
  }),
);
export const RotatedKey = named(
  'RotatedKey',
  'The new key (its secret shown once) and the key it replaced (revoked).',
  z.strictObject({
    keyId: z.string(),
    secret: z.string(),
    replaces: z.string(),
    role: z.string(),
    agentId: z.string().nullable(),
    principalId: z.string().nullable(),
  }),
);

const Ts = z.strictObject({ iso: z.string(), ms: z.number().int() });
const pageOf = <T extends z.ZodType>(id: string, what: string, item: T) =>
  named(
    id,
    `${what}, in id order; nextCursor: pass it as cursor for the next page (null: the last page).`,
    z.strictObject({ items: z.array(item), nextCursor: z.string().nullable() }),
  );
export const PrincipalPage = pageOf(
  'PrincipalPage',
  'Principals',
  z.strictObject({ id: z.string(), name: z.string(), agents: z.number().int(), createdAt: Ts }),
);
export const AgentPage = pageOf(
  'AgentPage',
  'Agents',
  z.strictObject({ id: z.string(), name: z.string(), principalId: z.string().nullable(), status: z.string(), createdAt: Ts }),
);
export const KeyPage = pageOf(
  'KeyPage',
  'API keys (never any key material)',
  z.strictObject({
    keyId: z.string(),
    role: z.string(),
    agentId: z.string().nullable(),
    principalId: z.string().nullable(),
    label: z.string().nullable(),
    createdAt: Ts,
    revokedAt: Ts.nullable(),
  }),
);
export const MarketAdminPage = pageOf(
  'MarketAdminPage',
  'Markets with their rules',
  z.strictObject({
    id: z.string(),
    baseAsset: z.string(),
    tickSize: Decimal,
    lotSizeUnits: z.number().int(),
    rules: MarketRulesChanged.shape.rules,
    createdAt: Ts,
  }),
);

type Out<F extends (...a: never[]) => unknown> = Awaited<ReturnType<F>>;
const fits = <View, S extends z.ZodType>(_s: S, f: (v: View) => unknown): void => void f;
fits<Out<RedemptionsController['redeem']>, typeof RedemptionResult>(RedemptionResult, (v) => v);
fits<Out<RedemptionsController['list']>, typeof RedemptionList>(RedemptionList, (v) => v);
fits<Out<ReceiptKeysController['rotate']>, typeof ReceiptKeyRotated>(ReceiptKeyRotated, (v) => v);
fits<Out<AuditController['list']>, typeof AuditPage>(AuditPage, (v) => v);
fits<Out<AdminMarketsController['setRules']>, typeof MarketRulesChanged>(MarketRulesChanged, (v) => v);
fits<Out<AdminController['rotateKey']>, typeof RotatedKey>(RotatedKey, (v) => v);
fits<Out<AdminListsController['principals']>, typeof PrincipalPage>(PrincipalPage, (v) => v);
fits<Out<AdminListsController['agents']>, typeof AgentPage>(AgentPage, (v) => v);
fits<Out<AdminListsController['keys']>, typeof KeyPage>(KeyPage, (v) => v);
fits<Out<AdminListsController['markets']>, typeof MarketAdminPage>(MarketAdminPage, (v) => v);
