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
