import { AppError } from '@ate/contracts';
import { MatchingEngine, validateMarketConfig } from '@ate/matching';
import type { Pool } from 'pg';
import type { CommandHandler } from './handlers';
import type { HostCommandOf, HostMarket } from './host-types';
import type { MarketSettings } from './market-config';

/**
 * A change of a market's rules (fees, order size limits, the highest price, the price band, the largest spend of a
 * spend-sized market order), in the engine's sequence: the command is logged (`{t:'k'}`) with the rules it
 * leaves in force, applies to every command after it and is replayed at the same place. The batch writes the change
 * (market_rule_change: before and after) and the market row's new rules in its transaction. Tick and lot size,
 * the base asset, the agent order cap and self-trade default stay fixed (resting orders are denominated in them).
 *
 * Resting orders stay as they are: new limits apply to new orders and amends. A highest price below a resting
 * order's price is refused (the book could not hold it).
 */

export interface MarketRules {
  makerFeeBps: number;
  takerFeeBps: number;
  minOrderLots: number;
  maxOrderLots: number;
  maxPriceTicks: number;
  priceBandBps: number;
  /** credits, minor units */
  maxSpendCredits: number;
}

export interface MarketRuleChange {
  commandSeq: number;
  marketId: string;
  before: MarketRules;
  after: MarketRules;
}

export type LoggedRules = { t: 'k'; rules: MarketRules };

export function rulesOf(m: Pick<MarketSettings, 'config' | 'makerFeeBps' | 'takerFeeBps'>): MarketRules {
  return {
    makerFeeBps: m.makerFeeBps,
    takerFeeBps: m.takerFeeBps,
    minOrderLots: m.config.minOrderLots,
    maxOrderLots: m.config.maxOrderLots,
    maxPriceTicks: m.config.maxPriceTicks,
    priceBandBps: m.config.priceBandBps,
    maxSpendCredits: m.config.maxSpendCredits,
  };
}

/** The settings with these rules (nothing else changes). */
export function withRules<S extends Pick<MarketSettings, 'config' | 'makerFeeBps' | 'takerFeeBps'>>(s: S, r: MarketRules): S {
  return {
    ...s,
    makerFeeBps: r.makerFeeBps,
    takerFeeBps: r.takerFeeBps,
    config: {
      ...s.config,
      minOrderLots: r.minOrderLots,
      maxOrderLots: r.maxOrderLots,
      maxPriceTicks: r.maxPriceTicks,
      priceBandBps: r.priceBandBps,
      maxSpendCredits: r.maxSpendCredits,
    },
  };
}

/** Why these rules cannot apply to the market as it is now, or null. */
export function rulesRefusal(m: HostMarket, r: MarketRules): Record<string, unknown> | null {
  if (r.makerFeeBps < 0 || r.makerFeeBps > 1000 || r.takerFeeBps < 0 || r.takerFeeBps > 1000) return { reason: 'fees are 0..1000 bps' };
  try {
    validateMarketConfig(withRules(m, r).config);
  } catch (e) {
    return { reason: (e as Error).message };
  }
  let highest = 0;
  for (const o of m.engine.snapshot({ balances: false }).orders) highest = Math.max(highest, o.price);
  if (highest > r.maxPriceTicks) return { reason: 'a resting order is priced above the new highest price', restingPriceTicks: highest };
  return null;
}

/** Puts the rules in force in the market (the engine is rebuilt from its own snapshot with the new config). */
export function applyRules(m: HostMarket, r: MarketRules): void {
  const next = withRules(m, r);
  m.makerFeeBps = next.makerFeeBps;
  m.takerFeeBps = next.takerFeeBps;
  m.config = next.config;
  const snap = m.engine.snapshot({ balances: false });
  m.engine = MatchingEngine.restore({ ...snap, config: { ...next.config } }, { balances: m.engine.balances, sink: m.sink });
}

export const setRules: CommandHandler<HostCommandOf<'set_rules'>> = {
  async prepare(ctx, cmd) {
    if (!ctx.core.markets.has(cmd.marketId)) throw new AppError('NOT_FOUND', 'No such market.', { marketId: cmd.marketId });
  },
  execute(b, cmd, ts) {
    const m = b.core.markets.get(cmd.marketId) as HostMarket;
    const before = rulesOf(m);
    const after: MarketRules = { ...before, ...cmd.rules };
    const refused = rulesRefusal(m, after);
    if (refused) return { seq: null, code: 'VALIDATION_FAILED', events: [], details: refused };
    applyRules(m, after);
    const logged: LoggedRules = { t: 'k', rules: after };
    const seq = b.logOther(m.id, ts, logged, [], () => []);
    b.extra.ruleChanges.push({ commandSeq: seq, marketId: m.id, before, after });
    return { seq: String(seq), code: null, events: [], change: { before, after } };
  },
};

export const UPDATE_MARKET_RULES = `UPDATE market SET maker_fee_bps = $2, taker_fee_bps = $3, min_order_lots = $4, max_order_lots = $5,
  max_price_ticks = $6, price_band_bps = $7, max_spend_credits = $8 WHERE id = $1`;

export function ruleColumns(r: MarketRules): unknown[] {
  return [r.makerFeeBps, r.takerFeeBps, r.minOrderLots, r.maxOrderLots, r.maxPriceTicks, r.priceBandBps, r.maxSpendCredits];
}

/** Every rule change, oldest first (recovery: which rules were in force at its starting point). */
export async function selectRuleChanges(pool: Pool): Promise<{ seq: number; marketId: string; before: MarketRules }[]> {
  const r = await pool.query<{ command_seq: string; market_id: string; before: MarketRules }>(
    'SELECT command_seq, market_id, before FROM market_rule_change ORDER BY command_seq',
  );
  return r.rows.map((x) => ({ seq: Number(x.command_seq), marketId: x.market_id, before: x.before }));
}

/** The markets with the rules in force just after command `at`: the `before` of each market's first change after it. */
export function rulesAt(markets: MarketSettings[], changes: { seq: number; marketId: string; before: MarketRules }[], at: number): MarketSettings[] {
  return markets.map((m) => {
    const first = changes.find((c) => c.marketId === m.id && c.seq > at);
    return first ? withRules(m, first.before) : m;
  });
}
