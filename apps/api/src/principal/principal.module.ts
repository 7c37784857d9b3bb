import { Module } from '@nestjs/common';
import { AccountService } from '../account/account.service';
import { RedemptionsModule } from '../redemptions/redemptions.module';
import { OrdersRepository } from '../trading/orders.repository';
import { TradesRepository } from '../trading/trades.repository';
import { TradingModule } from '../trading/trading.module';
import { TradingService } from '../trading/trading.service';
import { AdminPrincipalsController } from './admin-principals.controller';
import { ApprovalsController } from './approvals.controller';
import { ApprovalsService } from './approvals.service';
import { AgentBudgetController } from './agent-budget.controller';
import { PrincipalController } from './principal.controller';
import { SubAgentsController } from './sub-agents.controller';
import { PrincipalService } from './principal.service';
import { UnfinishedSubAgents } from './unfinished-sub-agents';

/** Principals acting for themselves, budget policies, freezes and the kill switch, spend reports (issue 11, sections 1-2). */
@Module({
  imports: [TradingModule, RedemptionsModule],
  controllers: [PrincipalController, AdminPrincipalsController, AgentBudgetController, SubAgentsController, ApprovalsController],
  providers: [PrincipalService, ApprovalsService, UnfinishedSubAgents, TradingService, OrdersRepository, TradesRepository, AccountService],
})
export class PrincipalModule {}
