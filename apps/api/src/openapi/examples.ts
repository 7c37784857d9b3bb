/**
 * Example bodies of the OpenAPI document, one request and one response per operation. The contract test
 * parses each with its operation's schema (and Redocly checks them against the document), so they stay true.
 */
const at = (iso: string) => ({ iso, ms: Date.parse(iso) });
const T0 = at('2026-12-01T12:00:00.000Z');
const T1 = at('2026-12-01T12:00:00.250Z');

export const MARKET_ID = 'GPT-X.1K-CREDIT';

export const placeRequest = {
  market: MARKET_ID,
  side: 'buy',
  type: 'limit',
  price: '1.250',
  quantity: '10',
  timeInForce: 'GTC',
  clientOrderId: 'my-order-1',
};

export const order = {
  id: '42',
  clientOrderId: 'my-order-1',
  market: MARKET_ID,
  side: 'buy',
  type: 'limit',
  timeInForce: 'GTC',
  postOnly: false,
  price: '1.250',
  quantity: '10',
  spend: null,
  filled: '4',
  remaining: '6',
  cost: '5.000',
  averagePrice: '1.250',
  status: 'open',
  reason: null,
  createdAt: T0,
  updatedAt: T1,
};

export const cancelledOrder = { ...order, filled: '4', remaining: '0', status: 'canceled', reason: 'MATCHING_CANCEL_BY_OWNER' };

export const market = {
  id: MARKET_ID,
  symbol: 'GPT-X.1K/CREDIT',
  base: 'GPT-X.1K',
  quote: 'CREDIT',
  state: 'open',
  tickSize: '0.001',
  lotSize: '1',
  minQuantity: '1',
  maxQuantity: '1000000',
  maxPrice: '1048.576',
  priceBandBps: 1000,
  referencePrice: '1.250',
  maxOpenOrdersPerAgent: 1000,
  maxSpend: '1000000.000',
  defaultSelfTradePrevention: 'cancel_taker',
  fees: {
    makerBps: 0,
    takerBps: 10,
    paidFrom: 'what each side receives (buyer: base, seller: CREDIT)',
    rounding: 'up: each order pays ceil(running total x rate); splitting never pays less',
  },
  precision: { price: 3, amount: 0 },
};

export const fill = {
  id: `${MARKET_ID}:17`,
  market: MARKET_ID,
  orderId: '42',
  side: 'buy',
  takerOrMaker: 'taker',
  price: '1.250',
  amount: '4',
  cost: '5.000',
  fee: { currency: 'GPT-X.1K', cost: '0' },
  timestamp: T1,
};

export const trade = { id: `${MARKET_ID}:17`, price: '1.250', amount: '4', cost: '5.000', takerSide: 'buy', timestamp: T1 };

export const agent = {
  id: 'agt_3k9x2m7q1v8c',
  name: 'research-bot',
  principalId: null,
  status: 'active',
  createdAt: T0,
  apiKey: { keyId: 'ak_4f8e2a9c1b7d3e5f', secret: 'sk_example_shown_once' },
};

export const reconciliation = {
  ok: true,
  violations: [],
  transfersChecked: 1280,
  engine: { ok: true, violations: [], accountsChecked: 24, principalAccountsChecked: 3, ordersChecked: 310 },
  audit: { ok: true, rowsChecked: 57, violations: [] },
};

export const errorExample = (code: string, message: string) => ({ error: { code, message } });

export { T0, T1 };
