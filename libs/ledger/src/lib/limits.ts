/**
 * The ledger's named limits, each with its unit and its reason.
 */

/** Legs per transfer, count. A trade settlement needs 4 (two assets, two sides) plus fees; 16 leaves room
 * without letting one request lock an unbounded set of rows. */
export const LEGS_PER_TRANSFER_MAX = 16;

/** Minimum legs of a plain transfer, count: one debit and one credit. */
export const LEGS_PER_TRANSFER_MIN = 2;

/** Credits of one hold post, count (the debit of the held account is added by the ledger). */
export const POST_CREDITS_MAX = LEGS_PER_TRANSFER_MAX - 1;

/** Canonical JSON size of a transfer's metadata, bytes (UTF-16 code units, a close upper bound for ASCII).
 * Metadata is stored with every journal row and hashed into the chain; it is for references, not documents. */
export const METADATA_BYTES_MAX = 4096;

/** Nesting depth of metadata, levels. Bounds the recursion of canonicalisation. */
export const METADATA_DEPTH_MAX = 8;

/** Requests per database transaction of the group-commit writer, count. Larger batches are split. The writer
 * passes one array per column (unnest), so the Postgres limit of 65,535 bind parameters does not apply; this
 * bounds the lock set and the commit latency (about 40 ms per 1,000 transfers on a 2-core machine). */
export const BATCH_REQUESTS_MAX = 4000;

/** Requests per transaction the group-commit writer aims for by default, count. Measured with
 * npm run bench:ledger: 500 gave the same throughput as 1,000-2,000 at half the commit latency (the
 * head lock and the fsync are already paid once per 500). */
export const BATCH_REQUESTS_DEFAULT = 500;

/** How long the group-commit writer waits for more requests before committing a partial batch, ms. */
export const BATCH_WINDOW_MS = 2;

/** Batches the group-commit writer prepares while another commits, count. 2 overlaps the CPU work of one
 * batch (validation, hashing, encoding) with the database work of the previous; the chain head lock keeps
 * them committing one after the other. */
export const BATCHES_IN_FLIGHT_MAX = 2;

/** Retries of a batch that Postgres aborted as a deadlock or serialization failure, count. The writer locks
 * in one global order, so this is a guard, not a path taken. */
export const BATCH_RETRIES_MAX = 3;

/** Statement page size, entries: default and maximum. */
export const STATEMENT_PAGE_DEFAULT = 100;
export const STATEMENT_PAGE_MAX = 1000;

/** Transfers read per round trip when reconciliation walks the hash chain, count. */
export const RECONCILE_CHAIN_PAGE = 5000;
