import { Module } from '@nestjs/common';
import { CandlesService } from './candles.service';
import { DeadmanService } from './deadman.service';
import { MarketCatalog } from './market-catalog';
import { MarketDataService } from './market-data.service';
import { MarketsController } from './markets.controller';
import { OrdersController } from './orders.controller';
import { OrdersRepository } from './orders.repository';
import { TradesRepository } from './trades.repository';
import { TradingService } from './trading.service';

/** Agents' orders and public market data: controllers, services, and one repository per table family. */
@Module({
  controllers: [MarketsController, OrdersController],
  providers: [MarketCatalog, OrdersRepository, TradesRepository, TradingService, MarketDataService, DeadmanService, CandlesService],
  exports: [MarketCatalog],
})
export class TradingModule {}
