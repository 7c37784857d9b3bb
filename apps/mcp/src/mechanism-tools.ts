import { AteApiError, AteClient } from '@ate/client';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { call, GeneratedIds, retryingLost } from './results';
import { Amount } from './schemas';

/**
 * The tools of what came after trading: the agent's budget, redemption with its signed receipt, sealed-bid
 * auctions and posted-price pools. Each is one or two signed REST calls of the agent; answers are the exchange's
 * JSON, amounts decimal strings.
 */

const readOnly = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true };
const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
const AuctionId = Id.describe('An auction id as list_auctions answers it.');
const PoolId = Id.describe('A pool id as list_pools answers it.');
const Units = z
  .string()
  .regex(/^[0-9]{1,30}$/)
  .describe("A whole number of the asset's smallest units, as a string (for an asset of scale 0, e.g. GPT-4O.1K, simply the count).");
const Credits = Amount.describe('Credits, a decimal string with at most 3 decimals (e.g. "12.500").');
const path = encodeURIComponent;

const CapUsage = z.looseObject({
  windowSeconds: z.number(),
  limit: z.string(),
  used: z.string(),
  reserved: z.string(),
  remaining: z.string(),
  resetsAt: z.string().nullable(),
});
const BudgetSchema = z.looseObject({
  agentId: z.string(),
  version: z.number(),
  frozen: z.boolean(),
  policy: z.looseObject({ spendCaps: z.array(z.looseObject({ windowSeconds: z.number(), limit: z.string() })) }).nullable(),
  reserved: z.string(),
  usage: z.array(CapUsage),
  carveOut: z.looseObject({ limit: z.string(), remaining: z.string() }).nullable(),
  asOf: z.string(),
});
const RedemptionSchema = z.looseObject({
  id: z.string(),
  clientRedemptionId: z.string(),
  asset: z.string(),
  amount: z.string(),
  /** issued; pending_approval (above the policy's threshold: no receipt until the principal approves); rejected, expired, canceled */
  status: z.string(),
  issuedAt: z.string().nullable(),
  receipt: z.string().nullable(),
  kid: z.string().nullable(),
});
const AuctionSchema = z.looseObject({
  id: z.string(),
  mechanism: z.string(),
  asset: z.string().nullable(),
  units: z.string().nullable(),
  reservePrice: z.string(),
  deadline: z.string(),
  status: z.string(),
});
const BidSchema = z.looseObject({
  auctionId: z.string(),
  agentId: z.string(),
  hold: z.string(),
  status: z.string(),
  unitsWon: z.string().nullable(),
  payment: z.string().nullable(),
});
const PoolSchema = z.looseObject({
  id: z.string(),
  mode: z.enum(['fixed', 'congestion']),
  asset: z.string(),
  price: z.string(),
  remaining: z.string(),
  history: z.array(z.looseObject({ epoch: z.number(), price: z.string(), used: z.string(), nextPrice: z.string() })),
});

export function registerMechanismTools(server: McpServer, client: AteClient, ids: GeneratedIds): void {
  // withdrawals per auction: a generated bid id covers the bid placed since the last withdrawal, so the same bid placed
  // again after a withdrawal is a new bid, not a replay of the withdrawn one
  const withdrawals = new Map<string, number>();
  server.registerTool(
    'get_budget',
    {
      title: 'My budget',
      description:
        "What your principal's budget policy lets you spend, and what is left now. usage has one entry per spend cap: windowSeconds (a " +
        'rolling window), limit, used (credits spent in the window), reserved (held by your open buy orders and bids), remaining ' +
        '(what a new buy may still spend), resetsAt (ISO time when the oldest spend leaves the window and frees room; null when nothing ' +
        'is spent). policy also lists maxOrderNotional, maxPrice per asset, allowed markets and order types, expiresAt; frozen: you may ' +
        'only cancel. policy null: no limits beyond your balance. A buy beyond a cap is refused with BUDGET_EXCEEDED naming the rule, ' +
        'limit, remaining and freesAtMs.',
      inputSchema: {},
      outputSchema: BudgetSchema,
      annotations: readOnly,
    },
    () => call(() => client.get('/v1/account/budget')),
  );

  server.registerTool(
    'redeem',
    {
      title: 'Redeem an allowance',
      description:
        'Consumes `amount` of one of your token allowances (e.g. GPT-4O.1K) and answers the receipt the exchange signed for it: a compact ' +
        'JWS (EdDSA; verify it with the keys at GET /.well-known/jwks.json, a provider checks its id at GET /v1/redemptions/:id) naming ' +
        'you, the asset, its model, the amount and the time. Hand the receipt to the compute provider. The units are burnt: this cannot be ' +
        'undone. Retry-safe: give a clientRedemptionId and repeat the same call after a time-out, you get the same receipt ' +
        '(replayed: true) and nothing is consumed twice; without one this server generates it and answers an identical call within the ' +
        'dedupe window with the same receipt. The same id with another asset or amount is refused (REDEMPTION_CONFLICT). ' +
        "Above your policy's approval threshold for the asset, the answer is status pending_approval with no receipt: nothing is consumed " +
        'until your principal approves it; call redeem again with the same clientRedemptionId (or list_redemptions) to get the receipt once issued.',
      inputSchema: {
        asset: z
          .string()
          .regex(/^[A-Z0-9][A-Z0-9_.:-]{0,63}$/)
          .describe('The allowance asset, e.g. "GPT-4O.1K" (get_balances lists yours).'),
        amount: Amount.describe('How much, a decimal string in the asset\'s units (e.g. "3").'),
        clientRedemptionId: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/)
          .optional()
          .describe('Your idempotency key for this redemption, 1-100 of [A-Za-z0-9_.:-]; reuse it when a call timed out.'),
      },
      outputSchema: z.looseObject({ ...RedemptionSchema.shape, replayed: z.boolean(), generatedClientRedemptionId: z.boolean() }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    ({ asset, amount, clientRedemptionId }) =>
      call(async () => {
        const id = clientRedemptionId ?? ids.idFor('redeem', { asset, amount });
        const r = await ids.once(id, () => retryingLost(() => client.post<Record<string, unknown>>('/v1/redemptions', { id, asset, amount })));
        return { ...r, generatedClientRedemptionId: clientRedemptionId === undefined };
      }),
  );

  server.registerTool(
    'list_redemptions',
    {
      title: 'My redemptions',
      description: 'Your redemptions, newest first, each with its signed receipt; page with the nextCursor it answers.',
      inputSchema: {
        cursor: z
          .string()
          .regex(/^[0-9]{1,19}$/)
          .optional(),
        limit: z.number().int().min(1).max(500).optional(),
      },
      outputSchema: z.looseObject({ redemptions: z.array(RedemptionSchema), nextCursor: z.string().nullable() }),
      annotations: readOnly,
    },
    ({ cursor, limit }) => {
      const q = new URLSearchParams({ ...(cursor ? { cursor } : {}), ...(limit ? { limit: String(limit) } : {}) });
      return call(() => client.get(`/v1/redemptions${q.size ? `?${q.toString()}` : ''}`));
    },
  );

  server.registerTool(
    'list_auctions',
    {
      title: 'List auctions',
      description:
        'Sealed-bid auctions: id, mechanism (vcg_multi_unit: units of one asset; vcg_combinatorial / core_combinatorial: items, each a ' +
        'lot of an asset, bid on as bundles), asset and units for sale, reservePrice (credits per unit below which nothing sells), ' +
        'deadline (ISO), status (open, closed, settled, cancelled). status "open" lists only those still taking bids.',
      inputSchema: {
        status: z.enum(['open', 'all']).optional().describe('open: taking bids now; all (default): every auction.'),
        limit: z.number().int().min(1).max(500).optional(),
      },
      outputSchema: z.looseObject({ auctions: z.array(AuctionSchema) }),
      annotations: readOnly,
    },
    ({ status, limit }) => {
      const q = new URLSearchParams({ ...(status ? { status } : {}), ...(limit ? { limit: String(limit) } : {}) });
      return call(() => client.get(`/v1/auctions${q.size ? `?${q.toString()}` : ''}`));
    },
  );

  server.registerTool(
    'get_auction',
    {
      title: 'One auction, with my bid',
      description:
        'An auction (as list_auctions shows it, with its items for a combinatorial one) and your own bid in it (null when you have none): ' +
        'its steps or bundles, hold (credits held until it settles), status (open, withdrawn, won, lost), unitsWon and payment once settled. ' +
        "Bids are sealed: nobody else's is shown before the results.",
      inputSchema: { auctionId: AuctionId },
      outputSchema: z.looseObject({ auction: AuctionSchema, myBid: BidSchema.nullable() }),
      annotations: readOnly,
    },
    ({ auctionId }) =>
      call(async () => {
        const auction = await client.get<Record<string, unknown>>(`/v1/auctions/${path(auctionId)}`);
        const myBid = await client
          .get<Record<string, unknown>>(`/v1/auctions/${path(auctionId)}/bids/mine`)
          .catch((e: unknown) => (e instanceof AteApiError && e.code === 'AUCTION_BID_NOT_FOUND' ? null : Promise.reject(e)));
        return { auction, myBid };
      }),
  );

  server.registerTool(
    'place_bid',
    {
      title: 'Bid in an auction (sealed)',
      description:
        'Places your sealed bid; its maximum payment is held from your credits until the auction settles or you withdraw. One bid per ' +
        'agent: to change yours, withdraw_bid then bid again (a replaced bid counts as placed then for the tie rule: earlier bids win ' +
        'equal prices); a second bid while yours is open is MECHANISM_DUPLICATE_BIDDER. Retry-safe: repeat the same call after a time-out ' +
        'and you get the same bid (replayed: true). Multi-unit auctions take `steps`: each step offers `price` credits per unit for `units` more units, ' +
        'prices non-increasing (e.g. [{units:"2",price:"5"},{units:"3",price:"4"}] wants up to 5 units). Combinatorial auctions take ' +
        '`bundles`: each names item ids and the most you would pay for all of them together (value, credits); you win at most one bundle. ' +
        'VCG: you pay what your win costs the others, never more than you bid, so bidding your true value is best.',
      inputSchema: {
        auctionId: AuctionId,
        steps: z
          .array(z.object({ units: Units, price: Credits.describe('Credits per unit for these units.') }))
          .min(1)
          .max(1000)
          .optional(),
        bundles: z
          .array(
            z.object({
              items: z.array(z.string().min(1).max(128)).min(1).max(64).describe('Item ids of the auction (get_auction lists them).'),
              value: Credits.describe('The most you pay for the whole bundle.'),
            }),
          )
          .min(1)
          .max(64)
          .optional(),
        clientBidId: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/)
          .optional()
          .describe(
            'Your idempotency key for this bid, 1-100 of [A-Za-z0-9_.:-]; reuse it when a call timed out (without one this server generates it ' +
              'from the arguments, so an identical call within the dedupe window is the same bid, and a different bid replaces yours).',
          ),
      },
      outputSchema: BidSchema,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    ({ auctionId, steps, bundles, clientBidId }) =>
      call(() => {
        const id = clientBidId ?? ids.idFor('place_bid', { auctionId, steps, bundles, round: withdrawals.get(auctionId) ?? 0 });
        return ids.once(id, () =>
          retryingLost(() =>
            client.post(`/v1/auctions/${path(auctionId)}/bids`, {
              ...(steps !== undefined ? { steps } : {}),
              ...(bundles !== undefined ? { bundles } : {}),
              clientBidId: id,
            }),
          ),
        );
      }),
  );

  server.registerTool(
    'withdraw_bid',
    {
      title: 'Withdraw my bid',
      description: 'Withdraws your bid before the deadline; its hold is released at once. After the deadline: AUCTION_CLOSED.',
      inputSchema: { auctionId: AuctionId },
      outputSchema: BidSchema,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    ({ auctionId }) =>
      call(async () => {
        const r = await client.delete<Record<string, unknown>>(`/v1/auctions/${path(auctionId)}/bids/mine`);
        withdrawals.set(auctionId, (withdrawals.get(auctionId) ?? 0) + 1);
        return r;
      }),
  );

  server.registerTool(
    'get_auction_results',
    {
      title: 'Auction results',
      description:
        "A settled auction's clearing: allocation (per bidder: units or items won, the value it bid for them, payment), units or items " +
        'sold and unsold, revenue, welfare, fees, the rule applied, and every bid as sequenced (inputs), so the clearing can be recomputed. ' +
        'Before settlement: AUCTION_NOT_CLEARED (settlement follows the deadline within seconds).',
      inputSchema: { auctionId: AuctionId },
      outputSchema: z.looseObject({
        auction: AuctionSchema,
        rule: z.string(),
        allocation: z.array(z.looseObject({ agentId: z.string(), payment: z.string() })),
        revenue: z.string(),
        inputs: z.looseObject({ bids: z.array(z.looseObject({ agentId: z.string() })) }),
      }),
      annotations: readOnly,
    },
    ({ auctionId }) => call(() => client.get(`/v1/auctions/${path(auctionId)}/results`)),
  );

  server.registerTool(
    'list_pools',
    {
      title: 'Posted-price pools',
      description:
        'Pools that sell an asset at a posted price: mode fixed (a set price until the supply is sold; supply, sold, remaining) or ' +
        'congestion (the price of each epoch follows demand between minPrice and maxPrice; capacityPerEpoch, used, remaining this epoch, ' +
        'epochEndsAt), price (credits per unit now) and the last epochs (history: price, used, nextPrice).',
      inputSchema: {},
      outputSchema: z.looseObject({ pools: z.array(PoolSchema) }),
      annotations: readOnly,
    },
    () => call(() => client.get('/v1/pools')),
  );

  server.registerTool(
    'get_pool',
    {
      title: 'One pool: price and history',
      description: 'A posted-price pool as list_pools shows it, with a longer price history (one entry per closed epoch, newest first).',
      inputSchema: { poolId: PoolId },
      outputSchema: PoolSchema,
      annotations: readOnly,
    },
    ({ poolId }) => call(() => client.get(`/v1/pools/${path(poolId)}`)),
  );

  server.registerTool(
    'buy_from_pool',
    {
      title: 'Buy at the posted price',
      description:
        'Buys `units` from a pool at its price now, all or nothing, never above `maxPrice` credits per unit (else refused, nothing ' +
        'bought): the credits are debited and the asset delivered at once. Answers units, price (per unit), cost (credits) and the epoch. ' +
        'Retry-safe: give a clientPurchaseId and repeat the same call after a time-out, you get the first purchase (replayed: true) and ' +
        'nothing is bought twice; without one this server generates it and answers an identical call within the dedupe window with the ' +
        'same purchase. The same id with other units or maxPrice is refused (AUCTION_CLIENT_ID_CONFLICT).',
      inputSchema: {
        poolId: PoolId,
        units: Units,
        maxPrice: Credits.describe('The most you pay per unit; read the price with get_pool first.'),
        clientPurchaseId: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/)
          .optional()
          .describe('Your idempotency key for this purchase, 1-100 of [A-Za-z0-9_.:-]; reuse it when a call timed out.'),
      },
      outputSchema: z.looseObject({
        poolId: z.string(),
        units: z.string(),
        price: z.string(),
        cost: z.string(),
        epoch: z.number(),
        generatedClientPurchaseId: z.boolean(),
      }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    ({ poolId, units, maxPrice, clientPurchaseId }) =>
      call(async () => {
        const id = clientPurchaseId ?? ids.idFor('buy_from_pool', { poolId, units, maxPrice });
        const r = await ids.once(id, () =>
          retryingLost(() => client.post<Record<string, unknown>>(`/v1/pools/${path(poolId)}/purchases`, { units, maxPrice, clientPurchaseId: id })),
        );
        return { ...r, generatedClientPurchaseId: clientPurchaseId === undefined };
      }),
  );
}
