import { Module } from '@nestjs/common';
import { TradingModule } from '../trading/trading.module';
import { FeedAuth } from './feed-auth';
import { FeedWsGateway, WS_FEED } from './feed-ws.gateway';
import { FeedService } from './feed.service';

/**
 * The live feed over plain WebSocket (`/v1/ws`, FeedWsGateway) beside the socket.io one (FeedModule): the same
 * messages, read from committed batches by a FeedService instance of its own.
 */
@Module({
  imports: [TradingModule],
  providers: [{ provide: WS_FEED, useClass: FeedService }, FeedAuth, FeedWsGateway],
})
export class FeedWsModule {}
