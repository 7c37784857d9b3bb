import { CREDIT, SCALE_MAX, reject } from '@ate/contracts';
import * as SQL from './sql';
import { Db, OWNER_KINDS, OwnerKind, Result, SYSTEM_ACCOUNTS, SystemAccount } from './types';

/** CREDIT exists from the migration; allowance assets are defined with defineAsset. */
export interface Asset {
  code: string;
  kind: 'credit' | 'allowance';
  scale: number;
  model: string | null;
  provider: string | null;
  tokenClass: string | null;
  /** 'YYYY-MM-DD' or null. */
  expiresOn: string | null;
}

export interface AllowanceAssetDef {
  code: string;
  scale: number;
  model: string;
  provider: string;
  tokenClass: string;
  expiresOn?: string | null;
}

export interface Account {
  id: string;
  ownerKind: OwnerKind;
  ownerId: string;
  asset: string;
  allowNegative: boolean;
}

const ASSET_CODE = /^[A-Z0-9][A-Z0-9_.:-]{0,63}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function rowToAsset(r: Record<string, unknown>): Asset {
  return {
    code: r['code'] as string,
    kind: r['kind'] as Asset['kind'],
    scale: Number(r['scale']),
    model: (r['model'] as string | null) ?? null,
    provider: (r['provider'] as string | null) ?? null,
    tokenClass: (r['token_class'] as string | null) ?? null,
    expiresOn: (r['expires_on'] as string | null) ?? null,
  };
}

function validDate(s: string): boolean {
  if (!DATE.test(s)) return false;
  const d = new Date(s + 'T00:00:00Z');
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

const str = (x: unknown, max: number) => typeof x === 'string' && x.length >= 1 && x.length <= max && !x.includes('\u0000');

/** Defines an allowance asset. Idempotent: the same definition again returns it; another one under the same
 * code is LEDGER_ASSET_CONFLICT. */
export async function defineAsset(db: Db, def: AllowanceAssetDef): Promise<Result<{ asset: Asset }>> {
  const expiresOn = def.expiresOn ?? null;
  if (
    typeof def.code !== 'string' ||
    !ASSET_CODE.test(def.code) ||
    def.code === CREDIT ||
    !Number.isSafeInteger(def.scale) ||
    def.scale < 0 ||
    def.scale > SCALE_MAX ||
    !str(def.model, 128) ||
    !str(def.provider, 128) ||
    !str(def.tokenClass, 64) ||
    (expiresOn !== null && (typeof expiresOn !== 'string' || !validDate(expiresOn)))
  ) {
    return reject('LEDGER_ASSET_INVALID');
  }
  await db.query(SQL.INSERT_ASSET, [def.code, def.scale, def.model, def.provider, def.tokenClass, expiresOn]);
  const asset = rowToAsset((await db.query(SQL.SELECT_ASSET, [def.code])).rows[0]);
  const same =
    asset.kind === 'allowance' &&
    asset.scale === def.scale &&
    asset.model === def.model &&
    asset.provider === def.provider &&
    asset.tokenClass === def.tokenClass &&
    asset.expiresOn === expiresOn;
  return same ? { ok: true, asset } : reject('LEDGER_ASSET_CONFLICT', { code: def.code });
}

export async function getAsset(db: Db, code: string): Promise<Result<{ asset: Asset }>> {
  const r = await db.query(SQL.SELECT_ASSET, [code]);
  return r.rows[0] ? { ok: true, asset: rowToAsset(r.rows[0]) } : reject('LEDGER_ASSET_NOT_FOUND', { code });
}

/**
 * The account of an owner in an asset, opened on first use (get-or-create, safe under concurrency).
 * System owners are the four SYSTEM_ACCOUNTS; only `system/issuance` may go negative.
 */
export async function openAccount(db: Db, owner: { kind: OwnerKind; id: string }, asset: string): Promise<Result<{ account: Account }>> {
  if (
    !(OWNER_KINDS as readonly string[]).includes(owner?.kind) ||
    !str(owner.id, 128) ||
    (owner.kind === 'system' && !(SYSTEM_ACCOUNTS as readonly string[]).includes(owner.id))
  ) {
    return reject('LEDGER_OWNER_INVALID');
  }
  if (typeof asset !== 'string' || !ASSET_CODE.test(asset)) return reject('LEDGER_ASSET_NOT_FOUND', { code: asset });
  const a = await getAsset(db, asset);
  if (!a.ok) return a;
  const allowNegative = owner.kind === 'system' && owner.id === 'issuance';
  await db.query(SQL.INSERT_ACCOUNT, [owner.kind, owner.id, asset, allowNegative]);
  const r = (await db.query(SQL.SELECT_ACCOUNT_BY_OWNER, [owner.kind, owner.id, asset])).rows[0];
  return {
    ok: true,
    account: { id: r.id, ownerKind: r.owner_kind, ownerId: r.owner_id, asset: r.asset, allowNegative: r.allow_negative },
  };
}

/** A system account of an asset (opened on first use). */
export function systemAccount(db: Db, name: SystemAccount, asset: string): Promise<Result<{ account: Account }>> {
  return openAccount(db, { kind: 'system', id: name }, asset);
}
