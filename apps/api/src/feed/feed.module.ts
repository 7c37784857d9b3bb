import { Module } from '@nestjs/common';
import { TradingModule } from '../trading/trading.module';
import { FeedAuth } from './feed-auth';
import { FeedGateway } from './feed.gateway';
import { FeedMetrics } from './feed-metrics';
import { FeedService } from './feed.service';
import { FeedWsGateway } from './feed-ws.gateway';

/**
 * The live feed: socket.io on the api's HTTP server (FeedGateway), fed only from committed batches (FeedService,
 * from the engine host's outlet or the engine node's events stream). Protocol: libs/contracts feed.ts; the
 * subscriber helper: libs/client FeedSubscriber. The same feed over plain WebSocket (/v1/ws, FeedWsGateway) is
 * another FeedOut of the same FeedService: one reader of committed batches per node, one set of books and seqs.
 */
@Module({
  imports: [TradingModule],
  providers: [FeedService, FeedAuth, FeedGateway, FeedMetrics, FeedWsGateway],
})
export class FeedModule {}
