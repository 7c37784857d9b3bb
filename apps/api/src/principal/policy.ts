import { AppError, CREDIT, CREDIT_SCALE, formatAmount, marketIdOf, marketSymbolOf, parseAmount } from '@ate/contracts';
import {
  APPROVAL_TTL_MAX_MS,
  APPROVAL_TTL_MIN_MS,
  ApprovalRule,
  approvalRuleView,
  BudgetPolicy,
  CAP_WINDOW_MAX_MS,
  CAPS_MAX,
  CapUsage,
} from '@ate/sequencer';
import { z } from 'zod';
import { REDEMPTION_CAPS_MAX, type RedemptionCap, type RedemptionUsage } from '@ate/sequencer';

/**
 * A budget policy as the API takes and shows it: credits as decimal strings, windows in seconds, times in ISO.
 * The zod schema checks the shape only; `toPolicy` checks what the values mean and refuses a policy that can
 * never be satisfied with POLICY_INVALID naming the field and the reason.
 */
const Decimal = z.string().max(64);
export const PolicyBody = z.strictObject({
  /** the version this change starts from (GET the policy first): another version meanwhile is 409 POLICY_VERSION_CONFLICT */
  expectedVersion: z.number().int().min(0).optional(),
  /** rolling windows of command time: spend in the last `windowSeconds` never exceeds `limit` credits */
  spendCaps: z
    .array(z.strictObject({ windowSeconds: z.number(), limit: Decimal }))
    .max(64)
    .default([]),
  /** credits: the most one order may be worth (price x quantity, or its spend) */
  maxOrderNotional: Decimal.nullable().optional(),
  /** per allowance asset: the highest price a buy may pay, credits per lot */
  maxPrice: z.record(z.string().max(64), Decimal).optional(),
  /** markets the agent may trade (absent or null: every market) */
  markets: z.array(z.string().max(80)).max(64).nullable().optional(),
  orderTypes: z
    .array(z.enum(['limit', 'market']))
    .max(2)
    .nullable()
    .optional(),
  /** per allowance asset: what the agent may redeem in the last `windowSeconds`, in the asset's units (not spend: a counter of its own) */
  redemptionCaps: z
    .array(z.strictObject({ asset: z.string().max(64), windowSeconds: z.number(), limit: Decimal }))
    .max(64)
    .optional(),
  /** when the delegation ends (ISO 8601 or epoch ms); absent or null: never */
  expiresAt: z
    .union([z.string().max(40), z.number().int()])
    .nullable()
    .optional(),
  /** whether the agent may create sub-agents and give them carve-outs of its budget (default false) */
  subAgents: z.boolean().optional(),
  /**
   * orders above `above` credits of notional, and redemptions of an allowance above `redemptionsAbove[asset]` units,
   * wait as pending_approval until the principal approves or rejects them, or `ttlSeconds` of command time pass
   * (they expire); absent or null: no approval (`above` absent or null: no order waits)
   */
  approval: z
    .strictObject({
      above: Decimal.nullable().optional(),
      ttlSeconds: z.number(),
      redemptionsAbove: z.record(z.string().max(64), Decimal).optional(),
    })
    .nullable()
    .optional(),
});
export type PolicyInput = z.infer<typeof PolicyBody>;

const invalid = (field: string, reason: string): never => {
  throw new AppError('POLICY_INVALID', `The policy is not valid: ${field}: ${reason}.`, { field, reason });
};

function credits(field: string, s: string): number {
  let v: bigint;
  try {
    v = parseAmount(s, CREDIT_SCALE);
  } catch (e) {
    return invalid(
      field,
      `not a credit amount (${(e as AppError).code ?? 'AMOUNT_INVALID'}): a decimal string with at most ${CREDIT_SCALE} decimals`,
    );
  }
  if (v <= 0n) invalid(field, 'must be positive (to stop all spending, freeze the agent)');
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) invalid(field, 'too large');
  return Number(v);
}

/** What the policy checks need to know of the exchange: whether an asset and a market exist. */
export interface PolicyContext {
  now: number;
  hasAsset(code: string): Promise<boolean>;
  hasMarket(id: string): Promise<boolean>;
  /** the scale (decimals) of an allowance asset, or null when there is no such allowance (credits included) */
  allowanceScale(code: string): Promise<number | null>;
}

/** The engine's policy from the API's, or POLICY_INVALID. */
export async function toPolicy(b: PolicyInput, ctx: PolicyContext): Promise<BudgetPolicy> {
  if (b.spendCaps.length > CAPS_MAX) invalid('spendCaps', `at most ${CAPS_MAX} caps`);
  const seen = new Set<number>();
  const caps = b.spendCaps.map((c, i) => {
    const f = `spendCaps[${i}]`;
    if (!Number.isInteger(c.windowSeconds) || c.windowSeconds < 1 || c.windowSeconds * 1000 > CAP_WINDOW_MAX_MS)
      invalid(`${f}.windowSeconds`, `a window is a whole number of seconds from 1 to ${CAP_WINDOW_MAX_MS / 1000} (31 days)`);
    if (seen.has(c.windowSeconds)) invalid(`${f}.windowSeconds`, 'two caps over the same window');
    seen.add(c.windowSeconds);
    return { windowMs: c.windowSeconds * 1000, limit: credits(`${f}.limit`, c.limit) };
  });
  caps.sort((x, y) => x.windowMs - y.windowMs);
  const maxPrice: Record<string, number> = {};
  for (const [asset, price] of Object.entries(b.maxPrice ?? {})) {
    if (asset === CREDIT || !(await ctx.hasAsset(asset))) invalid(`maxPrice.${asset}`, 'no such allowance asset');
    maxPrice[asset] = credits(`maxPrice.${asset}`, price);
  }
  if (b.markets) {
    if (b.markets.length === 0) invalid('markets', 'allows no market (to stop all trading, freeze the agent)');
    for (const m of b.markets) if (!(await ctx.hasMarket(m))) invalid('markets', `no such market ${m}`);
  }
  // kept as the engine keys markets (BASE/CREDIT); shown as ids (BASE-CREDIT)
  const markets = b.markets ? [...new Set(b.markets.map((m) => marketSymbolOf(m) as string))] : null;
  if (b.orderTypes && b.orderTypes.length === 0) invalid('orderTypes', 'allows no order type');
  let expiresAt: number | null = null;
  if (b.expiresAt !== undefined && b.expiresAt !== null) {
    expiresAt = typeof b.expiresAt === 'number' ? b.expiresAt : Date.parse(b.expiresAt);
    if (!Number.isSafeInteger(expiresAt)) invalid('expiresAt', 'not a time (ISO 8601 or epoch ms)');
    if (expiresAt <= ctx.now) invalid('expiresAt', 'already past');
  }
  let approval: ApprovalRule | null = null;
  if (b.approval) {
    const t = b.approval.ttlSeconds;
    if (!Number.isInteger(t) || t * 1000 < APPROVAL_TTL_MIN_MS || t * 1000 > APPROVAL_TTL_MAX_MS)
      invalid('approval.ttlSeconds', `a whole number of seconds from ${APPROVAL_TTL_MIN_MS / 1000} to ${APPROVAL_TTL_MAX_MS / 1000} (7 days)`);
    const redemptionsAbove = await redemptionThresholds(b.approval.redemptionsAbove ?? {}, ctx);
    const anyRedemption = Object.keys(redemptionsAbove).length > 0;
    const above = b.approval.above === undefined || b.approval.above === null ? null : credits('approval.above', b.approval.above);
    if (above === null && !anyRedemption)
      invalid('approval', 'holds nothing for approval: give `above` (orders) or `redemptionsAbove` (redemptions), or set approval to null');
    approval = { above, ttlMs: t * 1000, ...(anyRedemption ? { redemptionsAbove } : {}) };
  }
  return {
    ...(approval ? { approval } : {}),
    caps,
    maxOrderNotional: b.maxOrderNotional ? credits('maxOrderNotional', b.maxOrderNotional) : null,
    maxPrice,
    markets,
    orderTypes: b.orderTypes ? [...new Set(b.orderTypes)] : null,
    expiresAt,
    ...(b.subAgents ? { subAgents: true } : {}),
    ...(b.redemptionCaps && b.redemptionCaps.length > 0 ? { redemptionCaps: await redemptionCaps(b.redemptionCaps, ctx) } : {}),
  };
}

/** Redemption thresholds of the approval rule in engine units: each an allowance asset and a positive amount in its units. */
async function redemptionThresholds(list: Record<string, string>, ctx: PolicyContext): Promise<NonNullable<ApprovalRule['redemptionsAbove']>> {
  const out: NonNullable<ApprovalRule['redemptionsAbove']> = {};
  for (const [asset, amount] of Object.entries(list)) {
    const f = `approval.redemptionsAbove.${asset}`;
    const scale = await ctx.allowanceScale(asset);
    if (scale === null) return invalid(f, `no such allowance asset ${asset} (credits are not redeemed)`);
    out[asset] = { above: assetAmount(f, asset, amount, scale), scale };
  }
  return out;
}

/** A positive amount of an asset in its minor units, or POLICY_INVALID naming the field (`zero`: what to say of a zero). */
function assetAmount(f: string, asset: string, s: string, scale: number, zero = 'must be positive'): number {
  let v: bigint;
  try {
    v = parseAmount(s, scale);
  } catch (e) {
    return invalid(f, `not an amount of ${asset} (${(e as AppError).code ?? 'AMOUNT_INVALID'}): at most ${scale} decimals`);
  }
  if (v <= 0n) invalid(f, zero);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) invalid(f, 'too large');
  return Number(v);
}

/** Redemption caps in engine units: each names an allowance, a window as the spend caps' and a positive limit in its units. */
async function redemptionCaps(list: NonNullable<PolicyInput['redemptionCaps']>, ctx: PolicyContext): Promise<RedemptionCap[]> {
  if (list.length > REDEMPTION_CAPS_MAX) invalid('redemptionCaps', `at most ${REDEMPTION_CAPS_MAX} caps`);
  const seen = new Set<string>();
  const out: RedemptionCap[] = [];
  for (const [i, c] of list.entries()) {
    const f = `redemptionCaps[${i}]`;
    const scale = await ctx.allowanceScale(c.asset);
    if (scale === null) invalid(`${f}.asset`, `no such allowance asset ${c.asset} (credits are not redeemed)`);
    if (!Number.isInteger(c.windowSeconds) || c.windowSeconds < 1 || c.windowSeconds * 1000 > CAP_WINDOW_MAX_MS)
      invalid(`${f}.windowSeconds`, `a window is a whole number of seconds from 1 to ${CAP_WINDOW_MAX_MS / 1000} (31 days)`);
    const key = `${c.asset}|${c.windowSeconds}`;
    if (seen.has(key)) invalid(`${f}.windowSeconds`, 'two caps on the same asset over the same window');
    seen.add(key);
    const limit = assetAmount(`${f}.limit`, c.asset, c.limit, scale as number, 'must be positive (to stop all redemptions, freeze the agent)');
    out.push({ asset: c.asset, windowMs: c.windowSeconds * 1000, limit, scale: scale as number });
  }
  return out.sort((x, y) => (x.asset === y.asset ? x.windowMs - y.windowMs : x.asset < y.asset ? -1 : 1));
}

/**
 * Why a sub-agent's policy would allow more than its parent's (field and reason), or null. The sequencer applies
 * every ancestor's per-order rules to a sub-agent's orders anyway; this refuses such a policy up front.
 */
export function aboveParent(child: BudgetPolicy, parent: BudgetPolicy | null): { field: string; reason: string } | null {
  if (!parent) return child.subAgents ? { field: 'subAgents', reason: 'the parent has no policy that allows sub-agents' } : null;
  if (parent.maxOrderNotional !== null && (child.maxOrderNotional === null || child.maxOrderNotional > parent.maxOrderNotional))
    return { field: 'maxOrderNotional', reason: `at most the parent's ${fmt(parent.maxOrderNotional)}` };
  for (const [asset, v] of Object.entries(parent.maxPrice)) {
    const c = child.maxPrice[asset];
    if (c === undefined || c > v) return { field: `maxPrice.${asset}`, reason: `at most the parent's ${fmt(v)}` };
  }
  if (parent.markets && (!child.markets || child.markets.some((m) => !parent.markets?.includes(m))))
    return { field: 'markets', reason: `only markets the parent may trade: ${parent.markets.map(marketIdOf).join(', ')}` };
  if (parent.orderTypes && (!child.orderTypes || child.orderTypes.some((t) => !parent.orderTypes?.includes(t))))
    return { field: 'orderTypes', reason: `only order types the parent may use: ${parent.orderTypes.join(', ')}` };
  for (const pc of parent.redemptionCaps ?? []) {
    const cc = child.redemptionCaps?.find((c) => c.asset === pc.asset && c.windowMs === pc.windowMs);
    if (!cc || cc.limit > pc.limit)
      return {
        field: 'redemptionCaps',
        reason: `at most the parent's ${formatAmount(BigInt(pc.limit), pc.scale)} ${pc.asset} per ${pc.windowMs / 1000}s`,
      };
  }
  if (parent.expiresAt !== null && (child.expiresAt === null || child.expiresAt > parent.expiresAt))
    return { field: 'expiresAt', reason: `no later than the parent's ${new Date(parent.expiresAt).toISOString()}` };
  if (child.subAgents && !parent.subAgents) return { field: 'subAgents', reason: 'the parent may not delegate' };
  const pa = parent.approval;
  if (pa && pa.above !== null && (!child.approval || child.approval.above === null || child.approval.above > pa.above))
    return { field: 'approval.above', reason: `orders above the parent's ${fmt(pa.above)} need approval` };
  for (const [asset, v] of Object.entries(pa?.redemptionsAbove ?? {})) {
    const c = child.approval?.redemptionsAbove?.[asset];
    if (c === undefined || c.above > v.above)
      return { field: `approval.redemptionsAbove.${asset}`, reason: `redemptions above the parent's threshold for ${asset} need approval` };
  }
  return null;
}

const fmt = (n: number) => formatAmount(BigInt(n), CREDIT_SCALE);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The policy as the API shows it. */
export function policyView(p: BudgetPolicy) {
  return {
    spendCaps: p.caps.map((c) => ({ windowSeconds: c.windowMs / 1000, limit: fmt(c.limit) })),
    maxOrderNotional: p.maxOrderNotional === null ? null : fmt(p.maxOrderNotional),
    maxPrice: Object.fromEntries(Object.entries(p.maxPrice).map(([a, v]) => [a, fmt(v)])),
    markets: p.markets ? p.markets.map(marketIdOf) : null,
    orderTypes: p.orderTypes,
    expiresAt: iso(p.expiresAt),
    redemptionCaps: (p.redemptionCaps ?? []).map((c) => ({
      asset: c.asset,
      windowSeconds: c.windowMs / 1000,
      limit: formatAmount(BigInt(c.limit), c.scale),
    })),
    subAgents: p.subAgents === true,
    approval: p.approval ? approvalRuleView(p.approval) : null,
  };
}

/** A cap's usage now: spent in the window, held by open buy orders, what remains, and when the oldest spend in it leaves. */
export function usageView(u: CapUsage) {
  return {
    windowSeconds: u.windowMs / 1000,
    limit: fmt(u.limit),
    used: fmt(u.used),
    reserved: fmt(u.reserved),
    remaining: fmt(u.remaining),
    resetsAt: iso(u.resetsAt),
  };
}

/** A redemption cap's usage now, in the asset's units. */
export function redemptionUsageView(u: RedemptionUsage) {
  const f = (n: number) => formatAmount(BigInt(n), u.scale);
  return {
    asset: u.asset,
    windowSeconds: u.windowMs / 1000,
    limit: f(u.limit),
    used: f(u.used),
    remaining: f(u.remaining),
    resetsAt: iso(u.resetsAt),
  };
}
