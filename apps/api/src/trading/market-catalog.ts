import type { PoolClient } from 'pg';
import { Injectable } from '@nestjs/common';
import { AppError } from '@ate/contracts';
import { MarketRow, MarketSettings, marketSettingsOf } from '@ate/sequencer';
import { DatabaseService } from '../database/database.service';
import { LedgerService } from '../ledger/ledger.service';

/** A market as the api works with it: its row, its engine settings, and the decimals of its base asset. */
export interface MarketRef {
  row: MarketRow;
  settings: MarketSettings;
  baseScale: number;
}

/** What a new market's row holds (validated by the caller). */
export type NewMarketRow = Omit<MarketRow, 'fee_rounding'>;

/**
 * How long a market row stays cached, ms. Tick and lot size and the base asset are fixed; the rules (fees, size
 * and price limits, band, largest spend) change through the engine's sequence (PATCH /v1/admin/markets/:id/rules),
 * which enforces them from that command on whatever the api believes; the api's own edge checks and views follow
 * within this time on every node (at once on the node that made the change).
 */
export const MARKET_CACHE_TTL_MS = 1_000;

/** The repository of the `market` table (rows cached for MARKET_CACHE_TTL_MS). */
@Injectable()
export class MarketCatalog {
  private cache = new Map<string, MarketRef & { until: number }>();

  constructor(
    private readonly db: DatabaseService,
    private readonly ledger: LedgerService,
  ) {}

  private async ref(row: MarketRow): Promise<MarketRef> {
    return { row, settings: marketSettingsOf(row), baseScale: await this.ledger.scaleOf(row.base_asset) };
  }

  /** The market, or 404 NOT_FOUND. */
  async get(id: string): Promise<MarketRef> {
    let m = this.cache.get(id);
    if (!m || m.until < Date.now()) {
      const r = await this.db.pool.query<MarketRow>('SELECT * FROM market WHERE id = $1', [id]);
      if (!r.rows[0]) throw new AppError('NOT_FOUND', 'No such market.', { market: id });
      m = { ...(await this.ref(r.rows[0])), until: Date.now() + MARKET_CACHE_TTL_MS };
      this.cache.set(id, m);
    }
    return m;
  }

  /** Drops the cached row (its rules changed). */
  forget(id: string): void {
    this.cache.delete(id);
  }

  async list(): Promise<MarketRef[]> {
    const r = await this.db.pool.query<MarketRow>('SELECT * FROM market ORDER BY id');
    return Promise.all(r.rows.map((row) => this.ref(row)));
  }

  /** Inserts a market; false when one exists for the asset (or with the id). */
  /** Inserts the market (in the caller's transaction when given its client); false when one exists for the asset. */
  async insert(m: NewMarketRow, db: Pick<PoolClient, 'query'> = this.db.pool): Promise<boolean> {
    const r = await db.query(
      `INSERT INTO market (id, base_asset, tick_size, lot_size, min_order_lots, max_order_lots, max_price_ticks, price_band_bps,
                           initial_price_ticks, default_stp, orders_per_agent_max, max_spend_credits, maker_fee_bps, taker_fee_bps)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) ON CONFLICT DO NOTHING RETURNING id`,
      [
        m.id,
        m.base_asset,
        m.tick_size,
        m.lot_size,
        m.min_order_lots,
        m.max_order_lots,
        m.max_price_ticks,
        m.price_band_bps,
        m.initial_price_ticks,
        m.default_stp,
        m.orders_per_agent_max,
        m.max_spend_credits,
        m.maker_fee_bps,
        m.taker_fee_bps,
      ],
    );
    return r.rows.length > 0;
  }
}
