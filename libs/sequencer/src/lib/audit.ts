import { hash } from 'node:crypto';

/**
 * The audit log: every admin (and principal) action, append-only and hash-chained like the ledger journal,
 * written in the SAME transaction as the action's effect, so an action without its row (or a row without its
 * action) cannot exist:
 *
 *  - a sequenced action (a HostCommand carrying `audit`) gets its row from the batch that executes it, written in
 *    the batch's transaction (`AuditDrafts`, flushed by the batch); a command refused or answered from idempotency
 *    (nothing done) gets none;
 *  - a pure-database action (issuing or revoking a key, creating a principal) writes its effect and calls
 *    `appendAudit` on the same transaction's client.
 *
 *   hash(n) = SHA-256( "<hex of hash(n-1)>\n<seq>\n<canonical body>" ),   hash(0) = 32 zero bytes,
 *
 * where the canonical body is the JSON array of the row's fields with object keys sorted (jsonb does not keep key
 * order, so the body is rebuilt from the stored row the same way). The chain head (audit_chain_head, one row) is
 * locked by every writer, so rows are numbered in commit order.
 */

/** Who acts, through which key, on what: what a caller attaches to a command or passes to appendAudit. */
export interface AuditContext {
  actorKind: 'admin' | 'principal' | 'agent' | 'system';
  /** the principal's or agent's id; null for an operator (the key id names it) */
  actorId: string | null;
  keyId: string | null;
  requestId: string | null;
  /** e.g. 'funds.mint', 'market.rules', 'key.revoke' */
  action: string;
  targetKind: string;
  targetId: string;
  reason?: string | null;
  /** the state before and after, when the caller knows it; a handler that knows better sets HostResult.change */
  before?: unknown;
  after?: unknown;
}

/** A row to append: the context, its time and (sequenced) the engine command it committed with. */
export interface AuditDraft extends AuditContext {
  at: Date;
  commandSeq: string | null;
}

export interface AuditRow extends AuditDraft {
  seq: string;
  hash: string;
  prevHash: string;
}

export const AUDIT_GENESIS_HEX = '0'.repeat(64);

/** Anything that runs a parameterised query in the caller's transaction (a pg client; a Prisma transaction adapted). */
export type Query = (text: string, params: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;

/** JSON with object keys sorted at every level (the same string from the draft and from the stored jsonb). */
export function stableJson(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'bigint') return JSON.stringify(v.toString());
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The canonical body of a row (what its hash covers besides the link). */
export function auditBody(d: AuditDraft): string {
  return stableJson([
    d.at.getTime(),
    d.actorKind,
    d.actorId,
    d.keyId,
    d.action,
    d.targetKind,
    d.targetId,
    d.requestId,
    d.reason ?? null,
    d.before ?? null,
    d.after ?? null,
    d.commandSeq,
  ]);
}

export function auditHash(prevHex: string, seq: string, body: string): string {
  return hash('sha256', `${prevHex}\n${seq}\n${body}`, 'hex');
}

/** Stored form of before/after (jsonb): the same value the hash saw (bigints as strings). */
const jsonb = (v: unknown): string | null => (v === undefined || v === null ? null : stableJson(v));

/** Appends rows to the chain in the caller's transaction (locks the head until it commits). */
export async function appendAudit(q: Query, drafts: readonly AuditDraft[]): Promise<AuditRow[]> {
  if (drafts.length === 0) return [];
  const head = (await q(`SELECT seq::text AS seq, encode(hash, 'hex') AS hash FROM audit_chain_head WHERE singleton FOR UPDATE`, [])).rows[0];
  if (!head) throw new Error('audit_chain_head is missing (migration 20261202130000 not applied?)');
  let seq = BigInt(head['seq'] as string);
  let prev = head['hash'] as string;
  const out: AuditRow[] = [];
  for (const d of drafts) {
    seq++;
    const h = auditHash(prev, seq.toString(), auditBody(d));
    out.push({ ...d, seq: seq.toString(), hash: h, prevHash: prev });
    prev = h;
  }
  // one statement for every row (arrays of scalars: works through pg and through Prisma's raw queries alike)
  await q(
    `INSERT INTO audit_log (seq, at, actor_kind, actor_id, key_id, action, target_kind, target_id, request_id, reason, before, after,
                            command_seq, prev_hash, hash)
     SELECT u.seq, u.at, u.actor_kind, u.actor_id, u.key_id, u.action, u.target_kind, u.target_id, u.request_id, u.reason,
            u.before::jsonb, u.after::jsonb, u.command_seq, decode(u.prev_hash, 'hex'), decode(u.hash, 'hex')
       FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                   $10::text[], $11::text[], $12::text[], $13::bigint[], $14::text[], $15::text[])
         AS u(seq, at, actor_kind, actor_id, key_id, action, target_kind, target_id, request_id, reason, before, after, command_seq, prev_hash, hash)`,
    [
      out.map((r) => r.seq),
      out.map((r) => r.at.toISOString()),
      out.map((r) => r.actorKind),
      out.map((r) => r.actorId),
      out.map((r) => r.keyId),
      out.map((r) => r.action),
      out.map((r) => r.targetKind),
      out.map((r) => r.targetId),
      out.map((r) => r.requestId),
      out.map((r) => r.reason ?? null),
      out.map((r) => jsonb(r.before)),
      out.map((r) => jsonb(r.after)),
      out.map((r) => r.commandSeq),
      out.map((r) => r.prevHash),
      out.map((r) => r.hash),
    ],
  );
  await q(`UPDATE audit_chain_head SET seq = $1, hash = decode($2, 'hex') WHERE singleton`, [seq.toString(), prev]);
  return out;
}

/** A stored row as read back (node-postgres types). */
export function auditRowOf(r: Record<string, unknown>): AuditRow {
  return {
    seq: String(r['seq']),
    at: r['at'] as Date,
    actorKind: r['actor_kind'] as AuditRow['actorKind'],
    actorId: (r['actor_id'] as string | null) ?? null,
    keyId: (r['key_id'] as string | null) ?? null,
    requestId: (r['request_id'] as string | null) ?? null,
    action: r['action'] as string,
    targetKind: r['target_kind'] as string,
    targetId: r['target_id'] as string,
    reason: (r['reason'] as string | null) ?? null,
    before: r['before'] ?? null,
    after: r['after'] ?? null,
    commandSeq: r['command_seq'] === null || r['command_seq'] === undefined ? null : String(r['command_seq']),
    prevHash: (r['prev_hash'] as Buffer).toString('hex'),
    hash: (r['hash'] as Buffer).toString('hex'),
  };
}

export interface AuditViolation {
  check: string;
  details: Record<string, unknown>;
}

export interface AuditChainReport {
  ok: boolean;
  rowsChecked: number;
  violations: AuditViolation[];
}

/** Rows read per round trip when the chain is verified. */
export const AUDIT_VERIFY_PAGE = 5_000;

/** Recomputes every row's hash from its stored fields and checks the links and the head. */
export async function verifyAuditChain(q: Query): Promise<AuditChainReport> {
  const violations: AuditViolation[] = [];
  let prev = AUDIT_GENESIS_HEX;
  let expect = 1n;
  let n = 0;
  for (;;) {
    const rows = (await q('SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2', [expect.toString(), AUDIT_VERIFY_PAGE])).rows.map(
      auditRowOf,
    );
    for (const r of rows) {
      if (BigInt(r.seq) !== expect) violations.push({ check: 'gap in the sequence', details: { expected: expect.toString(), found: r.seq } });
      if (r.prevHash !== prev) violations.push({ check: 'chain link broken (prev_hash)', details: { seq: r.seq } });
      if (auditHash(r.prevHash, r.seq, auditBody(r)) !== r.hash)
        violations.push({ check: 'hash differs from the stored row', details: { seq: r.seq } });
      prev = r.hash;
      expect = BigInt(r.seq) + 1n;
      n++;
    }
    if (rows.length < AUDIT_VERIFY_PAGE) break;
  }
  const head = (await q(`SELECT seq::text AS seq, encode(hash, 'hex') AS hash FROM audit_chain_head WHERE singleton`, [])).rows[0];
  if (!head || BigInt(head['seq'] as string) !== expect - 1n || head['hash'] !== prev) {
    violations.push({ check: 'chain head differs from the last row', details: { head: head ?? null, lastSeq: (expect - 1n).toString() } });
  }
  return { ok: violations.length === 0, rowsChecked: n, violations };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Two objects merged (the second wins a key), else the second. */
const merged = (a: unknown, b: unknown): unknown => (isObject(a) && isObject(b) ? { ...a, ...b } : b);

/** What a batch collects for the audit log: one row per audited command that did something. */
export class AuditDrafts {
  readonly rows: AuditDraft[] = [];

  /** Records the command's row if it was done (logged, not refused). */
  add(ctx: AuditContext | undefined, r: { seq: string | null; code: unknown; change?: { before: unknown; after: unknown } }, ts: number): void {
    if (!ctx || r.seq === null || r.code !== null) return;
    this.rows.push({
      ...ctx,
      // what the caller said (e.g. the asset and amount of a mint) and what the handler saw (the balance before and after)
      ...(r.change ? { before: merged(ctx.before, r.change.before), after: merged(ctx.after, r.change.after) } : {}),
      at: new Date(ts),
      commandSeq: r.seq,
    });
  }
}
