import { CREDIT } from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { openAccount, systemAccount } from '../lib/accounts';
import type { Db, LedgerRequest, LedgerResult } from '../lib/types';
import { commitBatch } from '../lib/writer';
import type { Pool } from 'pg';

/** Test helpers shared by the ledger's specs (not exported from the library). */

export async function ledgerDb(label: string, poolMax = 10): Promise<TestDatabase> {
  return createTestDatabase(label, { poolMax });
}

export async function account(db: Db, ownerId: string, asset = CREDIT): Promise<string> {
  const r = await openAccount(db, { kind: 'agent', id: ownerId }, asset);
  if (!r.ok) throw new Error(r.code);
  return r.account.id;
}

export async function issuance(db: Db, asset = CREDIT): Promise<string> {
  const r = await systemAccount(db, 'issuance', asset);
  if (!r.ok) throw new Error(r.code);
  return r.account.id;
}

export function mintReq(id: string, issuanceId: string, to: string, amount: bigint): LedgerRequest {
  return {
    kind: 'transfer',
    id,
    type: 'mint',
    legs: [
      { accountId: issuanceId, side: 'debit', amount },
      { accountId: to, side: 'credit', amount },
    ],
  };
}

export function moveReq(id: string, from: string, to: string, amount: bigint): LedgerRequest {
  return {
    kind: 'transfer',
    id,
    type: 'settlement',
    legs: [
      { accountId: from, side: 'debit', amount },
      { accountId: to, side: 'credit', amount },
    ],
  };
}

export async function one(pool: Pool, req: LedgerRequest): Promise<LedgerResult> {
  return (await commitBatch(pool, [req]))[0] as LedgerResult;
}

/** Everything the ledger has written, to compare before and after a rejected request. */
export async function snapshot(db: Db): Promise<unknown> {
  const q = async (sql: string) => (await db.query(sql)).rows;
  return {
    head: await q(`SELECT seq, encode(hash, 'hex') AS hash FROM ledger_chain_head`),
    transfers: await q(`SELECT count(*)::int AS n FROM ledger_transfer`),
    entries: await q(`SELECT count(*)::int AS n FROM ledger_entry`),
    holds: await q(`SELECT count(*)::int AS n FROM ledger_hold`),
    resolutions: await q(`SELECT count(*)::int AS n FROM ledger_hold_resolution`),
    accounts: await q(`SELECT id, balance, held FROM ledger_account ORDER BY id`),
  };
}
