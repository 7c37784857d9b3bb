import { Injectable } from '@nestjs/common';
import type { OrderRecord } from '@ate/sequencer';
import { DatabaseService } from '../database/database.service';

/** A trading_order row as node-postgres returns it (bigint columns as strings). */
interface OrderRow {
  id: string;
  market_id: string;
  agent_id: string;
  client_order_id: string | null;
  side: OrderRecord['side'];
  type: OrderRecord['type'];
  tif: OrderRecord['tif'];
  post_only: boolean;
  price_ticks: number | null;
  lots: string | null;
  spend: string | null;
  expires_at: string | null;
  status: OrderRecord['status'];
  filled_lots: string;
  open_lots: string;
  filled_notional: string;
  reason: string | null;
  command_seq: string;
  created_at: Date;
  updated_at: Date;
}

const num = (v: string | null): number | null => (v === null ? null : Number(v));

function toRecord(r: OrderRow): OrderRecord {
  return {
    id: Number(r.id),
    marketId: r.market_id,
    agentId: r.agent_id,
    clientOrderId: r.client_order_id,
    side: r.side,
    type: r.type,
    tif: r.tif,
    postOnly: r.post_only,
    priceTicks: r.price_ticks,
    lots: num(r.lots),
    spend: num(r.spend),
    expiresAt: num(r.expires_at),
    status: r.status,
    filledLots: Number(r.filled_lots),
    openLots: Number(r.open_lots),
    filledNotional: Number(r.filled_notional),
    reason: r.reason,
    commandSeq: Number(r.command_seq),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The repository of the order projection (trading_order): an agent reads only its own orders. */
@Injectable()
export class OrdersRepository {
  constructor(private readonly db: DatabaseService) {}

  async byId(agentId: string, id: string): Promise<OrderRecord | undefined> {
    const r = await this.db.pool.query<OrderRow>('SELECT * FROM trading_order WHERE id = $1 AND agent_id = $2', [id, agentId]);
    return r.rows[0] && toRecord(r.rows[0]);
  }

  async byClientId(agentId: string, clientOrderId: string): Promise<OrderRecord | undefined> {
    const r = await this.db.pool.query<OrderRow>('SELECT * FROM trading_order WHERE agent_id = $1 AND client_order_id = $2', [
      agentId,
      clientOrderId,
    ]);
    return r.rows[0] && toRecord(r.rows[0]);
  }

  /**
   * The agent's orders, one more than `limit` (tells whether a page follows). Newest first below the cursor (an
   * order id); with `since` (epoch ms, created at or after) oldest first above the cursor, as CCXT pages.
   * `until`: created before (epoch ms).
   */
  async list(
    agentId: string,
    q: {
      status?: 'open' | 'closed' | 'canceled' | 'pending_approval';
      market?: string;
      cursor?: string;
      limit: number;
      since?: number;
      until?: number;
    },
  ): Promise<OrderRecord[]> {
    const asc = q.since !== undefined;
    const params: unknown[] = [agentId, q.cursor ?? (asc ? '0' : '9223372036854775807'), q.limit];
    let where = `agent_id = $1 AND id ${asc ? '>' : '<'} $2`;
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where += ` AND ${sql.replace('?', `$${params.length}`)}`;
    };
    if (q.status) add('status = ?', q.status);
    if (q.market) add('market_id = ?', q.market);
    if (q.since !== undefined) add(`created_at >= timestamptz 'epoch' + ? * interval '1 millisecond'`, q.since);
    if (q.until !== undefined) add(`created_at < timestamptz 'epoch' + ? * interval '1 millisecond'`, q.until);
    const r = await this.db.pool.query<OrderRow>(`SELECT * FROM trading_order WHERE ${where} ORDER BY id ${asc ? 'ASC' : 'DESC'} LIMIT $3`, params);
    return r.rows.map(toRecord);
  }
}
