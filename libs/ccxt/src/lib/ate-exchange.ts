import { dirname, join } from 'node:path';
import {
  ArgumentsRequired,
  AuthenticationError,
  BadRequest,
  BadSymbol,
  DuplicateOrderId,
  Exchange,
  ExchangeError,
  ExchangeNotAvailable,
  InsufficientFunds,
  InvalidNonce,
  InvalidOrder,
  MarketClosed,
  OrderImmediatelyFillable,
  OrderNotFillable,
  OrderNotFound,
  PermissionDenied,
  RateLimitExceeded,
  RequestTimeout,
} from 'ccxt';
import type { Balances, Dict, Int, Market, Num, OHLCV, Order, OrderBook, OrderSide, OrderType, Str, Ticker, Trade } from 'ccxt';

/**
 * CCXT's own SHA-256 (the noble-hashes copy it ships and signs every venue's requests with). The package's export
 * map names only its entry point, so it is loaded beside it.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { sha256 } = require(join(dirname(require.resolve('ccxt')), 'cjs/src/static_dependencies/noble-hashes/sha256.js')) as { sha256: unknown };

/** The label the signing key is derived with (README, "Private requests are signed"). */
const KEY_LABEL = 'ate-signing-key-v1';

/** CCXT has no status for an order waiting for its principal's approval: it is not final, so it is open (with nothing filled). */
const ORDER_STATUS: Record<string, string> = {
  open: 'open',
  closed: 'closed',
  canceled: 'canceled',
  rejected: 'rejected',
  expired: 'expired',
  pending_approval: 'open',
};

/** Our stable error codes (libs/contracts) -> CCXT's error classes. A code not listed is an ExchangeError. */
export const ATE_CCXT_ERRORS = {
  AUTH_MISSING: AuthenticationError,
  AUTH_INVALID_SIGNATURE: AuthenticationError,
  AUTH_TIMESTAMP_OUT_OF_WINDOW: InvalidNonce,
  AUTH_REPLAYED: InvalidNonce,
  AUTH_FORBIDDEN: PermissionDenied,
  RATE_LIMITED: RateLimitExceeded,
  SERVICE_UNAVAILABLE: ExchangeNotAvailable,
  REQUEST_TIMEOUT: RequestTimeout,
  VALIDATION_FAILED: BadRequest,
  MALFORMED_JSON: BadRequest,
  UNSUPPORTED_MEDIA_TYPE: BadRequest,
  PAYLOAD_TOO_LARGE: BadRequest,
  ROUTE_NOT_FOUND: BadRequest,
  METHOD_NOT_ALLOWED: BadRequest,
  URI_TOO_LONG: BadRequest,
  HEADERS_TOO_LARGE: BadRequest,
  NOT_FOUND: BadSymbol,
  CONFLICT: DuplicateOrderId,
  AMOUNT_INVALID: InvalidOrder,
  AMOUNT_TOO_MANY_DECIMALS: InvalidOrder,
  AMOUNT_NEGATIVE: InvalidOrder,
  AMOUNT_OUT_OF_RANGE: InvalidOrder,
  MATCHING_MARKET_HALTED: MarketClosed,
  MATCHING_MARKET_CANCEL_ONLY: MarketClosed,
  MATCHING_INVALID_ORDER_ID: OrderNotFound,
  MATCHING_INVALID_SIDE: InvalidOrder,
  MATCHING_INVALID_PRICE: InvalidOrder,
  MATCHING_INVALID_SIZE: InvalidOrder,
  MATCHING_INVALID_SPEND: InvalidOrder,
  MATCHING_INVALID_TIME_IN_FORCE: InvalidOrder,
  MATCHING_INVALID_STP_MODE: InvalidOrder,
  MATCHING_INVALID_CLIENT_ORDER_ID: InvalidOrder,
  MATCHING_INVALID_COMMAND: InvalidOrder,
  MATCHING_DUPLICATE_ORDER_ID: DuplicateOrderId,
  MATCHING_DUPLICATE_CLIENT_ORDER_ID: DuplicateOrderId,
  MATCHING_ALREADY_EXPIRED: InvalidOrder,
  MATCHING_PRICE_OUTSIDE_BAND: InvalidOrder,
  MATCHING_POST_ONLY_WOULD_CROSS: OrderImmediatelyFillable,
  MATCHING_INSUFFICIENT_FUNDS: InsufficientFunds,
  MATCHING_TOO_MANY_ORDERS: InvalidOrder,
  MATCHING_BOOK_FULL: ExchangeNotAvailable,
  MATCHING_FOK_NOT_FILLABLE: OrderNotFillable,
  MATCHING_UNKNOWN_ORDER: OrderNotFound,
  MATCHING_AMEND_WOULD_CROSS: InvalidOrder,
  LEDGER_INSUFFICIENT_FUNDS: InsufficientFunds,
} as const;

/**
 * The agent token exchange as a CCXT venue: `new AteExchange({ apiKey, secret, hostname })` and the unified API
 * (loadMarkets, fetchOrderBook, createOrder, ...). Amounts go to the exchange as decimal strings at the market's
 * precision (tick size for prices, lot size for quantities); CCXT's unified structures carry numbers, as for
 * any venue, with the exchange's strings in `info`.
 */
export class AteExchange extends Exchange {
  private lastNonce = 0;

  override describe(): Dict {
    return this.deepExtend(super.describe(), {
      id: 'ate',
      name: 'Agent Token Exchange',
      countries: [],
      version: 'v1',
      rateLimit: 20,
      pro: false,
      hostname: '127.0.0.1:3000',
      has: {
        CORS: undefined,
        spot: true,
        margin: false,
        swap: false,
        future: false,
        option: false,
        cancelAllOrders: true,
        cancelOrder: true,
        createOrder: true,
        createMarketBuyOrderWithCost: true,
        createMarketOrderWithCost: true,
        createPostOnlyOrder: true,
        createLimitOrder: true,
        createMarketOrder: true,
        editOrder: true,
        fetchBalance: true,
        fetchClosedOrders: true,
        fetchCanceledOrders: true,
        fetchCurrencies: false,
        fetchMarkets: true,
        fetchMyTrades: true,
        fetchOHLCV: true,
        fetchOpenOrders: true,
        fetchOrder: true,
        fetchOrderBook: true,
        fetchOrders: true,
        fetchTicker: true,
        fetchTickers: false,
        fetchTime: true,
        fetchTrades: true,
        fetchDeposits: false,
        fetchWithdrawals: false,
        withdraw: false,
        ws: false,
        watchOrderBook: false,
        watchTrades: false,
        watchOrders: false,
        watchBalance: false,
      },
      timeframes: { '1m': '1m', '5m': '5m', '15m': '15m', '1h': '1h', '4h': '4h', '1d': '1d' },
      urls: {
        api: { public: 'http://{hostname}/v1', private: 'http://{hostname}/v1' },
        www: 'http://{hostname}',
        doc: 'http://{hostname}/docs',
      },
      api: {
        public: {
          get: {
            time: 1,
            markets: 1,
            'markets/{id}': 1,
            'markets/{id}/book': 1,
            'markets/{id}/trades': 1,
            'markets/{id}/stats': 1,
            'markets/{id}/candles': 1,
          },
        },
        private: {
          get: {
            me: 1,
            orders: 1,
            'orders/{id}': 1,
            'orders/by-client-id/{clientOrderId}': 1,
            'account/balances': 1,
            'account/fills': 1,
            'account/statement': 1,
          },
          post: { orders: 1, 'orders/test': 1, 'orders/cancel-all': 1, 'orders/cancel-after': 1 },
          patch: { 'orders/{id}': 1 },
          delete: { 'orders/{id}': 1 },
        },
      },
      requiredCredentials: { apiKey: true, secret: true },
      precisionMode: 4, // TICK_SIZE: precision is the step itself (tick size, lot size)
      options: { adjustForTimeDifference: false, timeDifference: 0 },
      exceptions: { exact: ATE_CCXT_ERRORS, broad: {} },
    });
  }

  /** Strictly increasing epoch ms (two identical requests in one millisecond would otherwise be refused as replays). */
  override nonce(): number {
    const now = this.milliseconds() - (this.safeInteger(this.options, 'timeDifference') ?? 0);
    this.lastNonce = Math.max(now, this.lastNonce + 1);
    return this.lastNonce;
  }

  /**
   * Our HMAC scheme with CCXT's helpers: the signing key is HMAC-SHA256(secret, "ate-signing-key-v1"), the signature
   * hex HMAC-SHA256(key, "<timestamp>\n<METHOD>\n<path?query>\n<body>"), in headers ate-key / ate-timestamp /
   * ate-signature.
   */
  override sign(
    path: string,
    api: 'public' | 'private' = 'public',
    method = 'GET',
    params: Dict = {},
    headers: Dict | undefined = undefined,
    body: Str = undefined,
  ): Dict {
    const base = this.implodeHostname(this.urls['api'][api] as string);
    let request = '/' + this.implodeParams(path, params);
    const query = this.omit(params, this.extractParams(path));
    if (method === 'GET' || method === 'DELETE') {
      if (Object.keys(query).length) request += '?' + this.urlencode(this.keysort(query));
    } else {
      body = this.json(query);
    }
    const url = base + request;
    const pathWithQuery = new URL(url).pathname + new URL(url).search;
    headers = body !== undefined ? { 'content-type': 'application/json' } : {};
    if (api === 'private') {
      this.checkRequiredCredentials();
      const ts = String(this.nonce());
      headers['ate-key'] = this.apiKey;
      headers['ate-timestamp'] = ts;
      headers['ate-signature'] = this.signPayload(`${ts}\n${method}\n${pathWithQuery}\n${body ?? ''}`);
    }
    return { url, method, body, headers };
  }

  /** hex HMAC-SHA256 of `payload` under the signing key derived from the secret (REST requests, the feed's login). */
  protected signPayload(payload: string): string {
    const key = this.hmac(this.encode(KEY_LABEL), this.encode(this.secret), sha256 as never, 'binary');
    return this.hmac(this.encode(payload), key, sha256 as never, 'hex');
  }

  /** The one error shape `{ error: { code, message, details } }`: the code picks the CCXT class. */
  override handleErrors(_status: number, _reason: string, _url: string, _method: string, _headers: Dict, body: string, response: unknown): undefined {
    const error = (response as { error?: { code?: string } } | undefined)?.error;
    if (!error || typeof error.code !== 'string') return undefined;
    const feedback = `${this.id} ${body}`;
    this.throwExactlyMatchedException(this.exceptions['exact'], error.code, feedback);
    throw new ExchangeError(feedback);
  }

  override async fetchTime(params: Dict = {}): Promise<Int> {
    const r = await this.request('time', 'public', 'GET', params);
    return this.safeInteger(r, 'serverTime');
  }

  override async fetchMarkets(params: Dict = {}): Promise<Market[]> {
    if (this.options['adjustForTimeDifference']) await this.loadTimeDifference();
    const r = await this.request('markets', 'public', 'GET', params);
    return (this.safeList(r, 'markets', []) as Dict[]).map((m) => this.parseMarket(m));
  }

  override parseMarket(m: Dict): Market {
    const id = this.safeString(m, 'id') as string;
    const base = this.safeString(m, 'base') as string;
    const quote = this.safeString(m, 'quote') as string;
    const precision = this.safeDict(m, 'precision', {}) as Dict;
    const fees = this.safeDict(m, 'fees', {}) as Dict;
    const bps = (k: string) =>
      this.parseNumber(this.safeString(fees, k) === undefined ? undefined : String(Number(this.safeString(fees, k)) / 10000));
    const creditStep = this.parseNumber(this.parsePrecision(this.safeString(precision, 'price') ?? '3'));
    return this.safeMarketStructure({
      id,
      symbol: `${base}/${quote}`,
      base,
      quote,
      baseId: base,
      quoteId: quote,
      type: 'spot',
      spot: true,
      margin: false,
      swap: false,
      future: false,
      option: false,
      contract: false,
      active: this.safeString(m, 'state') === 'open',
      taker: bps('takerBps'),
      maker: bps('makerBps'),
      precision: {
        amount: this.safeNumber(m, 'lotSize'),
        price: this.safeNumber(m, 'tickSize'),
        cost: creditStep,
      },
      limits: {
        amount: { min: this.safeNumber(m, 'minQuantity'), max: this.safeNumber(m, 'maxQuantity') },
        price: { min: this.safeNumber(m, 'tickSize'), max: this.safeNumber(m, 'maxPrice') },
        cost: { min: undefined, max: this.safeNumber(m, 'maxSpend') },
        leverage: { min: undefined, max: undefined },
      },
      created: undefined,
      info: m,
    });
  }

  override async fetchOrderBook(symbol: string, limit: Int = undefined, params: Dict = {}): Promise<OrderBook> {
    await this.loadMarkets();
    const market = this.market(symbol);
    const r = await this.request(
      'markets/{id}/book',
      'public',
      'GET',
      this.extend({ id: market.id }, limit !== undefined ? { depth: limit } : {}, params),
    );
    const book = this.parseOrderBook(r, market.symbol, undefined, 'bids', 'asks', 0, 1);
    book['nonce'] = this.safeInteger(r, 'seq');
    return book;
  }

  override parseTrade(t: Dict, market: Market = undefined): Trade {
    const marketId = this.safeString(t, 'market') ?? (this.safeString(t, 'id') ?? '').split(':')[0];
    const ts = this.safeInteger(this.safeDict(t, 'timestamp', {}) as Dict, 'ms');
    return this.ateTrade(t, this.safeMarket(marketId, market), ts, this.safeString(t, 'cost'));
  }

  /** A trade or fill of ours as CCXT's unified Trade, whichever answer carried it (REST here, the feed in AteProExchange). */
  protected ateTrade(t: Dict, market: NonNullable<Market>, ts: Int, cost: string | undefined): Trade {
    const fee = this.safeDict(t, 'fee');
    return this.safeTrade(
      {
        id: this.safeString(t, 'id'),
        info: t,
        timestamp: ts,
        datetime: this.iso8601(ts),
        symbol: market.symbol,
        order: this.safeString(t, 'orderId'),
        type: undefined,
        side: this.safeString2(t, 'side', 'takerSide'),
        takerOrMaker: this.safeString(t, 'takerOrMaker'),
        price: this.safeString(t, 'price'),
        amount: this.safeString(t, 'amount'),
        cost,
        fee: fee ? { currency: this.safeString(fee, 'currency'), cost: this.safeString(fee, 'cost') } : undefined,
      },
      market,
    );
  }

  override async fetchTrades(symbol: string, since: Int = undefined, limit: Int = undefined, params: Dict = {}): Promise<Trade[]> {
    await this.loadMarkets();
    const market = this.market(symbol);
    const request: Dict = { id: market.id };
    if (since !== undefined) request['since'] = since;
    if (limit !== undefined) request['limit'] = limit;
    const r = await this.request('markets/{id}/trades', 'public', 'GET', this.extend(request, params));
    return this.parseTrades(this.safeList(r, 'trades', []) as Dict[], market, since, limit);
  }

  override async fetchTicker(symbol: string, params: Dict = {}): Promise<Ticker> {
    await this.loadMarkets();
    const market = this.market(symbol);
    const r = await this.request('markets/{id}/stats', 'public', 'GET', this.extend({ id: market.id }, params));
    return this.parseTicker(r, market);
  }

  override parseTicker(t: Dict, market: Market = undefined): Ticker {
    market = this.safeMarket(this.safeString(t, 'market'), market);
    const last = this.safeString(t, 'last');
    return this.safeTicker(
      {
        symbol: market.symbol,
        timestamp: undefined,
        datetime: undefined,
        high: this.safeString(t, 'high'),
        low: this.safeString(t, 'low'),
        bid: this.safeString(t, 'bid'),
        bidVolume: undefined,
        ask: this.safeString(t, 'ask'),
        askVolume: undefined,
        vwap: undefined,
        open: this.safeString(t, 'open'),
        close: last,
        last,
        previousClose: undefined,
        change: undefined,
        percentage: undefined,
        average: undefined,
        baseVolume: this.safeString(t, 'baseVolume'),
        quoteVolume: this.safeString(t, 'quoteVolume'),
        info: t,
      },
      market,
    );
  }

  override async fetchOHLCV(symbol: string, timeframe = '1m', since: Int = undefined, limit: Int = undefined, params: Dict = {}): Promise<OHLCV[]> {
    await this.loadMarkets();
    const market = this.market(symbol);
    const request: Dict = { id: market.id, timeframe: this.safeString(this.timeframes, timeframe, timeframe) };
    if (since !== undefined) request['since'] = since;
    if (limit !== undefined) request['limit'] = limit;
    const r = await this.request('markets/{id}/candles', 'public', 'GET', this.extend(request, params));
    return this.parseOHLCVs(this.safeList(r, 'candles', []) as Dict[], market, timeframe, since, limit);
  }

  override parseOHLCV(c: Dict): OHLCV {
    return [
      this.safeInteger(c, 'timestamp') as number,
      this.safeNumber(c, 'open') as number,
      this.safeNumber(c, 'high') as number,
      this.safeNumber(c, 'low') as number,
      this.safeNumber(c, 'close') as number,
      this.safeNumber(c, 'volume') as number,
    ];
  }

  override async fetchBalance(params: Dict = {}): Promise<Balances> {
    const r = await this.request('account/balances', 'private', 'GET', params);
    const result: Dict = { info: r, timestamp: undefined, datetime: undefined };
    const balances = this.safeDict(r, 'balances', {}) as Dict;
    for (const code of Object.keys(balances)) {
      const b = balances[code] as Dict;
      const account = this.account();
      account['free'] = this.safeString(b, 'free');
      account['used'] = this.safeString(b, 'used');
      account['total'] = this.safeString(b, 'total');
      result[this.safeCurrencyCode(code) ?? code] = account;
    }
    return this.safeBalance(result);
  }

  /**
   * limit and market orders; params: timeInForce (GTC, GTD, IOC, FOK, PO), postOnly, clientOrderId, expiresAt
   * (GTD, epoch ms), selfTradePrevention, and cost (a market order sized by credits: spend). A market buy
   * without an amount but with a cost is what createMarketBuyOrderWithCost sends.
   */
  override async createOrder(
    symbol: string,
    type: OrderType,
    side: OrderSide,
    amount: number,
    price: Num = undefined,
    params: Dict = {},
  ): Promise<Order> {
    await this.loadMarkets();
    const market = this.market(symbol);
    const request: Dict = { market: market.id, side, type };
    const isMarket = type === 'market';
    let timeInForce = this.safeStringUpper(params, 'timeInForce');
    const postOnly = this.isPostOnly(isMarket, timeInForce === 'PO', params);
    if (timeInForce === 'PO') timeInForce = undefined;
    const cost = this.safeString2(params, 'cost', 'spend');
    if (isMarket && cost !== undefined) {
      request['spend'] = this.costToPrecision(symbol, cost);
    } else {
      request['quantity'] = this.amountToPrecision(symbol, amount);
    }
    if (!isMarket) {
      if (price === undefined) throw new ArgumentsRequired(`${this.id} createOrder() needs a price for a limit order`);
      request['price'] = this.priceToPrecision(symbol, price);
    }
    if (timeInForce !== undefined) request['timeInForce'] = timeInForce;
    if (postOnly) request['postOnly'] = true;
    const clientOrderId = this.safeString2(params, 'clientOrderId', 'clientOid');
    if (clientOrderId !== undefined) request['clientOrderId'] = clientOrderId;
    const rest = this.omit(params, ['timeInForce', 'postOnly', 'cost', 'spend', 'clientOrderId', 'clientOid']);
    const r = await this.request('orders', 'private', 'POST', this.extend(request, rest));
    return this.parseOrder(r, market);
  }

  override async createMarketBuyOrderWithCost(symbol: string, cost: number, params: Dict = {}): Promise<Order> {
    return this.createOrder(symbol, 'market', 'buy', 0, undefined, this.extend(params, { cost }));
  }

  /** Amends price and/or quantity (the exchange's `quantity` is the order's new open quantity); never trades. */
  override async editOrder(
    id: string,
    symbol: string,
    _type: OrderType,
    _side: OrderSide,
    amount: Num = undefined,
    price: Num = undefined,
    params: Dict = {},
  ): Promise<Order> {
    await this.loadMarkets();
    const market = this.market(symbol);
    const request: Dict = { id };
    if (amount !== undefined) request['quantity'] = this.amountToPrecision(symbol, amount);
    if (price !== undefined) request['price'] = this.priceToPrecision(symbol, price);
    const r = await this.request('orders/{id}', 'private', 'PATCH', this.extend(request, params));
    return this.parseOrder(r, market);
  }

  override async cancelOrder(id: string, symbol: Str = undefined, params: Dict = {}): Promise<Order> {
    await this.loadMarkets();
    const r = await this.request('orders/{id}', 'private', 'DELETE', this.extend({ id }, params));
    return this.parseOrder(r, symbol !== undefined ? this.market(symbol) : undefined);
  }

  override async cancelAllOrders(symbol: Str = undefined, params: Dict = {}): Promise<Order[]> {
    await this.loadMarkets();
    const market = symbol !== undefined ? this.market(symbol) : undefined;
    const r = await this.request('orders/cancel-all', 'private', 'POST', this.extend(market ? { market: market.id } : {}, params));
    return (this.safeList(r, 'cancelled', []) as string[]).map((id) =>
      this.safeOrder({ id, status: 'canceled', symbol: market?.symbol, info: { id } }, market),
    );
  }

  /** By the exchange's id, or by yours: fetchOrder(undefined, symbol, { clientOrderId }). */
  override async fetchOrder(id: string, symbol: Str = undefined, params: Dict = {}): Promise<Order> {
    await this.loadMarkets();
    const clientOrderId = this.safeString(params, 'clientOrderId');
    const r =
      clientOrderId !== undefined
        ? await this.request(
            'orders/by-client-id/{clientOrderId}',
            'private',
            'GET',
            this.extend({ clientOrderId }, this.omit(params, 'clientOrderId')),
          )
        : await this.request('orders/{id}', 'private', 'GET', this.extend({ id }, params));
    return this.parseOrder(r, symbol !== undefined ? this.market(symbol) : undefined);
  }

  private async ordersQuery(status: string, symbol: Str, since: Int, limit: Int, params: Dict): Promise<Order[]> {
    await this.loadMarkets();
    const market = symbol !== undefined ? this.market(symbol) : undefined;
    const request: Dict = { status };
    if (market) request['market'] = market.id;
    if (since !== undefined) request['since'] = since;
    if (limit !== undefined) request['limit'] = limit;
    const r = await this.request('orders', 'private', 'GET', this.extend(request, params));
    return this.parseOrders(this.safeList(r, 'orders', []) as Dict[], market, since, limit);
  }

  override fetchOrders(symbol: Str = undefined, since: Int = undefined, limit: Int = undefined, params: Dict = {}): Promise<Order[]> {
    return this.ordersQuery('all', symbol, since, limit, params);
  }
  override fetchOpenOrders(symbol: Str = undefined, since: Int = undefined, limit: Int = undefined, params: Dict = {}): Promise<Order[]> {
    return this.ordersQuery('open', symbol, since, limit, params);
  }
  override fetchClosedOrders(symbol: Str = undefined, since: Int = undefined, limit: Int = undefined, params: Dict = {}): Promise<Order[]> {
    return this.ordersQuery('closed', symbol, since, limit, params);
  }
  override fetchCanceledOrders(symbol: Str = undefined, since: Int = undefined, limit: Int = undefined, params: Dict = {}): Promise<Order[]> {
    return this.ordersQuery('canceled', symbol, since, limit, params);
  }

  override async fetchMyTrades(symbol: Str = undefined, since: Int = undefined, limit: Int = undefined, params: Dict = {}): Promise<Trade[]> {
    await this.loadMarkets();
    const market = symbol !== undefined ? this.market(symbol) : undefined;
    const request: Dict = {};
    if (market) request['market'] = market.id;
    if (since !== undefined) request['since'] = since;
    if (limit !== undefined) request['limit'] = limit;
    const r = await this.request('account/fills', 'private', 'GET', this.extend(request, params));
    return this.parseTrades(this.safeList(r, 'fills', []) as Dict[], market, since, limit);
  }

  override parseOrder(o: Dict, market: Market = undefined): Order {
    market = this.safeMarket(this.safeString(o, 'market'), market);
    const ts = this.safeInteger(this.safeDict(o, 'createdAt', {}) as Dict, 'ms');
    const tif = this.safeString(o, 'timeInForce');
    return this.safeOrder(
      {
        id: this.safeString(o, 'id'),
        clientOrderId: this.safeString(o, 'clientOrderId'),
        info: o,
        timestamp: ts,
        datetime: this.iso8601(ts),
        lastTradeTimestamp: undefined,
        lastUpdateTimestamp: this.safeInteger(this.safeDict(o, 'updatedAt', {}) as Dict, 'ms'),
        status: ORDER_STATUS[this.safeString(o, 'status') ?? ''],
        symbol: market.symbol,
        type: this.safeString(o, 'type'),
        timeInForce: this.safeBool(o, 'postOnly') ? 'PO' : tif,
        postOnly: this.safeBool(o, 'postOnly'),
        side: this.safeString(o, 'side'),
        price: this.safeString(o, 'price'),
        triggerPrice: undefined,
        amount: this.safeString(o, 'quantity'),
        cost: this.safeString(o, 'cost'),
        average: this.safeString(o, 'averagePrice'),
        filled: this.safeString(o, 'filled'),
        remaining: this.safeString(o, 'remaining'),
        fee: undefined,
        trades: undefined,
      },
      market,
    );
  }
}
