import { Controller, Get } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Auth, Roles } from '../auth/decorators';
import type { AuthContext } from '../auth/auth.types';
import { PrincipalService } from './principal.service';

/** An agent reads its own budget: the policy its principal set, whether it is frozen, and what each cap has left. */
@ApiTags('account')
@ApiSecurity('signature')
@Roles('agent')
@Controller('v1/account')
export class AgentBudgetController {
  constructor(private readonly principals: PrincipalService) {}

  @Get('budget')
  budget(@Auth() auth: AuthContext) {
    return this.principals.budget(null, auth.agentId as string);
  }
}
