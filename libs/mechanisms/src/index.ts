/**
 * Mechanism design: VCG auctions (multi-unit and combinatorial) and posted-price sales (fixed and
 * congestion-priced). Pure TypeScript like libs/matching: it may import only @ate/contracts, no framework, no I/O.
 */
export * from './lib/limits';
export * from './lib/multi-unit';
export * from './lib/posted-price';
