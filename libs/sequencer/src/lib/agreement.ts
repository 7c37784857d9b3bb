import { balancesOfKind } from '@ate/ledger';
import type { Pool } from 'pg';
import { selectOpenOrders } from './sql';

/** What the agreement check reads of an engine host (EngineHost implements it; no import of the host here). */
export interface EngineReads {
  /** Runs `fn` with no batch in flight. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  holdings(agentId: string, asset: string): { total: bigint; reserved: bigint };
  /** What the engine holds in principals' own accounts: principal, asset, amount (minor units; nothing reserved there). */
  principalHoldings(): Iterable<{ principalId: string; asset: string; total: bigint }>;
  /** An open order as it rests now (ticks and lots), or null. */
  restingOrder(marketId: string, orderId: number): { price: number; lots: number } | null;
  /** Orders resting in the market's book. */
  openOrders(marketId: string): number;
  marketIds(): string[];
}

/** One disagreement between the engine's memory and what Postgres holds. */
export interface AgreementViolation {
  check: 'balance' | 'available' | 'principal_balance' | 'order' | 'open_orders';
  details: Record<string, unknown>;
}

export interface AgreementReport {
  ok: boolean;
  violations: AgreementViolation[];
  accountsChecked: number;
  /** principals' own accounts compared (ledger accounts, and holdings the engine has without one) */
  principalAccountsChecked: number;
  ordersChecked: number;
}

/** At most this many violations are listed per check (ok is false as soon as there is one). */
export const AGREEMENT_VIOLATIONS_MAX = 100;

/**
 * Checks that the engine and the database agree, with no batch in flight (the host pauses meanwhile):
 *  - `balance`: every agent account's ledger balance equals the engine's total for that agent and asset (deposits,
 *    withdrawals, settlements and fees reach both, in the same batches);
 *  - `available`: the ledger's available funds (balance - held) cover what the engine reserves for open orders;
 *  - `principal_balance`: every principal's own account (ledger) equals what the engine's budget state holds for it
 *    (principals' deposits, withdrawals and transfers to and from their agents reach both in the same batches),
 *    and the engine holds nothing for a principal in an asset the ledger has no such account of;
 *  - `order` / `open_orders`: the orders the projections list as open are exactly those resting in the engine,
 *    at the same price and open quantity.
 * The engine's own invariants (reserved = what its open orders need) are checked by libs/matching itself.
 */
export async function engineAgreement(host: EngineReads, pool: Pool): Promise<AgreementReport> {
  return host.exclusive(async () => {
    const violations: AgreementViolation[] = [];
    const listed = new Map<AgreementViolation['check'], number>();
    const add = (v: AgreementViolation) => {
      const n = listed.get(v.check) ?? 0;
      if (n >= AGREEMENT_VIOLATIONS_MAX) return;
      listed.set(v.check, n + 1);
      violations.push(v);
    };
    const accounts = await balancesOfKind(pool, 'agent');
    for (const a of accounts) {
      const e = host.holdings(a.ownerId, a.asset);
      if (a.total !== e.total)
        add({ check: 'balance', details: { agentId: a.ownerId, asset: a.asset, ledger: a.total.toString(), engine: e.total.toString() } });
      if (a.available < e.reserved) {
        add({
          check: 'available',
          details: { agentId: a.ownerId, asset: a.asset, available: a.available.toString(), reserved: e.reserved.toString() },
        });
      }
    }
    const principalAccounts = await balancesOfKind(pool, 'principal');
    const engineHeld = new Map<string, bigint>();
    for (const h of host.principalHoldings()) engineHeld.set(`${h.principalId}|${h.asset}`, h.total);
    for (const a of principalAccounts) {
      const key = `${a.ownerId}|${a.asset}`;
      const e = engineHeld.get(key) ?? 0n;
      engineHeld.delete(key);
      if (a.total !== e)
        add({ check: 'principal_balance', details: { principalId: a.ownerId, asset: a.asset, ledger: a.total.toString(), engine: e.toString() } });
    }
    for (const [key, e] of engineHeld) {
      if (e === 0n) continue;
      const [principalId, asset] = key.split('|') as [string, string];
      add({ check: 'principal_balance', details: { principalId, asset, ledger: null, engine: e.toString() } });
    }
    const open = await selectOpenOrders(pool);
    const perMarket = new Map<string, number>();
    for (const o of open) {
      perMarket.set(o.market_id, (perMarket.get(o.market_id) ?? 0) + 1);
      const resting = host.restingOrder(o.market_id, Number(o.id));
      if (!resting || resting.price !== o.price_ticks || resting.lots !== Number(o.open_lots)) {
        add({
          check: 'order',
          details: {
            orderId: o.id,
            marketId: o.market_id,
            projection: { price: o.price_ticks, openLots: o.open_lots },
            engine: resting ? { price: resting.price, openLots: resting.lots } : null,
          },
        });
      }
    }
    for (const id of host.marketIds()) {
      const engineOpen = host.openOrders(id);
      const listedHere = perMarket.get(id) ?? 0;
      if (engineOpen !== listedHere) add({ check: 'open_orders', details: { marketId: id, projection: listedHere, engine: engineOpen } });
    }
    return {
      ok: violations.length === 0,
      violations,
      accountsChecked: accounts.length,
      principalAccountsChecked: principalAccounts.length + [...engineHeld.values()].filter((v) => v !== 0n).length,
      ordersChecked: open.length,
    };
  });
}
