import type { Pool, PoolClient } from 'pg';
import type { MarketRow, NewMarketRow } from './market-config';
import type { OrderColumns, TradeColumns } from './projections';

/**
 * Every SQL statement of the sequencer, on its own tables (market, agent, engine_command, engine_checkpoint,
 * engine_snapshot, trading_order, trade). The ledger's tables are read and written only through libs/ledger.
 */

type Db = Pool | PoolClient;

export async function selectMarkets(db: Db): Promise<MarketRow[]> {
  return (await db.query<MarketRow>('SELECT * FROM market ORDER BY id')).rows;
}

const MARKET_COLUMNS = [
  'id',
  'base_asset',
  'tick_size',
  'lot_size',
  'min_order_lots',
  'max_order_lots',
  'max_price_ticks',
  'price_band_bps',
  'initial_price_ticks',
  'default_stp',
  'orders_per_agent_max',
  'max_spend_credits',
  'maker_fee_bps',
  'taker_fee_bps',
] as const satisfies readonly (keyof NewMarketRow)[];

/**
 * Inserts a market's row; false when a market exists for the asset (or with the id). `fee_rounding` is the
 * table's default ('up') unless the row names it (tests of markets made before the setting name 'down').
 */
export async function insertMarket(db: Pick<PoolClient, 'query'>, row: NewMarketRow): Promise<boolean> {
  const cols: string[] = [...MARKET_COLUMNS];
  const values: unknown[] = MARKET_COLUMNS.map((c) => row[c]);
  if (row.fee_rounding !== undefined) {
    cols.push('fee_rounding');
    values.push(row.fee_rounding);
  }
  const r = await db.query(
    `INSERT INTO market (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) ON CONFLICT DO NOTHING RETURNING id`,
    values,
  );
  return r.rows.length > 0;
}

export async function selectAgents(db: Db): Promise<{ id: string; num: number }[]> {
  return (await db.query<{ id: string; num: number }>('SELECT id, num FROM agent')).rows;
}

export async function selectAgentNum(db: Db, agentId: string): Promise<number | undefined> {
  return (await db.query<{ num: number }>('SELECT num FROM agent WHERE id = $1', [agentId])).rows[0]?.num;
}

export interface CheckpointRow {
  market_id: string;
  command_seq: string;
  state_hash: string;
  updated_at: Date;
}

export async function selectCheckpoints(db: Db): Promise<CheckpointRow[]> {
  return (await db.query<CheckpointRow>('SELECT * FROM engine_checkpoint')).rows;
}

/** Records each market's state hash at a command (in the batch's transaction, or one of its own at shutdown). */
export async function upsertCheckpoints(db: Db, seq: number, hashes: { marketId: string; hash: string }[]): Promise<void> {
  await db.query(
    `INSERT INTO engine_checkpoint (market_id, command_seq, state_hash)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
     ON CONFLICT (market_id) DO UPDATE SET command_seq = EXCLUDED.command_seq, state_hash = EXCLUDED.state_hash, updated_at = now()`,
    [hashes.map((h) => h.marketId), hashes.map(() => seq), hashes.map((h) => h.hash)],
  );
}

export interface SnapshotRow {
  command_seq: string;
  format: number;
  state_hashes: Record<string, string>;
}

/** The newest snapshots (without their state), newest first. */
export async function selectSnapshots(db: Db, limit: number): Promise<SnapshotRow[]> {
  return (await db.query<SnapshotRow>('SELECT command_seq, format, state_hashes FROM engine_snapshot ORDER BY command_seq DESC LIMIT $1', [limit]))
    .rows;
}

export async function selectSnapshotState(db: Db, seq: string): Promise<Buffer | undefined> {
  return (await db.query<{ state: Buffer }>('SELECT state FROM engine_snapshot WHERE command_seq = $1', [seq])).rows[0]?.state;
}

/** Writes a snapshot and keeps only the newest `kept` (one transaction of the caller's). */
export async function writeSnapshotRow(
  db: PoolClient,
  row: { seq: number; format: number; state: Buffer; hashes: Record<string, string> },
  kept: number,
): Promise<void> {
  await db.query(
    `INSERT INTO engine_snapshot (command_seq, format, state, state_hashes) VALUES ($1, $2, $3, $4)
     ON CONFLICT (command_seq) DO UPDATE SET format = EXCLUDED.format, state = EXCLUDED.state, state_hashes = EXCLUDED.state_hashes, taken_at = now()`,
    [row.seq, row.format, row.state, JSON.stringify(row.hashes)],
  );
  await db.query(
    'DELETE FROM engine_snapshot WHERE command_seq NOT IN (SELECT command_seq FROM engine_snapshot ORDER BY command_seq DESC LIMIT $1)',
    [kept],
  );
}

/** Commands logged after `after`, in order (a keyset page). */
export async function selectLogPage<C>(
  db: Db,
  after: number,
  limit: number,
): Promise<{ seq: string; market_id: string | null; ts: string; command: C }[]> {
  return (
    await db.query<{ seq: string; market_id: string | null; ts: string; command: C }>(
      'SELECT seq, market_id, ts, command FROM engine_command WHERE seq > $1 ORDER BY seq LIMIT $2',
      [after, limit],
    )
  ).rows;
}

/** Which (agent, clientOrderId) pairs are placed already, with their order ids. */
export async function selectPlacedClientOrderIds(
  db: Db,
  keys: readonly (readonly [string, string])[],
): Promise<{ agent_id: string; client_order_id: string; id: string }[]> {
  if (keys.length === 0) return [];
  const r = await db.query<{ agent_id: string; client_order_id: string; id: string }>(
    `SELECT o.agent_id, o.client_order_id, o.id FROM trading_order o
       JOIN unnest($1::text[], $2::text[]) AS k(agent_id, client_order_id) USING (agent_id, client_order_id)`,
    [keys.map((k) => k[0]), keys.map((k) => k[1])],
  );
  return r.rows;
}

export interface LogRow {
  seq: number;
  market: string | null;
  ts: number;
  json: string;
}

/**
 * The command log and both projections of a batch in one statement (one round trip; foreign keys are checked at
 * its end). An order row already there (a maker filled, cancelled, amended) updates only what changes.
 */
export async function writeBatchRows(db: PoolClient, log: LogRow[], orders: OrderColumns, trades: TradeColumns): Promise<void> {
  await db.query(
    `WITH cmd AS (
       INSERT INTO engine_command (seq, market_id, ts, command)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::jsonb[])
     ), ord AS (
       INSERT INTO trading_order (id, market_id, agent_id, client_order_id, side, type, tif, post_only, price_ticks, lots, spend,
                                  expires_at, status, filled_lots, open_lots, filled_notional, reason, command_seq)
       SELECT * FROM unnest($5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::boolean[],
                            $13::int[], $14::bigint[], $15::bigint[], $16::bigint[], $17::text[], $18::bigint[], $19::bigint[],
                            $20::bigint[], $21::text[], $22::bigint[])
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, filled_lots = EXCLUDED.filled_lots,
         open_lots = EXCLUDED.open_lots, filled_notional = EXCLUDED.filled_notional,
         reason = COALESCE(EXCLUDED.reason, trading_order.reason),
         price_ticks = COALESCE(EXCLUDED.price_ticks, trading_order.price_ticks), updated_at = now()
     )
     INSERT INTO trade (market_id, event_seq, command_seq, maker_order_id, taker_order_id, maker_agent_id, taker_agent_id,
                        taker_side, price_ticks, lots, notional, buyer_fee, seller_fee)
     SELECT * FROM unnest($23::text[], $24::bigint[], $25::bigint[], $26::bigint[], $27::bigint[], $28::text[], $29::text[],
                          $30::text[], $31::int[], $32::bigint[], $33::bigint[], $34::bigint[], $35::bigint[])`,
    [
      log.map((r) => r.seq),
      log.map((r) => r.market),
      log.map((r) => r.ts),
      log.map((r) => r.json),
      orders.id,
      orders.marketId,
      orders.agentId,
      orders.clientOrderId,
      orders.side,
      orders.type,
      orders.tif,
      orders.postOnly,
      orders.priceTicks,
      orders.lots,
      orders.spend,
      orders.expiresAt,
      orders.status,
      orders.filledLots,
      orders.openLots,
      orders.filledNotional,
      orders.reason,
      orders.commandSeq,
      trades.marketId,
      trades.eventSeq,
      trades.commandSeq,
      trades.makerOrderId,
      trades.takerOrderId,
      trades.makerAgentId,
      trades.takerAgentId,
      trades.takerSide,
      trades.priceTicks,
      trades.lots,
      trades.notional,
      trades.buyerFee,
      trades.sellerFee,
    ],
  );
}

/** The orders the projections list as open (reconciliation against the books). */
export async function selectOpenOrders(db: Db): Promise<{ id: string; market_id: string; price_ticks: number | null; open_lots: string }[]> {
  return (
    await db.query<{ id: string; market_id: string; price_ticks: number | null; open_lots: string }>(
      `SELECT id, market_id, price_ticks, open_lots::text FROM trading_order WHERE status = 'open'`,
    )
  ).rows;
}
