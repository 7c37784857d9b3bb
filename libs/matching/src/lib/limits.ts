/**
 * Every limit of the engine, named with its unit and the reason for its value (TIGER_STYLE).
 * Market configs may choose lower values; the engine refuses configs beyond these.
 */

/**
 * ticks. Price levels live in pages of LEVEL_PAGE_SIZE ticks allocated while a level in them is used; the page
 * directory costs 4 bytes per page of range, so 2^20 ticks cost 16 KB in an empty market.
 */
export const PRICE_TICKS_MAX = 1 << 20;

/** ticks per price-level page (a power of two): 12 bytes per level (lots, first order), so a page is 3 KB; see engine.ts */
export const LEVEL_PAGE_BITS = 8;
export const LEVEL_PAGE_SIZE = 1 << LEVEL_PAGE_BITS;

/** orders. Resting orders per market (a pool slot must fit the id index's 22 slot bits); the order pool is typed arrays of 44 bytes a slot (plus 8-16 in the id index) that grow by doubling up to this. */
export const BOOK_ORDERS_MAX = 1 << 22;

/** orders. Default cap on one agent's open orders per market: keeps cancel-all and one agent's share of the book bounded. */
export const ORDERS_PER_AGENT_MAX = 1_000;

/**
 * agents. Agent ids are small integers (no string keys on the hot path). What an id range costs is one bit per
 * id (the known-agents bitmap): 2 MB at 2^24. Balances and per-market agent state are sparse (hash tables).
 */
export const AGENTS_MAX = 1 << 24;

/** balance cells. Initial capacity of a balance view's cells (an agent's holding of one asset), doubled on demand. */
export const BALANCE_CELLS_INITIAL = 1 << 6;

/** agents. Default capacity of a balance view when none is given. */
export const AGENTS_DEFAULT = 1 << 12;

/** characters. Client order ids are kept per open order; a bound keeps memory per order bounded. */
export const CLIENT_ORDER_ID_LENGTH_MAX = 64;

/** basis points. A band of 100% would let a sell limit at 0 through; 10000 bps is the widest meaningful band. */
export const PRICE_BAND_BPS_MAX = 10_000;

/** orders. Initial order-pool capacity; small so tests and idle markets stay small (~5 KB), doubled on demand. */
export const POOL_INITIAL_ORDERS = 1 << 6;

/** agents. Initial capacity of a market's table of agents with orders there, doubled on demand. */
export const MARKET_AGENTS_INITIAL = 1 << 4;

/** lots. The largest maxOrderLots (an order's open lots are an int32; the market table's column is an integer too). */
export const ORDER_LOTS_MAX = 2 ** 31 - 1;
