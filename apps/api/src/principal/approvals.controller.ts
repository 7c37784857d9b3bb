import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/decorators';
import { Actor, ActorOf } from './actor';
import { ApprovalsService } from './approvals.service';

/**
 * Approval above a threshold: orders of my agents whose policy says `approval` and whose notional is above it, and
 * redemptions above its `redemptionsAbove`, wait as pending_approval; I list them and approve or reject each (one of
 * another principal's agent is 404).
 */
@ApiTags('principal')
@ApiSecurity('signature')
@Roles('principal')
@Controller('v1/principal/approvals')
export class ApprovalsController {
  constructor(private readonly approvals: ApprovalsService) {}

  @Get()
  list(@ActorOf() a: Actor) {
    return this.approvals.list(a.principalId as string);
  }

  /** `id`: an order id, or a redemption id (rdm_...) */
  @Post(':id/approve')
  @HttpCode(200)
  approve(@ActorOf() a: Actor, @Param('id') id: string) {
    return this.approvals.decide(a, a.principalId as string, id, 'approve');
  }

  @Post(':id/reject')
  @HttpCode(200)
  reject(@ActorOf() a: Actor, @Param('id') id: string) {
    return this.approvals.decide(a, a.principalId as string, id, 'reject');
  }
}
