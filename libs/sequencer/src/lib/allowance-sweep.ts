import type { Batch } from './batch';
import type { EngineCore } from './core';
import type { HostMarket } from './host-types';

/**
 * Resting orders of an expired allowance are cancelled at its expiry, in the sequence. From the allowance's
 * expiry instant (allowances.ts) its market refuses new orders and amends; the expiry timer (expiry.ts) sends a
 * `tick` to the market at that instant, and the tick handler calls `sweepExpiredAllowance`: every agent with
 * orders resting there gets one logged `cancel_all` with reason MATCHING_CANCEL_ALLOWANCE_EXPIRED (agents in
 * ascending order), so the holds are released by the engine, budget reservations by the post-trade step, the
 * projections say why, and the owners get `cancelled` events with that reason on the outlet. Replay runs the
 * logged cancels again: the same orders are cancelled at the same command time. Decided on command time only:
 * a tick at a time before the expiry sweeps nothing, one at or after it sweeps whatever still rests.
 *
 * A market halted at the expiry cannot cancel (halted refuses cancels): it is swept by the command that takes it
 * out of the halt (set_state). After a restart, recovery's schedule names every market whose allowance has
 * expired and still has orders resting, due at once.
 */

/** Cancels every order resting in the market if its allowance is expired at `ts` (nothing otherwise). */
export function sweepExpiredAllowance(b: Batch, m: HostMarket, ts: number): void {
  if (m.engine.openOrders === 0 || m.engine.marketState === 'halted') return;
  if (!b.core.allowances.expired(m.config.baseAsset, ts)) return;
  const agents = [...new Set(m.engine.snapshot({ balances: false }).orders.map((o) => o.agent))].sort((x, y) => x - y);
  for (const agent of agents) b.matching(m, { type: 'cancel_all', ts, agent, reason: 'MATCHING_CANCEL_ALLOWANCE_EXPIRED' }, b.directory.idOf(agent));
}

/**
 * The allowance expiries the timer must wake up for: each market's allowance expiring later than `now`, and each
 * market whose allowance expired already with orders still resting (due at once).
 */
export function allowanceExpiries(core: EngineCore, now: number): { at: number; marketId: string }[] {
  const out: { at: number; marketId: string }[] = [];
  for (const m of core.markets.values()) {
    const at = core.allowances.get(m.config.baseAsset)?.expiresAt;
    if (at === null || at === undefined) continue;
    if (at > now || m.engine.openOrders > 0) out.push({ at, marketId: m.id });
  }
  return out;
}
