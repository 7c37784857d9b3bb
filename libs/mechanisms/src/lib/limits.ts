import { AMOUNT_MAX } from '@ate/contracts';

/**
 * Documented size limits of the mechanisms. Inputs beyond them are refused with MECHANISM_TOO_LARGE before any
 * work is done, so the time and memory of a clearing are bounded by construction.
 */
export const LIMITS = {
  /** Longest bidder or item id. */
  idLength: 128,
  /** Largest unit count and largest price: every amount must fit a ledger amount (signed 64-bit). */
  amountMax: AMOUNT_MAX,

  /** Multi-unit VCG: bidders per auction. */
  multiUnitBidders: 10_000,
  /** Multi-unit VCG: steps of one bidder's schedule. */
  multiUnitStepsPerBidder: 10_000,
  /** Multi-unit VCG: steps in all. Clearing is O(S log S); 100,000 steps clear in well under a second. */
  multiUnitSteps: 100_000,

  /** Combinatorial: distinct items per auction (rows of the winner-determination IP). */
  combinatorialItems: 64,
  /** Combinatorial: bidders per auction (each one more IP solve for its VCG payment). */
  combinatorialBidders: 200,
  /** Combinatorial: bundles of one bidder (XOR). */
  combinatorialBundlesPerBidder: 32,
  /** Combinatorial: bundles in all (columns of the IP). */
  combinatorialBundles: 2_000,
  /**
   * Combinatorial: largest bundle value. The solver works in doubles; with at most 2,000 bundles of at most 10^12
   * minor units, every objective value stays below 2^53 and so is exact in a double.
   */
  combinatorialValueMax: 1_000_000_000_000n,
} as const;
