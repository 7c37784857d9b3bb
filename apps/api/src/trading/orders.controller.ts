import { Controller, Delete, Get, Param, Patch, Post } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { MARKET_REF_PATTERN, marketSymbolOf, type PlaceOrderRequest } from '@ate/contracts';
import { z } from 'zod';
import { Auth, Roles } from '../auth/decorators';
import type { AuthContext } from '../auth/auth.types';
import { ZodBody, ZodQuery } from '../common/zod';
import { CANCEL_AFTER_MAX_MS, CANCEL_AFTER_MIN_MS, DeadmanService } from './deadman.service';
import { OrderRateLimited } from '../rate-limit/rate-limit';
import { TradingService } from './trading.service';

const Decimal = z.string().max(64);
/** A market's id (BASE-CREDIT) or its symbol (BASE/CREDIT); what the code behind sees is the symbol (the engine's key). */
const MarketId = z
  .string()
  .regex(MARKET_REF_PATTERN, 'a market id, BASE-CREDIT (or its symbol BASE/CREDIT)')
  .overwrite((ref) => marketSymbolOf(ref) ?? ref);
/** Checked against PlaceOrderRequest (libs/contracts) below, so the schema and the shared type cannot drift. */
export const PlaceOrderBody = z.strictObject({
  market: MarketId,
  side: z.enum(['buy', 'sell']),
  type: z.enum(['limit', 'market']),
  /** credits per lot, decimal string, a multiple of the market's tick size (limit orders) */
  price: Decimal.optional(),
  /** base-asset units, decimal string, a multiple of the lot size */
  quantity: Decimal.optional(),
  /** credits to spend (market buy) or to raise (market sell), decimal string */
  spend: Decimal.optional(),
  timeInForce: z.enum(['GTC', 'GTD', 'IOC', 'FOK']).optional(),
  postOnly: z.boolean().optional(),
  /** GTD: epoch ms */
  expiresAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  selfTradePrevention: z.enum(['cancel_taker', 'cancel_maker', 'cancel_both', 'decrement_cancel']).optional(),
  /** Unique per agent across all its orders, forever: the same id again returns the same order. */
  clientOrderId: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/)
    .optional(),
});
const _sameShape: (b: z.infer<typeof PlaceOrderBody>) => PlaceOrderRequest = (b) => b;
void _sameShape;
export const AmendBody = z
  .strictObject({ price: Decimal.optional(), quantity: Decimal.optional() })
  .refine((b) => b.price !== undefined || b.quantity !== undefined, { message: 'give price, quantity or both' });
export const CancelAllBody = z.strictObject({ market: MarketId.optional() });
export const CancelAfterBody = z.strictObject({
  /** ms until all open orders are cancelled unless another heartbeat comes; 0 disarms the switch */
  timeoutMs: z
    .number()
    .int()
    .refine((n) => n === 0 || (n >= CANCEL_AFTER_MIN_MS && n <= CANCEL_AFTER_MAX_MS), {
      message: `0, or ${CANCEL_AFTER_MIN_MS} to ${CANCEL_AFTER_MAX_MS}`,
    }),
});
/** epoch ms (CCXT's since / until) */
export const EpochMs = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const ListOrdersQuery = z.strictObject({
  /** open: resting now; closed: filled in full; canceled: ended otherwise (cancelled, unfilled remainder); pending_approval: waiting for the principal; all */
  status: z.enum(['open', 'closed', 'canceled', 'pending_approval', 'all']).default('all'),
  /** created at or after (epoch ms): the page is then oldest first */
  since: EpochMs.optional(),
  /** created before (epoch ms) */
  until: EpochMs.optional(),
  market: MarketId.optional(),
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const FillsQuery = z.strictObject({
  market: MarketId.optional(),
  /** at or after (epoch ms): the page is then oldest first */
  since: EpochMs.optional(),
  until: EpochMs.optional(),
  /** nextCursor of the previous page (`<command seq>.<event seq>`; a bare command sequence number starts past that command) */
  cursor: z
    .string()
    .regex(/^[0-9]{1,19}(\.[0-9]{1,19})?$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

@ApiTags('orders')
@ApiSecurity('signature')
@Roles('agent')
@Controller('v1')
export class OrdersController {
  constructor(
    private readonly trading: TradingService,
    private readonly deadman: DeadmanService,
  ) {}

  /** Dead-man's switch: cancel all my open orders unless I call again within timeoutMs. */
  @Post('orders/cancel-after')
  cancelAfter(@Auth() auth: AuthContext, @ZodBody(CancelAfterBody) body: z.infer<typeof CancelAfterBody>) {
    return this.deadman.heartbeat(auth.agentId as string, body.timeoutMs);
  }

  /** Places an order; answers once it is durably committed (with its fills so far). */
  @Post('orders')
  @OrderRateLimited()
  place(@Auth() auth: AuthContext, @ZodBody(PlaceOrderBody) body: z.infer<typeof PlaceOrderBody>) {
    return this.trading.place(auth.agentId as string, body);
  }

  /** Answers what placing the order would answer now (the same refusal, or what it would hold), placing nothing. */
  @Post('orders/test')
  test(@Auth() auth: AuthContext, @ZodBody(PlaceOrderBody) body: z.infer<typeof PlaceOrderBody>) {
    return this.trading.test(auth.agentId as string, body);
  }

  @Post('orders/cancel-all')
  cancelAll(@Auth() auth: AuthContext, @ZodBody(CancelAllBody) body: z.infer<typeof CancelAllBody>) {
    return this.trading.cancelAll(auth.agentId as string, body.market);
  }

  @Get('orders')
  list(@Auth() auth: AuthContext, @ZodQuery(ListOrdersQuery) q: z.infer<typeof ListOrdersQuery>) {
    return this.trading.listOrders(auth.agentId as string, q);
  }

  @Get('orders/by-client-id/:clientOrderId')
  byClientId(@Auth() auth: AuthContext, @Param('clientOrderId') cid: string) {
    return this.trading.getOrderByClientId(auth.agentId as string, cid);
  }

  @Get('orders/:orderId')
  get(@Auth() auth: AuthContext, @Param('orderId') orderId: string) {
    return this.trading.getOrder(auth.agentId as string, orderId);
  }

  /** Amends price and/or open quantity; keeps time priority only for a same-price size decrease. Never trades. */
  @Patch('orders/:orderId')
  @OrderRateLimited()
  amend(@Auth() auth: AuthContext, @Param('orderId') orderId: string, @ZodBody(AmendBody) body: z.infer<typeof AmendBody>) {
    return this.trading.amend(auth.agentId as string, orderId, body);
  }

  @Delete('orders/:orderId')
  cancel(@Auth() auth: AuthContext, @Param('orderId') orderId: string) {
    return this.trading.cancel(auth.agentId as string, orderId);
  }

  @Get('account/fills')
  fills(@Auth() auth: AuthContext, @ZodQuery(FillsQuery) q: z.infer<typeof FillsQuery>) {
    return this.trading.fills(auth.agentId as string, q);
  }
}
