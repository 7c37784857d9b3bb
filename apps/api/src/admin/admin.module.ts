import { Module } from '@nestjs/common';
import { TradingModule } from '../trading/trading.module';
import { AdminLedgerController } from './admin-ledger.controller';
import { AdminMarketsController } from './admin-markets.controller';
import { AdminController } from './admin.controller';
import { AdminService } from './admin.service';
import { FundsService } from './funds.service';
import { MarketAdminService } from './market-admin.service';
import { ReconciliationService } from './reconciliation.service';

/** Operators: principals, agents and keys; assets and funds; markets; reconciliation. Admin keys only. */
@Module({
  imports: [TradingModule],
  controllers: [AdminController, AdminLedgerController, AdminMarketsController],
  providers: [AdminService, FundsService, MarketAdminService, ReconciliationService],
})
export class AdminModule {}
