import { canonicalMetadata, chainHashHex, GENESIS_HEX, holdBody, postBody, sha256Hex, transferBody, voidBody } from './canonical';
import { RECONCILE_CHAIN_PAGE } from './limits';
import { Pool } from 'pg';
import * as SQL from './sql';
import type { Db, Reference } from './types';

/** One broken promise (numbered as in libs/ledger/README.md, "Which test proves which promise"). */
export interface Violation {
  promise: 1 | 2 | 3 | 4 | 5 | 6;
  check: string;
  details: Record<string, unknown>;
}

export interface ReconcileReport {
  ok: boolean;
  violations: Violation[];
  /** Journal rows whose hash was recomputed. */
  transfersChecked: number;
}

/** The guards migration 20261128110000_ledger installs; reconciliation reports any that is missing or disabled. */
export const LEDGER_TRIGGERS = [
  'ledger_transfer_append_only',
  'ledger_transfer_no_truncate',
  'ledger_entry_append_only',
  'ledger_entry_no_truncate',
  'ledger_hold_append_only',
  'ledger_hold_no_truncate',
  'ledger_hold_resolution_append_only',
  'ledger_hold_resolution_no_truncate',
  'ledger_account_no_delete',
  'ledger_account_no_truncate',
  'ledger_account_identity_fixed',
  'ledger_entry_balanced',
] as const;

/**
 * Checks promises 1-6 over the whole ledger and returns every violation found (up to 100 rows per check).
 * Read-only, in one REPEATABLE READ transaction so that every check sees the same snapshot (writers carry on).
 * Given a Pool it takes a client of its own; given a client, that client must not be inside a transaction.
 */
export async function reconcile(db: Db): Promise<ReconcileReport> {
  if (db instanceof Pool) {
    const client = await db.connect();
    try {
      return await reconcile(client);
    } finally {
      client.release();
    }
  }
  await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const report = await reconcileIn(db);
    await db.query('COMMIT');
    return report;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function reconcileIn(db: Db): Promise<ReconcileReport> {
  const v: Violation[] = [];
  const add = async (promise: Violation['promise'], check: string, sql: string) => {
    for (const row of (await db.query(sql)).rows) v.push({ promise, check, details: { ...row } });
  };
  await add(1, 'transfer does not balance per asset', SQL.R_UNBALANCED);
  await add(1, 'entry without its transfer or account, or of another asset', SQL.R_ORPHAN_ENTRIES);
  await add(2, 'asset not conserved (balances or entries do not sum to zero)', SQL.R_CONSERVATION);
  await add(3, 'balance differs from the sum of entries, or available < 0', SQL.R_BALANCES);
  await add(4, 'held differs from the sum of open holds', SQL.R_HELD);
  await add(4, 'hold lifecycle', SQL.R_HOLDS);
  await add(5, 'duplicate transfer id', SQL.R_DUPLICATE_IDS);

  const present = new Set((await db.query<{ tgname: string }>(SQL.R_TRIGGERS)).rows.map((r) => r.tgname));
  for (const t of LEDGER_TRIGGERS) if (!present.has(t)) v.push({ promise: 6, check: 'journal guard missing or disabled', details: { trigger: t } });

  // the hash chain, a page at a time
  let expectSeq = 1n;
  let prev = GENESIS_HEX;
  let checked = 0;
  for (;;) {
    const rows = (await db.query(SQL.R_CHAIN_PAGE, [(expectSeq - 1n).toString(), RECONCILE_CHAIN_PAGE])).rows;
    for (const r of rows) {
      const seq = BigInt(r.seq);
      if (seq !== expectSeq) v.push({ promise: 6, check: 'gap in the journal sequence', details: { expected: expectSeq.toString(), found: r.seq } });
      const prevHash = (r.prev_hash as Buffer).toString('hex');
      const rowHash = (r.hash as Buffer).toString('hex');
      if (prevHash !== prev) v.push({ promise: 6, check: 'chain link broken (prev_hash)', details: { seq: r.seq, id: r.id } });
      const body = rebuildBody(r);
      if (body === undefined) {
        v.push({ promise: 6, check: 'journal row cannot be rebuilt', details: { seq: r.seq, id: r.id } });
      } else {
        if (sha256Hex(body) !== (r.body_hash as Buffer).toString('hex'))
          v.push({ promise: 5, check: 'body hash differs from the stored body', details: { seq: r.seq, id: r.id } });
        if (chainHashHex(prevHash, seq, r.id, body) !== rowHash)
          v.push({ promise: 6, check: 'hash differs from the stored row', details: { seq: r.seq, id: r.id } });
      }
      prev = rowHash;
      expectSeq = seq + 1n;
      checked++;
    }
    if (rows.length < RECONCILE_CHAIN_PAGE) break;
  }
  const head = (await db.query(SQL.R_HEAD)).rows[0];
  if (!head || BigInt(head.seq) !== expectSeq - 1n || (head.hash as Buffer).toString('hex') !== prev) {
    v.push({
      promise: 6,
      check: 'chain head differs from the last journal row',
      details: { headSeq: head?.seq, lastSeq: (expectSeq - 1n).toString() },
    });
  }
  return { ok: v.length === 0, violations: v, transfersChecked: checked };
}

function rebuildBody(r: Record<string, unknown>): string | undefined {
  const ref: Reference | null = r['ref_kind'] ? { kind: r['ref_kind'] as Reference['kind'], id: r['ref_id'] as string } : null;
  let meta: string | null = null;
  if (r['metadata'] !== null) {
    const m = canonicalMetadata(JSON.parse(r['metadata'] as string));
    if (m === undefined) return undefined;
    meta = m;
  }
  const legs = ((r['legs'] as string[] | null) ?? []).map((s): [string, bigint] => {
    const i = s.indexOf(':');
    return [s.slice(0, i), BigInt(s.slice(i + 1))];
  });
  switch (r['kind']) {
    case 'transfer':
      return transferBody(r['type'] as string, ref, meta, legs);
    case 'hold':
      if (r['hold_account'] === null) return undefined;
      return holdBody(ref, meta, r['hold_account'] as string, BigInt(r['hold_amount'] as string));
    case 'post':
      return postBody(r['type'] as string, ref, meta, r['hold_id'] as string, legs.slice(1));
    case 'void':
      return voidBody(ref, meta, r['hold_id'] as string);
    default:
      return undefined;
  }
}
