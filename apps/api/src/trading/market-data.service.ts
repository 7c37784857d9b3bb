import { Injectable } from '@nestjs/common';
import { AppError } from '@ate/contracts';
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

  async market(id: string) {
    const m = await this.markets.get(id);
    return marketView(m, await this.engine.market(id));
  }

  async book(marketId: string, depth: number) {
    const m = await this.markets.get(marketId);
    const b = await this.engine.market(marketId);
    if (!b) throw new AppError('SERVICE_UNAVAILABLE', 'The market is not loaded.');
    return bookView(m, b, depth);
  }

  async recentTrades(marketId: string, limit: number) {
    const m = await this.markets.get(marketId);
    return { market: marketId, trades: (await this.trades.recent(marketId, limit)).map((t) => tradeView(m, t)) };
  }

  /** 24-hour statistics from the trades of the last 24 hours (CCXT ticker fields). */
  async stats(marketId: string) {
    const m = await this.markets.get(marketId);
    return statsView(m, await this.trades.last24h(marketId), await this.engine.market(marketId));
  }
}
