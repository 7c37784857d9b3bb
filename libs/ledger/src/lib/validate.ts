import { AMOUNT_MAX, reject } from '@ate/contracts';
import { canonicalMetadata, holdBody, postBody, sha256Hex, transferBody, voidBody } from './canonical';
import { LEGS_PER_TRANSFER_MAX, LEGS_PER_TRANSFER_MIN, POST_CREDITS_MAX } from './limits';
import { LedgerRejection, LedgerRequest, REFERENCE_KINDS, Reference, TRANSFER_TYPES } from './types';

/**
 * Static validation: everything that can be judged from the request alone, in this documented order
 * (the precedence table in validation.spec.ts follows it):
 *
 *   1. LEDGER_ID_INVALID          the request id (then, for posts and voids, the hold id)
 *   2. LEDGER_TYPE_INVALID        kind and type
 *   3. LEDGER_REFERENCE_INVALID   ref
 *   4. LEDGER_METADATA_INVALID    metadata
 *   5. LEDGER_LEGS_INVALID        legs / account / credits: count, shape, account id syntax, distinct accounts
 *   6. LEDGER_AMOUNT_INVALID      every amount a positive bigint
 *   7. LEDGER_AMOUNT_OUT_OF_RANGE every amount, and a post's total, within a signed 64-bit column
 *
 * The state checks that follow (writer.ts) are, in order: LEDGER_IDEMPOTENCY_CONFLICT, LEDGER_HOLD_NOT_FOUND,
 * LEDGER_HOLD_ALREADY_RESOLVED, LEDGER_ACCOUNT_NOT_FOUND, LEDGER_LEGS_INVALID (a post crediting the held
 * account), LEDGER_UNBALANCED / LEDGER_ASSET_MISMATCH, LEDGER_HOLD_EXCEEDED, LEDGER_INSUFFICIENT_FUNDS,
 * LEDGER_BALANCE_OVERFLOW.
 */

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
/** A ledger_account id: a positive signed 64-bit integer in decimal. */
const ACCOUNT_ID_PATTERN = /^[1-9][0-9]{0,18}$/;
const MOVEMENT_TYPES: ReadonlySet<string> = new Set(TRANSFER_TYPES.filter((t) => t !== 'hold' && t !== 'release'));

export function isAccountId(x: unknown): x is string {
  // 18 digits always fit; only a 19-digit id needs the comparison
  return typeof x === 'string' && ACCOUNT_ID_PATTERN.test(x) && (x.length < 19 || BigInt(x) <= AMOUNT_MAX);
}

/** A request that passed static validation, with its canonical body and what the writer needs. */
export interface Prepared {
  index: number;
  req: LedgerRequest;
  type: string;
  ref: Reference | null;
  meta: string | null;
  body: string;
  /** SHA-256 of the canonical body, hex. */
  bodyHash: string;
  /** transfer: [account, signed amount] per leg; post: [account, amount] per credit; hold: one [account, amount]. */
  legs: [string, bigint][];
  /** post: the amount posted (sum of credits). */
  total: bigint;
}

function checkRef(ref: unknown): ref is Reference | undefined {
  if (ref === undefined) return true;
  if (ref === null || typeof ref !== 'object') return false;
  const r = ref as { kind?: unknown; id?: unknown };
  return (
    (REFERENCE_KINDS as readonly unknown[]).includes(r.kind) &&
    typeof r.id === 'string' &&
    r.id.length >= 1 &&
    r.id.length <= 128 &&
    !r.id.includes('\u0000') &&
    Object.keys(r).length === 2
  );
}

type AmountCheck = 'ok' | 'LEDGER_AMOUNT_INVALID' | 'LEDGER_AMOUNT_OUT_OF_RANGE';
function amountCheck(a: unknown): AmountCheck {
  if (typeof a !== 'bigint' || a <= 0n) return 'LEDGER_AMOUNT_INVALID';
  if (a > AMOUNT_MAX) return 'LEDGER_AMOUNT_OUT_OF_RANGE';
  return 'ok';
}

/** The first failing amount check over a list (invalid before out-of-range, over all of them). */
function amountsCheck(amounts: unknown[]): AmountCheck {
  let out: AmountCheck = 'ok';
  for (const a of amounts) {
    const c = amountCheck(a);
    if (c === 'LEDGER_AMOUNT_INVALID') return c;
    if (c !== 'ok') out = c;
  }
  return out;
}

export function prepare(req: LedgerRequest, index: number): Prepared | LedgerRejection {
  const r = req as unknown as Record<string, unknown>;
  if (r === null || typeof r !== 'object') return reject('LEDGER_TYPE_INVALID', { index });
  // 1. ids
  if (typeof r['id'] !== 'string' || !ID_PATTERN.test(r['id'])) return reject('LEDGER_ID_INVALID', { field: 'id' });
  if ((r['kind'] === 'post' || r['kind'] === 'void') && (typeof r['holdId'] !== 'string' || !ID_PATTERN.test(r['holdId']))) {
    return reject('LEDGER_ID_INVALID', { field: 'holdId' });
  }
  // 2. kind and type
  let type: string;
  switch (r['kind']) {
    case 'transfer':
      if (typeof r['type'] !== 'string' || !MOVEMENT_TYPES.has(r['type'])) return reject('LEDGER_TYPE_INVALID', { type: r['type'] });
      type = r['type'];
      break;
    case 'post':
      if (r['type'] !== undefined && (typeof r['type'] !== 'string' || !MOVEMENT_TYPES.has(r['type']))) {
        return reject('LEDGER_TYPE_INVALID', { type: r['type'] });
      }
      type = (r['type'] as string | undefined) ?? 'settlement';
      break;
    case 'hold':
      if (r['type'] !== undefined && r['type'] !== 'hold') return reject('LEDGER_TYPE_INVALID', { type: r['type'] });
      type = 'hold';
      break;
    case 'void':
      if (r['type'] !== undefined && r['type'] !== 'release') return reject('LEDGER_TYPE_INVALID', { type: r['type'] });
      type = 'release';
      break;
    default:
      return reject('LEDGER_TYPE_INVALID', { kind: r['kind'] });
  }
  // 3. reference
  if (!checkRef(r['ref'])) return reject('LEDGER_REFERENCE_INVALID');
  const ref = (r['ref'] as Reference | undefined) ?? null;
  // 4. metadata
  let meta: string | null = null;
  if (r['metadata'] !== undefined) {
    const m = canonicalMetadata(r['metadata']);
    if (m === undefined) return reject('LEDGER_METADATA_INVALID');
    meta = m;
  }
  // 5-7. legs and amounts, per kind
  switch (req.kind) {
    case 'transfer': {
      const legs = r['legs'];
      if (!Array.isArray(legs) || legs.length < LEGS_PER_TRANSFER_MIN || legs.length > LEGS_PER_TRANSFER_MAX) {
        return reject('LEDGER_LEGS_INVALID', { min: LEGS_PER_TRANSFER_MIN, max: LEGS_PER_TRANSFER_MAX });
      }
      const seen = new Set<string>();
      for (const l of legs as unknown[]) {
        const leg = l as Record<string, unknown> | null;
        if (leg === null || typeof leg !== 'object' || !isAccountId(leg['accountId']) || (leg['side'] !== 'debit' && leg['side'] !== 'credit')) {
          return reject('LEDGER_LEGS_INVALID', { leg: l === null || typeof l !== 'object' ? l : undefined });
        }
        if (seen.has(leg['accountId'])) return reject('LEDGER_LEGS_INVALID', { duplicateAccount: leg['accountId'] });
        seen.add(leg['accountId']);
      }
      const ac = amountsCheck(req.legs.map((l) => l.amount));
      if (ac !== 'ok') return reject(ac);
      const signed = req.legs.map((l): [string, bigint] => [l.accountId, l.side === 'credit' ? l.amount : -l.amount]);
      const body = transferBody(type, ref, meta, signed);
      return { index, req, type, ref, meta, body, bodyHash: sha256Hex(body), legs: signed, total: 0n };
    }
    case 'hold': {
      if (!isAccountId(r['accountId'])) return reject('LEDGER_LEGS_INVALID', { field: 'accountId' });
      const ac = amountCheck(r['amount']);
      if (ac !== 'ok') return reject(ac);
      const body = holdBody(ref, meta, req.accountId, req.amount);
      return { index, req, type, ref, meta, body, bodyHash: sha256Hex(body), legs: [[req.accountId, req.amount]], total: req.amount };
    }
    case 'post': {
      const credits = r['credits'];
      if (!Array.isArray(credits) || credits.length < 1 || credits.length > POST_CREDITS_MAX) {
        return reject('LEDGER_LEGS_INVALID', { min: 1, max: POST_CREDITS_MAX });
      }
      const seen = new Set<string>();
      for (const c of credits as unknown[]) {
        const cr = c as Record<string, unknown> | null;
        if (cr === null || typeof cr !== 'object' || !isAccountId(cr['accountId'])) return reject('LEDGER_LEGS_INVALID');
        if (seen.has(cr['accountId'])) return reject('LEDGER_LEGS_INVALID', { duplicateAccount: cr['accountId'] });
        seen.add(cr['accountId']);
      }
      const ac = amountsCheck(req.credits.map((c) => c.amount));
      if (ac !== 'ok') return reject(ac);
      const legs = req.credits.map((c): [string, bigint] => [c.accountId, c.amount]);
      const total = legs.reduce((s, [, a]) => s + a, 0n);
      if (total > AMOUNT_MAX) return reject('LEDGER_AMOUNT_OUT_OF_RANGE', { field: 'credits' });
      const body = postBody(type, ref, meta, req.holdId, legs);
      return { index, req, type, ref, meta, body, bodyHash: sha256Hex(body), legs, total };
    }
    case 'void': {
      const body = voidBody(ref, meta, req.holdId);
      return { index, req, type, ref, meta, body, bodyHash: sha256Hex(body), legs: [], total: 0n };
    }
  }
}
