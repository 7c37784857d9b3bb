import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { AppError, CREDIT_SCALE, parseAmount } from '@ate/contracts';
import { validateMarketConfig } from '@ate/matching';
import { z } from 'zod';
import { Roles } from '../auth/decorators';
import { ZodBody } from '../common/zod';
import { DatabaseService } from '../database/database.service';
import { EngineLink } from '../engine/engine-link';
import { LedgerService } from '../ledger/ledger.service';

export const CreateMarketBody = z.strictObject({
  base: z.string().regex(/^[A-Z0-9][A-Z0-9_.:-]{0,63}$/),
  /** credits per lot per tick, decimal string (e.g. "0.001") */
  tickSize: z.string().max(64),
  /** lot size in base-asset minor units (integer) */
  lotSizeUnits: z.number().int().min(1).max(1_000_000_000),
  minOrderLots: z.number().int().min(1).default(1),
  maxOrderLots: z.number().int().min(1).default(1_000_000),
  maxPriceTicks: z.number().int().min(1).max(1 << 20).default(1 << 20),
  priceBandBps: z.number().int().min(0).max(10_000).default(1000),
  initialPriceTicks: z.number().int().min(1),
  defaultStp: z.enum(['cancel_taker', 'cancel_maker', 'cancel_both', 'decrement_cancel']).default('cancel_taker'),
  ordersPerAgentMax: z.number().int().min(1).max(100_000).default(1000),
  /** fees in basis points, taken from what each side receives (buyer: base asset, seller: credits) */
  makerFeeBps: z.number().int().min(0).max(1000).default(0),
  takerFeeBps: z.number().int().min(0).max(1000).default(0),
  /** largest spend of a spend-sized market order, credits decimal string */
  maxSpend: z.string().max(64).default('1000000.000'),
});

export const MarketStateBody = z.strictObject({
  /** open: trading; cancel_only: orders may only be cancelled; halted: no command at all (orders rest untouched) */
  state: z.enum(['open', 'cancel_only', 'halted']),
});

@ApiTags('admin')
@ApiSecurity('signature')
@Roles('admin')
@Controller('v1/admin')
export class AdminMarketsController {
  constructor(
    private readonly db: DatabaseService,
    private readonly engine: EngineLink,
    private readonly ledger: LedgerService,
  ) {}

  /** Opens a market of an allowance asset against CREDIT; the engine loads it before this answers. */
  @Post('markets')
  async create(@ZodBody(CreateMarketBody) b: z.infer<typeof CreateMarketBody>) {
    const asset = await this.ledger.asset(b.base);
    if (asset.kind !== 'allowance') throw new AppError('VALIDATION_FAILED', 'The base of a market is an allowance asset.');
    const tick = parseAmount(b.tickSize, CREDIT_SCALE);
    const maxSpend = parseAmount(b.maxSpend, CREDIT_SCALE);
    const id = `${b.base}/CREDIT`;
    try {
      validateMarketConfig({
        marketId: id, baseAsset: b.base, tickSize: Number(tick), lotSize: b.lotSizeUnits, minOrderLots: b.minOrderLots,
        maxOrderLots: b.maxOrderLots, maxPriceTicks: b.maxPriceTicks, priceBandBps: b.priceBandBps, initialPriceTicks: b.initialPriceTicks,
        defaultStp: b.defaultStp, ordersPerAgentMax: b.ordersPerAgentMax, bookOrdersMax: 1 << 20, maxSpendCredits: Number(maxSpend),
      });
    } catch (e) {
      throw new AppError('VALIDATION_FAILED', (e as Error).message);
    }
    const r = await this.db.pool.query(
      `INSERT INTO market (id, base_asset, tick_size, lot_size, min_order_lots, max_order_lots, max_price_ticks, price_band_bps,
                           initial_price_ticks, default_stp, orders_per_agent_max, max_spend_credits, maker_fee_bps, taker_fee_bps)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) ON CONFLICT DO NOTHING RETURNING id`,
      [id, b.base, tick, b.lotSizeUnits, b.minOrderLots, b.maxOrderLots, b.maxPriceTicks, b.priceBandBps, b.initialPriceTicks, b.defaultStp, b.ordersPerAgentMax, maxSpend, b.makerFeeBps, b.takerFeeBps],
    );
    if (!r.rows[0]) throw new AppError('CONFLICT', 'A market for this asset exists.', { market: id });
    await this.engine.reload();
    return { id };
  }

  /** Halts, resumes, or puts a market in cancel-only, through the engine's sequence (logged and replayed). */
  @Post('markets/:marketId/state')
  @HttpCode(200)
  async setState(@Param('marketId') marketId: string, @ZodBody(MarketStateBody) b: z.infer<typeof MarketStateBody>) {
    const r = await this.engine.submit({ kind: 'set_state', marketId, state: b.state });
    if (r.code) throw new AppError(r.code, undefined, { marketId });
    return { id: marketId, state: b.state };
  }

}
