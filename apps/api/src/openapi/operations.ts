import type { ErrorCode } from '@ate/contracts';
import type { z } from 'zod';
import { AUCTION_OPERATIONS } from '../auctions/openapi';
import * as ex from './examples';
import { ORDER_BUDGET_REFUSALS, PRINCIPAL_OPERATIONS } from './principal-docs';
import * as S from './schemas';
import { AUDIT_OPERATIONS } from './operations-audit';
import { APPROVAL_OPERATIONS } from './approval-docs';

/**
 * The documentation of every operation, keyed by `METHOD /path` as the OpenAPI document writes it. Kept here,
 * beside the controllers rather than in them, and applied when the document is built (document.ts). The
 * contract test fails on an operation missing here or listed here without a route.
 *
 * `errors` lists what the operation itself can refuse with; the builder adds what every operation of its
 * kind can give (signature checks, rate limits, body parsing), see commonErrors in document.ts.
 */
export type Access = 'public' | 'signed' | 'agent' | 'principal' | 'admin' | 'metrics';
export type Tag = 'system' | 'account' | 'markets' | 'orders' | 'principal' | 'admin' | 'auctions' | 'redemptions';

export interface OperationDoc {
  operationId: string;
  summary: string;
  description?: string;
  tag: Tag;
  access: Access;
  /** the success body (a named component), 'text' for /metrics, null for 204 */
  response: z.ZodType | 'text' | null;
  errors?: ErrorCode[];
  /** no rate limit applies (health, readiness, metrics) */
  unthrottled?: boolean;
  request?: unknown;
  example?: unknown;
}

export const AMOUNT_ERRORS: ErrorCode[] = ['AMOUNT_INVALID', 'AMOUNT_TOO_MANY_DECIMALS', 'AMOUNT_NEGATIVE', 'AMOUNT_OUT_OF_RANGE'];
const ENGINE_DOWN: ErrorCode = 'SERVICE_UNAVAILABLE';
const ORDER_CHECKS: ErrorCode[] = ['NOT_FOUND', ...AMOUNT_ERRORS, 'MATCHING_INVALID_PRICE', 'MATCHING_INVALID_SIZE', 'MATCHING_INVALID_SPEND'];

/** What placing an order may refuse with (and so what testing one may answer). */
const PLACEMENT_REFUSALS: ErrorCode[] = [
  ...ORDER_CHECKS,
  'MATCHING_MARKET_HALTED',
  'MATCHING_MARKET_CANCEL_ONLY',
  'MATCHING_INVALID_TIME_IN_FORCE',
  'MATCHING_DUPLICATE_CLIENT_ORDER_ID',
  'MATCHING_ALREADY_EXPIRED',
  'MATCHING_PRICE_OUTSIDE_BAND',
  'MATCHING_POST_ONLY_WOULD_CROSS',
  'MATCHING_INSUFFICIENT_FUNDS',
  'MATCHING_TOO_MANY_ORDERS',
  'MATCHING_FOK_NOT_FILLABLE',
  'MATCHING_BOOK_FULL',
  ...ORDER_BUDGET_REFUSALS,
];

export const OPERATIONS: Record<string, OperationDoc> = {
  'GET /health': {
    operationId: 'getHealth',
    summary: 'Liveness',
    tag: 'system',
    access: 'public',
    unthrottled: true,
    description: 'The process is up and serving (no dependency is checked).',
    response: S.Health,
    example: { status: 'ok', uptimeMs: 120500 },
  },
  'GET /ready': {
    operationId: 'getReadiness',
    summary: 'Readiness',
    tag: 'system',
    access: 'public',
    unthrottled: true,
    description: 'Database reachable, migrations applied, engine attached; 503 with the same body, naming the failing check, otherwise.',
    response: S.Readiness,
    example: { ready: true, checks: { database: { ok: true }, migrations: { ok: true, pending: [] }, engine: { ok: true, mode: 'in-process' } } },
  },
  'GET /metrics': {
    operationId: 'getMetrics',
    summary: 'Prometheus metrics',
    tag: 'system',
    access: 'metrics',
    unthrottled: true,
    description: 'The Prometheus text format (prom-client). Open unless METRICS_TOKEN is set; then `Authorization: Bearer <METRICS_TOKEN>`.',
    response: 'text',
    example:
      '# HELP ate_orders_total Orders placed at the api, by result and error code.\n# TYPE ate_orders_total counter\nate_orders_total{result="accepted",code="none"} 12\n',
  },
  'GET /v1/time': {
    operationId: 'getServerTime',
    summary: 'Server time',
    tag: 'account',
    access: 'public',
    description: 'Sign requests with a timestamp within the receive window (5 s) of this clock.',
    response: S.ServerTime,
    example: { serverTime: ex.T0.ms, iso: ex.T0.iso },
  },
  'GET /v1/me': {
    operationId: 'getCaller',
    summary: 'Who the signing key belongs to',
    tag: 'account',
    access: 'signed',
    response: S.Caller,
    example: { keyId: 'ak_4f8e2a9c1b7d3e5f', role: 'agent', agentId: ex.agent.id, principalId: null },
  },
  'GET /v1/account/balances': {
    operationId: 'getBalances',
    summary: 'Balances',
    tag: 'account',
    access: 'agent',
    errors: [ENGINE_DOWN],
    description: 'CCXT free/used/total per asset; used is what the ledger holds plus what open orders reserve.',
    response: S.Balances,
    example: {
      agentId: ex.agent.id,
      balances: { CREDIT: { free: '245.000', used: '5.000', total: '250.000' }, 'GPT-X.1K': { free: '40', used: '0', total: '40' } },
    },
  },
  'GET /v1/account/statement': {
    operationId: 'getStatement',
    summary: 'Ledger statement of one asset',
    tag: 'account',
    access: 'agent',
    errors: ['LEDGER_ASSET_NOT_FOUND', 'LEDGER_CURSOR_INVALID'],
    response: S.Statement,
    example: {
      asset: 'CREDIT',
      entries: [{ seq: '1', amount: '250.000', transferId: 'mint:dep-1', type: 'mint', ref: { kind: 'admin', id: 'mint:dep-1' }, createdAt: ex.T0 }],
      nextCursor: null,
    },
  },
  'GET /v1/account/fills': {
    operationId: 'listFills',
    summary: 'My fills',
    tag: 'account',
    access: 'agent',
    description:
      'Newest first; with `since` (epoch ms) oldest first from then, as CCXT pages. Filters: market, since, until (epoch ms). ' +
      'Pass nextCursor back as cursor for the next page in the same order.',
    response: S.FillList,
    example: { fills: [ex.fill], nextCursor: null },
  },
  'GET /v1/markets': {
    operationId: 'listMarkets',
    summary: 'Markets',
    tag: 'markets',
    access: 'public',
    response: S.MarketList,
    example: { markets: [ex.market] },
  },
  'GET /v1/markets/{marketId}': {
    operationId: 'getMarket',
    summary: 'One market',
    tag: 'markets',
    access: 'public',
    errors: ['NOT_FOUND'],
    response: S.Market,
    example: ex.market,
  },
  'GET /v1/markets/{marketId}/book': {
    operationId: 'getBook',
    summary: 'Order book',
    tag: 'markets',
    access: 'public',
    errors: ['NOT_FOUND', ENGINE_DOWN],
    description:
      'Aggregated [price, amount] levels as of the last committed batch, best first, with the seq the live feed (socket.io at /v1/feed) continues from and its checksum.',
    response: S.Book,
    example: {
      market: ex.MARKET_ID,
      seq: 1843,
      checksum: 966517972,
      bids: [
        ['1.250', '6'],
        ['1.240', '20'],
      ],
      asks: [['1.260', '15']],
    },
  },
  'GET /v1/markets/{marketId}/stats': {
    operationId: 'getMarketStats',
    summary: '24-hour statistics',
    tag: 'markets',
    access: 'public',
    errors: ['NOT_FOUND'],
    response: S.MarketStats,
    example: {
      market: ex.MARKET_ID,
      open: '1.200',
      high: '1.300',
      low: '1.180',
      last: '1.250',
      baseVolume: '940',
      quoteVolume: '1163.500',
      trades: 57,
      bid: '1.250',
      ask: '1.260',
    },
  },
  'GET /v1/markets/{marketId}/trades': {
    operationId: 'listTrades',
    summary: 'Trades',
    tag: 'markets',
    access: 'public',
    description:
      'Newest first; with `since` (epoch ms) oldest first from the first trade at or after it, as CCXT pages; `until` (epoch ms) bounds it. ' +
      'Pass nextCursor back as cursor for the next page in the same order. Every bound is found by an index: the cost is the page.',
    errors: ['NOT_FOUND'],
    response: S.TradeList,
    example: { market: ex.MARKET_ID, trades: [ex.trade], nextCursor: '16' },
  },
  'GET /v1/markets/{marketId}/candles': {
    operationId: 'listCandles',
    summary: 'OHLCV candles',
    tag: 'markets',
    access: 'public',
    description:
      'Candles of 1m, 5m, 15m, 1h, 4h or 1d (aligned on the epoch, UTC), oldest first: from `since` (epoch ms, the first candle starting at or after it), ' +
      'else the last `limit`; `until` (epoch ms): candles starting before it. Candles under an hour fold per-minute aggregates kept for the last ~25 hours; 1h, 4h and 1d fold hourly aggregates kept for ever.',
    errors: ['NOT_FOUND'],
    response: S.CandleList,
    example: {
      market: ex.MARKET_ID,
      timeframe: '1m',
      candles: [
        { timestamp: 1764633600000, open: '1.200', high: '1.300', low: '1.180', close: '1.250', volume: '40', quoteVolume: '49.500', trades: 3 },
      ],
    },
  },
  'POST /v1/orders': {
    operationId: 'placeOrder',
    summary: 'Place an order',
    tag: 'orders',
    access: 'agent',
    description:
      'Answers once the order is durably committed, with its fills so far. The same clientOrderId again returns the same order. ' +
      'The same clientOrderId with another body is 409 CONFLICT naming the original orderId. A market or IOC order ends `canceled` with reason MATCHING_CANCEL_UNFILLED for what it could not fill. ' +
      '503 SERVICE_UNAVAILABLE with details.outcome `not_executed` (nothing was done) or `unknown` (look the order up by its clientOrderId before sending it again). ' +
      "An order above the notional its policy's `approval.above` allows is answered `pending_approval` (with `approval`: notional, threshold, expiresAt), reserving nothing until its principal approves it.",
    errors: [...PLACEMENT_REFUSALS, 'CONFLICT', ENGINE_DOWN],
    response: S.Order,
    request: ex.placeRequest,
    example: ex.order,
  },
  'POST /v1/orders/test': {
    operationId: 'testOrder',
    summary: 'Check an order without placing it',
    tag: 'orders',
    access: 'agent',
    errors: [...PLACEMENT_REFUSALS, ENGINE_DOWN],
    description:
      'Answers what placing the order would answer now: the same refusal (code and details), or what it would hold and pay at most. Nothing is reserved or logged.',
    response: S.OrderTest,
    request: ex.placeRequest,
    example: {
      valid: true,
      market: ex.MARKET_ID,
      hold: { asset: 'CREDIT', amount: '12.500' },
      fee: { asset: 'GPT-X.1K', maxAmount: '0', makerBps: 0, takerBps: 10 },
    },
  },
  'GET /v1/orders': {
    operationId: 'listOrders',
    summary: 'My orders',
    tag: 'orders',
    access: 'agent',
    description:
      'Newest first; with `since` (epoch ms, created at or after) oldest first, as CCXT pages; `until` (epoch ms): created before. ' +
      'status: open (resting), closed (filled in full), canceled (ended otherwise), all. Pass nextCursor back as cursor for the next page.',
    response: S.OrderList,
    example: { orders: [ex.order], nextCursor: null },
  },
  'GET /v1/orders/{orderId}': {
    operationId: 'getOrder',
    summary: 'One of my orders',
    tag: 'orders',
    access: 'agent',
    errors: ['MATCHING_UNKNOWN_ORDER'],
    response: S.Order,
    example: ex.order,
  },
  'GET /v1/orders/by-client-id/{clientOrderId}': {
    operationId: 'getOrderByClientId',
    summary: 'One of my orders by its clientOrderId',
    tag: 'orders',
    access: 'agent',
    description: 'How to learn the outcome of a placement answered 503 with outcome `unknown`.',
    errors: ['MATCHING_UNKNOWN_ORDER'],
    response: S.Order,
    example: ex.order,
  },
  'PATCH /v1/orders/{orderId}': {
    operationId: 'amendOrder',
    summary: 'Amend an open order',
    tag: 'orders',
    access: 'agent',
    description: 'New price and/or new open quantity. Time priority is kept only for a same-price size decrease; an amend never trades.',
    errors: [
      'MATCHING_UNKNOWN_ORDER',
      ...AMOUNT_ERRORS,
      'MATCHING_INVALID_PRICE',
      'MATCHING_INVALID_SIZE',
      'MATCHING_MARKET_HALTED',
      'MATCHING_MARKET_CANCEL_ONLY',
      'MATCHING_PRICE_OUTSIDE_BAND',
      'MATCHING_AMEND_WOULD_CROSS',
      'MATCHING_INSUFFICIENT_FUNDS',
      ...ORDER_BUDGET_REFUSALS,
      'CONFLICT',
      ENGINE_DOWN,
    ],
    response: S.AmendedOrder,
    request: { price: '1.240' },
    example: { ...ex.order, price: '1.240', keptPriority: false },
  },
  'DELETE /v1/orders/{orderId}': {
    operationId: 'cancelOrder',
    summary: 'Cancel an order',
    tag: 'orders',
    access: 'agent',
    errors: ['MATCHING_UNKNOWN_ORDER', 'MATCHING_MARKET_HALTED', 'CONFLICT', ENGINE_DOWN],
    response: S.Order,
    example: ex.cancelledOrder,
  },
  'POST /v1/orders/cancel-all': {
    operationId: 'cancelAllOrders',
    summary: 'Cancel all my open orders',
    tag: 'orders',
    access: 'agent',
    description: 'In one market, or in every market without `market`.',
    errors: ['NOT_FOUND', 'MATCHING_MARKET_HALTED', 'CONFLICT', ENGINE_DOWN],
    response: S.CancelledOrders,
    request: { market: ex.MARKET_ID },
    example: { cancelled: ['42', '43'] },
  },
  'POST /v1/orders/cancel-after': {
    operationId: 'cancelAfter',
    summary: "Dead-man's switch",
    tag: 'orders',
    access: 'agent',
    description: 'Cancels all my open orders unless another call comes within timeoutMs (0 disarms). Held per api process: a restart disarms it.',
    response: S.DeadmanSwitch,
    request: { timeoutMs: 60000 },
    example: { currentTime: ex.T0.ms, triggerTime: ex.T0.ms + 60000 },
  },
  'POST /v1/admin/principals': {
    operationId: 'createPrincipal',
    summary: 'Create a principal',
    tag: 'admin',
    access: 'admin',
    response: S.Principal,
    request: { name: 'Acme research' },
    example: { id: 'prn_7h2k9d4m1x6c', name: 'Acme research', createdAt: ex.T0 },
  },
  'POST /v1/admin/agents': {
    operationId: 'createAgent',
    summary: 'Create an agent (and its first API key)',
    tag: 'admin',
    access: 'admin',
    errors: ['NOT_FOUND'],
    response: S.Agent,
    request: { name: 'research-bot' },
    example: ex.agent,
  },
  'POST /v1/admin/agents/{agentId}/keys': {
    operationId: 'createAgentKey',
    summary: 'Issue an API key to an agent',
    tag: 'admin',
    access: 'admin',
    errors: ['NOT_FOUND'],
    response: S.ApiKey,
    request: { label: 'second key' },
    example: { ...ex.agent.apiKey, agentId: ex.agent.id },
  },
  'DELETE /v1/admin/keys/{keyId}': {
    operationId: 'revokeKey',
    summary: 'Revoke an API key',
    tag: 'admin',
    access: 'admin',
    errors: ['NOT_FOUND'],
    response: null,
  },
  'POST /v1/admin/assets': {
    operationId: 'defineAsset',
    summary: 'Define an allowance asset',
    tag: 'admin',
    access: 'admin',
    errors: ['LEDGER_ASSET_INVALID', 'LEDGER_ASSET_CONFLICT', ENGINE_DOWN],
    response: S.Asset,
    request: { code: 'GPT-X.1K', scale: 0, model: 'gpt-x', provider: 'acme-ai', tokenClass: 'output-1k' },
    example: { code: 'GPT-X.1K', kind: 'allowance', scale: 0, model: 'gpt-x', provider: 'acme-ai', tokenClass: 'output-1k', expiresOn: null },
  },
  'POST /v1/admin/deposits': {
    operationId: 'deposit',
    summary: 'Deposit (mint) to an agent',
    tag: 'admin',
    access: 'admin',
    description: 'Idempotent by id: the same id and body again returns the first result (replayed: true); another body is 409.',
    errors: ['NOT_FOUND', 'LEDGER_ASSET_NOT_FOUND', ...AMOUNT_ERRORS, 'LEDGER_IDEMPOTENCY_CONFLICT', ENGINE_DOWN],
    response: S.FundsMovement,
    request: { id: 'dep-1', agentId: ex.agent.id, asset: 'CREDIT', amount: '250' },
    example: { id: 'dep-1', kind: 'mint', agentId: ex.agent.id, asset: 'CREDIT', amount: '250.000', seq: '17', replayed: false },
  },
  'POST /v1/admin/withdrawals': {
    operationId: 'withdraw',
    summary: 'Withdraw (burn) from an agent',
    tag: 'admin',
    access: 'admin',
    description: 'Idempotent by id like deposits; may not take what open orders hold.',
    errors: ['NOT_FOUND', 'LEDGER_ASSET_NOT_FOUND', ...AMOUNT_ERRORS, 'LEDGER_IDEMPOTENCY_CONFLICT', 'LEDGER_INSUFFICIENT_FUNDS', ENGINE_DOWN],
    response: S.FundsMovement,
    request: { id: 'wd-1', agentId: ex.agent.id, asset: 'CREDIT', amount: '0.5' },
    example: { id: 'wd-1', kind: 'burn', agentId: ex.agent.id, asset: 'CREDIT', amount: '0.500', seq: '18', replayed: false },
  },
  'GET /v1/admin/reconciliation': {
    operationId: 'reconcile',
    summary: 'Run reconciliation',
    tag: 'admin',
    access: 'admin',
    errors: [ENGINE_DOWN],
    description: "The ledger's promises 1-6 over the whole journal, and the engine's agreement with the database; lists every violation.",
    response: S.ReconciliationReport,
    example: ex.reconciliation,
  },
  'POST /v1/admin/markets': {
    operationId: 'createMarket',
    summary: 'Open a market',
    tag: 'admin',
    access: 'admin',
    description: 'A market of an allowance asset against CREDIT; served when this answers.',
    errors: ['LEDGER_ASSET_NOT_FOUND', ...AMOUNT_ERRORS, 'CONFLICT', ENGINE_DOWN],
    response: S.MarketCreated,
    request: { base: 'GPT-X.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1250, takerFeeBps: 10 },
    example: { id: ex.MARKET_ID },
  },
  'POST /v1/admin/markets/{marketId}/state': {
    operationId: 'setMarketState',
    summary: 'Halt, resume or set cancel-only',
    tag: 'admin',
    access: 'admin',
    errors: ['NOT_FOUND', ENGINE_DOWN],
    response: S.MarketStateChanged,
    request: { state: 'halted' },
    example: { id: ex.MARKET_ID, state: 'halted' },
  },
  ...AUCTION_OPERATIONS,
  ...PRINCIPAL_OPERATIONS,
  ...AUDIT_OPERATIONS,
  ...APPROVAL_OPERATIONS,
};

export const TAGS: { name: Tag; description: string }[] = [
  { name: 'system', description: 'Liveness, readiness and metrics (unsigned).' },
  { name: 'account', description: 'Server time, the caller, balances, statement and fills.' },
  { name: 'markets', description: 'Public market data: markets, books, statistics, trades (unsigned).' },
  { name: 'orders', description: 'Placing, amending, cancelling and listing orders (agent keys).' },
  { name: 'auctions', description: 'Sealed-bid auctions and posted-price pools, settled through the sequencer (agent keys).' },
  {
    name: 'principal',
    description: 'A principal acting for itself (principal keys): its agents, their keys, funds, budget policies, freezes, spend.',
  },
  { name: 'redemptions', description: 'Consuming allowances with signed receipts; the receipt keys (JWKS) and status for providers.' },
  { name: 'admin', description: 'Operator endpoints: principals, agents, keys, assets, funds, markets, reconciliation (admin keys).' },
];
