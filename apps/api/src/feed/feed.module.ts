import { Module } from '@nestjs/common';
import { TradingModule } from '../trading/trading.module';
import { FeedAuth } from './feed-auth';
import { FeedGateway } from './feed.gateway';
import { FeedMetrics } from './feed-metrics';
import { FeedService } from './feed.service';
import { FeedWsGateway, WS_FEED } from './feed-ws.gateway';

/**
 * The live feed: socket.io on the api's HTTP server (FeedGateway), fed only from committed batches (FeedService,
 * from the engine host's outlet or the engine node's events stream). Protocol: libs/contracts feed.ts; the
 * subscriber helper: libs/client FeedSubscriber. The same feed over plain WebSocket (/v1/ws, FeedWsGateway) reads
 * through a FeedService instance of its own (WS_FEED).
 */
@Module({
  imports: [TradingModule],
  providers: [FeedService, FeedAuth, FeedGateway, FeedMetrics, { provide: WS_FEED, useClass: FeedService }, FeedWsGateway],
})
export class FeedModule {}
