import { Module } from '@nestjs/common';
import { AuctionScheduler } from './auction-scheduler.service';
import { AdminAuctionsController, AuctionsController } from './auctions.controller';
import { AuctionsRepository } from './auctions.repository';
import { AuctionsService } from './auctions.service';
import { CombinatorialClearing } from './clearing';

/** Sealed-bid auctions and posted-price pools, settled through the sequencer; closings and epochs scheduled. */
@Module({
  controllers: [AuctionsController, AdminAuctionsController],
  providers: [AuctionsRepository, AuctionsService, AuctionScheduler, CombinatorialClearing],
})
export class AuctionsModule {}
