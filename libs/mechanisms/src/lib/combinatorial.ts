import { reject, type Rejection } from '@ate/contracts';
import { LIMITS } from './limits';
import type { MipSolver, SolverProblem } from './solver';
import { checkAmount, checkId, tooLarge } from './validate';

/**
 * Combinatorial VCG: distinct items (each with a supply, default 1), bids on bundles, XOR between the bundles of
 * one bidder (it wins at most one). Winner determination is an integer program solved by a MipSolver (HiGHS):
 * maximise the sum of the chosen bundles' values subject to one bundle per bidder and each item's supply.
 * Each winner's VCG payment is W(without it) - (W - its value), one more solve per winner.
 *
 * The solver's answer is not trusted: every solution is checked for integrality and feasibility, its welfare is
 * recomputed in bigint, and the VCG identities W - b_i <= W_-i <= W are checked; any failure answers
 * MECHANISM_SOLVER_FAILED and nothing is decided.
 *
 * Ties: among allocations of equal welfare the solver's choice stands. It is deterministic for one HiGHS version
 * and one input (fixed seed, single thread), but not a rule of its own: the settlement must carry the clearing
 * result, not recompute it on replay.
 *
 * Reserve prices (optional, per unit of an item): the seller takes part as a bidder whose value for the items it
 * keeps is their reserves (additive). A bundle's reserve is the sum of its items' reserves; a bundle bid below it is
 * out (it never wins); the allocation maximises the bids' surplus over their reserves (the seller's value of what
 * it keeps added back, a constant); a winner's VCG payment is its bundle's reserve plus the externality it imposes
 * on the other bidders and the seller in those reduced values: reserve(S_i) + W'_-i - (W' - (b_i - reserve(S_i))),
 * never below the reserve of what it won, never above its bid. Bundles bid exactly at their reserve add no surplus;
 * they are awarded after the optimisation, in bid order, where their items are still unsold (ties with keeping the
 * items go to selling, as in the multi-unit auction). Core payments are computed the same way, in reduced values.
 */

export interface Item {
  id: string;
  /** Identical units of this item (default 1). */
  supply?: bigint;
  /** The seller's reserve price per unit of this item (default 0): a bundle bid below its items' reserves never wins. */
  reserve?: bigint;
}

export interface Bundle {
  /** Distinct item ids; each bundle takes one unit of each. */
  items: readonly string[];
  /** The most the bidder pays for the whole bundle. */
  value: bigint;
}

export interface CombinatorialBid {
  bidder: string;
  /** XOR: the bidder wins at most one of these. */
  bundles: readonly Bundle[];
}

export interface CombinatorialAuction {
  items: readonly Item[];
  /** At most one bid per bidder. */
  bids: readonly CombinatorialBid[];
}

export interface CombinatorialAward {
  bidder: string;
  /** Index of the winning bundle in the bid, or null for a losing bid. */
  bundle: number | null;
  items: readonly string[];
  value: bigint;
  /** The VCG (Clarke) payment: 0 <= vcgPayment <= value. */
  vcgPayment: bigint;
  /** What the winner pays under the chosen rule (the VCG payment, or the core payment). */
  payment: bigint;
}

export interface CombinatorialClearing {
  ok: true;
  rule: 'vcg' | 'core';
  /** One award per bid, in input order. */
  awards: CombinatorialAward[];
  welfare: bigint;
  vcgRevenue: bigint;
  revenue: bigint;
  /** Solver calls made (1 + winners for VCG; more for core payments). */
  solves: number;
}

/** The winner-determination model: flattened bundles with item indices. */
export interface Wdp {
  auction: CombinatorialAuction;
  supply: bigint[];
  /** The reserve per unit of each item (0 without one). */
  reserve: bigint[];
  /**
   * One column per (bidder, bundle) with a positive bid at or above its reserve; `value` is the bid's surplus over
   * the bundle's reserve (the bid itself without reserves): what the allocation maximises.
   */
  cols: { bidder: number; bundle: number; items: number[]; value: bigint }[];
}

/** An allocation: per bidder the index of its won bundle or null. */
export interface Allocation {
  choice: (number | null)[];
  welfare: bigint;
}

export class SolverFailure extends Error {}

function validateItems(items: readonly Item[]): Rejection | Map<string, number> {
  if (!Array.isArray(items) || items.length === 0) return reject('MECHANISM_ZERO_UNITS');
  if (items.length > LIMITS.combinatorialItems) return tooLarge('items', LIMITS.combinatorialItems, items.length);
  const index = new Map<string, number>();
  for (let k = 0; k < items.length; k++) {
    const it = items[k];
    const bad = checkId(it?.id, 'MECHANISM_INVALID_ITEM', `items[${k}].id`);
    if (bad) return bad;
    if (index.has(it.id)) return reject('MECHANISM_INVALID_ITEM', { item: it.id, reason: 'duplicate' });
    const supply = it.supply ?? 1n;
    if (typeof supply !== 'bigint' || supply < 1n || supply > 1_000_000n) return reject('MECHANISM_INVALID_ITEM', { item: it.id, reason: 'supply' });
    const badReserve = checkAmount(it.reserve ?? 0n, 0n, LIMITS.combinatorialValueMax, `items[${k}].reserve`);
    if (badReserve) return badReserve;
    index.set(it.id, k);
  }
  return index;
}

function validateBundle(b: Bundle, where: string, index: Map<string, number>): Rejection | undefined {
  if (!Array.isArray(b?.items) || b.items.length === 0 || new Set(b.items).size !== b.items.length) {
    return reject('MECHANISM_EMPTY_BUNDLE', { where });
  }
  for (const id of b.items) if (!index.has(id)) return reject('MECHANISM_UNKNOWN_ITEM', { where, item: String(id) });
  return checkAmount(b.value, 0n, LIMITS.combinatorialValueMax, `${where}.value`);
}

/** Checks an auction against the rules and the documented limits and builds its model, or a Rejection. */
export function buildWdp(auction: CombinatorialAuction): Wdp | Rejection {
  const index = validateItems(auction?.items);
  if (!(index instanceof Map)) return index;
  if (!Array.isArray(auction.bids)) return reject('MECHANISM_INVALID_CONFIG', { field: 'bids' });
  if (auction.bids.length > LIMITS.combinatorialBidders) return tooLarge('bidders', LIMITS.combinatorialBidders, auction.bids.length);
  const reserve = auction.items.map((it) => it.reserve ?? 0n);
  const seen = new Set<string>();
  const cols: Wdp['cols'] = [];
  let bundles = 0;
  for (let i = 0; i < auction.bids.length; i++) {
    const bid = auction.bids[i];
    const bad = checkId(bid?.bidder, 'MECHANISM_INVALID_BIDDER', `bids[${i}].bidder`);
    if (bad) return bad;
    if (seen.has(bid.bidder)) return reject('MECHANISM_DUPLICATE_BIDDER', { bidder: bid.bidder });
    seen.add(bid.bidder);
    if (!Array.isArray(bid.bundles) || bid.bundles.length === 0) return reject('MECHANISM_EMPTY_BID', { bidder: bid.bidder });
    if (bid.bundles.length > LIMITS.combinatorialBundlesPerBidder) {
      return tooLarge('bundles per bidder', LIMITS.combinatorialBundlesPerBidder, bid.bundles.length);
    }
    bundles += bid.bundles.length;
    if (bundles > LIMITS.combinatorialBundles) return tooLarge('bundles in all', LIMITS.combinatorialBundles, bundles);
    for (let b = 0; b < bid.bundles.length; b++) {
      const e = validateBundle(bid.bundles[b], `bids[${i}].bundles[${b}]`, index);
      if (e) return e;
      const { items, value } = bid.bundles[b];
      const at: number[] = items.map((id: string) => index.get(id) as number);
      const r = at.reduce((sum: bigint, k: number) => sum + reserve[k], 0n);
      // out: a bid of nothing, or below the bundle's reserve
      if (value > 0n && value >= r) cols.push({ bidder: i, bundle: b, items: at, value: value - r });
    }
  }
  return { auction, supply: auction.items.map((it) => it.supply ?? 1n), reserve, cols };
}

/** The reserve of a bidder's bundle: the sum of its items' reserves (0 for no bundle, or without reserves). */
export function bundleReserve(m: Wdp, bidder: number, bundle: number | null): bigint {
  if (bundle === null) return 0n;
  const ids = m.auction.bids[bidder].bundles[bundle].items;
  let r = 0n;
  m.auction.items.forEach((it, k) => {
    if (ids.includes(it.id)) r += m.reserve[k];
  });
  return r;
}

/** A bundle's bid over its reserve (what the allocation maximises; the bid itself without reserves). */
export function bundleSurplus(m: Wdp, bidder: number, bundle: number | null): bigint {
  return bundleValue(m.auction, bidder, bundle) - bundleReserve(m, bidder, bundle);
}

/**
 * Bundles bid exactly at their reserve add no surplus, so the solver leaves them out: they are awarded here, in bid
 * order (then bundle order), to bidders without a bundle, while their items are unsold. The surplus is unchanged,
 * so the allocation stays optimal; each such winner pays its reserve (its VCG externality is 0).
 */
export function awardAtReserve(m: Wdp, best: Allocation): Allocation {
  const atReserve = m.cols.filter((c) => c.value === 0n);
  if (atReserve.length === 0) return best;
  const choice = [...best.choice];
  const used = m.supply.map(() => 0n);
  choice.forEach((b, i) => {
    if (b === null) return;
    for (const c of m.cols) if (c.bidder === i && c.bundle === b) for (const k of c.items) used[k] += 1n;
  });
  for (const c of atReserve) {
    if (choice[c.bidder] !== null || c.items.some((k) => used[k] >= m.supply[k])) continue;
    choice[c.bidder] = c.bundle;
    for (const k of c.items) used[k] += 1n;
  }
  return { choice, welfare: best.welfare };
}

/**
 * The IP over the columns whose bidder is not excluded, with each column's value given by `value` (the bid
 * itself, or a bid less a winner's surplus when searching for a blocking coalition).
 */
function wdpProblem(m: Wdp, cols: number[], value: (c: number) => bigint): SolverProblem {
  const rows: SolverProblem['rows'] = [];
  const byBidder = new Map<number, number[]>();
  const byItem = new Map<number, number[]>();
  const add = (map: Map<number, number[]>, key: number, j: number) => {
    const list = map.get(key);
    if (list) list.push(j);
    else map.set(key, [j]);
  };
  cols.forEach((c, j) => {
    add(byBidder, m.cols[c].bidder, j);
    for (const k of m.cols[c].items) add(byItem, k, j);
  });
  for (const js of byBidder.values()) if (js.length > 1) rows.push({ indices: js, values: js.map(() => 1), lower: -Infinity, upper: 1 });
  for (const [k, js] of byItem) {
    if (BigInt(js.length) > m.supply[k]) rows.push({ indices: js, values: js.map(() => 1), lower: -Infinity, upper: Number(m.supply[k]) });
  }
  return {
    sense: 'max',
    colCost: cols.map((c) => Number(value(c))),
    colLower: cols.map(() => 0),
    colUpper: cols.map(() => 1),
    integer: true,
    rows,
  };
}

/** Rounds and checks a 0/1 solution: integral, one bundle per bidder, supplies respected. */
function checkedChoice(m: Wdp, cols: number[], x: number[]): (number | null)[] {
  const choice: (number | null)[] = m.auction.bids.map(() => null);
  const used = m.supply.map(() => 0n);
  cols.forEach((c, j) => {
    const v = x[j];
    if (!(Math.abs(v) <= 1e-6 || Math.abs(v - 1) <= 1e-6)) throw new SolverFailure(`column ${j} is not integral: ${v}`);
    if (v < 0.5) return;
    const col = m.cols[c];
    if (choice[col.bidder] !== null) throw new SolverFailure(`bidder ${col.bidder} won two bundles`);
    choice[col.bidder] = col.bundle;
    for (const k of col.items) used[k] += 1n;
  });
  used.forEach((u, k) => {
    if (u > m.supply[k]) throw new SolverFailure(`item ${k} allocated ${u} times, supply ${m.supply[k]}`);
  });
  return choice;
}

/** Solves the IP without the bidders in `exclude`; the allocation is checked and its welfare is exact. */
export async function solveWdp(
  m: Wdp,
  solver: MipSolver,
  exclude: ReadonlySet<number> = new Set(),
  value: (c: number) => bigint = (c) => m.cols[c].value,
): Promise<Allocation> {
  const cols = m.cols.map((_, c) => c).filter((c) => !exclude.has(m.cols[c].bidder) && value(c) > 0n);
  if (cols.length === 0) return { choice: m.auction.bids.map(() => null), welfare: 0n };
  const answer = await solver.solve(wdpProblem(m, cols, value));
  if (answer.status !== 'optimal') throw new SolverFailure(`winner determination: ${answer.status} ${answer.detail ?? ''}`.trim());
  const choice = checkedChoice(m, cols, answer.x);
  let welfare = 0n;
  for (const c of cols) if (choice[m.cols[c].bidder] === m.cols[c].bundle) welfare += value(c);
  const tolerance = 0.5 + 1e-6 * Math.abs(answer.objective);
  if (!(Math.abs(Number(welfare) - answer.objective) <= tolerance)) {
    throw new SolverFailure(`welfare ${welfare} differs from the solver's objective ${answer.objective}`);
  }
  return { choice, welfare };
}

export function bundleValue(auction: CombinatorialAuction, bidder: number, bundle: number | null): bigint {
  return bundle === null ? 0n : auction.bids[bidder].bundles[bundle].value;
}

/**
 * VCG payments of the winners of `best`: W_-i - (W - b_i) in surplus over the reserves, plus the reserve of the
 * bundle won (the seller as a bidder valuing what it keeps at the reserves), with the identities checked in bigint.
 * A winner at its reserve (surplus 0) pays its reserve without a solve.
 */
export async function vcgPayments(m: Wdp, solver: MipSolver, best: Allocation): Promise<{ payments: bigint[]; solves: number }> {
  const payments = m.auction.bids.map(() => 0n);
  let solves = 0;
  for (let i = 0; i < payments.length; i++) {
    if (best.choice[i] === null) continue;
    const b = bundleSurplus(m, i, best.choice[i]);
    const reserve = bundleReserve(m, i, best.choice[i]);
    if (b === 0n) {
      payments[i] = reserve;
      continue;
    }
    const without = await solveWdp(m, solver, new Set([i]));
    solves++;
    if (without.welfare < best.welfare - b || without.welfare > best.welfare) {
      throw new SolverFailure(`inconsistent optima: W=${best.welfare}, b_${i}=${b}, W_-${i}=${without.welfare}`);
    }
    payments[i] = reserve + without.welfare - (best.welfare - b);
  }
  return { payments, solves };
}

/** The winners' reported values in all (the allocation's welfare is their surplus over the reserves). */
export function reportedWelfare(m: Wdp, best: Allocation): bigint {
  return best.choice.reduce<bigint>((s, b, i) => s + bundleValue(m.auction, i, b), 0n);
}

export interface CombinatorialOptions {
  solver: MipSolver;
}

function failed(e: unknown): Rejection {
  if (e instanceof SolverFailure) return reject('MECHANISM_SOLVER_FAILED', { reason: e.message });
  throw e;
}

/** Builds the awards of an allocation with its VCG payments and the payments actually charged. */
export function awardsOf(m: Wdp, best: Allocation, vcg: bigint[], pay: bigint[]): CombinatorialAward[] {
  return m.auction.bids.map((bid, i) => {
    const bundle = best.choice[i];
    return {
      bidder: bid.bidder,
      bundle,
      items: bundle === null ? [] : bid.bundles[bundle].items,
      value: bundleValue(m.auction, i, bundle),
      vcgPayment: vcg[i],
      payment: pay[i],
    };
  });
}

/** Clears a combinatorial auction with VCG payments, or returns a Rejection (bad input, or the solver failed). */
export async function clearCombinatorialVcg(auction: CombinatorialAuction, opts: CombinatorialOptions): Promise<CombinatorialClearing | Rejection> {
  const m = buildWdp(auction);
  if (!('cols' in m)) return m;
  try {
    const best = awardAtReserve(m, await solveWdp(m, opts.solver));
    const { payments, solves } = await vcgPayments(m, opts.solver, best);
    const revenue = payments.reduce((s, p) => s + p, 0n);
    return {
      ok: true,
      rule: 'vcg',
      awards: awardsOf(m, best, payments, payments),
      welfare: reportedWelfare(m, best),
      vcgRevenue: revenue,
      revenue,
      solves: 1 + solves,
    };
  } catch (e) {
    return failed(e);
  }
}

export { failed as solverFailureRejection };

/**
 * The most a bid can pay (what the service holds when it arrives): its largest bundle value, the bids being XOR,
 * among the bundles that can win (at or above their items' reserves, when `items` give reserves).
 */
export function maxPaymentCombinatorial(bid: CombinatorialBid, items: readonly Item[] = []): bigint {
  const reserve = new Map(items.map((it) => [it.id, it.reserve ?? 0n]));
  const reserveOf = (b: Bundle) => b.items.reduce((s, id) => s + (reserve.get(id) ?? 0n), 0n);
  return bid.bundles.reduce((m, b) => (b.value > m && b.value >= reserveOf(b) ? b.value : m), 0n);
}
