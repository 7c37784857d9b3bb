import { formatAmount } from '@ate/contracts';
import type { Pool } from 'pg';

/** One agent's spend beyond the book over a period: its own lines of the spend report. */
export interface MechanismSpendLines {
  /** credits paid for auctions won (VCG or core payments), at their settlement */
  auctionPayments: bigint;
  auctionsWon: number;
  /** allowances won in auctions, per asset, in the asset's units */
  won: Record<string, string>;
  /** credits paid for posted-price purchases */
  purchaseCosts: bigint;
  purchases: number;
  /** allowances bought at posted prices, per asset */
  bought: Record<string, string>;
  /** allowances redeemed (consumed, not spend), per asset */
  redeemed: Record<string, string>;
}

/**
 * The spend report's lines for auctions, posted-price purchases and redemptions of these agents in [from, to), read
 * from the projections their batches wrote (auction_bid of settled auctions, price_pool_purchase, redemption).
 * An auction counts at its settlement's time; a combinatorial award counts the units of every item of its bundle.
 */
export async function mechanismSpend(
  pool: Pool,
  scaleOf: (asset: string) => Promise<number>,
  agents: string[],
  from: Date,
  to: Date,
): Promise<Map<string, MechanismSpendLines>> {
  const out = new Map<string, MechanismSpendLines>();
  const raw = new Map<string, { won: Map<string, bigint>; bought: Map<string, bigint>; redeemed: Map<string, bigint> }>();
  for (const id of agents) {
    out.set(id, { auctionPayments: 0n, auctionsWon: 0, won: {}, purchaseCosts: 0n, purchases: 0, bought: {}, redeemed: {} });
    raw.set(id, { won: new Map(), bought: new Map(), redeemed: new Map() });
  }
  const add = (m: Map<string, bigint>, asset: string, v: bigint) => m.set(asset, (m.get(asset) ?? 0n) + v);

  const won = await pool.query<{
    agent_id: string;
    payment: string;
    units_won: string;
    mechanism: string;
    asset: string;
    items: { id: string; asset: string; units: string }[] | null;
    clearing: { awards?: { agentId: string; items?: string[] }[] } | null;
  }>(
    `SELECT b.agent_id, b.payment::text, b.units_won::text, a.mechanism, a.asset, a.items, a.clearing
       FROM auction_bid b JOIN auction a ON a.id = b.auction_id
      WHERE b.agent_id = ANY($1) AND b.status = 'won' AND b.updated_at >= $2 AND b.updated_at < $3`,
    [agents, from, to],
  );
  for (const r of won.rows) {
    const o = out.get(r.agent_id) as MechanismSpendLines;
    o.auctionPayments += BigInt(r.payment ?? '0');
    o.auctionsWon++;
    const w = (raw.get(r.agent_id) as { won: Map<string, bigint> }).won;
    if (r.mechanism === 'vcg_multi_unit') add(w, r.asset, BigInt(r.units_won ?? '0'));
    else {
      const byId = new Map((r.items ?? []).map((it) => [it.id, it]));
      const award = r.clearing?.awards?.find((x) => x.agentId === r.agent_id);
      for (const id of award?.items ?? []) {
        const it = byId.get(id);
        if (it) add(w, it.asset, BigInt(it.units));
      }
    }
  }

  const bought = await pool.query<{ agent_id: string; asset: string; units: string; cost: string; n: string }>(
    `SELECT pp.agent_id, p.asset, sum(pp.units)::text AS units, sum(pp.cost)::text AS cost, count(*)::text AS n
       FROM price_pool_purchase pp JOIN price_pool p ON p.id = pp.pool_id
      WHERE pp.agent_id = ANY($1) AND pp.created_at >= $2 AND pp.created_at < $3
      GROUP BY pp.agent_id, p.asset`,
    [agents, from, to],
  );
  for (const r of bought.rows) {
    const o = out.get(r.agent_id) as MechanismSpendLines;
    o.purchaseCosts += BigInt(r.cost);
    o.purchases += Number(r.n);
    add((raw.get(r.agent_id) as { bought: Map<string, bigint> }).bought, r.asset, BigInt(r.units));
  }

  const redeemed = await pool.query<{ agent_id: string; asset: string; amount: string }>(
    `SELECT agent_id, asset, sum(amount)::text AS amount FROM redemption
      WHERE agent_id = ANY($1) AND issued_at >= $2 AND issued_at < $3 GROUP BY agent_id, asset`,
    [agents, from.getTime(), to.getTime()],
  );
  for (const r of redeemed.rows) add((raw.get(r.agent_id) as { redeemed: Map<string, bigint> }).redeemed, r.asset, BigInt(r.amount));

  for (const [id, r] of raw) {
    const o = out.get(id) as MechanismSpendLines;
    for (const [k, m] of [
      ['won', r.won],
      ['bought', r.bought],
      ['redeemed', r.redeemed],
    ] as const)
      for (const [asset, v] of [...m].sort(([x], [y]) => (x < y ? -1 : 1))) o[k][asset] = formatAmount(v, await scaleOf(asset));
  }
  return out;
}
