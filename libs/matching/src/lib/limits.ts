/**
 * Every limit of the engine, named with its unit and the reason for its value (TIGER_STYLE).
 * Market configs may choose lower values; the engine refuses configs beyond these.
 */

/** ticks. Price levels are direct-indexed typed arrays (about 21 bytes per level per market), so 2^20 levels cost ~22 MB. */
export const PRICE_TICKS_MAX = 1 << 20;

/** orders. Resting orders per market; the order pool is typed arrays of ~70 bytes per order that grow by doubling up to this. */
export const BOOK_ORDERS_MAX = 1 << 22;

/** orders. Default cap on one agent's open orders per market: keeps cancel-all and one agent's share of the book bounded. */
export const ORDERS_PER_AGENT_MAX = 1_000;

/** agents. Agent ids are small integers that index per-agent typed arrays directly (no string keys on the hot path). */
export const AGENTS_MAX = 1 << 20;

/** agents. Default capacity of a balance view when none is given. */
export const AGENTS_DEFAULT = 1 << 12;

/** characters. Client order ids are kept per open order; a bound keeps memory per order bounded. */
export const CLIENT_ORDER_ID_LENGTH_MAX = 64;

/** basis points. A band of 100% would let a sell limit at 0 through; 10000 bps is the widest meaningful band. */
export const PRICE_BAND_BPS_MAX = 10_000;

/** orders. Initial order-pool capacity; small so tests and idle markets stay small, doubled on demand. */
export const POOL_INITIAL_ORDERS = 1 << 10;
