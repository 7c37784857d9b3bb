import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../auth/decorators';
import { THROTTLE_IP, THROTTLE_KEY, THROTTLE_PUBLIC } from '../rate-limit/rate-limit';
import { HealthService, Readiness } from './health.service';

@ApiTags('health')
@Public()
@SkipThrottle({ [THROTTLE_KEY]: true, [THROTTLE_IP]: true, [THROTTLE_PUBLIC]: true })
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** Liveness: the process is up and serving. */
  @Get('health')
  @HttpCode(200)
  @ApiOkResponse({ description: 'The process is up.' })
  live(): { status: 'ok'; uptimeMs: number } {
    return { status: 'ok', uptimeMs: Math.round(process.uptime() * 1000) };
  }

  /** Readiness: database reachable, migrations applied, engine attached. 503 with the failing checks otherwise. */
  @Get('ready')
  @ApiOkResponse({ description: 'Ready to trade.' })
  @ApiServiceUnavailableResponse({ description: 'Not ready; the body says which check failed.' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<Readiness> {
    const r = await this.health.readiness();
    reply.status(r.ready ? 200 : 503);
    return r;
  }
}
