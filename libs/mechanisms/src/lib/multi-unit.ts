import { reject, type Rejection } from '@ate/contracts';
import { LIMITS } from './limits';
import { checkAmount, checkId, tooLarge } from './validate';

/**
 * Multi-unit VCG: K identical units, each bidder a schedule of quantity-price steps with non-increasing prices
 * (the marginal value of each further unit). The allocation maximises the total reported value; each winner pays
 * the externality it imposes on the others (Clarke pivot); an optional reserve price per unit acts as the
 * seller's own value for each unit.
 *
 * Tie rule (deterministic): among equal marginal prices the earlier bid in input order wins first (the service
 * passes bids in sequence order, so this is time priority), and within a bidder its earlier step. Ties change
 * who wins, never the welfare, so truthfulness is kept.
 *
 * Complexity: O(S log S) for S steps in all (one sort), plus O(N log² S) for the N bidders' payments (two nested
 * binary searches over prefix sums); memory O(S). Independent of the unit count K.
 */

export interface Step {
  /** Units at this marginal price, > 0. */
  units: bigint;
  /** Price per unit (minor units of the quote asset), >= 0. Non-increasing from one step to the next. */
  price: bigint;
}

export interface MultiUnitBid {
  bidder: string;
  steps: readonly Step[];
}

export interface MultiUnitAuction {
  /** Units for sale, > 0. */
  units: bigint;
  /** Lowest price per unit the seller accepts (default 0). Steps priced below it never win. */
  reservePrice?: bigint;
  /** At most one bid per bidder. Input order is the tie rule's priority. */
  bids: readonly MultiUnitBid[];
}

export interface MultiUnitAward {
  bidder: string;
  /** Units won (0 for a losing bid). */
  units: bigint;
  /** The bidder's reported value of the units won. */
  value: bigint;
  /** The Clarke payment: never above `value`, never below `units * reservePrice`. */
  payment: bigint;
}

export interface MultiUnitClearing {
  ok: true;
  /** One award per bid, in input order. */
  awards: MultiUnitAward[];
  unitsSold: bigint;
  /** Units the seller keeps: not enough demand at or above the reserve. */
  unitsUnsold: bigint;
  /** Sum of the payments. */
  revenue: bigint;
  /** Sum of the winners' reported values (the seller's value of unsold units excluded). */
  welfare: bigint;
}

/** One unit's worth of schedule per marginal value: [9, 9, 5] becomes steps (2 at 9), (1 at 5). */
export function stepsFromMarginalValues(values: readonly bigint[]): Step[] {
  const steps: Step[] = [];
  for (const price of values) {
    const last = steps[steps.length - 1];
    if (last && last.price === price) last.units += 1n;
    else steps.push({ units: 1n, price });
  }
  return steps;
}

function validateBid(bid: MultiUnitBid, index: number, seen: Set<string>): Rejection | undefined {
  const where = `bids[${index}]`;
  const bad = checkId(bid?.bidder, 'MECHANISM_INVALID_BIDDER', `${where}.bidder`);
  if (bad) return bad;
  if (seen.has(bid.bidder)) return reject('MECHANISM_DUPLICATE_BIDDER', { bidder: bid.bidder });
  seen.add(bid.bidder);
  if (!Array.isArray(bid.steps) || bid.steps.length === 0) return reject('MECHANISM_EMPTY_BID', { bidder: bid.bidder });
  if (bid.steps.length > LIMITS.multiUnitStepsPerBidder) return tooLarge('steps per bidder', LIMITS.multiUnitStepsPerBidder, bid.steps.length);
  for (let s = 0; s < bid.steps.length; s++) {
    const step = bid.steps[s];
    const e =
      checkAmount(step?.units, 1n, LIMITS.amountMax, `${where}.steps[${s}].units`) ??
      checkAmount(step?.price, 0n, LIMITS.amountMax, `${where}.steps[${s}].price`);
    if (e) return e;
    if (s > 0 && step.price > bid.steps[s - 1].price) {
      return reject('MECHANISM_INCREASING_SCHEDULE', { bidder: bid.bidder, step: s });
    }
  }
  return undefined;
}

/** Checks an auction against the rules and the documented limits; undefined when it is valid. */
export function validateMultiUnit(auction: MultiUnitAuction): Rejection | undefined {
  const e =
    checkAmount(auction?.units, 1n, LIMITS.amountMax, 'units') ?? checkAmount(auction.reservePrice ?? 0n, 0n, LIMITS.amountMax, 'reservePrice');
  if (e) return auction?.units === 0n ? reject('MECHANISM_ZERO_UNITS') : e;
  if (!Array.isArray(auction.bids)) return reject('MECHANISM_INVALID_CONFIG', { field: 'bids' });
  if (auction.bids.length > LIMITS.multiUnitBidders) return tooLarge('bidders', LIMITS.multiUnitBidders, auction.bids.length);
  let total = 0;
  const seen = new Set<string>();
  for (let i = 0; i < auction.bids.length; i++) {
    const bad = validateBid(auction.bids[i], i, seen);
    if (bad) return bad;
    total += auction.bids[i].steps.length;
    if (total > LIMITS.multiUnitSteps) return tooLarge('steps in all', LIMITS.multiUnitSteps, total);
  }
  return undefined;
}

/** Eligible steps (price >= reserve and > 0) in the tie rule's order: price descending, bid order, step order. */
function rankSteps(bids: readonly MultiUnitBid[], reserve: bigint): { bidder: number; units: bigint; price: bigint }[] {
  const out: { bidder: number; units: bigint; price: bigint }[] = [];
  bids.forEach((bid, bidder) => {
    for (const s of bid.steps) if (s.price >= reserve && s.price > 0n) out.push({ bidder, units: s.units, price: s.price });
  });
  // Array.prototype.sort is stable: equal prices keep bid order, then step order.
  return out.sort((a, b) => (a.price > b.price ? -1 : a.price < b.price ? 1 : 0));
}

/**
 * The rejected (unallocated) demand in rank order with prefix sums, so that "the x best rejected units of the
 * others" is two binary searches away.
 */
class RejectedDemand {
  readonly units: bigint[] = [];
  readonly price: bigint[] = [];
  /** unitsBefore[t] / valueBefore[t]: totals of positions < t. */
  readonly unitsBefore: bigint[] = [0n];
  readonly valueBefore: bigint[] = [0n];
  /** Per bidder: its positions, and its own prefix totals (index k = its first k positions). */
  readonly own = new Map<number, { pos: number[]; units: bigint[]; value: bigint[] }>();

  push(bidder: number, units: bigint, price: bigint): void {
    const t = this.units.length;
    this.units.push(units);
    this.price.push(price);
    this.unitsBefore.push(this.unitsBefore[t] + units);
    this.valueBefore.push(this.valueBefore[t] + units * price);
    let o = this.own.get(bidder);
    if (!o) this.own.set(bidder, (o = { pos: [], units: [0n], value: [0n] }));
    o.pos.push(t);
    o.units.push(o.units[o.units.length - 1] + units);
    o.value.push(o.value[o.value.length - 1] + units * price);
  }

  /** Units and value of the others' rejected demand among positions < t. */
  private others(bidder: number, t: number): { units: bigint; value: bigint } {
    const o = this.own.get(bidder);
    let k = 0; // own positions < t
    if (o) {
      let lo = 0;
      let hi = o.pos.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (o.pos[mid] < t) lo = mid + 1;
        else hi = mid;
      }
      k = lo;
    }
    return {
      units: this.unitsBefore[t] - (o ? o.units[k] : 0n),
      value: this.valueBefore[t] - (o ? o.value[k] : 0n),
    };
  }

  /** Value of the best `x` rejected units of bidders other than `bidder`, units beyond them priced at `floor`. */
  bestOfOthers(bidder: number, x: bigint, floor: bigint): bigint {
    const n = this.units.length;
    const all = this.others(bidder, n);
    if (all.units <= x) return all.value + (x - all.units) * floor;
    // smallest t with others(t).units >= x; position t-1 is then another bidder's step, taken in part
    let lo = 1;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.others(bidder, mid).units >= x) hi = mid;
      else lo = mid + 1;
    }
    const before = this.others(bidder, lo - 1);
    return before.value + (x - before.units) * this.price[lo - 1];
  }
}

/** Clears a multi-unit VCG auction, or returns the Rejection of its first invalid field. */
export function clearMultiUnit(auction: MultiUnitAuction): MultiUnitClearing | Rejection {
  const bad = validateMultiUnit(auction);
  if (bad) return bad;
  const reserve = auction.reservePrice ?? 0n;
  const won = auction.bids.map(() => ({ units: 0n, value: 0n }));
  const rejected = new RejectedDemand();
  let left = auction.units;
  for (const s of rankSteps(auction.bids, reserve)) {
    const take = s.units < left ? s.units : left;
    if (take > 0n) {
      won[s.bidder].units += take;
      won[s.bidder].value += take * s.price;
      left -= take;
    }
    if (take < s.units) rejected.push(s.bidder, s.units - take, s.price);
  }
  let revenue = 0n;
  let welfare = 0n;
  const awards = auction.bids.map((bid, i): MultiUnitAward => {
    const { units, value } = won[i];
    const payment = units === 0n ? 0n : rejected.bestOfOthers(i, units, reserve);
    revenue += payment;
    welfare += value;
    return { bidder: bid.bidder, units, value, payment };
  });
  return { ok: true, awards, unitsSold: auction.units - left, unitsUnsold: left, revenue, welfare };
}

/**
 * The most a bid can pay in this auction, i.e. what the service holds when the bid arrives: the value of its best
 * `auction.units` eligible units (VCG payment never exceeds the value of the units won, and no bid wins more
 * than the auction offers or a unit priced below the reserve).
 */
export function maxPaymentMultiUnit(auction: Pick<MultiUnitAuction, 'units' | 'reservePrice'>, bid: MultiUnitBid): bigint {
  const reserve = auction.reservePrice ?? 0n;
  let left = auction.units;
  let total = 0n;
  for (const s of bid.steps) {
    if (left === 0n || s.price < reserve || s.price === 0n) break; // non-increasing: the rest is lower still
    const take = s.units < left ? s.units : left;
    total += take * s.price;
    left -= take;
  }
  return total;
}
