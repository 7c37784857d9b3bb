import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service';

export interface AuctionRow {
  id: string;
  mechanism: string;
  seller_agent_id: string | null;
  asset: string;
  units: string;
  reserve_price: string;
  fee_bps: number;
  deadline: Date;
  status: 'open' | 'closed' | 'cleared' | 'settled' | 'cancelled';
  created_seq: string;
  closed_seq: string | null;
  cleared_seq: string | null;
  settled_seq: string | null;
  clearing: AuctionClearingRow | null;
  /** combinatorial: the items, each with its reserve (minor units of credits, for the whole item; absent before reserves) */
  items: { id: string; asset: string; units: string; reservePrice?: string }[] | null;
  created_at: Date;
  updated_at: Date;
}

export interface AuctionClearingRow {
  mechanism: string;
  awards: { agentId: string; units?: string; value: string; payment: string; bundle?: number; items?: string[]; vcgPayment?: string }[];
  unitsSold?: string;
  unitsUnsold?: string;
  itemsSold?: string[];
  itemsUnsold?: string[];
  revenue: string;
  welfare: string;
  fees: string;
}

export interface BidRow {
  auction_id: string;
  agent_id: string;
  steps: [string, string][];
  hold: string;
  status: 'open' | 'withdrawn' | 'won' | 'lost' | 'released';
  units_won: string | null;
  payment: string | null;
  seq: string;
  created_at: Date;
  updated_at: Date;
  client_bid_id: string | null;
}

export interface BidRequestRow {
  agent_id: string;
  client_bid_id: string;
  auction_id: string;
  seq: string;
  body: unknown;
}

export interface PoolRow {
  id: string;
  mode: 'fixed' | 'congestion';
  asset: string;
  price: string;
  supply: string | null;
  sold: string;
  capacity_per_epoch: string | null;
  min_price: string | null;
  max_price: string | null;
  epoch_ms: number;
  epoch: number;
  used: string;
  started_at: Date;
  updated_at: Date;
}

export interface EpochRow {
  epoch: number;
  price: string;
  used: string;
  next_price: string;
}

export interface PurchaseRow {
  pool_id: string;
  seq: string;
  agent_id: string;
  units: string;
  price: string;
  cost: string;
  epoch: number;
  created_at: Date;
  client_purchase_id: string | null;
  max_price: string | null;
}

/** Reads of the auction and pool projections (the sequencer writes them with the commands that change them). */
@Injectable()
export class AuctionsRepository {
  constructor(private readonly db: DatabaseService) {}

  async auction(id: string): Promise<AuctionRow | undefined> {
    return (await this.db.pool.query<AuctionRow>('SELECT * FROM auction WHERE id = $1', [id])).rows[0];
  }

  async list(status: 'open' | 'all', limit: number): Promise<AuctionRow[]> {
    const where = status === 'open' ? `WHERE status = 'open'` : '';
    return (await this.db.pool.query<AuctionRow>(`SELECT * FROM auction ${where} ORDER BY created_seq DESC LIMIT $1`, [limit])).rows;
  }

  /** Auctions not settled or cancelled yet (the scheduler's work after a restart). */
  async unsettled(): Promise<{ id: string; deadline: Date }[]> {
    return (
      await this.db.pool.query<{ id: string; deadline: Date }>(
        `SELECT id, deadline FROM auction WHERE status IN ('open', 'closed', 'cleared') ORDER BY deadline`,
      )
    ).rows;
  }

  async bid(auctionId: string, agentId: string): Promise<BidRow | undefined> {
    return (await this.db.pool.query<BidRow>('SELECT * FROM auction_bid WHERE auction_id = $1 AND agent_id = $2', [auctionId, agentId])).rows[0];
  }

  /** The sealed bids standing at the close, in sequence order (the tie rule's priority). */
  async openBids(auctionId: string): Promise<BidRow[]> {
    return (await this.db.pool.query<BidRow>(`SELECT * FROM auction_bid WHERE auction_id = $1 AND status = 'open' ORDER BY seq`, [auctionId])).rows;
  }

  /** Every bid that stood at the close (won or lost), in sequence order: the auditor's inputs. */
  async settledBids(auctionId: string): Promise<BidRow[]> {
    return (
      await this.db.pool.query<BidRow>(`SELECT * FROM auction_bid WHERE auction_id = $1 AND status IN ('won', 'lost') ORDER BY seq`, [auctionId])
    ).rows;
  }

  async pool(id: string): Promise<PoolRow | undefined> {
    return (await this.db.pool.query<PoolRow>('SELECT * FROM price_pool WHERE id = $1', [id])).rows[0];
  }

  async pools(): Promise<PoolRow[]> {
    return (await this.db.pool.query<PoolRow>('SELECT * FROM price_pool ORDER BY id')).rows;
  }

  async history(poolId: string, limit: number): Promise<EpochRow[]> {
    return (
      await this.db.pool.query<EpochRow>(
        'SELECT epoch, price, used, next_price FROM price_pool_epoch WHERE pool_id = $1 ORDER BY epoch DESC LIMIT $2',
        [poolId, limit],
      )
    ).rows;
  }

  /** The accepted bid an agent sent under a client id (any auction). */
  async bidRequest(agentId: string, clientBidId: string): Promise<BidRequestRow | undefined> {
    return (
      await this.db.pool.query<BidRequestRow>('SELECT * FROM auction_bid_request WHERE agent_id = $1 AND client_bid_id = $2', [agentId, clientBidId])
    ).rows[0];
  }

  /** The purchase an agent made under a client id (any pool). */
  async purchaseByClientId(agentId: string, clientPurchaseId: string): Promise<PurchaseRow | undefined> {
    return (
      await this.db.pool.query<PurchaseRow>('SELECT * FROM price_pool_purchase WHERE agent_id = $1 AND client_purchase_id = $2', [
        agentId,
        clientPurchaseId,
      ])
    ).rows[0];
  }

  async purchase(poolId: string, seq: string): Promise<PurchaseRow | undefined> {
    return (await this.db.pool.query<PurchaseRow>('SELECT * FROM price_pool_purchase WHERE pool_id = $1 AND seq = $2', [poolId, seq])).rows[0];
  }
}
