/**
 * Mechanism design: VCG auctions (multi-unit and combinatorial) and posted-price sales (fixed and
 * congestion-priced). Pure TypeScript like libs/matching: it may import only @ate/contracts, no framework, no I/O.
 * Empty until the auctions issue fills it; the project exists so its boundaries are enforced from the start.
 */
export {};
