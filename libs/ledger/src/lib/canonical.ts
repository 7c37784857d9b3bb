import { hash } from 'node:crypto';
import { METADATA_BYTES_MAX, METADATA_DEPTH_MAX } from './limits';
import type { Metadata, Reference } from './types';

/**
 * Canonical forms and hashes. A request's body (everything but its id) has one canonical string; its SHA-256 is
 * the body hash that idempotency compares. The same string can be rebuilt from the stored rows, so
 * reconciliation recomputes both the body hash and the hash chain from the journal alone:
 *
 *   hash(n) = SHA-256( "<hex of hash(n-1)>\n<seq>\n<id>\n<canonical body>" ),   hash(0) = 32 zero bytes.
 *
 * (One UTF-8 string per link, hashed with Node's one-shot crypto.hash: about 5x cheaper than a Hash object.)
 */

export const GENESIS_HASH = Buffer.alloc(32);
export const GENESIS_HEX = GENESIS_HASH.toString('hex');

/** Canonical JSON of metadata (keys sorted, no whitespace), or undefined when it is not plain JSON within the
 * limits. Strings may not contain U+0000 (jsonb refuses it). */
export function canonicalMetadata(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return undefined;
  const out = canon(value, 0);
  if (out === undefined || out.length > METADATA_BYTES_MAX) return undefined;
  return out;
}

function canon(v: unknown, depth: number): string | undefined {
  if (depth > METADATA_DEPTH_MAX) return undefined;
  switch (typeof v) {
    case 'string':
      return v.includes('\u0000') ? undefined : JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? JSON.stringify(v) : undefined;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) {
        const parts: string[] = [];
        for (const x of v) {
          const c = canon(x, depth + 1);
          if (c === undefined) return undefined;
          parts.push(c);
        }
        return '[' + parts.join(',') + ']';
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return undefined;
      const keys = Object.keys(v).sort();
      const parts: string[] = [];
      for (const k of keys) {
        if (k.includes('\u0000')) return undefined;
        const c = canon((v as Metadata)[k], depth + 1);
        if (c === undefined) return undefined;
        parts.push(JSON.stringify(k) + ':' + c);
      }
      return '{' + parts.join(',') + '}';
    }
    default:
      return undefined;
  }
}

function head(kind: string, type: string, ref: Reference | undefined | null, meta: string | null): string {
  return '["' + kind + '","' + type + '",' + (ref ? JSON.stringify(ref.kind) + ',' + JSON.stringify(ref.id) : 'null,null') + ',' + (meta ?? 'null');
}

/** Canonical body of a transfer: legs as [accountId, signed amount] in request order (credit +, debit -). */
export function transferBody(
  type: string,
  ref: Reference | null | undefined,
  meta: string | null,
  legs: readonly (readonly [string, bigint])[],
): string {
  let s = head('transfer', type, ref, meta) + ',[';
  for (let i = 0; i < legs.length; i++) {
    const [a, amt] = legs[i] as readonly [string, bigint];
    s += (i ? ',["' : '["') + a + '","' + amt.toString() + '"]';
  }
  return s + ']]';
}

export function holdBody(ref: Reference | null | undefined, meta: string | null, accountId: string, amount: bigint): string {
  return head('hold', 'hold', ref, meta) + ',"' + accountId + '","' + amount.toString() + '"]';
}

export function postBody(
  type: string,
  ref: Reference | null | undefined,
  meta: string | null,
  holdId: string,
  credits: readonly (readonly [string, bigint])[],
): string {
  let s = head('post', type, ref, meta) + ',' + JSON.stringify(holdId) + ',[';
  for (let i = 0; i < credits.length; i++) {
    const [a, amt] = credits[i] as readonly [string, bigint];
    s += (i ? ',["' : '["') + a + '","' + amt.toString() + '"]';
  }
  return s + ']]';
}

export function voidBody(ref: Reference | null | undefined, meta: string | null, holdId: string): string {
  return head('void', 'release', ref, meta) + ',' + JSON.stringify(holdId) + ']';
}

/** SHA-256 of a string's UTF-8, as 64 hex digits. */
export function sha256Hex(s: string): string {
  return hash('sha256', s, 'hex');
}

/** The chain link of one journal row, as 64 hex digits. */
export function chainHashHex(prevHex: string, seq: bigint | string, id: string, body: string): string {
  return hash('sha256', prevHex + '\n' + seq.toString() + '\n' + id + '\n' + body, 'hex');
}
