import type { ErrorCode, Rejection } from '@ate/contracts';
import type { Client, Pool, PoolClient } from 'pg';

/** Anything `pg` can run a query on. */
export type Db = Pool | PoolClient | Client;

/** The ledger's rejection codes (libs/contracts/src/lib/codes/ledger.ts). */
export type LedgerCode = Extract<ErrorCode, `LEDGER_${string}`>;
export type LedgerRejection = Rejection<LedgerCode>;
export type Result<T> = ({ ok: true } & T) | LedgerRejection;

export const OWNER_KINDS = ['agent', 'principal', 'system'] as const;
export type OwnerKind = (typeof OWNER_KINDS)[number];

/**
 * System accounts, one per asset each. `issuance` is the only account that may go negative: minting debits it
 * and credits a user, burning does the reverse, so -balance(issuance) = minted - burned = the sum of every other
 * balance of the asset (promise 2). `fees` collects fees, `redemption` receives allowances being redeemed,
 * `suspense` parks funds an operator has to look at. All but issuance are ordinary non-negative accounts.
 */
export const SYSTEM_ACCOUNTS = ['issuance', 'fees', 'redemption', 'suspense'] as const;
export type SystemAccount = (typeof SYSTEM_ACCOUNTS)[number];

export const TRANSFER_TYPES = ['mint', 'burn', 'settlement', 'fee', 'hold', 'release', 'redemption', 'adjustment'] as const;
export type TransferType = (typeof TRANSFER_TYPES)[number];
/** Types a plain transfer or a hold post may carry ('hold' and 'release' belong to holds and voids). */
export type MovementType = Exclude<TransferType, 'hold' | 'release'>;

export const REFERENCE_KINDS = ['order', 'trade', 'auction', 'admin'] as const;
export type ReferenceKind = (typeof REFERENCE_KINDS)[number];
export interface Reference {
  kind: ReferenceKind;
  id: string;
}

export type Metadata = { [key: string]: unknown };

/** A debit takes `amount` from the account's balance, a credit adds it. Amounts are positive minor units. */
export interface Leg {
  accountId: string;
  side: 'debit' | 'credit';
  amount: bigint;
}

interface RequestBase {
  /** Caller-chosen idempotency key, 1-128 of [A-Za-z0-9_.:-]. Unique across every kind of request. */
  id: string;
  ref?: Reference;
  metadata?: Metadata;
}

/** A balanced multi-leg transfer: per asset, the debits equal the credits. */
export interface TransferRequest extends RequestBase {
  kind: 'transfer';
  type: MovementType;
  legs: Leg[];
}

/** Reserves `amount` of the account's available funds. The hold's id is the request's id. */
export interface HoldRequest extends RequestBase {
  kind: 'hold';
  accountId: string;
  amount: bigint;
}

/** Resolves a hold by moving part or all of it to the credited accounts; the rest is released. */
export interface PostRequest extends RequestBase {
  kind: 'post';
  holdId: string;
  /** Default 'settlement'. */
  type?: MovementType;
  /** Sum = the amount posted, at most the amount held; same asset as the hold. */
  credits: { accountId: string; amount: bigint }[];
}

/** Resolves a hold by releasing all of it. */
export interface VoidRequest extends RequestBase {
  kind: 'void';
  holdId: string;
}

export type LedgerRequest = TransferRequest | HoldRequest | PostRequest | VoidRequest;

/** The outcome of an accepted request: its place in the journal. `replayed` when the id was already committed
 * with the same body (nothing new was written). */
export interface Committed {
  ok: true;
  id: string;
  seq: string;
  hash: string;
  replayed: boolean;
}

export type LedgerResult = Committed | LedgerRejection;
