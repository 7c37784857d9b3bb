import { Controller, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { Actor, ActorOf } from '../audit/audit.service';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Roles } from '../auth/decorators';
import { ZodBody } from '../common/zod';
import { MarketAdminService } from './market-admin.service';

export const CreateMarketBody = z.strictObject({
  base: z.string().regex(/^[A-Z0-9][A-Z0-9_.:-]{0,63}$/),
  /** credits per lot per tick, decimal string (e.g. "0.001") */
  tickSize: z.string().max(64),
  /** lot size in base-asset minor units (integer) */
  lotSizeUnits: z.number().int().min(1).max(1_000_000_000),
  minOrderLots: z.number().int().min(1).default(1),
  maxOrderLots: z.number().int().min(1).default(1_000_000),
  maxPriceTicks: z
    .number()
    .int()
    .min(1)
    .max(1 << 20)
    .default(1 << 20),
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

const Bps = z.number().int().min(0).max(1000);
export const MarketRulesBody = z
  .strictObject({
    makerFeeBps: Bps.optional(),
    takerFeeBps: Bps.optional(),
    minOrderLots: z.number().int().min(1).optional(),
    maxOrderLots: z.number().int().min(1).optional(),
    maxPriceTicks: z
      .number()
      .int()
      .min(1)
      .max(1 << 20)
      .optional(),
    priceBandBps: z.number().int().min(0).max(10_000).optional(),
    /** largest spend of a spend-sized market order, credits decimal string */
    maxSpend: z.string().max(64).optional(),
    /** why (kept in the audit log) */
    reason: z.string().trim().min(1).max(500).optional(),
  })
  .refine((b) => Object.keys(b).some((k) => k !== 'reason'), 'name at least one rule to change');

export const MarketStateBody = z.strictObject({
  /** open: trading; cancel_only: orders may only be cancelled; halted: no command at all (orders rest untouched) */
  state: z.enum(['open', 'cancel_only', 'halted']),
});

@ApiTags('admin')
@ApiSecurity('signature')
@Roles('admin')
@Controller('v1/admin')
export class AdminMarketsController {
  constructor(private readonly markets: MarketAdminService) {}

  /** Opens a market of an allowance asset against CREDIT; the engine loads it before this answers. */
  @Post('markets')
  create(@ZodBody(CreateMarketBody) b: z.infer<typeof CreateMarketBody>, @ActorOf() actor: Actor) {
    return this.markets.create(b, actor);
  }

  /** Halts, resumes, or puts a market in cancel-only, through the engine's sequence (logged and replayed). */
  @Post('markets/:marketId/state')
  @HttpCode(200)
  setState(@Param('marketId') marketId: string, @ZodBody(MarketStateBody) b: z.infer<typeof MarketStateBody>, @ActorOf() actor: Actor) {
    return this.markets.setState(marketId, b.state, actor);
  }

  /** Changes fees, size and price limits, the band or the largest spend, through the engine's sequence (audited). */
  @Patch('markets/:marketId/rules')
  setRules(@Param('marketId') marketId: string, @ZodBody(MarketRulesBody) b: z.infer<typeof MarketRulesBody>, @ActorOf() actor: Actor) {
    return this.markets.setRules(marketId, b, actor);
  }
}
