import type { CombinatorialAuction } from '../lib/combinatorial';

/**
 * The naive twin of winner determination: try every choice of at most one bundle per bidder, keep the best
 * feasible one. Exponential; for small instances in tests only.
 */
export function bruteForceWelfare(a: CombinatorialAuction, exclude: ReadonlySet<number> = new Set()): bigint {
  const supply = new Map(a.items.map((it) => [it.id, it.supply ?? 1n]));
  const used = new Map<string, bigint>();
  let best = 0n;
  const visit = (i: number, sum: bigint): void => {
    if (i === a.bids.length) {
      if (sum > best) best = sum;
      return;
    }
    visit(i + 1, sum); // bidder i wins nothing
    if (exclude.has(i)) return;
    for (const b of a.bids[i].bundles) {
      if (b.items.some((id) => (used.get(id) ?? 0n) >= (supply.get(id) ?? 0n))) continue;
      for (const id of b.items) used.set(id, (used.get(id) ?? 0n) + 1n);
      visit(i + 1, sum + b.value);
      for (const id of b.items) used.set(id, (used.get(id) ?? 0n) - 1n);
    }
  };
  visit(0, 0n);
  return best;
}

/** VCG payment of bidder i, given the welfare W and i's value b_i in the chosen optimum. */
export function bruteForceVcgPayment(a: CombinatorialAuction, i: number, welfare: bigint, value: bigint): bigint {
  return bruteForceWelfare(a, new Set([i])) - (welfare - value);
}

/**
 * The standard reading of reserve prices: the seller as one more bidder (after the others, so their indices are
 * unchanged) whose value for the units it keeps is their reserves. Its additive value is written as XOR bids: as
 * many copies of the seller as the largest supply of an item with a reserve, each bidding on every non-empty set of
 * those items the sum of their reserves. The items lose their reserves (the seller's bids stand for them).
 */
export function withSellerAsBidder(a: CombinatorialAuction): CombinatorialAuction {
  const reserved = a.items.filter((it) => (it.reserve ?? 0n) > 0n);
  const copies = reserved.reduce((m, it) => Math.max(m, Number(it.supply ?? 1n)), 0);
  const sets: { items: string[]; value: bigint }[] = [];
  for (let mask = 1; mask < 1 << reserved.length; mask++) {
    const chosen = reserved.filter((_, k) => mask & (1 << k));
    sets.push({ items: chosen.map((it) => it.id), value: chosen.reduce((s, it) => s + (it.reserve ?? 0n), 0n) });
  }
  return {
    items: a.items.map((it) => ({ id: it.id, ...(it.supply !== undefined ? { supply: it.supply } : {}) })),
    bids: [...a.bids, ...Array.from({ length: copies }, (_, j) => ({ bidder: `seller#${j}`, bundles: sets }))],
  };
}
