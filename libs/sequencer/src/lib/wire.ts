import type { ErrorCode } from '@ate/contracts';
import type { PlacementVerdict } from './handlers';
import type { HostCommand, HostCommandOf, HostResult } from './host-types';
import type { AgreementReport } from './agreement';
import type { RestingOrder } from './host-views';

/**
 * What crosses Redis between api nodes and the engine node: the requests, the replies, and the JSON codec
 * that keeps bigint amounts exact (a decimal string, never a float) and dates as dates.
 */

/** What an api node asks the engine. `submit` goes through the sequencer; the others read or reload the host. */
export type EngineRequest =
  | { op: 'submit'; cmd: HostCommand }
  | { op: 'test'; cmd: HostCommandOf<'place'> }
  | { op: 'resting'; marketId: string; orderId: number }
  | { op: 'reserved'; agentId: string }
  | { op: 'ensure_asset'; code: string }
  | { op: 'reload' }
  | { op: 'agreement' };

export type EngineOp = EngineRequest['op'];

/** The answer of each request as it crosses the wire (a Map travels as its entries). */
export interface EngineAnswers {
  submit: HostResult;
  test: PlacementVerdict;
  resting: RestingOrder | null;
  reserved: [string, bigint][];
  ensure_asset: null;
  reload: null;
  agreement: AgreementReport;
}

/** One stream entry (field `c`): the request, its id, where to reply, and how long it may wait to be started. */
export interface WireCommand {
  /** unique per api node (the reply key names the node) */
  id: string;
  /** the api node's reply list */
  reply: string;
  /** ms after the entry's Redis timestamp (its stream id) by which the engine must have started it */
  ttl: number;
  req: EngineRequest;
}

/** Why a request failed; `details.outcome` says whether anything was done ('not_executed') or nobody knows ('unknown'). */
export interface WireError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export type WireReply =
  | {
      id: string;
      ok: true;
      value: unknown;
      /** committed event sequence of each market the command touched, as of the reply (read-your-writes) */
      seqs?: Record<string, number>;
    }
  | { id: string; ok: false; error: WireError };

const BIGINT = '$bigint';
const DATE = '$date';

/** JSON with bigint as `{"$bigint":"123"}` (a decimal string) and Date as `{"$date":"<ISO>"}`. */
export function encodeWire(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key]; // before toJSON: a Date is still a Date here
    if (typeof raw === 'bigint') return { [BIGINT]: raw.toString() };
    if (raw instanceof Date) return { [DATE]: raw.toISOString() };
    return v;
  });
}

export function decodeWire<T>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1) {
        const b = o[BIGINT];
        if (typeof b === 'string' && /^-?[0-9]+$/.test(b)) return BigInt(b);
        const d = o[DATE];
        if (typeof d === 'string') return new Date(d);
      }
    }
    return v;
  }) as T;
}

const OPS: ReadonlySet<string> = new Set<EngineOp>(['submit', 'test', 'resting', 'reserved', 'ensure_asset', 'reload', 'agreement']);

/** A stream entry's command, or null when it is not one (never executed then). */
export function parseWireCommand(text: string): WireCommand | null {
  let c: Partial<WireCommand>;
  try {
    c = decodeWire<Partial<WireCommand>>(text);
  } catch {
    return null;
  }
  if (typeof c !== 'object' || c === null) return null;
  if (typeof c.id !== 'string' || typeof c.reply !== 'string' || typeof c.ttl !== 'number' || !Number.isFinite(c.ttl)) return null;
  if (typeof c.req !== 'object' || c.req === null || !OPS.has((c.req as { op?: string }).op ?? '')) return null;
  return c as WireCommand;
}

/** The Redis timestamp (ms) of a stream entry id (`<ms>-<n>`). */
export function entryTime(entryId: string): number {
  return Number(entryId.slice(0, entryId.indexOf('-')));
}
