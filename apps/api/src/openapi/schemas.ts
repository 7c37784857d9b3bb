import { ERROR_CODES, ErrorCode } from '@ate/contracts';
import { REFERENCE_KINDS, TRANSFER_TYPES } from '@ate/ledger';
import { z } from 'zod';
import type { AccountController } from '../account/account.controller';
import type { AdminLedgerController } from '../admin/admin-ledger.controller';
import type { AdminMarketsController } from '../admin/admin-markets.controller';
import type { AdminController } from '../admin/admin.controller';
import type { HealthController } from '../health/health.controller';
import type { TimeController } from '../time/time.controller';
import type { MarketsController } from '../trading/markets.controller';
import type { OrdersController } from '../trading/orders.controller';

/**
 * The response bodies of the api as zod schemas: the OpenAPI document's named components (components.schemas,
 * built from `responseSchemas` with $refs between them) and what the contract test checks real responses
 * against. Strict objects: a field a view gains without the schema fails the contract test. The type checks
 * at the bottom hold each schema to what its controller returns, so the two cannot drift apart silently.
 */
export const responseSchemas = z.registry<{ id: string; description?: string }>();

const named = <T extends z.ZodType>(id: string, description: string, schema: T): T => {
  responseSchemas.add(schema, { id, description });
  return schema;
};

const Decimal = z
  .string()
  .regex(/^-?[0-9]+(\.[0-9]+)?$/)
  .describe("a decimal string in the asset's units (never a JSON number)");
const Int = z.number().int();
const Timestamp = named('Timestamp', 'An instant as ISO 8601 and as epoch milliseconds.', z.strictObject({ iso: z.string(), ms: Int }));
const MarketId = z.string().describe('The market id, BASE-CREDIT (GPT-X.1K-CREDIT), as is in paths; requests also take the symbol BASE/CREDIT');
const Side = z.enum(['buy', 'sell']);
const Stp = z.enum(['cancel_taker', 'cancel_maker', 'cancel_both', 'decrement_cancel']);

export const ErrorSchema = named(
  'Error',
  'The one error shape of the api: a stable code (see the error responses of each operation), a message, and details.',
  z.strictObject({
    error: z.strictObject({
      code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  }),
);

export const Health = named('Health', 'Liveness.', z.strictObject({ status: z.literal('ok'), uptimeMs: Int }));
export const Readiness = named(
  'Readiness',
  'Readiness and the checks behind it.',
  z.strictObject({
    ready: z.boolean(),
    checks: z.strictObject({
      database: z.strictObject({ ok: z.boolean() }),
      migrations: z.strictObject({ ok: z.boolean(), pending: z.array(z.string()) }),
      engine: z.strictObject({ ok: z.boolean(), mode: z.enum(['in-process', 'redis']) }),
    }),
  }),
);
export const ServerTime = named('ServerTime', 'The server clock.', z.strictObject({ serverTime: Int, iso: z.string() }));
export const Caller = named(
  'Caller',
  'The verified caller of a signed request.',
  z.strictObject({
    keyId: z.string(),
    role: z.enum(['agent', 'principal', 'admin']),
    agentId: z.string().nullable(),
    principalId: z.string().nullable(),
  }),
);

export const Order = named(
  'Order',
  'An order as the agent sees it (CCXT field names). Amounts in base-asset units, prices and cost in credits per lot.',
  z.strictObject({
    id: z.string(),
    clientOrderId: z.string().nullable(),
    market: MarketId,
    side: Side,
    type: z.enum(['limit', 'market']),
    timeInForce: z.enum(['GTC', 'GTD', 'IOC', 'FOK']).nullable().describe('null for market orders'),
    postOnly: z.boolean(),
    price: Decimal.nullable(),
    quantity: Decimal.nullable(),
    spend: Decimal.nullable(),
    filled: Decimal,
    remaining: Decimal,
    cost: Decimal,
    averagePrice: Decimal.nullable(),
    status: z.enum(['open', 'closed', 'canceled', 'rejected', 'expired', 'pending_approval']),
    reason: z.string().nullable().describe('why it ended without filling (a MATCHING_CANCEL_* reason), or null'),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    approval: z
      .strictObject({
        status: z.literal('pending_approval'),
        notional: Decimal,
        threshold: Decimal,
        requestedAt: z.string(),
        expiresAt: z.string(),
        expiresAtMs: z.number().int(),
      })
      .optional()
      .describe("only in the answer to placing an order held for approval: its notional, the policy's threshold and when the request expires"),
  }),
);
export const AmendedOrder = named('AmendedOrder', 'The order after an amend.', Order.extend({ keptPriority: z.boolean() }));
export const OrderList = named(
  'OrderList',
  'A page of orders: newest first, or oldest first with `since`.',
  z.strictObject({ orders: z.array(Order), nextCursor: z.string().nullable() }),
);
export const OrderTest = named(
  'OrderTest',
  'What an order would hold and pay at most, without placing it. A null amount: held as it fills.',
  z.strictObject({
    valid: z.literal(true),
    market: MarketId,
    hold: z.strictObject({ asset: z.string(), amount: Decimal.nullable() }),
    fee: z.strictObject({ asset: z.string(), maxAmount: Decimal.nullable(), makerBps: Int, takerBps: Int }),
    approval: z
      .strictObject({ required: z.literal(true), notional: Decimal, threshold: Decimal, ttlSeconds: Int })
      .optional()
      .describe("placing it would hold it as pending_approval: its notional is above the policy's approval threshold"),
  }),
);
export const CancelledOrders = named('CancelledOrders', 'The ids of the orders cancelled.', z.strictObject({ cancelled: z.array(z.string()) }));
export const DeadmanSwitch = named(
  'DeadmanSwitch',
  "The dead-man's switch: when all open orders will be cancelled (null: disarmed).",
  z.strictObject({ currentTime: Int, triggerTime: Int.nullable() }),
);
export const Fill = named(
  'Fill',
  "One of the agent's trades; the fee comes out of what the side receives.",
  z.strictObject({
    id: z.string(),
    market: MarketId,
    orderId: z.string(),
    side: Side,
    takerOrMaker: z.enum(['taker', 'maker']),
    price: Decimal,
    amount: Decimal,
    cost: Decimal,
    fee: z.strictObject({ currency: z.string(), cost: Decimal }),
    timestamp: Timestamp,
  }),
);
export const FillList = named(
  'FillList',
  "A page of the agent's fills: newest first, or oldest first with `since`; nextCursor goes back as cursor.",
  z.strictObject({ fills: z.array(Fill), nextCursor: z.string().nullable() }),
);

export const Market = named(
  'Market',
  "A market's rules and state (CCXT-style limits and precision).",
  z.strictObject({
    id: MarketId,
    symbol: z.string().describe('BASE/CREDIT: the display name (and CCXT symbol)'),
    base: z.string(),
    quote: z.literal('CREDIT'),
    state: z.enum(['open', 'cancel_only', 'halted']),
    tickSize: Decimal,
    lotSize: Decimal,
    minQuantity: Decimal,
    maxQuantity: Decimal,
    maxPrice: Decimal,
    priceBandBps: Int,
    referencePrice: Decimal,
    maxOpenOrdersPerAgent: Int,
    maxSpend: Decimal,
    defaultSelfTradePrevention: Stp,
    fees: z.strictObject({
      makerBps: Int,
      takerBps: Int,
      paidFrom: z.string(),
      rounding: z
        .string()
        .describe("how fees round: up on each order's running total (splitting never pays less), or down per fill for markets made before"),
    }),
    precision: z.strictObject({ price: Int, amount: Int }),
  }),
);
export const MarketList = named('MarketList', 'Every market.', z.strictObject({ markets: z.array(Market) }));
const Level = z.tuple([Decimal, Decimal]).describe('[price, amount]');
export const Book = named(
  'Book',
  "Aggregated levels as of the last committed batch, with the market's event sequence number (the live feed's book seq) and checksum.",
  z.strictObject({
    market: MarketId,
    seq: Int.describe("the market's committed event sequence: the feed's book messages carry the same (sync from here with the feed's deltas)"),
    checksum: Int.describe('CRC32 of the top 10 levels each side, as the feed computes it (libs/contracts feed.ts, README "Live feed")'),
    bids: z.array(Level),
    asks: z.array(Level),
  }),
);
export const MarketStats = named(
  'MarketStats',
  'The last 24 hours (CCXT ticker fields); prices are null with no trade.',
  z.strictObject({
    market: MarketId,
    open: Decimal.nullable(),
    high: Decimal.nullable(),
    low: Decimal.nullable(),
    last: Decimal.nullable(),
    baseVolume: Decimal,
    quoteVolume: Decimal,
    trades: Int,
    bid: Decimal.nullable(),
    ask: Decimal.nullable(),
  }),
);
export const Trade = named(
  'Trade',
  'A public trade.',
  z.strictObject({ id: z.string(), price: Decimal, amount: Decimal, cost: Decimal, takerSide: Side, timestamp: Timestamp }),
);
export const TradeList = named(
  'TradeList',
  'A page of trades: newest first, or oldest first with `since`; nextCursor (an event sequence number) goes back as cursor.',
  z.strictObject({ market: MarketId, trades: z.array(Trade), nextCursor: z.string().nullable() }),
);
export const Candle = named(
  'Candle',
  'One OHLCV candle: timestamp is its start (epoch ms, aligned on the epoch), volume in base units, quoteVolume in credits.',
  z.strictObject({ timestamp: Int, open: Decimal, high: Decimal, low: Decimal, close: Decimal, volume: Decimal, quoteVolume: Decimal, trades: Int }),
);
export const CandleList = named(
  'CandleList',
  'Candles oldest first; minutes without trades have none.',
  z.strictObject({ market: MarketId, timeframe: z.enum(['1m', '5m', '15m', '1h', '4h', '1d']), candles: z.array(Candle) }),
);

export const Balance = named(
  'Balance',
  "One asset's balance (CCXT): used is held or reserved by open orders.",
  z.strictObject({ free: Decimal, used: Decimal, total: Decimal }),
);
export const Balances = named(
  'Balances',
  "The agent's balances by asset code.",
  z.strictObject({ agentId: z.string().nullable(), balances: z.record(z.string(), Balance) }),
);
export const StatementEntry = named(
  'StatementEntry',
  "One ledger entry of the agent's account (signed: credit > 0, debit < 0).",
  z.strictObject({
    seq: z.string(),
    amount: Decimal,
    transferId: z.string(),
    type: z.enum(TRANSFER_TYPES),
    ref: z.strictObject({ kind: z.enum(REFERENCE_KINDS), id: z.string() }).nullable(),
    createdAt: Timestamp,
  }),
);
export const Statement = named(
  'Statement',
  "A page of the agent's statement in one asset, oldest first.",
  z.strictObject({ asset: z.string(), entries: z.array(StatementEntry), nextCursor: z.string().nullable() }),
);

export const Principal = named(
  'Principal',
  'A principal (the owner of agents).',
  z.strictObject({ id: z.string(), name: z.string(), createdAt: Timestamp }),
);
const NewKey = z.strictObject({ keyId: z.string(), secret: z.string().describe('shown once: keep it') });
export const Agent = named(
  'Agent',
  'An agent, with its first API key when one was issued.',
  z.strictObject({
    id: z.string(),
    name: z.string(),
    principalId: z.string().nullable(),
    status: z.string(),
    createdAt: Timestamp,
    apiKey: NewKey.optional(),
  }),
);
export const ApiKey = named('ApiKey', 'A new API key of an agent; the secret is shown only here.', NewKey.extend({ agentId: z.string() }));
export const Asset = named(
  'Asset',
  'An asset of the ledger.',
  z.strictObject({
    code: z.string(),
    kind: z.enum(['credit', 'allowance']),
    scale: Int,
    model: z.string().nullable(),
    provider: z.string().nullable(),
    tokenClass: z.string().nullable(),
    expiresOn: z.string().nullable(),
  }),
);
export const FundsMovement = named(
  'FundsMovement',
  'A deposit (mint) or withdrawal (burn); replayed: the same id and body again.',
  z.strictObject({
    id: z.string(),
    kind: z.enum(['mint', 'burn']),
    agentId: z.string(),
    asset: z.string(),
    amount: Decimal,
    seq: z.string().nullable(),
    replayed: z.boolean(),
  }),
);
const Details = z.record(z.string(), z.unknown());
export const ReconciliationReport = named(
  'ReconciliationReport',
  "The ledger's promises 1-6 over the whole journal and the engine's agreement with the database; ok only when both hold.",
  z.strictObject({
    ok: z.boolean(),
    violations: z.array(z.strictObject({ promise: Int.min(1).max(6), check: z.string(), details: Details })),
    transfersChecked: Int,
    engine: z.strictObject({
      ok: z.boolean(),
      violations: z.array(z.strictObject({ check: z.enum(['balance', 'available', 'principal_balance', 'order', 'open_orders']), details: Details })),
      accountsChecked: Int,
      principalAccountsChecked: Int,
      ordersChecked: Int,
    }),
    audit: z.strictObject({
      ok: z.boolean(),
      rowsChecked: Int,
      violations: z.array(z.strictObject({ check: z.string(), details: Details })),
    }),
    halted: z.array(z.string()).optional(),
  }),
);
export const MarketCreated = named('MarketCreated', "The new market's id.", z.strictObject({ id: MarketId }));
export const MarketStateChanged = named(
  'MarketStateChanged',
  "The market's new state.",
  z.strictObject({ id: MarketId, state: z.enum(['open', 'cancel_only', 'halted']) }),
);

// --- each schema holds what its controller returns (type check only: a view that stops fitting fails tsc) ---
// Field names, nesting, optionality and nullability are checked here; literal values (enums, 'CREDIT') only
// widened to their base type, since views type many of them as plain strings: the contract test checks those.
type Widen<T> = T extends string
  ? string
  : T extends number
    ? number
    : T extends boolean
      ? boolean
      : T extends readonly (infer E)[]
        ? Widen<E>[]
        : T extends object
          ? { [K in keyof T]: Widen<T[K]> }
          : T;
type Out<F extends (...a: never[]) => unknown> = Awaited<ReturnType<F>>;
type Fits<View, S extends z.ZodType> = (v: View) => Widen<z.output<S>>;
const fits = <View, S extends z.ZodType>(_s: S, f: Fits<View, S>): void => void f;
fits<Out<HealthController['live']>, typeof Health>(Health, (v) => v);
fits<Out<HealthController['ready']>, typeof Readiness>(Readiness, (v) => v);
fits<Out<TimeController['time']>, typeof ServerTime>(ServerTime, (v) => v);
fits<Out<TimeController['me']>, typeof Caller>(Caller, (v) => v);
fits<Out<OrdersController['place']>, typeof Order>(Order, (v) => v);
fits<Out<OrdersController['get']>, typeof Order>(Order, (v) => v);
fits<Out<OrdersController['byClientId']>, typeof Order>(Order, (v) => v);
fits<Out<OrdersController['cancel']>, typeof Order>(Order, (v) => v);
fits<Out<OrdersController['amend']>, typeof AmendedOrder>(AmendedOrder, (v) => v);
fits<Out<OrdersController['list']>, typeof OrderList>(OrderList, (v) => v);
fits<Out<OrdersController['test']>, typeof OrderTest>(OrderTest, (v) => v);
fits<Out<OrdersController['cancelAll']>, typeof CancelledOrders>(CancelledOrders, (v) => v);
fits<Out<OrdersController['cancelAfter']>, typeof DeadmanSwitch>(DeadmanSwitch, (v) => v);
fits<Out<OrdersController['fills']>, typeof FillList>(FillList, (v) => v);
fits<Out<MarketsController['list']>, typeof MarketList>(MarketList, (v) => v);
fits<Out<MarketsController['get']>, typeof Market>(Market, (v) => v);
fits<Out<MarketsController['book']>, typeof Book>(Book, (v) => v);
fits<Out<MarketsController['stats']>, typeof MarketStats>(MarketStats, (v) => v);
fits<Out<MarketsController['trades']>, typeof TradeList>(TradeList, (v) => v);
fits<Out<MarketsController['candles']>, typeof CandleList>(CandleList, (v) => v);
fits<Out<AccountController['balances']>, typeof Balances>(Balances, (v) => v);
fits<Out<AccountController['statement']>, typeof Statement>(Statement, (v) => v);
fits<Out<AdminController['createPrincipal']>, typeof Principal>(Principal, (v) => v);
fits<Out<AdminController['createAgent']>, typeof Agent>(Agent, (v) => v);
fits<Out<AdminController['createAgentKey']>, typeof ApiKey>(ApiKey, (v) => v);
fits<Out<AdminLedgerController['defineAsset']>, typeof Asset>(Asset, (v) => v);
fits<Out<AdminLedgerController['deposit']>, typeof FundsMovement>(FundsMovement, (v) => v);
fits<Out<AdminLedgerController['reconcile']>, typeof ReconciliationReport>(ReconciliationReport, (v) => v);
fits<Out<AdminMarketsController['create']>, typeof MarketCreated>(MarketCreated, (v) => v);
fits<Out<AdminMarketsController['setState']>, typeof MarketStateChanged>(MarketStateChanged, (v) => v);
