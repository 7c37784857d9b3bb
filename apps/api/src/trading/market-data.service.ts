import { Injectable } from '@nestjs/common';
import { AppError, marketIdOf } from '@ate/contracts';
import { EngineLink } from '../engine/engine-link';
import { MarketCatalog } from './market-catalog';
import { TradesRepository } from './trades.repository';
import { bookView, marketView, statsView, tradeView } from './views';

/** Public market data: markets, committed books (never a batch that could still roll back), trades, 24 h stats. */
@Injectable()
export class MarketDataService {
  constructor(
    private readonly engine: EngineLink,
    private readonly markets: MarketCatalog,
    private readonly trades: TradesRepository,
  ) {}

  async list() {
    const refs = await this.markets.list();
    return Promise.all(refs.map(async (m) => marketView(m, await this.engine.market(m.row.id))));
  }

  /** `ref`: the market's id or symbol (the catalog resolves it; the engine and the tables key markets by symbol) */
  async market(ref: string) {
    const m = await this.markets.get(ref);
    return marketView(m, await this.engine.market(m.row.id));
  }

  async book(ref: string, depth: number) {
    const m = await this.markets.get(ref);
    const b = await this.engine.market(m.row.id);
    if (!b) throw new AppError('SERVICE_UNAVAILABLE', 'The market is not loaded.');
    return bookView(m, b, depth);
  }

  async recentTrades(ref: string, limit: number) {
    const m = await this.markets.get(ref);
    return { market: marketIdOf(m.row.id), trades: (await this.trades.recent(m.row.id, limit)).map((t) => tradeView(m, t)) };
  }

  /** 24-hour statistics from the trades of the last 24 hours (CCXT ticker fields). */
  async stats(ref: string) {
    const m = await this.markets.get(ref);
    return statsView(m, await this.trades.last24h(m.row.id), await this.engine.market(m.row.id));
  }
}
