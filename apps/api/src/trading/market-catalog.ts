import { Injectable } from '@nestjs/common';
import { AppError, marketSymbolOf } from '@ate/contracts';
import { insertMarket, MarketRow, MarketSettings, marketSettingsOf, NewMarketRow } from '@ate/sequencer';
import { DatabaseService } from '../database/database.service';
import { LedgerService } from '../ledger/ledger.service';

/** A market as the api works with it: its row, its engine settings, and the decimals of its base asset. */
export interface MarketRef {
  row: MarketRow;
  settings: MarketSettings;
  baseScale: number;
}

/** The repository of the `market` table. A market's rules are fixed once created, so rows are cached for good. */
@Injectable()
export class MarketCatalog {
  private cache = new Map<string, MarketRef>();

  constructor(
    private readonly db: DatabaseService,
    private readonly ledger: LedgerService,
  ) {}

  private async ref(row: MarketRow): Promise<MarketRef> {
    return { row, settings: marketSettingsOf(row), baseScale: await this.ledger.scaleOf(row.base_asset) };
  }

  /** The market named by its id (BASE-CREDIT) or its symbol (BASE/CREDIT, the table's key), or 404 NOT_FOUND. */
  async get(ref: string): Promise<MarketRef> {
    let m = this.cache.get(ref);
    if (!m) {
      const symbol = marketSymbolOf(ref);
      const r = symbol === null ? null : await this.db.pool.query<MarketRow>('SELECT * FROM market WHERE id = $1', [symbol]);
      if (!r?.rows[0]) throw new AppError('NOT_FOUND', 'No such market.', { market: ref });
      m = await this.ref(r.rows[0]);
      this.cache.set(ref, m);
    }
    return m;
  }

  async list(): Promise<MarketRef[]> {
    const r = await this.db.pool.query<MarketRow>('SELECT * FROM market ORDER BY id');
    return Promise.all(r.rows.map((row) => this.ref(row)));
  }

  /** Inserts a market; false when one exists for the asset (or with the id). */
  insert(m: NewMarketRow): Promise<boolean> {
    return insertMarket(this.db.pool, m);
  }
}
