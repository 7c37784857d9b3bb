import { Agent } from 'node:http';
import { dirname, join } from 'node:path';
import { ChecksumError, ExchangeError, Precise } from 'ccxt';
import type { Balances, Dict, Int, Market, Order, OrderBook, Str, Ticker, Trade } from 'ccxt';
import { ATE_CCXT_ERRORS, AteExchange } from './ate-exchange';

/** CCXT Pro's caches (its own module instance: the package's entry point requires the same files). */
const { ArrayCache, ArrayCacheBySymbolById } = require(join(dirname(require.resolve('ccxt')), 'cjs/src/base/ws/Cache.js')) as {
  ArrayCache: new (max?: number) => CcxtCache;
  ArrayCacheBySymbolById: new (max?: number) => CcxtCache;
};

interface CcxtCache extends Array<Dict> {
  append(item: Dict): void;
  getLimit(symbol: Str, limit: Int): Int;
}

/** What this class uses of CCXT's WsClient. */
interface WsClient {
  url: string;
  subscriptions: Dict;
  futures: Dict;
  resolve(result: unknown, messageHash: string): unknown;
  reject(error: unknown, messageHash?: string): unknown;
  send(message: unknown): Promise<unknown>;
}

/** What the feed's login signs (the socket.io handshake's payload: libs/contracts FEED_PATH, FEED_SIGNED_METHOD). */
const LOGIN_PATH = '/v1/feed';
/** Levels each side the book checksum covers (libs/contracts FEED_CHECKSUM_DEPTH). */
const CHECKSUM_DEPTH = 10;

type Levels = Map<string, string>;
interface BookLevels {
  seq: number;
  bids: Levels;
  asks: Levels;
  /** a gap was seen and a replay asked for: later deltas that do not fit wait for it */
  resyncing: boolean;
}
/** One order as the private channel has told it so far (decimal strings). */
interface OrderState {
  id: string;
  symbol: string;
  side?: string;
  type?: string;
  price?: string;
  amount?: string;
  filled: string;
  cost: string;
  remaining?: string;
  status: string;
  timestamp?: number;
  lastUpdateTimestamp?: number;
  lastTradeTimestamp?: number;
}

const digits = (s: string) => s.replace('.', '').replace(/^0+/, '');
const PRIVATE_HASH = /^(orders|balance|myTrades)(:|$)/;

/**
 * AteExchange with CCXT Pro's `watch*` over the exchange's plain-WebSocket feed (`ws://{hostname}/v1/ws`, JSON
 * text frames): `watchOrderBook` (a snapshot, then deltas checked against the market's event sequence and the
 * CRC32 checksum of the top 10 levels each side), `watchTrades`, `watchTicker`, and after a signed `login`
 * `watchOrders`, `watchMyTrades` and `watchBalance` (seeded from `fetchBalance` once subscribed). Built on CCXT's
 * own WsClient (`this.watch`, `handleMessage`, message hashes, ArrayCache), as any CCXT Pro venue.
 */
export class AteProExchange extends AteExchange {
  private readonly bookLevels: Record<string, BookLevels> = {};
  private readonly orderStates = new Map<string, OrderState>();
  private readonly wsState = new WeakMap<WsClient, { privateAcked: boolean; snapshot: boolean }>();
  /** assets whose balance the feed told since the private channel was (re)subscribed: a REST snapshot leaves them */
  private readonly balanceFromFeed = new Set<string>();
  private wantsBalanceSnapshot = false;

  override describe(): Dict {
    return this.deepExtend(super.describe(), {
      pro: true,
      has: {
        ws: true,
        watchOrderBook: true,
        watchTrades: true,
        watchTicker: true,
        watchOrders: true,
        watchMyTrades: true,
        watchBalance: true,
        watchOrderBookForSymbols: false,
        watchTradesForSymbols: false,
        watchTickers: false,
        watchOHLCV: false,
      },
      urls: { api: { ws: 'ws://{hostname}/v1/ws' } },
      options: {
        tradesLimit: 1000,
        ordersLimit: 1000,
        watchOrderBook: { checksum: true },
        watchBalance: { fetchBalanceSnapshot: true },
      },
    });
  }

  private wsUrl(): string {
    return this.implodeHostname((this.urls['api'] as Dict)['ws'] as string);
  }

  /** CCXT dials ws:// (not wss://) only through an http.Agent of the exchange's (its `loadHttpProxyAgent`). */
  override client(url: string): ReturnType<AteExchange['client']> {
    if (url.startsWith('ws://') && this.httpAgent === undefined) this.httpAgent = new Agent();
    return super.client(url);
  }

  private wsClient(): WsClient {
    return this.client(this.wsUrl()) as unknown as WsClient;
  }

  private stateOf(client: WsClient) {
    let s = this.wsState.get(client);
    if (!s) this.wsState.set(client, (s = { privateAcked: false, snapshot: false }));
    return s;
  }

  /** The signed login, once per connection: `${timestamp}\nGET\n/v1/feed\n` under the key derived from the secret. */
  async authenticate(params: Dict = {}): Promise<unknown> {
    this.checkRequiredCredentials();
    const url = this.wsUrl();
    const client = this.wsClient();
    const messageHash = 'authenticated';
    let future = client.subscriptions[messageHash];
    if (future === undefined) {
      const timestamp = String(this.nonce());
      const request = {
        op: 'login',
        id: messageHash,
        key: this.apiKey,
        timestamp,
        signature: this.signPayload(`${timestamp}\nGET\n${LOGIN_PATH}\n`),
      };
      future = await this.watch(url, messageHash, this.extend(request, params), messageHash);
      client.subscriptions[messageHash] = future;
    }
    return future;
  }

  override async watchOrderBook(symbol: string, limit: Int = undefined, params: Dict = {}): Promise<OrderBook> {
    await this.loadMarkets();
    const market = this.market(symbol);
    const messageHash = `book:${market.symbol}`;
    const request = this.extend({ op: 'subscribe', id: messageHash, channel: 'book', market: market.id }, params);
    const book = await this.watch(this.wsUrl(), messageHash, request, messageHash);
    return limit !== undefined ? this.limitBook(book as OrderBook, limit) : (book as { limit(): OrderBook }).limit();
  }

  private limitBook(book: OrderBook, limit: number): OrderBook {
    const b = (book as unknown as { limit(): OrderBook }).limit();
    return { ...b, bids: b.bids.slice(0, limit), asks: b.asks.slice(0, limit) } as OrderBook;
  }

  override async watchTrades(symbol: string, since: Int = undefined, limit: Int = undefined, params: Dict = {}): Promise<Trade[]> {
    await this.loadMarkets();
    const market = this.market(symbol);
    const messageHash = `trades:${market.symbol}`;
    const request = this.extend({ op: 'subscribe', id: messageHash, channel: 'trades', market: market.id }, params);
    const trades = (await this.watch(this.wsUrl(), messageHash, request, messageHash)) as CcxtCache;
    if (this.newUpdates) limit = trades.getLimit(market.symbol, limit);
    return this.filterBySinceLimit(trades, since, limit, 'timestamp', true) as Trade[];
  }

  override async watchTicker(symbol: string, params: Dict = {}): Promise<Ticker> {
    await this.loadMarkets();
    const market = this.market(symbol);
    const messageHash = `ticker:${market.symbol}`;
    const request = this.extend({ op: 'subscribe', id: messageHash, channel: 'ticker', market: market.id }, params);
    return (await this.watch(this.wsUrl(), messageHash, request, messageHash)) as Ticker;
  }

  private privateRequest(params: Dict): Dict {
    return this.extend({ op: 'subscribe', id: 'private', channel: 'private' }, params);
  }

  override async watchOrders(symbol: Str = undefined, since: Int = undefined, limit: Int = undefined, params: Dict = {}): Promise<Order[]> {
    await this.loadMarkets();
    await this.authenticate();
    let messageHash = 'orders';
    if (symbol !== undefined) {
      symbol = this.symbol(symbol);
      messageHash += `:${symbol}`;
    }
    const orders = (await this.watch(this.wsUrl(), messageHash, this.privateRequest(params), 'private')) as CcxtCache;
    if (this.newUpdates) limit = orders.getLimit(symbol, limit);
    return this.filterBySymbolSinceLimit(orders, symbol, since, limit, true) as Order[];
  }

  override async watchMyTrades(symbol: Str = undefined, since: Int = undefined, limit: Int = undefined, params: Dict = {}): Promise<Trade[]> {
    await this.loadMarkets();
    await this.authenticate();
    let messageHash = 'myTrades';
    if (symbol !== undefined) {
      symbol = this.symbol(symbol);
      messageHash += `:${symbol}`;
    }
    const trades = (await this.watch(this.wsUrl(), messageHash, this.privateRequest(params), 'private')) as CcxtCache;
    if (this.newUpdates) limit = trades.getLimit(symbol, limit);
    return this.filterBySymbolSinceLimit(trades, symbol, since, limit, true) as Trade[];
  }

  /** The balances, from fetchBalance once the private channel is subscribed, then as the feed tells each change. */
  override async watchBalance(params: Dict = {}): Promise<Balances> {
    await this.loadMarkets();
    await this.authenticate();
    const client = this.wsClient();
    this.wantsBalanceSnapshot = this.handleOption('watchBalance', 'fetchBalanceSnapshot', true) as boolean;
    const st = this.stateOf(client);
    if (this.wantsBalanceSnapshot && st.privateAcked && !st.snapshot) {
      st.snapshot = true;
      this.spawn(this.loadBalanceSnapshot, client);
    }
    return (await this.watch(this.wsUrl(), 'balance', this.privateRequest(params), 'private')) as Balances;
  }

  async loadBalanceSnapshot(client: WsClient): Promise<void> {
    const r = (await this.fetchBalance()) as unknown as Dict;
    for (const code of Object.keys(r)) {
      if (['info', 'timestamp', 'datetime', 'free', 'used', 'total'].includes(code) || this.balanceFromFeed.has(code)) continue;
      this.balance[code] = r[code];
    }
    this.balance['info'] = r['info'];
    this.balance = this.safeBalance(this.balance) as unknown as Dict;
    client.resolve(this.balance, 'balance');
  }

  override handleMessage(client: WsClient, message: Dict): void {
    const event = this.safeString(message, 'event');
    const data = this.safeDict(message, 'data', {}) as Dict;
    if (event === 'book') this.handleOrderBook(client, data);
    else if (event === 'trade') this.handleTrade(client, data);
    else if (event === 'ticker') this.handleTicker(client, data);
    else if (event === 'private') this.handlePrivate(client, data);
    else if (event === 'ack') this.handleAck(client, message);
    else if (event === 'feed_error') client.reject(this.feedError(data));
    // resync_required: the snapshot that follows it replaces the book
  }

  private feedError(error: Dict): Error {
    const code = this.safeString(error, 'code') ?? '';
    const Cls = (ATE_CCXT_ERRORS as Record<string, new (m: string) => Error>)[code] ?? ExchangeError;
    return new Cls(`${this.id} ${this.json({ error })}`);
  }

  private handleAck(client: WsClient, message: Dict): void {
    const op = this.safeString(message, 'op');
    const id = this.safeString(message, 'id');
    const ok = this.safeBool(message, 'ok') === true;
    if (op === 'login') {
      if (ok) client.resolve(message, 'authenticated');
      else {
        client.reject(this.feedError(this.safeDict(message, 'error', {}) as Dict), 'authenticated');
        delete client.subscriptions['authenticated'];
      }
      return;
    }
    if (op !== 'subscribe' || id === undefined) return;
    if (!ok) {
      const error = this.feedError(this.safeDict(message, 'error', {}) as Dict);
      delete client.subscriptions[id];
      if (id === 'private') {
        for (const h of Object.keys(client.futures)) if (PRIVATE_HASH.test(h)) client.reject(error, h);
      } else client.reject(error, id);
      return;
    }
    if (id === 'private') {
      const st = this.stateOf(client);
      st.privateAcked = true;
      this.balanceFromFeed.clear();
      if (this.wantsBalanceSnapshot && !st.snapshot) {
        st.snapshot = true;
        this.spawn(this.loadBalanceSnapshot, client);
      }
    }
  }

  private handleOrderBook(client: WsClient, d: Dict): void {
    const market = this.safeMarket(this.safeString(d, 'market'));
    const symbol = market.symbol;
    const messageHash = `book:${symbol}`;
    const seq = this.safeInteger(d, 'seq') as number;
    const bids = this.safeList(d, 'bids', []) as [string, string][];
    const asks = this.safeList(d, 'asks', []) as [string, string][];
    let levels = this.bookLevels[symbol];
    let book = this.orderbooks[symbol] as unknown as (OrderBook & { reset(s: Dict): void; bids: Side; asks: Side }) | undefined;
    if (this.safeString(d, 'type') === 'snapshot') {
      levels = { seq, bids: new Map(bids), asks: new Map(asks), resyncing: false };
      this.bookLevels[symbol] = levels;
      book = this.orderBook({}) as unknown as OrderBook & { reset(s: Dict): void; bids: Side; asks: Side };
      book.reset(this.parseOrderBook(d, symbol, this.safeInteger(d, 'committedAt'), 'bids', 'asks', 0, 1));
      this.orderbooks[symbol] = book as never;
    } else {
      if (!levels || !book) return; // a delta before any snapshot: the snapshot comes first
      const prev = this.safeInteger(d, 'prev') as number;
      if (seq <= levels.seq) return; // already applied (a replay overlapping what came live)
      if (prev > levels.seq) {
        // a gap: ask for the deltas after our seq (the server replays them, or says resync and sends a snapshot)
        if (!levels.resyncing) {
          levels.resyncing = true;
          void client.send({ op: 'subscribe', id: messageHash, channel: 'book', market: market.id, since: levels.seq }).catch(() => undefined);
        }
        return;
      }
      levels.resyncing = false;
      levels.seq = seq;
      for (const [side, changes, stored] of [
        ['bids', bids, levels.bids],
        ['asks', asks, levels.asks],
      ] as const) {
        for (const [p, q] of changes) {
          if (Precise.stringEq(q, '0')) stored.delete(p);
          else stored.set(p, q);
          book[side].store(this.parseNumber(p) as number, this.parseNumber(q) as number);
        }
      }
      const ts = this.safeInteger(d, 'committedAt');
      book['timestamp'] = ts;
      book['datetime'] = this.iso8601(ts);
    }
    book['nonce'] = seq;
    book['symbol'] = symbol;
    const checksum = this.safeInteger(d, 'checksum');
    if (this.handleOption('watchOrderBook', 'checksum', true) && checksum !== undefined && this.bookChecksum(levels) !== checksum) {
      delete client.subscriptions[messageHash];
      delete this.orderbooks[symbol];
      delete this.bookLevels[symbol];
      client.reject(new ChecksumError(`${this.id} ${this.orderbookChecksumMessage(symbol)}`), messageHash);
      return;
    }
    client.resolve(book, messageHash);
  }

  /** The feed's checksum of a book: CRC32 of the best 10 asks then the best 10 bids, price then quantity, digits only. */
  bookChecksum(levels: { bids: Levels; asks: Levels }): number {
    const best = (m: Levels, desc: boolean) =>
      [...m].sort(([a], [b]) => (Precise.stringLt(a, b) ? -1 : Precise.stringEq(a, b) ? 0 : 1) * (desc ? -1 : 1)).slice(0, CHECKSUM_DEPTH);
    let s = '';
    for (const [p, q] of best(levels.asks, false)) s += digits(p) + digits(q);
    for (const [p, q] of best(levels.bids, true)) s += digits(p) + digits(q);
    return this.crc32(s, false) as number;
  }

  private handleTrade(client: WsClient, d: Dict): void {
    const market = this.safeMarket(this.safeString(d, 'market'));
    const symbol = market.symbol;
    let cache = this.trades[symbol] as unknown as CcxtCache | undefined;
    if (!cache) {
      cache = new ArrayCache(this.safeInteger(this.options, 'tradesLimit', 1000));
      this.trades[symbol] = cache as never;
    }
    cache.append(this.parseWsTrade(d, market) as unknown as Dict);
    client.resolve(cache, `trades:${symbol}`);
  }

  override parseWsTrade(t: Dict, market: Market = undefined): Trade {
    return this.ateTrade(t, this.safeMarket(this.safeString(t, 'market'), market), this.safeInteger(t, 'ts'), undefined);
  }

  private handleTicker(client: WsClient, d: Dict): void {
    const market = this.safeMarket(this.safeString(d, 'market'));
    const ts = this.safeInteger(d, 'ts');
    const last = this.safeString(d, 'last');
    const ticker = this.safeTicker(
      {
        symbol: market.symbol,
        timestamp: ts,
        datetime: this.iso8601(ts),
        bid: this.safeString(d, 'bid'),
        ask: this.safeString(d, 'ask'),
        last,
        close: last,
        baseVolume: this.safeString(d, 'baseVolume24h'),
        quoteVolume: this.safeString(d, 'quoteVolume24h'),
        info: d,
      },
      market,
    );
    this.tickers[market.symbol] = ticker;
    client.resolve(ticker, `ticker:${market.symbol}`);
  }

  private handlePrivate(client: WsClient, d: Dict): void {
    const type = this.safeString(d, 'type');
    if (type === 'balance') {
      const code = this.safeCurrencyCode(this.safeString(d, 'asset')) as string;
      const account = this.account();
      account['free'] = this.safeString(d, 'free');
      account['used'] = this.safeString(d, 'used');
      account['total'] = this.safeString(d, 'total');
      this.balance[code] = account;
      this.balanceFromFeed.add(code);
      this.balance = this.safeBalance(this.balance) as unknown as Dict;
      client.resolve(this.balance, 'balance');
      return;
    }
    if (type !== 'order' && type !== 'fill') return;
    const market = this.safeMarket(this.safeString(d, 'market'));
    const symbol = market.symbol;
    const ts = this.safeInteger(d, 'ts');
    const id = this.safeString(d, 'orderId') as string;
    let o = this.orderStates.get(id);
    if (!o) this.orderStates.set(id, (o = { id, symbol, filled: '0', cost: '0', status: 'open' }));
    o.lastUpdateTimestamp = ts;
    if (type === 'fill') {
      const price = this.safeString(d, 'price') as string;
      const amount = this.safeString(d, 'amount') as string;
      o.side ??= this.safeString(d, 'side');
      o.filled = Precise.stringAdd(o.filled, amount) as string;
      o.cost = Precise.stringAdd(o.cost, Precise.stringMul(price, amount)) as string;
      o.lastTradeTimestamp = ts;
      if (o.amount !== undefined) {
        o.remaining = Precise.stringMax('0', Precise.stringSub(o.amount, o.filled)) as string;
        if (Precise.stringEq(o.remaining, '0') && o.status === 'open') o.status = 'closed';
      }
      let mine = this.myTrades as unknown as CcxtCache | undefined;
      if (!mine) this.myTrades = (mine = new ArrayCacheBySymbolById(this.safeInteger(this.options, 'tradesLimit', 1000))) as never;
      mine.append(this.parseWsTrade({ ...d, ts }, market) as unknown as Dict);
      client.resolve(mine, 'myTrades');
      client.resolve(mine, `myTrades:${symbol}`);
    } else {
      const event = this.safeString(d, 'event');
      const quantity = this.safeString(d, 'quantity');
      if (event === 'accepted') {
        o.side = this.safeString(d, 'side');
        o.price = this.safeString(d, 'price');
        o.type = o.price === undefined ? 'market' : 'limit';
        o.timestamp = ts;
        if (quantity !== undefined) {
          // the quantity placed (its fills may have come first, within the same command)
          o.amount = quantity;
          o.remaining = Precise.stringMax('0', Precise.stringSub(quantity, o.filled)) as string;
        }
      } else if (event === 'reduced' || event === 'amended') {
        if (event === 'amended') o.price = this.safeString(d, 'price') ?? o.price;
        if (quantity !== undefined) {
          o.remaining = quantity;
          o.amount = Precise.stringAdd(o.filled, quantity) as string;
        }
      } else if (event === 'cancelled') {
        o.status = 'canceled';
      } else if (event === 'expired') {
        o.status = 'expired';
      } else if (event === 'rejected') {
        o.status = 'rejected';
      }
      if (o.amount !== undefined && o.remaining !== undefined && Precise.stringEq(o.remaining, '0') && o.status === 'open') o.status = 'closed';
    }
    let orders = this.orders as unknown as CcxtCache | undefined;
    if (!orders) this.orders = (orders = new ArrayCacheBySymbolById(this.safeInteger(this.options, 'ordersLimit', 1000))) as never;
    orders.append(this.wsOrder(o, market) as unknown as Dict);
    client.resolve(orders, 'orders');
    client.resolve(orders, `orders:${symbol}`);
  }

  private wsOrder(o: OrderState, market: Market): Order {
    return this.safeOrder(
      {
        id: o.id,
        clientOrderId: undefined,
        info: { ...o },
        timestamp: o.timestamp,
        datetime: this.iso8601(o.timestamp),
        lastTradeTimestamp: o.lastTradeTimestamp,
        lastUpdateTimestamp: o.lastUpdateTimestamp,
        status: o.status,
        symbol: o.symbol,
        type: o.type,
        side: o.side,
        price: o.price,
        amount: o.amount,
        filled: o.filled,
        remaining: o.status === 'open' ? o.remaining : o.status === 'closed' ? '0' : o.remaining,
        cost: o.cost,
        average: Precise.stringGt(o.filled, '0') ? Precise.stringDiv(o.cost, o.filled) : undefined,
        fee: undefined,
        trades: undefined,
      },
      market,
    );
  }
}

interface Side {
  store(price: number, size: number): void;
}
