import { Controller, Get } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Auth, Public } from '../auth/decorators';
import type { AuthContext } from '../auth/auth.types';

@ApiTags('account')
@Controller('v1')
export class TimeController {
  /** Server time, for clock skew: sign requests with a timestamp within the receive window of this. */
  @Public()
  @Get('time')
  time(): { serverTime: number; iso: string } {
    const now = new Date();
    return { serverTime: now.getTime(), iso: now.toISOString() };
  }

  /** Who the signing key belongs to. */
  @ApiSecurity('signature')
  @Get('me')
  me(@Auth() auth: AuthContext): AuthContext {
    return auth;
  }
}
