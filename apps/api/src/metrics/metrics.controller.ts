import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import { AppError } from '@ate/contracts';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/decorators';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { THROTTLE_IP, THROTTLE_KEY } from '../rate-limit/rate-limit';
import { MetricsService } from './metrics.service';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * GET /metrics for Prometheus. Unsigned (a scraper cannot sign requests) and not rate-limited, like /health;
 * open unless METRICS_TOKEN is set, then only with `Authorization: Bearer <METRICS_TOKEN>` (Prometheus'
 * `authorization` scrape setting).
 */
@Public()
@SkipThrottle({ [THROTTLE_KEY]: true, [THROTTLE_IP]: true })
@Controller()
export class MetricsController {
  private readonly token: Buffer | null;

  constructor(
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.token = config.METRICS_TOKEN ? digest(`Bearer ${config.METRICS_TOKEN}`) : null;
  }

  @Get('metrics')
  async scrape(@Headers('authorization') authorization: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    // compared as digests: constant time whatever the presented length
    if (this.token && !timingSafeEqual(digest(authorization ?? ''), this.token)) {
      throw new AppError('AUTH_MISSING', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>.');
    }
    void reply.header('content-type', this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
