import { Controller, Get, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Public } from '../auth/decorators';
import { ZodQuery } from '../common/zod';
import { MarketDataService } from './market-data.service';

const DepthQuery = z.strictObject({ depth: z.coerce.number().int().min(1).max(1000).default(50) });
const LimitQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) });

/** Public market data. Market ids contain a slash (GPT-X.1K/CREDIT): URL-encode it (GPT-X.1K%2FCREDIT). */
@ApiTags('markets')
@Public()
@Controller('v1/markets')
export class MarketsController {
  constructor(private readonly data: MarketDataService) {}

  @Get()
  async list() {
    return { markets: await this.data.list() };
  }

  @Get(':marketId')
  get(@Param('marketId') id: string) {
    return this.data.market(id);
  }

  /** Aggregated levels as [price, amount] pairs, with the market's event sequence number. */
  @Get(':marketId/book')
  book(@Param('marketId') id: string, @ZodQuery(DepthQuery) q: z.infer<typeof DepthQuery>) {
    return this.data.book(id, q.depth);
  }

  /** The last 24 hours: open, high, low, last, volumes, trade count, best bid and ask. */
  @Get(':marketId/stats')
  stats(@Param('marketId') id: string) {
    return this.data.stats(id);
  }

  @Get(':marketId/trades')
  trades(@Param('marketId') id: string, @ZodQuery(LimitQuery) q: z.infer<typeof LimitQuery>) {
    return this.data.recentTrades(id, q.limit);
  }
}
