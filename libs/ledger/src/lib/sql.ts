/**
 * Every SQL statement of the ledger, in one module. Names are prepared-statement names: `pg` prepares each once
 * per connection. Arrays are passed one per column and expanded with unnest, so a batch is one statement per
 * table however many rows it has.
 */

// --- the writer, in the order one batch runs them (one transaction) ---

/** 1. The chain head: taken first by every writer, so all journal writes are serialised through it and each
 * batch sees the state the previous one committed. Lock order: chain head, then accounts by id. */
export const LOCK_HEAD = {
  name: 'ledger_lock_head',
  text: `SELECT seq, hash FROM ledger_chain_head WHERE singleton FOR UPDATE`,
};

/** 2. Idempotency: the journal rows already carrying the ids of this batch (one index probe per id, however
 * large the journal grows). */
export const FIND_IDS = {
  name: 'ledger_find_ids',
  text: `SELECT t.id, t.seq, t.body_hash, t.hash FROM unnest($1::text[]) AS u(id) JOIN ledger_transfer t ON t.id = u.id`,
};

/** 3. The holds that posts and voids of this batch name, with their account, asset and whether resolved. */
export const FIND_HOLDS = {
  name: 'ledger_find_holds',
  text: `SELECT h.id, h.account_id, h.amount, a.asset, (r.hold_id IS NOT NULL) AS resolved
           FROM ledger_hold h
           JOIN ledger_account a ON a.id = h.account_id
           LEFT JOIN ledger_hold_resolution r ON r.hold_id = h.id
          WHERE h.id = ANY($1::text[])`,
};

/** 4. The accounts of the batch, locked in id order (a consistent order: no deadlock between writers). */
export const LOCK_ACCOUNTS = {
  name: 'ledger_lock_accounts',
  text: `SELECT id, asset, allow_negative, balance, held
           FROM ledger_account WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`,
};

/**
 * 5. The whole accepted set in one statement (one round trip): journal rows, entries, holds, resolutions, the
 * new balances (absolute values computed under the row locks; the CHECKs judge them) and the new chain head.
 * Hashes come as hex text (cheaper to encode than bytea arrays). The foreign keys between these tables and the
 * entries' balance trigger are checked at the end of the statement, when all of it is in.
 */
export const WRITE_BATCH = {
  name: 'ledger_write_batch',
  text: `
  WITH t AS (
    INSERT INTO ledger_transfer (seq, id, kind, type, ref_kind, ref_id, hold_id, metadata, body_hash, prev_hash, hash)
    SELECT u.seq, u.id, u.kind, u.type, u.ref_kind, u.ref_id, u.hold_id, u.metadata,
           decode(u.body_hash, 'hex'), decode(u.prev_hash, 'hex'), decode(u.hash, 'hex')
      FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                  $8::jsonb[], $9::text[], $10::text[], $11::text[])
           AS u(seq, id, kind, type, ref_kind, ref_id, hold_id, metadata, body_hash, prev_hash, hash)),
  e AS (
    INSERT INTO ledger_entry (transfer_seq, leg, account_id, asset, amount)
    SELECT * FROM unnest($12::bigint[], $13::smallint[], $14::bigint[], $15::text[], $16::bigint[])),
  h AS (
    INSERT INTO ledger_hold (id, account_id, amount, created_seq)
    SELECT * FROM unnest($17::text[], $18::bigint[], $19::bigint[], $20::bigint[])),
  r AS (
    INSERT INTO ledger_hold_resolution (hold_id, transfer_seq, posted_amount)
    SELECT * FROM unnest($21::text[], $22::bigint[], $23::bigint[])),
  b AS (
    UPDATE ledger_account a SET balance = v.balance, held = v.held
      FROM unnest($24::bigint[], $25::bigint[], $26::bigint[]) AS v(id, balance, held)
     WHERE a.id = v.id)
  UPDATE ledger_chain_head SET seq = $27, hash = decode($28, 'hex') WHERE singleton`,
};

// --- assets and accounts ---

export const INSERT_ASSET = `
  INSERT INTO ledger_asset (code, kind, scale, model, provider, token_class, expires_on)
  VALUES ($1, 'allowance', $2, $3, $4, $5, $6) ON CONFLICT (code) DO NOTHING`;

export const SELECT_ASSET = `
  SELECT code, kind, scale, model, provider, token_class, to_char(expires_on, 'YYYY-MM-DD') AS expires_on
    FROM ledger_asset WHERE code = $1`;

export const INSERT_ACCOUNT = `
  INSERT INTO ledger_account (owner_kind, owner_id, asset, allow_negative)
  VALUES ($1, $2, $3, $4) ON CONFLICT (owner_kind, owner_id, asset) DO NOTHING`;

export const SELECT_ACCOUNT_BY_OWNER = `
  SELECT id, owner_kind, owner_id, asset, allow_negative FROM ledger_account
   WHERE owner_kind = $1 AND owner_id = $2 AND asset = $3`;

// --- queries ---

export const SELECT_BALANCE = {
  name: 'ledger_select_balance',
  text: `SELECT id, owner_kind, owner_id, asset, allow_negative, balance, held FROM ledger_account WHERE id = $1`,
};

export const SELECT_BALANCES_OF_OWNER = `
  SELECT id, owner_kind, owner_id, asset, allow_negative, balance, held FROM ledger_account
   WHERE owner_kind = $1 AND owner_id = $2 ORDER BY asset`;

/** The chain head's seq (the last transfer written). */
export const SELECT_HEAD_SEQ = 'SELECT seq FROM ledger_chain_head';

/** Every asset's code and definition time. */
export const SELECT_ASSET_CODES = 'SELECT code, created_at FROM ledger_asset ORDER BY code';

/** The account ids of the owners of some kinds. */
export const SELECT_ACCOUNT_IDS_OF_KINDS = 'SELECT id, owner_kind, owner_id, asset FROM ledger_account WHERE owner_kind = ANY($1::text[])';

/** The ids among $1 that are in the journal. */
export const SELECT_EXISTING_TRANSFER_IDS = 'SELECT id FROM ledger_transfer WHERE id = ANY($1::text[])';

/** Every account of one owner kind with its balance. */
export const SELECT_BALANCES_OF_KIND = `
  SELECT id, owner_kind, owner_id, asset, allow_negative, balance, held FROM ledger_account
   WHERE owner_kind = $1 ORDER BY owner_id, asset`;

/** A page of an account's entries after a cursor (the last journal seq seen), oldest first. */
export const SELECT_STATEMENT = {
  name: 'ledger_select_statement',
  text: `SELECT e.transfer_seq, e.leg, e.amount, t.id, t.kind, t.type, t.ref_kind, t.ref_id, t.hold_id, t.created_at
           FROM ledger_entry e JOIN ledger_transfer t ON t.seq = e.transfer_seq
          WHERE e.account_id = $1 AND e.transfer_seq > $2
          ORDER BY e.transfer_seq, e.leg LIMIT $3`,
};

export const SELECT_TRANSFER = `
  SELECT seq, id, kind, type, ref_kind, ref_id, hold_id, metadata, encode(hash, 'hex') AS hash,
         encode(prev_hash, 'hex') AS prev_hash, created_at
    FROM ledger_transfer WHERE id = $1`;

export const SELECT_TRANSFER_ENTRIES = `
  SELECT leg, account_id, asset, amount FROM ledger_entry WHERE transfer_seq = $1 ORDER BY leg`;

export const SELECT_HOLD = `
  SELECT h.id, h.account_id, h.amount, h.created_seq, r.transfer_seq AS resolved_seq, r.posted_amount
    FROM ledger_hold h LEFT JOIN ledger_hold_resolution r ON r.hold_id = h.id WHERE h.id = $1`;

// --- reconciliation (promises 1-6); each returns the violating rows, none when the ledger is sound ---

/** P1: entries of a transfer that do not sum to zero per asset. */
export const R_UNBALANCED = `
  SELECT transfer_seq, asset, sum(amount)::text AS net FROM ledger_entry
   GROUP BY transfer_seq, asset HAVING sum(amount) <> 0 ORDER BY transfer_seq LIMIT 100`;

/** P1: entries naming no transfer, or an account that does not exist or holds another asset. */
export const R_ORPHAN_ENTRIES = `
  SELECT e.transfer_seq, e.leg, e.account_id, e.asset FROM ledger_entry e
    LEFT JOIN ledger_transfer t ON t.seq = e.transfer_seq
    LEFT JOIN ledger_account a ON a.id = e.account_id
   WHERE t.seq IS NULL OR a.id IS NULL OR a.asset <> e.asset LIMIT 100`;

/** P2: per asset, the balances must sum to zero (the issuance account is -(minted - burned)), and so must the entries. */
export const R_CONSERVATION = `
  SELECT s.asset, s.total::text AS balances, coalesce(e.total, 0)::text AS entries,
         (-coalesce(i.balance, 0))::text AS minted_minus_burned
    FROM (SELECT asset, sum(balance) AS total FROM ledger_account GROUP BY asset) s
    LEFT JOIN (SELECT asset, sum(amount) AS total FROM ledger_entry GROUP BY asset) e ON e.asset = s.asset
    LEFT JOIN ledger_account i ON i.asset = s.asset AND i.owner_kind = 'system' AND i.owner_id = 'issuance'
   WHERE s.total <> 0 OR coalesce(e.total, 0) <> 0`;

/** P3: balance = sum of entries; available >= 0 where the account may not go negative. */
export const R_BALANCES = `
  SELECT a.id, a.balance::text AS balance, coalesce(e.total, 0)::text AS entries, a.held::text AS held
    FROM ledger_account a
    LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_entry GROUP BY account_id) e ON e.account_id = a.id
   WHERE a.balance <> coalesce(e.total, 0) OR a.held < 0 OR (NOT a.allow_negative AND a.balance < a.held)
   ORDER BY a.id LIMIT 100`;

/** P4: held = the sum of the account's open holds. */
export const R_HELD = `
  SELECT a.id, a.held::text AS held, coalesce(o.total, 0)::text AS open_holds
    FROM ledger_account a
    LEFT JOIN (SELECT h.account_id, sum(h.amount) AS total FROM ledger_hold h
                 LEFT JOIN ledger_hold_resolution r ON r.hold_id = h.id
                WHERE r.hold_id IS NULL GROUP BY h.account_id) o ON o.account_id = a.id
   WHERE a.held <> coalesce(o.total, 0) ORDER BY a.id LIMIT 100`;

/** P4: each hold resolved at most once, by a post or void naming it, posting no more than was held; each hold
 * created by its own 'hold' journal row. */
export const R_HOLDS = `
  SELECT h.id, 'resolved more than once or by a row not naming it' AS problem FROM ledger_hold h
    JOIN ledger_transfer t ON t.hold_id = h.id
   GROUP BY h.id HAVING count(*) > 1
   UNION ALL
  SELECT r.hold_id, 'resolution does not match its journal row' FROM ledger_hold_resolution r
    LEFT JOIN ledger_transfer t ON t.seq = r.transfer_seq
   WHERE t.seq IS NULL OR t.hold_id IS DISTINCT FROM r.hold_id OR t.kind NOT IN ('post', 'void')
      OR (t.kind = 'void') <> (r.posted_amount = 0)
   UNION ALL
  SELECT r.hold_id, 'posted more than held' FROM ledger_hold_resolution r JOIN ledger_hold h ON h.id = r.hold_id
   WHERE r.posted_amount > h.amount
   UNION ALL
  SELECT h.id, 'not created by its hold row' FROM ledger_hold h LEFT JOIN ledger_transfer t ON t.seq = h.created_seq
   WHERE t.seq IS NULL OR t.id <> h.id OR t.kind <> 'hold'
   UNION ALL
  SELECT t.hold_id, 'post or void without a resolution' FROM ledger_transfer t
    LEFT JOIN ledger_hold_resolution r ON r.transfer_seq = t.seq
   WHERE t.kind IN ('post', 'void') AND r.hold_id IS NULL
   LIMIT 100`;

/** P5: one journal row per id (the unique index says so; this checks the index was not dropped). */
export const R_DUPLICATE_IDS = `
  SELECT id, count(*)::int AS n FROM ledger_transfer GROUP BY id HAVING count(*) > 1 LIMIT 100`;

/** P6: the guards of the journal are in place and enabled. */
export const R_TRIGGERS = `
  SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
   WHERE c.relname IN ('ledger_transfer', 'ledger_entry', 'ledger_hold', 'ledger_hold_resolution', 'ledger_account')
     AND NOT t.tgisinternal AND t.tgenabled <> 'D'`;

/** P6: the chain, a page at a time, with what is needed to rebuild each row's canonical body. */
export const R_CHAIN_PAGE = `
  SELECT t.seq, t.id, t.kind, t.type, t.ref_kind, t.ref_id, t.hold_id, t.metadata::text AS metadata,
         t.body_hash, t.prev_hash, t.hash,
         h.account_id AS hold_account, h.amount AS hold_amount,
         (SELECT array_agg(e.account_id::text || ':' || e.amount::text ORDER BY e.leg)
            FROM ledger_entry e WHERE e.transfer_seq = t.seq) AS legs
    FROM ledger_transfer t
    LEFT JOIN ledger_hold h ON t.kind = 'hold' AND h.id = t.id
   WHERE t.seq > $1 ORDER BY t.seq LIMIT $2`;

export const R_HEAD = `SELECT seq, hash FROM ledger_chain_head WHERE singleton`;
