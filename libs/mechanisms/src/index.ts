/**
 * Mechanism design: VCG auctions (multi-unit and combinatorial) and posted-price sales (fixed and
 * congestion-priced). Pure TypeScript like libs/matching: it may import only @ate/contracts, no framework, no I/O.
 */
export * from './lib/limits';
export * from './lib/multi-unit';
export * from './lib/posted-price';
export * from './lib/solver';
export {
  buildWdp,
  clearCombinatorialVcg,
  maxPaymentCombinatorial,
  type Bundle,
  type CombinatorialAuction,
  type CombinatorialAward,
  type CombinatorialBid,
  type CombinatorialClearing,
  type CombinatorialOptions,
  type Item,
} from './lib/combinatorial';
export { clearCombinatorial, clearCombinatorialCore, CORE_MAX_ROUNDS } from './lib/core';
