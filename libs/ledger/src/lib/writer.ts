import { AMOUNT_MAX, AMOUNT_MIN, reject } from '@ate/contracts';
import type { Pool, PoolClient } from 'pg';
import { chainHashHex } from './canonical';
import { BATCH_REQUESTS_MAX, BATCH_RETRIES_MAX } from './limits';
import * as SQL from './sql';
import type { Db, LedgerRejection, LedgerRequest, LedgerResult } from './types';
import { Prepared, prepare } from './validate';

/**
 * The group-commit writer. `applyBatch` applies many requests inside the caller's open transaction:
 *
 *   1. validate each request alone (validate.ts), compute its canonical body and body hash (no database);
 *   2. lock the chain head (serialises writers; the lock order is chain head, then accounts by id);
 *   3. read the ids already in the journal, the holds named, and lock the accounts named, in id order;
 *   4. apply the requests one by one, in order, to an in-memory copy of those rows: each is accepted (and
 *      changes the copy) or rejected with its own code (and changes nothing);
 *   5. write the accepted set, the new balances and the new head in one statement (unnest per table).
 *
 * A rejection never fails the rest. Anything else that goes wrong (a broken invariant, a lost connection)
 * throws, and the caller's transaction rolls back: all or nothing per batch.
 *
 * For the trading engine: call applyBatch inside the transaction that also writes the batch's orders and
 * trades (READ COMMITTED, the default: each statement then sees what the previous holder of the chain head
 * committed; under REPEATABLE READ a wait for the head ends in a serialization failure). Answer the requests
 * only after COMMIT. If the COMMIT's outcome is unknown (connection lost), send the same requests again: the
 * ids make the retry exactly-once.
 */

interface AccountRow {
  asset: string;
  allowNegative: boolean;
  balance: bigint;
  held: bigint;
  dirty: boolean;
}
interface HoldRow {
  accountId: string;
  amount: bigint;
  asset: string;
  resolved: boolean;
}
interface IdRow {
  bodyHash: string;
  seq: string;
  hash: string;
}

export interface ApplyOptions {
  /** Resolved when the batch may take the chain head lock (the group-commit writer uses it to keep its
   * batches in submission order); the batch calls `locked` once it holds the lock. */
  turn?: Promise<void>;
  locked?: () => void;
}

export async function applyBatch(client: Db, requests: readonly LedgerRequest[], opts: ApplyOptions = {}): Promise<LedgerResult[]> {
  if (requests.length > BATCH_REQUESTS_MAX) {
    throw new RangeError(`a batch holds at most ${BATCH_REQUESTS_MAX} requests (BATCH_REQUESTS_MAX), got ${requests.length}`);
  }
  const results: LedgerResult[] = new Array(requests.length);
  const prepared: Prepared[] = [];
  for (let i = 0; i < requests.length; i++) {
    const p = prepare(requests[i] as LedgerRequest, i);
    if ('ok' in p) results[i] = p;
    else prepared.push(p);
  }

  if (opts.turn) await opts.turn;
  let head: { seq: string; hash: Buffer };
  try {
    head = (await client.query<{ seq: string; hash: Buffer }>(SQL.LOCK_HEAD)).rows[0] as { seq: string; hash: Buffer };
  } finally {
    opts.locked?.();
  }
  if (!head) throw new Error('ledger_chain_head is missing: the ledger migration has not run');
  if (prepared.length === 0) return results;

  // --- read what the batch names ---
  const ids: string[] = [];
  const holdIds: string[] = [];
  const accountIds = new Set<string>();
  for (const p of prepared) {
    ids.push(p.req.id);
    if (p.req.kind === 'post' || p.req.kind === 'void') holdIds.push(p.req.holdId);
    for (const [a] of p.legs) accountIds.add(a);
  }
  const known = new Map<string, IdRow>();
  for (const r of (await client.query<{ id: string; seq: string; body_hash: Buffer; hash: Buffer }>({ ...SQL.FIND_IDS, values: [wordArray(ids)] }))
    .rows) {
    known.set(r.id, { bodyHash: r.body_hash.toString('hex'), seq: r.seq, hash: r.hash.toString('hex') });
  }
  const holds = new Map<string, HoldRow>();
  if (holdIds.length > 0) {
    const rows = await client.query<{ id: string; account_id: string; amount: string; asset: string; resolved: boolean }>({
      ...SQL.FIND_HOLDS,
      values: [wordArray(holdIds)],
    });
    for (const r of rows.rows) {
      holds.set(r.id, { accountId: r.account_id, amount: BigInt(r.amount), asset: r.asset, resolved: r.resolved });
      accountIds.add(r.account_id);
    }
  }
  const accounts = new Map<string, AccountRow>();
  const accountRows = await client.query<{ id: string; asset: string; allow_negative: boolean; balance: string; held: string }>({
    ...SQL.LOCK_ACCOUNTS,
    values: [plainArray([...accountIds])],
  });
  for (const r of accountRows.rows) {
    accounts.set(r.id, { asset: r.asset, allowNegative: r.allow_negative, balance: BigInt(r.balance), held: BigInt(r.held), dirty: false });
  }

  // --- apply in order, in memory ---
  let seq = BigInt(head.seq);
  let prevHex = head.hash.toString('hex');
  const t = {
    seq: [] as string[],
    id: [] as string[],
    kind: [] as string[],
    type: [] as string[],
    refKind: [] as (string | null)[],
    refId: [] as (string | null)[],
    holdId: [] as (string | null)[],
    meta: [] as (string | null)[],
    bodyHash: [] as string[],
    prev: [] as string[],
    hash: [] as string[],
  };
  const e = { seq: [] as string[], leg: [] as number[], account: [] as string[], asset: [] as string[], amount: [] as bigint[] };
  const h = { id: [] as string[], account: [] as string[], amount: [] as string[], seq: [] as string[] };
  const res = { holdId: [] as string[], seq: [] as string[], posted: [] as string[] };

  for (const p of prepared) {
    const prior = known.get(p.req.id);
    if (prior) {
      results[p.index] =
        prior.bodyHash === p.bodyHash
          ? { ok: true, id: p.req.id, seq: prior.seq, hash: prior.hash, replayed: true }
          : reject('LEDGER_IDEMPOTENCY_CONFLICT', { id: p.req.id });
      continue;
    }
    const verdict = check(p, accounts, holds);
    if (verdict) {
      results[p.index] = verdict;
      continue;
    }
    // accepted: apply to the in-memory rows and queue the journal rows
    seq += 1n;
    const seqText = seq.toString();
    const hashHex = chainHashHex(prevHex, seqText, p.req.id, p.body);
    const req = p.req;
    t.seq.push(seqText);
    t.id.push(req.id);
    t.kind.push(req.kind);
    t.type.push(p.type);
    t.refKind.push(p.ref ? p.ref.kind : null);
    t.refId.push(p.ref ? p.ref.id : null);
    t.holdId.push(req.kind === 'post' || req.kind === 'void' ? req.holdId : null);
    t.meta.push(p.meta);
    t.bodyHash.push(p.bodyHash);
    t.prev.push(prevHex);
    t.hash.push(hashHex);
    prevHex = hashHex;
    switch (req.kind) {
      case 'transfer':
        for (let i = 0; i < p.legs.length; i++) {
          const [a, amt] = p.legs[i] as [string, bigint];
          const acc = accounts.get(a) as AccountRow;
          acc.balance += amt;
          acc.dirty = true;
          e.seq.push(seqText);
          e.leg.push(i);
          e.account.push(a);
          e.asset.push(acc.asset);
          e.amount.push(amt);
        }
        break;
      case 'hold': {
        const acc = accounts.get(req.accountId) as AccountRow;
        acc.held += req.amount;
        acc.dirty = true;
        holds.set(req.id, { accountId: req.accountId, amount: req.amount, asset: acc.asset, resolved: false });
        h.id.push(req.id);
        h.account.push(req.accountId);
        h.amount.push(req.amount.toString());
        h.seq.push(seqText);
        break;
      }
      case 'post': {
        const hold = holds.get(req.holdId) as HoldRow;
        const src = accounts.get(hold.accountId) as AccountRow;
        src.balance -= p.total;
        src.held -= hold.amount;
        src.dirty = true;
        hold.resolved = true;
        e.seq.push(seqText);
        e.leg.push(0);
        e.account.push(hold.accountId);
        e.asset.push(hold.asset);
        e.amount.push(-p.total);
        for (let i = 0; i < p.legs.length; i++) {
          const [a, amt] = p.legs[i] as [string, bigint];
          const acc = accounts.get(a) as AccountRow;
          acc.balance += amt;
          acc.dirty = true;
          e.seq.push(seqText);
          e.leg.push(i + 1);
          e.account.push(a);
          e.asset.push(acc.asset);
          e.amount.push(amt);
        }
        res.holdId.push(req.holdId);
        res.seq.push(seqText);
        res.posted.push(p.total.toString());
        break;
      }
      case 'void': {
        const hold = holds.get(req.holdId) as HoldRow;
        const src = accounts.get(hold.accountId) as AccountRow;
        src.held -= hold.amount;
        src.dirty = true;
        hold.resolved = true;
        res.holdId.push(req.holdId);
        res.seq.push(seqText);
        res.posted.push('0');
        break;
      }
    }
    known.set(req.id, { bodyHash: p.bodyHash, seq: seqText, hash: hashHex });
    results[p.index] = { ok: true, id: req.id, seq: seqText, hash: hashHex, replayed: false };
  }

  // --- write the accepted set: one statement ---
  if (t.seq.length === 0) return results;
  const u = { id: [] as string[], balance: [] as bigint[], held: [] as bigint[] };
  for (const [id, acc] of accounts) {
    if (!acc.dirty) continue;
    // a broken invariant here is a bug, not a rejection: crash before writing (the CHECKs would refuse it too)
    if (acc.held < 0n || (!acc.allowNegative && acc.balance < acc.held) || acc.balance > AMOUNT_MAX || acc.balance < AMOUNT_MIN) {
      throw new Error(`ledger invariant broken in memory for account ${id}: balance ${acc.balance}, held ${acc.held}`);
    }
    u.id.push(id);
    u.balance.push(acc.balance);
    u.held.push(acc.held);
  }
  await client.query({
    ...SQL.WRITE_BATCH,
    values: [
      plainArray(t.seq),
      wordArray(t.id),
      wordArray(t.kind),
      wordArray(t.type),
      t.refKind,
      t.refId,
      t.holdId,
      t.meta,
      plainArray(t.bodyHash),
      plainArray(t.prev),
      plainArray(t.hash),
      plainArray(e.seq),
      plainArray(e.leg),
      plainArray(e.account),
      wordArray(e.asset),
      plainArray(e.amount),
      wordArray(h.id),
      plainArray(h.account),
      plainArray(h.amount),
      plainArray(h.seq),
      wordArray(res.holdId),
      plainArray(res.seq),
      plainArray(res.posted),
      plainArray(u.id),
      plainArray(u.balance),
      plainArray(u.held),
      seq.toString(),
      prevHex,
    ],
  });
  return results;
}

/** The state checks of one request, in their documented order; undefined when it may be applied. */
function check(p: Prepared, accounts: Map<string, AccountRow>, holds: Map<string, HoldRow>): LedgerRejection | undefined {
  const req = p.req;
  switch (req.kind) {
    case 'transfer': {
      for (const [a] of p.legs) if (!accounts.has(a)) return reject('LEDGER_ACCOUNT_NOT_FOUND', { accountId: a });
      if (p.legs.length === 2) {
        // the common case, without a map: two legs balance when they cancel and share an asset
        const [a0, x0] = p.legs[0] as [string, bigint];
        const [a1, x1] = p.legs[1] as [string, bigint];
        const s0 = (accounts.get(a0) as AccountRow).asset;
        const s1 = (accounts.get(a1) as AccountRow).asset;
        if (s0 !== s1) return reject('LEDGER_UNBALANCED', { asset: s0, net: x0.toString() });
        if (x0 + x1 !== 0n) return reject('LEDGER_UNBALANCED', { asset: s0, net: (x0 + x1).toString() });
      }
      const net = new Map<string, bigint>();
      if (p.legs.length > 2) {
        for (const [a, amt] of p.legs) {
          const asset = (accounts.get(a) as AccountRow).asset;
          net.set(asset, (net.get(asset) ?? 0n) + amt);
        }
      }
      for (const [asset, n] of net) if (n !== 0n) return reject('LEDGER_UNBALANCED', { asset, net: n.toString() });
      for (const [a, amt] of p.legs) {
        const acc = accounts.get(a) as AccountRow;
        if (amt < 0n && !acc.allowNegative && acc.balance - acc.held + amt < 0n) {
          return reject('LEDGER_INSUFFICIENT_FUNDS', { accountId: a, available: (acc.balance - acc.held).toString() });
        }
      }
      for (const [a, amt] of p.legs) {
        const b = (accounts.get(a) as AccountRow).balance + amt;
        if (b > AMOUNT_MAX || b < AMOUNT_MIN) return reject('LEDGER_BALANCE_OVERFLOW', { accountId: a });
      }
      return undefined;
    }
    case 'hold': {
      const acc = accounts.get(req.accountId);
      if (!acc) return reject('LEDGER_ACCOUNT_NOT_FOUND', { accountId: req.accountId });
      if (!acc.allowNegative && acc.balance - acc.held < req.amount) {
        return reject('LEDGER_INSUFFICIENT_FUNDS', { accountId: req.accountId, available: (acc.balance - acc.held).toString() });
      }
      if (acc.held + req.amount > AMOUNT_MAX) return reject('LEDGER_BALANCE_OVERFLOW', { accountId: req.accountId });
      return undefined;
    }
    case 'post': {
      const hold = holds.get(req.holdId);
      if (!hold) return reject('LEDGER_HOLD_NOT_FOUND', { holdId: req.holdId });
      if (hold.resolved) return reject('LEDGER_HOLD_ALREADY_RESOLVED', { holdId: req.holdId });
      for (const [a] of p.legs) if (!accounts.has(a)) return reject('LEDGER_ACCOUNT_NOT_FOUND', { accountId: a });
      for (const [a] of p.legs) if (a === hold.accountId) return reject('LEDGER_LEGS_INVALID', { creditsHeldAccount: a });
      for (const [a] of p.legs) {
        if ((accounts.get(a) as AccountRow).asset !== hold.asset) return reject('LEDGER_ASSET_MISMATCH', { accountId: a, asset: hold.asset });
      }
      if (p.total > hold.amount) return reject('LEDGER_HOLD_EXCEEDED', { held: hold.amount.toString(), posted: p.total.toString() });
      const src = accounts.get(hold.accountId) as AccountRow;
      if (src.balance - p.total < AMOUNT_MIN) return reject('LEDGER_BALANCE_OVERFLOW', { accountId: hold.accountId });
      for (const [a, amt] of p.legs) {
        if ((accounts.get(a) as AccountRow).balance + amt > AMOUNT_MAX) return reject('LEDGER_BALANCE_OVERFLOW', { accountId: a });
      }
      return undefined;
    }
    case 'void': {
      const hold = holds.get(req.holdId);
      if (!hold) return reject('LEDGER_HOLD_NOT_FOUND', { holdId: req.holdId });
      if (hold.resolved) return reject('LEDGER_HOLD_ALREADY_RESOLVED', { holdId: req.holdId });
      return undefined;
    }
  }
}

/**
 * Postgres array literals built directly, for the columns whose values need no escaping: integers and hex
 * (plainArray), and ids,
 * kinds and asset codes (validated to [A-Za-z0-9_.:-]; quoted so that an id spelled NULL stays a string).
 * `pg` would otherwise escape every element of every array of every batch.
 */
function plainArray(xs: readonly (string | number | bigint)[]): string {
  return '{' + xs.join(',') + '}';
}
function wordArray(xs: readonly string[]): string {
  return xs.length === 0 ? '{}' : '{"' + xs.join('","') + '"}';
}

const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected

/** One batch, one transaction: BEGIN, applyBatch, COMMIT. Retries a deadlock or serialization failure. */
export async function commitBatch(pool: Pool, requests: readonly LedgerRequest[], opts: ApplyOptions = {}): Promise<LedgerResult[]> {
  for (let attempt = 0; ; attempt++) {
    const client: PoolClient = await pool.connect();
    let ok = false;
    try {
      await client.query('BEGIN');
      const results = await applyBatch(client, requests, attempt === 0 ? opts : {});
      await client.query('COMMIT');
      ok = true;
      return results;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      const code = (err as { code?: string }).code;
      if (!(code && RETRYABLE.has(code)) || attempt >= BATCH_RETRIES_MAX) throw err;
    } finally {
      client.release(ok ? undefined : true);
    }
  }
}
