import { Controller, Get, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Public } from '../auth/decorators';
import { ZodQuery } from '../common/zod';
import { CANDLE_TIMEFRAMES, CandlesService } from './candles.service';
import { MarketDataService } from './market-data.service';

const DepthQuery = z.strictObject({ depth: z.coerce.number().int().min(1).max(1000).default(50) });
const EpochMs = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const TradesQuery = z.strictObject({
  /** at or after (epoch ms): the page is then oldest first */
  since: EpochMs.optional(),
  /** before (epoch ms) */
  until: EpochMs.optional(),
  /** nextCursor of the previous page */
  cursor: z
    .string()
    .regex(/^[0-9]{1,19}$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const CandlesQuery = z.strictObject({
  timeframe: z.enum(CANDLE_TIMEFRAMES).default('1m'),
  /** the first candle at or after (epoch ms); without it the last `limit` candles */
  since: EpochMs.optional(),
  /** candles starting before (epoch ms) */
  until: EpochMs.optional(),
  limit: z.coerce.number().int().min(1).max(1500).default(500),
});

/** Public market data. Market ids contain a slash (GPT-X.1K/CREDIT): URL-encode it (GPT-X.1K%2FCREDIT). */
@ApiTags('markets')
@Public()
@Controller('v1/markets')
export class MarketsController {
  constructor(
    private readonly data: MarketDataService,
    private readonly candleService: CandlesService,
  ) {}

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
  trades(@Param('marketId') id: string, @ZodQuery(TradesQuery) q: z.infer<typeof TradesQuery>) {
    return this.data.recentTrades(id, q);
  }

  /** OHLCV candles, oldest first: under an hour from the per-minute aggregates (~25 hours kept), 1h and wider from the hourly ones (kept for ever). */
  @Get(':marketId/candles')
  candles(@Param('marketId') id: string, @ZodQuery(CandlesQuery) q: z.infer<typeof CandlesQuery>) {
    return this.candleService.candles(id, q);
  }
}
