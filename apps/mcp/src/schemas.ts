import { z } from 'zod';

/**
 * The shapes the MCP tools take and answer with. Amounts are decimal strings everywhere (never numbers): the
 * exchange checks them against the market's tick and lot size and answers its own error code when they do not fit.
 */

export const Amount = z.string().max(64);
const Time = z.object({ iso: z.string(), ms: z.number() });

export const MarketRef = z
  .string()
  .min(1)
  .max(80)
  .describe('A market id as list_markets answers it, BASE-CREDIT (e.g. "GPT-4O.1K-CREDIT"); the symbol BASE/CREDIT is taken too.');

export const ClientOrderId = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/)
  .describe(
    'Your idempotency key for this order, 1-64 of [A-Za-z0-9_.:-], unique for your agent forever. Sending the same call again with the ' +
      'same clientOrderId returns the original order and never trades twice; reuse it when a call timed out or its answer was lost.',
  );

export const OrderSchema = z.looseObject({
  id: z.string(),
  clientOrderId: z.string().nullable(),
  market: z.string(),
  side: z.enum(['buy', 'sell']),
  type: z.enum(['limit', 'market']),
  timeInForce: z.string().nullable(),
  postOnly: z.boolean(),
  price: z.string().nullable(),
  quantity: z.string().nullable(),
  spend: z.string().nullable(),
  filled: z.string(),
  remaining: z.string(),
  cost: z.string(),
  averagePrice: z.string().nullable(),
  status: z.enum(['open', 'closed', 'canceled', 'rejected', 'expired', 'pending_approval']),
  reason: z.string().nullable(),
  createdAt: Time,
  updatedAt: Time,
});

export const MarketSchema = z.looseObject({
  id: z.string(),
  symbol: z.string(),
  base: z.string(),
  quote: z.string(),
  state: z.string(),
  tickSize: z.string(),
  lotSize: z.string(),
  minQuantity: z.string(),
  maxQuantity: z.string(),
  maxPrice: z.string(),
  priceBandBps: z.number(),
  referencePrice: z.string(),
});

export const BalanceSchema = z.object({ free: z.string(), used: z.string(), total: z.string() });

export const TradeSchema = z.looseObject({
  id: z.string(),
  price: z.string(),
  amount: z.string(),
  cost: z.string(),
  takerSide: z.string(),
  timestamp: Time,
});

export const FillSchema = z.looseObject({
  id: z.string(),
  market: z.string(),
  orderId: z.string(),
  side: z.string(),
  takerOrMaker: z.string(),
  price: z.string(),
  amount: z.string(),
  cost: z.string(),
  fee: z.object({ currency: z.string(), cost: z.string() }),
  timestamp: Time,
});
