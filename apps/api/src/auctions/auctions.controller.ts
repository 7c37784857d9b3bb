import { Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Auth, Roles } from '../auth/decorators';
import type { AuthContext } from '../auth/auth.types';
import { ZodBody, ZodQuery } from '../common/zod';
import { Actor, ActorOf, auditOf } from '../audit/audit.service';
import { AuctionsService, newAuctionId } from './auctions.service';

const Decimal = z.string().max(64);
const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
const Asset = z.string().regex(/^[A-Z0-9][A-Z0-9_.:-]{0,63}$/);
/** A deadline: ISO 8601 time or epoch ms. */
const Deadline = z.union([z.string().max(40), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)]);
/** A client's id of a bid or purchase: unique per agent, forever (the clientOrderId rule). */
const ClientId = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/);

/** Steps of a bid are checked by the sequencer (non-increasing, at most 1,000, not empty), each with its own code. */
export const BidBody = z.strictObject({
  /** multi-unit auctions: quantity-price steps */
  steps: z
    .array(z.strictObject({ units: Decimal, price: Decimal }))
    .max(10_000)
    .optional(),
  /** combinatorial auctions: XOR bundles of item ids, each with the most one pays for it (credits) */
  bundles: z
    .array(z.strictObject({ items: z.array(z.string().max(128)).max(64), value: Decimal }))
    .max(64)
    .optional(),
  /** the same id again (same body) answers the bid placed the first time, never a second bid */
  clientBidId: ClientId.optional(),
});
export const CreateAuctionBody = z.strictObject({
  id: Id.optional(),
  mechanism: z.enum(['vcg_multi_unit', 'vcg_combinatorial', 'core_combinatorial']).optional(),
  asset: Asset.optional(),
  /** minor units of the asset for sale, integer string */
  units: Decimal.optional(),
  /** combinatorial: the items for sale, each a lot of `units` of an asset */
  items: z
    .array(z.strictObject({ id: z.string().max(128), asset: Asset, units: Decimal, reservePrice: Decimal.optional() }))
    .max(100)
    .optional(),
  /** credits per unit below which nothing is sold, decimal string (combinatorial: per unit of each item without its own) */
  reservePrice: Decimal.default('0'),
  deadline: Deadline,
});
export const AdminCreateAuctionBody = CreateAuctionBody.extend({
  /** the agent whose units are escrowed and who receives the proceeds; absent: the venue sells newly issued units */
  sellerAgentId: z.string().min(1).max(64).optional(),
  feeBps: z.number().int().min(0).max(1000).default(0),
});
export const PurchaseBody = z.strictObject({
  units: Decimal,
  maxPrice: Decimal,
  /** the same id again (same body) answers the first purchase, never a second one */
  clientPurchaseId: ClientId.optional(),
});
export const CreatePoolBody = z.strictObject({
  id: Id.optional(),
  asset: Asset,
  mode: z.enum(['fixed', 'congestion']),
  /** fixed: the price per unit; congestion: the first epoch's */
  price: Decimal,
  supply: Decimal.optional(),
  capacityPerEpoch: Decimal.optional(),
  minPrice: Decimal.optional(),
  maxPrice: Decimal.optional(),
  epochMs: z.number().int().min(100).max(86_400_000).optional(),
});
export const ListAuctionsQuery = z.strictObject({
  status: z.enum(['open', 'all']).default('all'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

@ApiTags('auctions')
@ApiSecurity('signature')
@Roles('agent')
@Controller('v1')
export class AuctionsController {
  constructor(private readonly auctions: AuctionsService) {}

  /** Sells the caller's units by sealed-bid multi-unit VCG auction; the units are escrowed until it settles. */
  @Post('auctions')
  create(@Auth() auth: AuthContext, @ZodBody(CreateAuctionBody) b: z.infer<typeof CreateAuctionBody>) {
    return this.auctions.create(auth.agentId as string, b);
  }

  @Get('auctions')
  list(@ZodQuery(ListAuctionsQuery) q: z.infer<typeof ListAuctionsQuery>) {
    return this.auctions.list(q.status, q.limit);
  }

  @Get('auctions/:auctionId')
  get(@Param('auctionId') id: string) {
    return this.auctions.get(id);
  }

  /** A sealed bid (one per agent): holds its maximum payment until the auction settles or the bid is withdrawn. */
  @Post('auctions/:auctionId/bids')
  bid(@Auth() auth: AuthContext, @Param('auctionId') id: string, @ZodBody(BidBody) b: z.infer<typeof BidBody>) {
    return this.auctions.bid(auth.agentId as string, id, b);
  }

  /** The caller's own bid (nobody else's is shown before the results). */
  @Get('auctions/:auctionId/bids/mine')
  mine(@Auth() auth: AuthContext, @Param('auctionId') id: string) {
    return this.auctions.myBid(auth.agentId as string, id);
  }

  /** Withdraws the caller's bid before the deadline; its hold is released. */
  @Delete('auctions/:auctionId/bids/mine')
  withdraw(@Auth() auth: AuthContext, @Param('auctionId') id: string) {
    return this.auctions.withdraw(auth.agentId as string, id);
  }

  /** Once cleared: allocation, payments, and every bid as sequenced (the inputs to recompute them). */
  @Get('auctions/:auctionId/results')
  results(@Param('auctionId') id: string) {
    return this.auctions.results(id);
  }

  @Get('pools')
  pools() {
    return this.auctions.pools();
  }

  /** A posted-price pool: the current price, what is left, and the price history per epoch. */
  @Get('pools/:poolId')
  pool(@Param('poolId') id: string) {
    return this.auctions.pool(id);
  }

  /** Buys at the posted price (all or nothing, never above maxPrice per unit). */
  @Post('pools/:poolId/purchases')
  buy(@Auth() auth: AuthContext, @Param('poolId') id: string, @ZodBody(PurchaseBody) b: z.infer<typeof PurchaseBody>) {
    return this.auctions.buy(auth.agentId as string, id, b);
  }
}

@ApiTags('admin')
@ApiSecurity('signature')
@Roles('admin')
@Controller('v1/admin')
export class AdminAuctionsController {
  constructor(private readonly auctions: AuctionsService) {}

  /** An operator's auction: of a seller agent's units (escrowed), or of newly issued units sold by the venue. */
  @Post('auctions')
  create(@ZodBody(AdminCreateAuctionBody) b: z.infer<typeof AdminCreateAuctionBody>, @ActorOf() actor: Actor) {
    // the id is the caller's or made here, so the audit row (written in the command's batch) can name it
    const id = b.id ?? newAuctionId('auc');
    return this.auctions.create(b.sellerAgentId ?? null, { ...b, id }, auditOf(actor, 'auction.create', { kind: 'auction', id }, { after: b }));
  }

  /** Cancels an auction not yet settled: every hold and the seller's escrow are released. */
  @Post('auctions/:auctionId/cancel')
  @HttpCode(200)
  cancel(@Param('auctionId') id: string, @ActorOf() actor: Actor) {
    return this.auctions.cancel(id, auditOf(actor, 'auction.cancel', { kind: 'auction', id }));
  }

  @Post('pools')
  createPool(@ZodBody(CreatePoolBody) b: z.infer<typeof CreatePoolBody>, @ActorOf() actor: Actor) {
    const id = b.id ?? newAuctionId('pool');
    return this.auctions.createPool({ ...b, id }, auditOf(actor, 'pool.create', { kind: 'pool', id }, { after: b }));
  }
}
