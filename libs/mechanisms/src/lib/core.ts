import type { Rejection } from '@ate/contracts';
import {
  awardAtReserve,
  awardsOf,
  buildWdp,
  bundleReserve,
  bundleSurplus,
  clearCombinatorialVcg,
  reportedWelfare,
  SolverFailure,
  solveWdp,
  solverFailureRejection,
  vcgPayments,
  type Allocation,
  type CombinatorialAuction,
  type CombinatorialClearing,
  type CombinatorialOptions,
  type Wdp,
} from './combinatorial';
import type { MipSolver, SolverProblem } from './solver';

/**
 * Core-selecting payments (Day–Raghavan constraint generation, Day–Cramton's quadratic rule): the same
 * efficient allocation as VCG, but payments such that no coalition of bidders could offer the seller more than
 * the winners pay (VCG payments can fall outside that core, even to zero, when bidders are complementary).
 * Among the core payments of minimum revenue, the one nearest (Euclidean) to the VCG payments.
 *
 * Each round: (1) find the most blocking coalition for the current payments p, an IP where every winner's bids
 * are lowered by its surplus b_i - p_i; if its value is at most the revenue, p is in the core and the loop
 * ends; else (2) add its constraint sum_{i in W\C} p_i >= V(C) - sum_{i in W∩C} b_i, (3) solve the LP of minimum
 * revenue in whole minor units under all constraints found, with vcg_i <= p_i <= b_i (an IP), and (4) the QP
 * nearest to VCG at that revenue, rounded to integers keeping the revenue (see roundKeepingRevenue). The next
 * round's separation checks the rounded payments exactly, in bigint.
 *
 * With reserve prices everything here is in surplus over the reserves (the seller a bidder valuing what it keeps at
 * its reserves): bids b_i - r_i, VCG payments vcg_i - r_i, payments p_i - r_i, r_i the reserve of i's bundle; the
 * core of that reduced auction is the core with the seller's reserves, and each payment is r_i plus its reduced one.
 */

/** Rounds of constraint generation before giving up (each adds one constraint: a solve of an IP, an LP, a QP). */
export const CORE_MAX_ROUNDS = 100;

interface CoreConstraint {
  /** Indices into the winners list: the winners outside the blocking coalition. */
  outside: number[];
  rhs: bigint;
}

/** The most blocking coalition for payments `pay`, or null when none blocks (pay is in the core). */
async function mostBlocking(m: Wdp, solver: MipSolver, best: Allocation, winners: number[], pay: bigint[]): Promise<CoreConstraint | null> {
  const surplus = new Map(winners.map((i, w) => [i, bundleSurplus(m, i, best.choice[i]) - pay[w]]));
  const reduced = (c: number) => m.cols[c].value - (surplus.get(m.cols[c].bidder) ?? 0n);
  const blocking = await solveWdp(m, solver, new Set(), reduced);
  const revenue = pay.reduce((s, p) => s + p, 0n);
  if (blocking.welfare <= revenue) return null;
  let rhs = 0n;
  blocking.choice.forEach((b, i) => (rhs += bundleSurplus(m, i, b)));
  const outside: number[] = [];
  winners.forEach((i, w) => {
    if (blocking.choice[i] !== null) rhs -= bundleSurplus(m, i, best.choice[i]);
    else outside.push(w);
  });
  if (outside.length === 0) throw new SolverFailure('a coalition of winners beats the optimal allocation');
  return { outside, rhs };
}

function paymentProblem(cons: CoreConstraint[], vcg: bigint[], bids: bigint[], revenue?: bigint): SolverProblem {
  const rows: SolverProblem['rows'] = cons.map((c) => ({
    indices: c.outside,
    values: c.outside.map(() => 1),
    lower: Number(c.rhs),
    upper: Infinity,
  }));
  if (revenue !== undefined) rows.push({ indices: vcg.map((_, w) => w), values: vcg.map(() => 1), lower: Number(revenue), upper: Number(revenue) });
  return {
    sense: 'min',
    // stage 1: min sum p over integers; stage 2: min sum (p - vcg)^2 = sum p^2 - 2 vcg p + const, continuous
    colCost: revenue === undefined ? vcg.map(() => 1) : vcg.map((v) => -2 * Number(v)),
    colLower: vcg.map(Number),
    colUpper: bids.map(Number),
    integer: revenue === undefined,
    rows,
    ...(revenue === undefined ? {} : { quadraticDiagonal: vcg.map(() => 2) }),
  };
}

const satisfies = (cons: CoreConstraint[], p: bigint[]) => cons.every((c) => c.outside.reduce((s, w) => s + p[w], 0n) >= c.rhs);

/**
 * Rounds the real-valued nearest point x (which sums to `revenue`) to integers with the same sum: every payment
 * rounded down, then one minor unit more to the largest remainders (ties: the earlier winner). If that breaks a
 * known core constraint, every payment is rounded up instead (revenue then at most one unit per winner higher).
 */
function roundKeepingRevenue(x: number[], revenue: bigint, cons: CoreConstraint[], vcg: bigint[], bids: bigint[]): bigint[] {
  const clampW = (v: bigint, w: number) => (v < vcg[w] ? vcg[w] : v > bids[w] ? bids[w] : v);
  const down = x.map((v, w) => clampW(BigInt(Math.floor(v + 1e-6)), w));
  let extra = revenue - down.reduce((s, p) => s + p, 0n);
  // remainders on a 1e-6 grid, so that the solver's noise cannot reorder equal ones
  const order = x.map((v, w) => ({ w, frac: Math.round((v - Math.floor(v + 1e-6)) * 1e6) })).sort((a, b) => b.frac - a.frac || a.w - b.w);
  const p = [...down];
  for (const { w } of order) {
    if (extra <= 0n) break;
    if (p[w] < bids[w]) {
      p[w] += 1n;
      extra -= 1n;
    }
  }
  if (extra === 0n && satisfies(cons, p)) return p;
  return x.map((v, w) => clampW(BigInt(Math.ceil(v - 1e-6)), w));
}

/** The minimum integer revenue under the constraints found so far (an IP), checked in bigint. */
async function minimumRevenue(solver: MipSolver, cons: CoreConstraint[], vcg: bigint[], bids: bigint[]): Promise<bigint> {
  const ip = await solver.solve(paymentProblem(cons, vcg, bids));
  if (ip.status !== 'optimal') throw new SolverFailure(`minimum-revenue IP: ${ip.status} ${ip.detail ?? ''}`.trim());
  const p = ip.x.map((v, w) => {
    const r = Math.round(v);
    if (Math.abs(v - r) > 1e-6 || BigInt(r) < vcg[w] || BigInt(r) > bids[w]) throw new SolverFailure(`minimum-revenue IP: payment ${w} = ${v}`);
    return BigInt(r);
  });
  if (!satisfies(cons, p)) throw new SolverFailure('minimum-revenue IP: the answer breaks a core constraint');
  return p.reduce((s, v) => s + v, 0n);
}

/** The minimum-revenue core point nearest to VCG under the constraints found so far, in integers. */
async function nearestMinimumRevenue(solver: MipSolver, cons: CoreConstraint[], vcg: bigint[], bids: bigint[]): Promise<bigint[]> {
  const revenue = await minimumRevenue(solver, cons, vcg, bids);
  const qp = await solver.solve(paymentProblem(cons, vcg, bids, revenue));
  if (qp.status !== 'optimal') throw new SolverFailure(`nearest-to-VCG QP: ${qp.status} ${qp.detail ?? ''}`.trim());
  return roundKeepingRevenue(qp.x, revenue, cons, vcg, bids);
}

/** Clears with the VCG allocation and core-selecting payments (minimum revenue, nearest to VCG). */
export async function clearCombinatorialCore(auction: CombinatorialAuction, opts: CombinatorialOptions): Promise<CombinatorialClearing | Rejection> {
  const m = buildWdp(auction);
  if (!('cols' in m)) return m;
  try {
    const best = awardAtReserve(m, await solveWdp(m, opts.solver));
    const vcg = await vcgPayments(m, opts.solver, best);
    let solves = 1 + vcg.solves;
    const winners = best.choice.flatMap((b, i) => (b === null ? [] : [i]));
    // in surplus over the reserves (all zero without reserves): bids, VCG payments, and below the payments
    const reserves = winners.map((i) => bundleReserve(m, i, best.choice[i]));
    const bids = winners.map((i) => bundleSurplus(m, i, best.choice[i]));
    const vcgW = winners.map((i, w) => vcg.payments[i] - reserves[w]);
    const cons: CoreConstraint[] = [];
    let pay = vcgW;
    for (let round = 0; ; round++) {
      if (round === CORE_MAX_ROUNDS) throw new SolverFailure(`core payments did not converge in ${CORE_MAX_ROUNDS} rounds`);
      const block = await mostBlocking(m, opts.solver, best, winners, pay);
      solves++;
      if (!block) break;
      cons.push(block);
      pay = await nearestMinimumRevenue(opts.solver, cons, vcgW, bids);
      solves += 2;
    }
    const payments = auction.bids.map(() => 0n);
    winners.forEach((i, w) => (payments[i] = reserves[w] + pay[w]));
    const sum = (xs: bigint[]) => xs.reduce((s, p) => s + p, 0n);
    return {
      ok: true,
      rule: 'core',
      awards: awardsOf(m, best, vcg.payments, payments),
      welfare: reportedWelfare(m, best),
      vcgRevenue: sum(vcg.payments),
      revenue: sum(payments),
      solves,
    };
  } catch (e) {
    return solverFailureRejection(e);
  }
}

/** One entry point for the service: VCG payments (default) or core-selecting payments. */
export function clearCombinatorial(
  auction: CombinatorialAuction,
  opts: CombinatorialOptions & { payments?: 'vcg' | 'core' },
): Promise<CombinatorialClearing | Rejection> {
  return opts.payments === 'core' ? clearCombinatorialCore(auction, opts) : clearCombinatorialVcg(auction, opts);
}
