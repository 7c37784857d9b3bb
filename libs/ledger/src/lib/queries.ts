import { reject } from '@ate/contracts';
import { STATEMENT_PAGE_DEFAULT, STATEMENT_PAGE_MAX } from './limits';
import * as SQL from './sql';
import type { Db, OwnerKind, Reference, Result } from './types';
import { isAccountId } from './validate';

export interface Balance {
  accountId: string;
  ownerKind: OwnerKind;
  ownerId: string;
  asset: string;
  total: bigint;
  held: bigint;
  /** total - held; never negative except on an issuance account. */
  available: bigint;
}

function toBalance(r: Record<string, string>): Balance {
  const total = BigInt(r['balance'] as string);
  const held = BigInt(r['held'] as string);
  return {
    accountId: r['id'] as string,
    ownerKind: r['owner_kind'] as OwnerKind,
    ownerId: r['owner_id'] as string,
    asset: r['asset'] as string,
    total,
    held,
    available: total - held,
  };
}

export async function getBalance(db: Db, accountId: string): Promise<Result<{ balance: Balance }>> {
  if (!isAccountId(accountId)) return reject('LEDGER_ACCOUNT_NOT_FOUND', { accountId });
  const r = await db.query({ ...SQL.SELECT_BALANCE, values: [accountId] });
  return r.rows[0] ? { ok: true, balance: toBalance(r.rows[0]) } : reject('LEDGER_ACCOUNT_NOT_FOUND', { accountId });
}

/** Every balance of an owner, one per asset (empty when the owner has no account). */
export async function getBalances(db: Db, owner: { kind: OwnerKind; id: string }): Promise<Balance[]> {
  const r = await db.query(SQL.SELECT_BALANCES_OF_OWNER, [owner.kind, owner.id]);
  return r.rows.map(toBalance);
}

export interface StatementEntry {
  seq: string;
  leg: number;
  /** Signed: credit > 0, debit < 0. */
  amount: bigint;
  transferId: string;
  kind: string;
  type: string;
  ref: Reference | null;
  holdId: string | null;
  createdAt: Date;
}

export interface Statement {
  entries: StatementEntry[];
  /** Pass back to get the next page; null when this page is the last. */
  nextCursor: string | null;
}

/** An account's entries oldest first, a page at a time. The cursor is the journal seq of the last entry seen
 * (opaque to callers; stable because the journal is append-only). */
export async function getStatement(db: Db, accountId: string, page: { cursor?: string | null; limit?: number } = {}): Promise<Result<Statement>> {
  const limit = page.limit ?? STATEMENT_PAGE_DEFAULT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > STATEMENT_PAGE_MAX)
    return reject('LEDGER_CURSOR_INVALID', { limit, max: STATEMENT_PAGE_MAX });
  const cursor = page.cursor ?? '0';
  if (!/^(0|[1-9][0-9]{0,18})$/.test(cursor)) return reject('LEDGER_CURSOR_INVALID', { cursor });
  const b = await getBalance(db, accountId);
  if (!b.ok) return b;
  // one more than asked tells whether there is a next page; a transfer touches an account once, so seq is unique here
  const r = await db.query({ ...SQL.SELECT_STATEMENT, values: [accountId, cursor, limit + 1] });
  const rows = r.rows.slice(0, limit);
  const entries = rows.map(
    (x): StatementEntry => ({
      seq: x.transfer_seq,
      leg: x.leg,
      amount: BigInt(x.amount),
      transferId: x.id,
      kind: x.kind,
      type: x.type,
      ref: x.ref_kind ? { kind: x.ref_kind, id: x.ref_id } : null,
      holdId: x.hold_id,
      createdAt: x.created_at,
    }),
  );
  const last = entries[entries.length - 1];
  return { ok: true, entries, nextCursor: r.rows.length > limit && last ? last.seq : null };
}

export interface TransferRecord {
  seq: string;
  id: string;
  kind: 'transfer' | 'hold' | 'post' | 'void';
  type: string;
  ref: Reference | null;
  holdId: string | null;
  metadata: Record<string, unknown> | null;
  legs: { accountId: string; asset: string; amount: bigint }[];
  hash: string;
  prevHash: string;
  createdAt: Date;
}

/** A journal row by its id (a transfer, a hold's creation, a post or a void), with its legs. */
export async function getTransfer(db: Db, id: string): Promise<Result<{ transfer: TransferRecord }>> {
  const r = (await db.query(SQL.SELECT_TRANSFER, [id])).rows[0];
  if (!r) return reject('LEDGER_TRANSFER_NOT_FOUND', { id });
  const legs = (await db.query(SQL.SELECT_TRANSFER_ENTRIES, [r.seq])).rows.map((e) => ({
    accountId: e.account_id as string,
    asset: e.asset as string,
    amount: BigInt(e.amount),
  }));
  return {
    ok: true,
    transfer: {
      seq: r.seq,
      id: r.id,
      kind: r.kind,
      type: r.type,
      ref: r.ref_kind ? { kind: r.ref_kind, id: r.ref_id } : null,
      holdId: r.hold_id,
      metadata: r.metadata,
      legs,
      hash: r.hash,
      prevHash: r.prev_hash,
      createdAt: r.created_at,
    },
  };
}

export interface HoldRecord {
  id: string;
  accountId: string;
  amount: bigint;
  createdSeq: string;
  status: 'open' | 'posted' | 'voided';
  postedAmount: bigint | null;
  resolvedSeq: string | null;
}

export async function getHold(db: Db, id: string): Promise<Result<{ hold: HoldRecord }>> {
  const r = (await db.query(SQL.SELECT_HOLD, [id])).rows[0];
  if (!r) return reject('LEDGER_HOLD_NOT_FOUND', { holdId: id });
  const posted = r.posted_amount === null ? null : BigInt(r.posted_amount);
  return {
    ok: true,
    hold: {
      id: r.id,
      accountId: r.account_id,
      amount: BigInt(r.amount),
      createdSeq: r.created_seq,
      status: posted === null ? 'open' : posted > 0n ? 'posted' : 'voided',
      postedAmount: posted,
      resolvedSeq: r.resolved_seq,
    },
  };
}

/** Every asset's code and when it was defined, by code (the engine's balance view holds them all). */
export async function listAssets(db: Db): Promise<{ code: string; createdAt: Date }[]> {
  const r = await db.query<{ code: string; created_at: Date }>(SQL.SELECT_ASSET_CODES);
  return r.rows.map((a) => ({ code: a.code, createdAt: a.created_at }));
}

/** The account ids of every owner of these kinds: `{ ownerKind, ownerId, asset, id }` (no balances). */
export async function listAccounts(
  db: Db,
  kinds: readonly OwnerKind[],
): Promise<{ id: string; ownerKind: OwnerKind; ownerId: string; asset: string }[]> {
  const r = await db.query<{ id: string; owner_kind: OwnerKind; owner_id: string; asset: string }>(SQL.SELECT_ACCOUNT_IDS_OF_KINDS, [kinds]);
  return r.rows.map((a) => ({ id: a.id, ownerKind: a.owner_kind, ownerId: a.owner_id, asset: a.asset }));
}

/** Which of these transfer ids are already in the journal (idempotency pre-read of a batch). */
export async function existingTransferIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const r = await db.query<{ id: string }>(SQL.SELECT_EXISTING_TRANSFER_IDS, [ids]);
  return new Set(r.rows.map((t) => t.id));
}

/** Every balance of every owner of a kind, ordered by owner and asset (reconciliation against the engine). */
export async function balancesOfKind(db: Db, kind: OwnerKind): Promise<Balance[]> {
  const r = await db.query(SQL.SELECT_BALANCES_OF_KIND, [kind]);
  return r.rows.map(toBalance);
}

/** The journal's head: the seq of the last transfer written (0 for an empty journal). */
export async function journalHeadSeq(db: Db): Promise<bigint> {
  const r = await db.query<{ seq: string }>(SQL.SELECT_HEAD_SEQ);
  return BigInt(r.rows[0]?.seq ?? '0');
}
