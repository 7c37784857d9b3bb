import type { Pool } from 'pg';
import type { EngineHost } from './engine-host';

/** One disagreement between the engine's memory and what Postgres holds. */
export interface AgreementViolation {
  check: 'balance' | 'available' | 'order' | 'open_orders';
  details: Record<string, unknown>;
}

export interface AgreementReport {
  ok: boolean;
  violations: AgreementViolation[];
  accountsChecked: number;
  ordersChecked: number;
}

/** At most this many violations are listed per check (ok is false as soon as there is one). */
export const AGREEMENT_VIOLATIONS_MAX = 100;

/**
 * Checks that the engine and the database agree, with no batch in flight (the host pauses meanwhile):
 *  - `balance`: every agent account's ledger balance equals the engine's total for that agent and asset (deposits,
 *    withdrawals, settlements and fees reach both, in the same batches);
 *  - `available`: the ledger's available funds (balance - held) cover what the engine reserves for open orders;
 *  - `order` / `open_orders`: the orders the projections list as open are exactly those resting in the engine,
 *    at the same price and open quantity.
 * The engine's own invariants (reserved = what its open orders need) are checked by libs/matching itself.
 */
export async function engineAgreement(host: EngineHost, pool: Pool): Promise<AgreementReport> {
  return host.exclusive(async () => {
    const violations: AgreementViolation[] = [];
    const listed = new Map<AgreementViolation['check'], number>();
    const add = (v: AgreementViolation) => {
      const n = listed.get(v.check) ?? 0;
      if (n >= AGREEMENT_VIOLATIONS_MAX) return;
      listed.set(v.check, n + 1);
      violations.push(v);
    };
    const accounts = await pool.query<{ owner_id: string; asset: string; balance: string; held: string }>(
      `SELECT owner_id, asset, balance::text, held::text FROM ledger_account WHERE owner_kind = 'agent' ORDER BY owner_id, asset`,
    );
    for (const a of accounts.rows) {
      const e = host.holdings(a.owner_id, a.asset);
      const balance = BigInt(a.balance);
      if (balance !== e.total) add({ check: 'balance', details: { agentId: a.owner_id, asset: a.asset, ledger: a.balance, engine: e.total.toString() } });
      if (balance - BigInt(a.held) < e.reserved) {
        add({ check: 'available', details: { agentId: a.owner_id, asset: a.asset, available: (balance - BigInt(a.held)).toString(), reserved: e.reserved.toString() } });
      }
    }
    const open = await pool.query<{ id: string; market_id: string; price_ticks: number | null; open_lots: string }>(
      `SELECT id, market_id, price_ticks, open_lots::text FROM trading_order WHERE status = 'open'`,
    );
    const perMarket = new Map<string, number>();
    for (const o of open.rows) {
      perMarket.set(o.market_id, (perMarket.get(o.market_id) ?? 0) + 1);
      const resting = host.market(o.market_id)?.engine.order(Number(o.id));
      if (!resting || resting.price !== o.price_ticks || resting.lots !== Number(o.open_lots)) {
        add({
          check: 'order',
          details: { orderId: o.id, marketId: o.market_id, projection: { price: o.price_ticks, openLots: o.open_lots }, engine: resting ? { price: resting.price, openLots: resting.lots } : null },
        });
      }
    }
    for (const id of host.marketIds()) {
      const engineOpen = host.market(id)?.engine.openOrders ?? 0;
      const listed = perMarket.get(id) ?? 0;
      if (engineOpen !== listed) add({ check: 'open_orders', details: { marketId: id, projection: listed, engine: engineOpen } });
    }
    return { ok: violations.length === 0, violations, accountsChecked: accounts.rows.length, ordersChecked: open.rows.length };
  });
}
