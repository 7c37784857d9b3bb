import type { PoolClient } from 'pg';
import { Injectable } from '@nestjs/common';
import { AppError, marketSymbolOf } from '@ate/contracts';
import { insertMarket, MarketRow, MarketSettings, marketSettingsOf, NewMarketRow, selectMarkets } from '@ate/sequencer';
import { DatabaseService } from '../database/database.service';
import { LedgerService } from '../ledger/ledger.service';

/** A market as the api works with it: its row, its engine settings, and the decimals of its base asset. */
export interface MarketRef {
  row: MarketRow;
  settings: MarketSettings;
  baseScale: number;
}

export type { NewMarketRow };

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

  /** The market named by its id (BASE-CREDIT) or its symbol (BASE/CREDIT, the table's key), or 404 NOT_FOUND. */
  async get(ref: string): Promise<MarketRef> {
    const symbol = marketSymbolOf(ref);
    if (symbol === null) throw new AppError('NOT_FOUND', 'No such market.', { market: ref });
    let m = this.cache.get(symbol);
    if (!m || m.until < Date.now()) {
      const r = await this.db.pool.query<MarketRow>('SELECT * FROM market WHERE id = $1', [symbol]);
      if (!r.rows[0]) throw new AppError('NOT_FOUND', 'No such market.', { market: ref });
      m = { ...(await this.ref(r.rows[0])), until: Date.now() + MARKET_CACHE_TTL_MS };
      this.cache.set(symbol, m);
    }
    return m;
  }

  /** Drops the cached row (its rules changed); `symbol`: the table's key. */
  forget(symbol: string): void {
    this.cache.delete(symbol);
  }

  async list(): Promise<MarketRef[]> {
    return Promise.all((await selectMarkets(this.db.pool)).map((row) => this.ref(row)));
  }

  /** Inserts the market (in the caller's transaction when given its client); false when one exists for the asset. */
  insert(m: NewMarketRow, db: Pick<PoolClient, 'query'> = this.db.pool): Promise<boolean> {
    return insertMarket(db, m);
  }
}
