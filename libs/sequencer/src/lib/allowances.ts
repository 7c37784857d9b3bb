import { MatchingCommand, Rejection } from '@ate/contracts';
import { Asset, getAsset } from '@ate/ledger';
import type { Pool } from 'pg';

/**
 * What the engine knows of each asset beyond its balances: whether it is an allowance, its model and token class,
 * and when it expires. Asset rows are fixed once written (ledger_asset), so these terms are loaded with the assets
 * at every load and are the same in a live run and in its replay: decisions on them depend only on command time.
 *
 * An allowance whose `expires_on` is D (a UTC date) is valid through D and expires at the start of D + 1 (UTC):
 * from that instant of command time it cannot be redeemed and its market refuses new orders and amends
 * (`ALLOWANCE_EXPIRED`, naming the expiry); cancels still pass, so agents can take resting orders out.
 */
export interface AssetTerms {
  code: string;
  kind: 'credit' | 'allowance';
  model: string | null;
  tokenClass: string | null;
  /** ms since the epoch (command time) from which the allowance is expired; null: never */
  expiresAt: number | null;
}

/** The instant an allowance dated `expiresOn` (YYYY-MM-DD, valid through that UTC day) expires, ms. */
export function expiryInstant(expiresOn: string | null): number | null {
  if (!expiresOn) return null;
  const [y, m, d] = expiresOn.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d + 1);
}

export class AllowanceTerms {
  private terms = new Map<string, AssetTerms>();

  /** Loads every asset's terms (at each load of the host). */
  define(
    assets: readonly { code: string; kind: 'credit' | 'allowance'; model: string | null; tokenClass: string | null; expiresOn: string | null }[],
  ): void {
    this.terms = new Map(
      assets.map((a) => [a.code, { code: a.code, kind: a.kind, model: a.model, tokenClass: a.tokenClass, expiresAt: expiryInstant(a.expiresOn) }]),
    );
  }

  get(asset: string): AssetTerms | undefined {
    return this.terms.get(asset);
  }

  /** Whether the allowance is expired at command time `ts`. */
  expired(asset: string, ts: number): boolean {
    const at = this.terms.get(asset)?.expiresAt;
    return at !== null && at !== undefined && ts >= at;
  }

  /** The refusal of an order or amend in the market of an expired allowance, or null (cancels and admin commands pass). */
  refuseOrder(baseAsset: string, c: MatchingCommand): Rejection | null {
    if (c.type !== 'limit' && c.type !== 'market' && c.type !== 'amend') return null;
    if (!this.expired(baseAsset, c.ts)) return null;
    const at = this.terms.get(baseAsset)?.expiresAt as number;
    return { ok: false, code: 'ALLOWANCE_EXPIRED', details: { asset: baseAsset, expiresAt: new Date(at).toISOString() } };
  }
}

/** Every asset's definition, through libs/ledger (a handful of rows; read at each load). */
export async function assetTerms(pool: Pool, assets: readonly { code: string }[]): Promise<Asset[]> {
  const out: Asset[] = [];
  for (const { code } of assets) {
    const r = await getAsset(pool, code);
    if (r.ok) out.push(r.asset);
  }
  return out;
}
