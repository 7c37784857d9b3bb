import { AteApiError, AteClient, type PlaceOrderRequest } from '@ate/client';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { registerMechanismTools } from './mechanism-tools';
import { call, GeneratedIds, retryingLost } from './results';
import { Amount, BalanceSchema, ClientOrderId, FillSchema, MarketRef, MarketSchema, OrderSchema, TradeSchema } from './schemas';

export interface AteMcpOptions {
  /** How long an identical place_order (or redeem) call without a client id is answered with the first one's result (ms). */
  dedupeWindowMs?: number;
}

export const MCP_SERVER_NAME = 'agent-token-exchange';
export const MCP_SERVER_VERSION = '0.1.0';

const PlaceShape = {
  market: MarketRef,
  side: z.enum(['buy', 'sell']).describe('buy: pay credits for the base asset; sell: give the base asset for credits.'),
  type: z.enum(['limit', 'market']).describe('limit: rests at `price` (or better); market: takes what the book offers now.'),
  price: Amount.optional().describe('Limit orders: credits per unit of the base asset, a decimal string on the market tick (e.g. "10.000").'),
  quantity: Amount.optional().describe('Base-asset units, a decimal string, a multiple of the market lot size. Limit orders need it.'),
  spend: Amount.optional().describe('Market orders instead of quantity: credits to spend (buy) or to raise (sell), a decimal string.'),
  timeInForce: z
    .enum(['GTC', 'GTD', 'IOC', 'FOK'])
    .optional()
    .describe('GTC (default) rests until cancelled; GTD until expiresAt; IOC fills what it can now; FOK fills in full now or not at all.'),
  postOnly: z.boolean().optional().describe('Refuse (MATCHING_POST_ONLY_WOULD_CROSS) rather than trade on arrival.'),
  expiresAt: z.number().int().min(0).optional().describe('GTD only: epoch milliseconds.'),
  selfTradePrevention: z.enum(['cancel_taker', 'cancel_maker', 'cancel_both', 'decrement_cancel']).optional(),
  clientOrderId: ClientOrderId.optional(),
};

/** The MCP server over one agent's signed client: every tool is one or two REST calls of that agent. */
export function createAteMcpServer(client: AteClient, opts: AteMcpOptions = {}): McpServer {
  const server = new McpServer({ name: MCP_SERVER_NAME, version: MCP_SERVER_VERSION });
  /** ids generated for identical calls without a client id (place_order, redeem), and the calls still in flight */
  const ids = new GeneratedIds(opts.dedupeWindowMs ?? 120_000);

  const readOnly = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true };

  server.registerTool(
    'list_markets',
    {
      title: 'List markets',
      description:
        'Every market of the exchange: its id (BASE-CREDIT, what other tools take), symbol, state (open, cancel_only, halted), ' +
        'tickSize (price step in credits), lotSize (quantity step), min/max quantity, max price, price band and fees. ' +
        'Prices and quantities you send must be multiples of tickSize and lotSize.',
      inputSchema: {},
      outputSchema: z.looseObject({ markets: z.array(MarketSchema) }),
      annotations: readOnly,
    },
    () => call(() => client.markets()),
  );

  server.registerTool(
    'get_order_book',
    {
      title: 'Read an order book',
      description: 'The aggregated book of a market: bids (best first) and asks (best first) as [price, quantity] decimal-string pairs.',
      inputSchema: { market: MarketRef, depth: z.number().int().min(1).max(1000).optional().describe('Levels per side (default 50).') },
      outputSchema: z.looseObject({
        market: z.string(),
        seq: z.number(),
        bids: z.array(z.tuple([z.string(), z.string()])),
        asks: z.array(z.tuple([z.string(), z.string()])),
      }),
      annotations: readOnly,
    },
    ({ market, depth }) => call(() => client.book(market, depth ?? 50)),
  );

  server.registerTool(
    'get_recent_trades',
    {
      title: 'Recent trades',
      description: "A market's most recent public trades, newest first: price, amount (base units), cost (credits), the taker's side, time.",
      inputSchema: { market: MarketRef, limit: z.number().int().min(1).max(500).optional().describe('How many (default 100).') },
      outputSchema: z.looseObject({ market: z.string(), trades: z.array(TradeSchema) }),
      annotations: readOnly,
    },
    ({ market, limit }) => call(() => client.trades(market, limit ?? 100)),
  );

  server.registerTool(
    'get_ticker',
    {
      title: 'Market statistics (24 h)',
      description:
        'The last 24 hours of a market: open, high, low, last price, base and quote volume, trade count, best bid and ask (null when none).',
      inputSchema: { market: MarketRef },
      outputSchema: z.looseObject({
        market: z.string(),
        open: z.string().nullable(),
        high: z.string().nullable(),
        low: z.string().nullable(),
        last: z.string().nullable(),
        baseVolume: z.string(),
        quoteVolume: z.string(),
        trades: z.number(),
        bid: z.string().nullable(),
        ask: z.string().nullable(),
      }),
      annotations: readOnly,
    },
    ({ market }) => call(() => client.stats(market)),
  );

  server.registerTool(
    'get_balances',
    {
      title: 'My balances',
      description:
        'Your balances per asset as decimal strings: free (spendable now), used (held by your open orders), total. ' +
        'CREDIT is the unit of account; other assets are token allowances such as GPT-4O.1K.',
      inputSchema: {},
      outputSchema: z.looseObject({ agentId: z.string(), balances: z.record(z.string(), BalanceSchema) }),
      annotations: readOnly,
    },
    () => call(() => client.balances()),
  );

  server.registerTool(
    'place_order',
    {
      title: 'Place an order',
      description:
        'Places a limit or market order; answers once the exchange has durably committed it, with its fills so far (filled, cost, status: ' +
        'open = resting, closed = filled in full, canceled = ended unfilled or partly filled, see reason). Retry-safe: give a clientOrderId ' +
        'and repeat the exact same call after a time-out, you get the same order back and never trade twice. Without one, this server ' +
        'generates it (returned as clientOrderId) and answers an identical call within the dedupe window with that same order; to place ' +
        'two identical orders on purpose, give each its own clientOrderId. Use test_order first when unsure whether it would be accepted.',
      inputSchema: PlaceShape,
      outputSchema: z.looseObject({ order: OrderSchema, generatedClientOrderId: z.boolean() }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    (args) =>
      call(async () => {
        const generatedClientOrderId = !args.clientOrderId;
        const body = { ...args, clientOrderId: args.clientOrderId ?? ids.idFor('place_order', args) } as PlaceOrderRequest;
        const order = await ids.once(body.clientOrderId as string, () => retryingLost(() => client.placeOrder(body)));
        return { order, generatedClientOrderId };
      }),
  );

  server.registerTool(
    'test_order',
    {
      title: 'Test an order',
      description:
        'Answers what place_order would answer now for the same arguments (the same refusal code, or valid with what it would hold), ' +
        'without placing, reserving or logging anything.',
      inputSchema: PlaceShape,
      outputSchema: z.looseObject({ valid: z.boolean() }),
      annotations: readOnly,
    },
    (args) => call(() => client.testOrder(args as PlaceOrderRequest) as Promise<object>),
  );

  server.registerTool(
    'amend_order',
    {
      title: 'Amend an open order',
      description:
        'Changes the price and/or the open quantity of one of your open limit orders. Never trades: a price that would cross the book is ' +
        'refused (MATCHING_AMEND_WOULD_CROSS). keptPriority says whether the order kept its place in the queue (only a same-price size decrease does).',
      inputSchema: { orderId: z.string().min(1).max(32), price: Amount.optional(), quantity: Amount.optional() },
      outputSchema: z.looseObject({ ...OrderSchema.shape, keptPriority: z.boolean() }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    ({ orderId, price, quantity }) =>
      call(() => client.amendOrder(orderId, { ...(price !== undefined ? { price } : {}), ...(quantity !== undefined ? { quantity } : {}) })),
  );

  server.registerTool(
    'cancel_order',
    {
      title: 'Cancel an order',
      description: 'Cancels one of your open orders by its orderId; answers the order as it ended (filled says what traded before).',
      inputSchema: { orderId: z.string().min(1).max(32) },
      outputSchema: z.looseObject({ order: OrderSchema }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    ({ orderId }) => call(async () => ({ order: await client.cancelOrder(orderId) })),
  );

  server.registerTool(
    'cancel_all_orders',
    {
      title: 'Cancel all my orders',
      description: 'Cancels all your open orders, in one market or in all; answers the ids cancelled.',
      inputSchema: { market: MarketRef.optional() },
      outputSchema: z.looseObject({ cancelled: z.array(z.string()) }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    ({ market }) => call(() => client.cancelAll(market)),
  );

  server.registerTool(
    'set_cancel_after',
    {
      title: "Arm the dead-man's switch",
      description:
        'All your open orders are cancelled unless you call this again within timeoutMs (a heartbeat). timeoutMs 0 disarms it. ' +
        'Answers the server time and when it will trigger (epoch ms, null when disarmed).',
      inputSchema: { timeoutMs: z.number().int().min(0).describe('0 to disarm, else the window in ms (the exchange says its bounds if refused).') },
      outputSchema: z.looseObject({ currentTime: z.number(), triggerTime: z.number().nullable() }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    ({ timeoutMs }) => call(() => client.cancelAfter(timeoutMs)),
  );

  server.registerTool(
    'get_order',
    {
      title: 'Order status',
      description:
        'One of your orders by orderId or by your clientOrderId (give exactly one): status, filled, remaining, cost, average price. ' +
        'After a place_order that timed out, look it up by clientOrderId to learn whether it exists.',
      inputSchema: { orderId: z.string().min(1).max(32).optional(), clientOrderId: ClientOrderId.optional() },
      outputSchema: z.looseObject({ order: OrderSchema }),
      annotations: readOnly,
    },
    ({ orderId, clientOrderId }) =>
      call(async () => {
        if ((orderId === undefined) === (clientOrderId === undefined)) {
          throw new AteApiError(400, 'VALIDATION_FAILED', 'give exactly one of orderId and clientOrderId', {});
        }
        return { order: orderId !== undefined ? await client.getOrder(orderId) : await client.getOrderByClientId(clientOrderId as string) };
      }),
  );

  const EpochMs = z.number().int().min(0);
  const query = (o: Record<string, string | number | undefined>) => {
    const p = new URLSearchParams(Object.entries(o).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v)]])));
    return p.size ? `?${p.toString()}` : '';
  };

  server.registerTool(
    'list_orders',
    {
      title: 'My orders',
      description:
        'Your orders: status open (resting now), closed (filled in full), canceled (ended otherwise: cancelled, unfilled remainder) or all; ' +
        'optionally one market; since/until (epoch ms, created at or after / before). Newest first, or oldest first when you give since. ' +
        'Page with the nextCursor it answers (pass it back as cursor with the same filters).',
      inputSchema: {
        status: z.enum(['open', 'closed', 'canceled', 'all']).optional(),
        market: MarketRef.optional(),
        since: EpochMs.optional(),
        until: EpochMs.optional(),
        cursor: z.string().max(20).optional(),
        limit: z.number().int().min(1).max(500).optional(),
      },
      outputSchema: z.looseObject({ orders: z.array(OrderSchema), nextCursor: z.string().nullable() }),
      annotations: readOnly,
    },
    (q) => call(() => client.get(`/v1/orders${query(q)}`)),
  );

  server.registerTool(
    'get_fills',
    {
      title: 'My fills',
      description:
        'Your executions: market, orderId, side, maker or taker, price, amount, cost and the fee you paid (currency, cost). ' +
        'Optionally one market and since/until (epoch ms); newest first, or oldest first when you give since; page with nextCursor.',
      inputSchema: {
        market: MarketRef.optional(),
        since: EpochMs.optional(),
        until: EpochMs.optional(),
        cursor: z.string().max(40).optional(),
        limit: z.number().int().min(1).max(500).optional(),
      },
      outputSchema: z.looseObject({ fills: z.array(FillSchema), nextCursor: z.string().nullable() }),
      annotations: readOnly,
    },
    (q) => call(() => client.get(`/v1/account/fills${query(q)}`)),
  );

  server.registerTool(
    'get_candles',
    {
      title: 'OHLCV candles',
      description:
        "A market's candles (open, high, low, close as decimal strings, volume in base units, quoteVolume in credits, trade count), " +
        'oldest first, timestamp = candle start in epoch ms. timeframe 1m, 5m, 15m, 1h, 4h or 1d; since (epoch ms) or else the last `limit`. ' +
        'The last ~25 hours are kept; minutes without trades have no candle.',
      inputSchema: {
        market: MarketRef,
        timeframe: z.enum(['1m', '5m', '15m', '1h', '4h', '1d']).optional(),
        since: EpochMs.optional(),
        until: EpochMs.optional(),
        limit: z.number().int().min(1).max(1500).optional(),
      },
      outputSchema: z.looseObject({
        market: z.string(),
        timeframe: z.string(),
        candles: z.array(
          z.looseObject({
            timestamp: z.number(),
            open: z.string(),
            high: z.string(),
            low: z.string(),
            close: z.string(),
            volume: z.string(),
            quoteVolume: z.string(),
            trades: z.number(),
          }),
        ),
      }),
      annotations: readOnly,
    },
    ({ market, ...q }) => call(() => client.get(`/v1/markets/${encodeURIComponent(market)}/candles${query(q)}`, { signed: false })),
  );

  server.registerTool(
    'get_statement',
    {
      title: 'Account statement',
      description: 'The ledger entries of one of your assets (signed amounts, transfer type and reference, time), paged with nextCursor.',
      inputSchema: {
        asset: z.string().min(1).max(40).describe('e.g. CREDIT or GPT-4O.1K'),
        cursor: z.string().max(40).optional(),
        limit: z.number().int().min(1).max(500).optional(),
      },
      outputSchema: z.looseObject({
        asset: z.string(),
        entries: z.array(z.looseObject({ seq: z.string(), amount: z.string() })),
        nextCursor: z.string().nullable(),
      }),
      annotations: readOnly,
    },
    ({ asset, cursor, limit }) =>
      call(
        () => client.statement(asset, { ...(cursor ? { cursor } : {}), ...(limit ? { limit } : {}) }) as unknown as Promise<Record<string, unknown>>,
      ),
  );

  server.registerTool(
    'whoami',
    {
      title: 'Who am I',
      description: 'The API key this server signs with: its key id, role and agent id.',
      inputSchema: {},
      outputSchema: z.looseObject({ keyId: z.string(), role: z.string(), agentId: z.string().nullable(), principalId: z.string().nullable() }),
      annotations: readOnly,
    },
    () => call(() => client.me()),
  );

  registerMechanismTools(server, client, ids);

  return server;
}
