import { Module } from '@nestjs/common';
import { TradingModule } from '../trading/trading.module';
import { FeedAuth } from './feed-auth';
import { FeedGateway } from './feed.gateway';
import { FeedMetrics } from './feed-metrics';
import { FeedService } from './feed.service';

/**
 * The live feed: socket.io on the api's HTTP server (FeedGateway), fed only from committed batches (FeedService,
 * from the engine host's outlet or the engine node's events stream). Protocol: libs/contracts feed.ts; the
 * subscriber helper: libs/client FeedSubscriber.
 */
@Module({
  imports: [TradingModule],
  providers: [FeedService, FeedAuth, FeedGateway, FeedMetrics],
})
export class FeedModule {}
