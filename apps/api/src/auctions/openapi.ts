import type { ErrorCode } from '@ate/contracts';
import { z } from 'zod';
import type { OperationDoc } from '../openapi/operations';
import { responseSchemas } from '../openapi/schemas';

/** What an agent's budget policy may refuse a bid or a purchase with (budgets-mechanisms.ts). */
const BUDGET_MECHANISM_REFUSALS: ErrorCode[] = [
  'BUDGET_EXCEEDED',
  'BUDGET_ORDER_NOTIONAL_EXCEEDED',
  'BUDGET_PRICE_ABOVE_CEILING',
  'BUDGET_MARKET_NOT_ALLOWED',
  'BUDGET_POLICY_EXPIRED',
  'BUDGET_AGENT_FROZEN',
];

/** The auction and pool operations of the OpenAPI document (spread into OPERATIONS), with their response schemas. */

const named = <T extends z.ZodType>(id: string, description: string, schema: T): T => {
  responseSchemas.add(schema, { id, description });
  return schema;
};
const Decimal = z
  .string()
  .regex(/^-?[0-9]+(\.[0-9]+)?$/)
  .describe('a decimal string (credits with 3 decimals; units as integers of the asset minor unit)');
const Int = z.number().int();
const Seq = z.string().regex(/^[0-9]+$/);
const Step = z.strictObject({ units: Decimal, price: Decimal });
const Item = z.strictObject({
  id: z.string(),
  asset: z.string(),
  units: Decimal,
  reservePrice: Decimal.describe("the item's reserve (credits, whole item): a bundle bid below the sum of its items' reserves never wins"),
});

export const Auction = named(
  'Auction',
  'A sealed-bid auction: multi-unit VCG (units of an allowance asset, a reserve price per unit) or combinatorial (items with their reserves, bundle bids); a deadline. Lifecycle: open (bids taken) -> closed (deadline passed) -> cleared (the clearing fixed, results readable, holds still in place) -> settled (funds and units moved), or cancelled.',
  z.strictObject({
    id: z.string(),
    mechanism: z.enum(['vcg_multi_unit', 'vcg_combinatorial', 'core_combinatorial']),
    sellerAgentId: z.string().nullable(),
    asset: z.string().describe("multi-unit: the asset for sale ('' for a combinatorial auction)"),
    units: Decimal,
    items: z.array(Item).nullable(),
    reservePrice: Decimal,
    feeBps: Int,
    deadline: z.string(),
    status: z.enum(['open', 'closed', 'cleared', 'settled', 'cancelled']),
    createdSeq: Seq,
    closedSeq: Seq.nullable(),
    clearedSeq: Seq.nullable(),
    settledSeq: Seq.nullable(),
  }),
);
export const AuctionList = named('AuctionList', 'Auctions, newest first.', z.strictObject({ auctions: z.array(Auction) }));
export const Bid = named(
  'Bid',
  "The caller's own sealed bid: quantity-price steps (non-increasing prices), the credits it holds, and once settled what it won and paid.",
  z.strictObject({
    auctionId: z.string(),
    agentId: z.string(),
    steps: z.array(Step).optional(),
    bundles: z.array(z.strictObject({ items: z.array(z.string()), value: Decimal })).optional(),
    hold: Decimal,
    status: z.enum(['open', 'withdrawn', 'won', 'lost', 'released']),
    unitsWon: Decimal.nullable(),
    payment: Decimal.nullable(),
    seq: Seq,
    clientBidId: z.string().nullable(),
    replayed: z.boolean().optional().describe('a retry of a clientBidId: the bid was placed by the first request, nothing was done again'),
  }),
);
export const AuctionResults = named(
  'AuctionResults',
  'A settled auction: the allocation and Clarke payments, and every bid as sequenced, so an auditor can recompute them (libs/mechanisms clearMultiUnit).',
  z.union([
    z.strictObject({
      auction: Auction,
      rule: z.string(),
      allocation: z.array(z.strictObject({ agentId: z.string(), units: Decimal, value: Decimal, payment: Decimal })),
      unitsSold: Decimal,
      unitsUnsold: Decimal,
      revenue: Decimal,
      welfare: Decimal,
      fees: Decimal,
      inputs: z.strictObject({
        units: Decimal,
        reservePrice: Decimal,
        bids: z.array(z.strictObject({ agentId: z.string(), seq: Seq, steps: z.array(Step) })),
      }),
    }),
    z.strictObject({
      auction: Auction,
      rule: z.string(),
      allocation: z.array(
        z.strictObject({
          agentId: z.string(),
          bundle: Int.nullable(),
          items: z.array(z.string()),
          value: Decimal,
          vcgPayment: Decimal,
          payment: Decimal,
        }),
      ),
      itemsSold: z.array(z.string()),
      itemsUnsold: z.array(z.string()),
      revenue: Decimal,
      welfare: Decimal,
      fees: Decimal,
      inputs: z.strictObject({
        items: z.array(Item),
        bids: z.array(
          z.strictObject({ agentId: z.string(), seq: Seq, bundles: z.array(z.strictObject({ items: z.array(z.string()), value: Decimal })) }),
        ),
      }),
    }),
  ]),
);
const History = z.array(z.strictObject({ epoch: Int, price: Decimal, used: Decimal, nextPrice: Decimal }));
export const Pool = named(
  'Pool',
  'A posted-price pool: a fixed price with a supply cap, or a congestion-priced pool (capacity per epoch, price moved each epoch by the EIP-1559 integer rule); its price history, newest epoch first.',
  z.union([
    z.strictObject({
      id: z.string(),
      mode: z.literal('fixed'),
      asset: z.string(),
      price: Decimal,
      supply: Decimal,
      sold: Decimal,
      remaining: Decimal,
      history: History,
    }),
    z.strictObject({
      id: z.string(),
      mode: z.literal('congestion'),
      asset: z.string(),
      price: Decimal,
      capacityPerEpoch: Decimal,
      minPrice: Decimal,
      maxPrice: Decimal,
      epochMs: Int,
      epoch: Int,
      used: Decimal,
      remaining: Decimal,
      epochEndsAt: z.string(),
      history: History,
    }),
  ]),
);
export const PoolList = named('PoolList', 'Every posted-price pool (the last 10 epochs of history each).', z.strictObject({ pools: z.array(Pool) }));
export const Purchase = named(
  'Purchase',
  'A purchase at the posted price: units delivered and credits debited at once.',
  z.strictObject({
    poolId: z.string(),
    seq: Seq,
    agentId: z.string(),
    units: Decimal,
    price: Decimal,
    cost: Decimal,
    epoch: Int,
    clientPurchaseId: z.string().nullable(),
    maxPrice: Decimal.nullable().describe('the most per unit the buyer accepted (null for purchases made before it was kept)'),
    replayed: z.boolean().optional().describe('true: a retry of a clientPurchaseId answered with the first purchase; nothing was bought again'),
  }),
);

const ENGINE_DOWN: ErrorCode = 'SERVICE_UNAVAILABLE';
const AMOUNTS: ErrorCode[] = ['AMOUNT_INVALID', 'AMOUNT_TOO_MANY_DECIMALS', 'AMOUNT_NEGATIVE', 'AMOUNT_OUT_OF_RANGE'];
const CREATE_ERRORS: ErrorCode[] = [
  // a seller agent's budget policy (budgets-mechanisms.ts)
  'BUDGET_AGENT_FROZEN',
  'BUDGET_POLICY_EXPIRED',
  'BUDGET_MARKET_NOT_ALLOWED',
  ...AMOUNTS,
  'NOT_FOUND',
  'MECHANISM_ZERO_UNITS',
  'MECHANISM_INVALID_AMOUNT',
  'MECHANISM_INVALID_CONFIG',
  'AUCTION_INVALID_DEADLINE',
  'AUCTION_UNKNOWN_ASSET',
  'AUCTION_INSUFFICIENT_BALANCE',
  'AUCTION_EXISTS',
  'MECHANISM_INVALID_ITEM',
  'MECHANISM_TOO_LARGE',
  'VALIDATION_FAILED',
  ENGINE_DOWN,
];

const auction = {
  id: 'auc_1f3a9c0d5e7b2468',
  mechanism: 'vcg_multi_unit',
  sellerAgentId: 'agt_4m8q2w6e0r3t',
  asset: 'GPT-X.1K',
  units: '2',
  items: null,
  reservePrice: '1.000',
  feeBps: 10,
  deadline: '2026-12-01T13:00:00.000Z',
  status: 'open',
  createdSeq: '1041',
  closedSeq: null,
  clearedSeq: null,
  settledSeq: null,
};
const bid = {
  auctionId: auction.id,
  agentId: 'agt_9x2c4v6b8n1m',
  steps: [{ units: '1', price: '10.000' }],
  hold: '10.000',
  status: 'open',
  unitsWon: null,
  payment: null,
  seq: '1042',
  clientBidId: 'bid-7',
};
const fixedPool = { id: 'gptx-fixed', mode: 'fixed', asset: 'GPT-X.1K', price: '2.000', supply: '1000', sold: '3', remaining: '997', history: [] };
const congestionPool = {
  id: 'gptx-pool',
  mode: 'congestion',
  asset: 'GPT-X.1K',
  price: '1.125',
  capacityPerEpoch: '10',
  minPrice: '0.008',
  maxPrice: '100.000',
  epochMs: 60000,
  epoch: 1,
  used: '0',
  remaining: '10',
  epochEndsAt: '2026-12-01T12:02:00.000Z',
  history: [{ epoch: 0, price: '1.000', used: '10', nextPrice: '1.125' }],
};
const createRequest = { asset: 'GPT-X.1K', units: '2', reservePrice: '1.000', deadline: '2026-12-01T13:00:00.000Z' };

export const AUCTION_OPERATIONS: Record<string, OperationDoc> = {
  'POST /v1/auctions': {
    operationId: 'createAuction',
    summary: 'Sell my units by sealed-bid auction',
    tag: 'auctions',
    access: 'agent',
    description:
      "A multi-unit VCG auction of the caller's units (escrowed now, until it settles or is cancelled). Units are integers of the asset's minor unit, prices credits per unit. Bids are taken until the deadline; the auction then closes, clears (results readable) and settles by itself. Fee: 10 bps of each payment, from the proceeds. Combinatorial auctions (mechanism vcg_combinatorial or core_combinatorial) sell items instead; reservePrice is then per unit of each item and an item may give its own reservePrice (credits, for the whole item): a bundle bid below the sum of its items' reserves never wins, and a winner pays at least that sum.",
    errors: CREATE_ERRORS,
    response: Auction,
    request: createRequest,
    example: auction,
  },
  'GET /v1/auctions': {
    operationId: 'listAuctions',
    summary: 'List auctions',
    tag: 'auctions',
    access: 'agent',
    errors: ['VALIDATION_FAILED'],
    response: AuctionList,
    example: { auctions: [auction] },
  },
  'GET /v1/auctions/{auctionId}': {
    operationId: 'getAuction',
    summary: 'An auction',
    tag: 'auctions',
    access: 'agent',
    errors: ['AUCTION_NOT_FOUND'],
    response: Auction,
    example: auction,
  },
  'POST /v1/auctions/{auctionId}/bids': {
    operationId: 'bid',
    summary: 'Bid (sealed)',
    tag: 'auctions',
    access: 'agent',
    description: `One bid per agent. Multi-unit auctions: quantity-price steps with non-increasing prices (at most 1,000 steps; 1,000 bids and 20,000 steps per auction). Combinatorial auctions: XOR bundles of item ids with a value each (at most 32 bundles; 200 bids and 2,000 bundles per auction). Holds its maximum payment (the value of its best units at or above the reserve; combinatorial: its largest bundle at or above the sum of its items' reserves) in the engine, so those credits cannot also be spent on the book; the hold is released when the bid is withdrawn, loses, or pays less. Nobody else sees the bid before the results. clientBidId (optional, unique per agent forever): a retry with the same body answers the agent's bid in that auction (replayed: true) and never bids twice; another body under that id is 409 AUCTION_CLIENT_ID_CONFLICT.`,
    errors: [
      ...BUDGET_MECHANISM_REFUSALS,
      ...AMOUNTS,
      'VALIDATION_FAILED',
      'AUCTION_NOT_FOUND',
      'AUCTION_CLOSED',
      'AUCTION_INSUFFICIENT_BALANCE',
      'MECHANISM_EMPTY_BID',
      'MECHANISM_ZERO_UNITS',
      'MECHANISM_INVALID_AMOUNT',
      'MECHANISM_INCREASING_SCHEDULE',
      'MECHANISM_DUPLICATE_BIDDER',
      'MECHANISM_TOO_LARGE',
      'MECHANISM_UNKNOWN_ITEM',
      'MECHANISM_EMPTY_BUNDLE',
      'AUCTION_CLIENT_ID_CONFLICT',
      'CONFLICT',
      ENGINE_DOWN,
    ],
    response: Bid,
    request: { steps: [{ units: '1', price: '10.000' }], clientBidId: 'bid-7' },
    example: bid,
  },
  'GET /v1/auctions/{auctionId}/bids/mine': {
    operationId: 'getMyBid',
    summary: 'My bid',
    tag: 'auctions',
    access: 'agent',
    errors: ['AUCTION_NOT_FOUND', 'AUCTION_BID_NOT_FOUND'],
    response: Bid,
    example: bid,
  },
  'DELETE /v1/auctions/{auctionId}/bids/mine': {
    operationId: 'withdrawMyBid',
    summary: 'Withdraw my bid',
    tag: 'auctions',
    access: 'agent',
    description: 'Before the deadline only; its hold is released.',
    errors: ['AUCTION_NOT_FOUND', 'AUCTION_BID_NOT_FOUND', 'AUCTION_CLOSED', ENGINE_DOWN],
    response: Bid,
    example: { ...bid, status: 'withdrawn' },
  },
  'GET /v1/auctions/{auctionId}/results': {
    operationId: 'getAuctionResults',
    summary: 'Results of a cleared auction',
    tag: 'auctions',
    access: 'agent',
    description:
      'Once the auction is cleared (and after it settles): the allocation, the payments, and the inputs an auditor needs to recompute them (every bid as sequenced, in sequence order; the items with their reserves).',
    errors: ['AUCTION_NOT_FOUND', 'AUCTION_NOT_CLEARED'],
    response: AuctionResults,
    example: {
      auction: { ...auction, status: 'settled', closedSeq: '1050', clearedSeq: '1051', settledSeq: '1052' },
      rule: 'Multi-unit VCG (Clarke pivot, the seller valuing each unit at the reserve); equal prices go to the earlier bid (sequence order), then the earlier step.',
      allocation: [
        { agentId: 'agt_9x2c4v6b8n1m', units: '1', value: '10.000', payment: '5.000' },
        { agentId: 'agt_3k5j7h9g1f2d', units: '1', value: '8.000', payment: '5.000' },
        { agentId: 'agt_6p8o0i2u4y6t', units: '0', value: '0.000', payment: '0.000' },
      ],
      unitsSold: '2',
      unitsUnsold: '0',
      revenue: '10.000',
      welfare: '18.000',
      fees: '0.010',
      inputs: {
        units: '2',
        reservePrice: '1.000',
        bids: [
          { agentId: 'agt_9x2c4v6b8n1m', seq: '1042', steps: [{ units: '1', price: '10.000' }] },
          { agentId: 'agt_3k5j7h9g1f2d', seq: '1043', steps: [{ units: '1', price: '8.000' }] },
          { agentId: 'agt_6p8o0i2u4y6t', seq: '1044', steps: [{ units: '2', price: '5.000' }] },
        ],
      },
    },
  },
  'GET /v1/pools': {
    operationId: 'listPools',
    summary: 'Posted-price pools',
    tag: 'auctions',
    access: 'agent',
    response: PoolList,
    example: { pools: [fixedPool, congestionPool] },
  },
  'GET /v1/pools/{poolId}': {
    operationId: 'getPool',
    summary: 'A posted-price pool, its current price and history',
    tag: 'auctions',
    access: 'agent',
    errors: ['AUCTION_POOL_NOT_FOUND'],
    response: Pool,
    example: congestionPool,
  },
  'POST /v1/pools/{poolId}/purchases': {
    operationId: 'buyAtPostedPrice',
    summary: 'Buy at the posted price',
    tag: 'auctions',
    access: 'agent',
    description:
      'All or nothing, never above maxPrice per unit; credits debited and units delivered in the same sequenced command. clientPurchaseId (optional, unique per agent forever): a retry with the same pool, units and maxPrice answers the first purchase (replayed: true) and never buys twice, also after a restart; another body under that id is 409 AUCTION_CLIENT_ID_CONFLICT.',
    errors: [
      ...BUDGET_MECHANISM_REFUSALS,
      ...AMOUNTS,
      'VALIDATION_FAILED',
      'AUCTION_POOL_NOT_FOUND',
      'AUCTION_INSUFFICIENT_BALANCE',
      'MECHANISM_ZERO_UNITS',
      'MECHANISM_INVALID_AMOUNT',
      'MECHANISM_PRICE_ABOVE_MAX',
      'MECHANISM_SUPPLY_EXHAUSTED',
      'AUCTION_CLIENT_ID_CONFLICT',
      ENGINE_DOWN,
    ],
    response: Purchase,
    request: { units: '3', maxPrice: '1.200', clientPurchaseId: 'buy-42' },
    example: {
      poolId: 'gptx-pool',
      seq: '1060',
      agentId: 'agt_9x2c4v6b8n1m',
      units: '3',
      price: '1.125',
      cost: '3.375',
      epoch: 1,
      clientPurchaseId: 'buy-42',
      maxPrice: '1.200',
      replayed: false,
    },
  },
  'POST /v1/admin/auctions': {
    operationId: 'adminCreateAuction',
    summary: 'Create an auction (operator)',
    tag: 'admin',
    access: 'admin',
    description:
      "Of a seller agent's units (escrowed), or without sellerAgentId of newly issued units sold by the venue (proceeds to the fees account).",
    errors: CREATE_ERRORS,
    response: Auction,
    request: { ...createRequest, feeBps: 0 },
    example: { ...auction, sellerAgentId: null, feeBps: 0 },
  },
  'POST /v1/admin/auctions/{auctionId}/cancel': {
    operationId: 'cancelAuction',
    summary: 'Cancel an auction (operator)',
    tag: 'admin',
    access: 'admin',
    description: "Before it settles (also once cleared): every bid's hold and the seller's escrow are released.",
    errors: ['AUCTION_NOT_FOUND', 'AUCTION_ALREADY_SETTLED', ENGINE_DOWN],
    response: Auction,
    example: { ...auction, status: 'cancelled', settledSeq: '1049' },
  },
  'POST /v1/admin/pools': {
    operationId: 'createPool',
    summary: 'Open a posted-price pool (operator)',
    tag: 'admin',
    access: 'admin',
    description:
      'fixed: price and supply. congestion: the first price, capacityPerEpoch (>= 2), minPrice (>= 0.008 so the price can fall), maxPrice, epochMs; the price moves each epoch by the EIP-1559 integer rule. The venue sells newly issued units; proceeds go to the fees account.',
    errors: [...CREATE_ERRORS, 'MECHANISM_INVALID_CONFIG'],
    response: Pool,
    request: {
      id: 'gptx-pool',
      asset: 'GPT-X.1K',
      mode: 'congestion',
      price: '1.000',
      capacityPerEpoch: '10',
      minPrice: '0.008',
      maxPrice: '100.000',
      epochMs: 60000,
    },
    example: { ...congestionPool, price: '1.000', epoch: 0, history: [] },
  },
};
