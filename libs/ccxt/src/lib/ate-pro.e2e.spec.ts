import { AteClient } from '@ate/client';
import { mulberry32 } from '@ate/contracts';
import { startTestExchange, TestExchange } from '@ate/db';
import * as ccxt from 'ccxt';
import type { Order, OrderBook } from 'ccxt';
import { AteProExchange } from './ate-pro';

const SYMBOL = 'CCP.1K/CREDIT';
const ID = 'CCP.1K-CREDIT';
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * CCXT Pro's watch* of AteProExchange against a real exchange process on real Postgres, over the plain-WebSocket
 * feed (/v1/ws), with CCXT's own WsClient: a bot watches a book and sees it equal the REST book; it sees its own
 * orders, fills and balances change; a corrupt book is a ChecksumError and the next watch resyncs.
 */
describe('AteProExchange: CCXT Pro watch* against the real exchange', () => {
  let ex: TestExchange;
  let maker: AteClient;
  let taker: AteClient;
  let keys: { apiKey: string; secret: string };
  let hostname: string;
  const bots: AteProExchange[] = [];
  const bot = (o: Record<string, unknown> = {}) => {
    const b = new AteProExchange({ ...keys, hostname, ...o });
    bots.push(b);
    return b;
  };

  /** Watches with `watch` until `done` holds of what it answered or of the cache (an update may have come between calls). */
  async function watchUntil<T>(what: string, watch: () => Promise<T>, done: (v: T | undefined) => boolean, cached?: () => T | undefined): Promise<T> {
    const t0 = Date.now();
    let v: T | undefined = cached?.();
    while (!done(v)) {
      if (Date.now() - t0 > 20_000) throw new Error(`timed out watching for ${what}: ${JSON.stringify(v)?.slice(0, 400)}`);
      v = (await Promise.race([watch(), wait(250).then(() => cached?.() ?? v)])) as T;
    }
    return v as T;
  }

  beforeAll(async () => {
    ex = await startTestExchange('ccxt_pro', { RATE_LIMIT_PER_KEY: '100000', ORDER_RATE_PER_AGENT: '100000', FEED_CONFLATE_MS: '5' });
    hostname = new URL(ex.url).host;
    const admin = new AteClient({ baseUrl: ex.url, ...ex.admin });
    await admin.defineAsset({ code: 'CCP.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'CCP.1K', tickSize: '0.01', lotSizeUnits: 1, initialPriceTicks: 1000, priceBandBps: 2000 });
    const a = await admin.createAgent({ name: 'pro-bot' });
    const b = await admin.createAgent({ name: 'pro-maker' });
    const t = await admin.createAgent({ name: 'pro-taker' });
    taker = new AteClient({ baseUrl: ex.url, ...t.apiKey! });
    await admin.deposit({ id: 't-c', agentId: t.id, asset: 'CREDIT', amount: '1000' });
    keys = { apiKey: a.apiKey!.keyId, secret: a.apiKey!.secret };
    maker = new AteClient({ baseUrl: ex.url, ...b.apiKey! });
    await admin.deposit({ id: 'a-c', agentId: a.id, asset: 'CREDIT', amount: '1000' });
    await admin.deposit({ id: 'b-t', agentId: b.id, asset: 'CCP.1K', amount: '1000' });
    await admin.deposit({ id: 'b-c', agentId: b.id, asset: 'CREDIT', amount: '10000' });
    for (const [side, price, quantity] of [
      ['sell', '10.00', '5'],
      ['sell', '10.10', '5'],
      ['buy', '9.90', '3'],
    ] as const)
      await maker.placeOrder({ market: ID, side, type: 'limit', price, quantity });
  }, 180_000);
  afterAll(async () => {
    for (const b of bots) await b.close();
    await ex?.stop();
  });

  const view = (ob: OrderBook) => ({ bids: ob.bids, asks: ob.asks, nonce: ob.nonce });

  it('describes its streams: ws url and the watch* it has', () => {
    const b = bot();
    expect(b.has).toMatchObject({ ws: true, watchOrderBook: true, watchTrades: true, watchOrders: true, watchBalance: true, watchMyTrades: true });
    expect((b.urls['api'] as Record<string, string>)['ws']).toBe('ws://{hostname}/v1/ws');
  });

  it('watchOrderBook: the book a bot watches equals the REST book at the same nonce, through many deltas', async () => {
    const b = bot();
    const first = await b.watchOrderBook(SYMBOL);
    const rest = await b.fetchOrderBook(SYMBOL, 1000);
    expect(view(first)).toEqual({ bids: rest.bids, asks: rest.asks, nonce: rest.nonce });
    expect(first.asks[0]).toEqual([10, 5]);

    // the maker rests and crosses (its own orders trade away: self-trade prevention cancels the resting one)
    const rnd = mulberry32(14);
    for (let i = 0; i < 40; i++) {
      const side = rnd() < 0.5 ? 'buy' : 'sell';
      const price = (9.8 + Math.floor(rnd() * 40) / 100).toFixed(2);
      await maker.placeOrder({ market: ID, side, type: 'limit', price, quantity: String(1 + Math.floor(rnd() * 5)) });
    }
    const target = await b.fetchOrderBook(SYMBOL, 1000);
    const seen = await watchUntil(
      'the REST nonce',
      () => b.watchOrderBook(SYMBOL),
      (ob) => ob?.nonce === target.nonce,
      () => b.orderbooks[SYMBOL] as unknown as OrderBook,
    );
    expect(view(seen)).toEqual({ bids: target.bids, asks: target.asks, nonce: target.nonce });
    // a limit trims what is answered, not what is kept
    const top = await watchUntil(
      'a limited book',
      async () => {
        await maker.placeOrder({ market: ID, side: 'buy', type: 'limit', price: '9.50', quantity: '1' });
        return b.watchOrderBook(SYMBOL, 1);
      },
      (ob) => ob !== undefined && ob.bids.length === 1,
    );
    expect(top.asks.length).toBeLessThanOrEqual(1);
  });

  it('a book that does not match its checksum is a ChecksumError; the next watch starts again from a snapshot', async () => {
    const b = bot();
    const ob = await b.watchOrderBook(SYMBOL);
    const url = b.implodeHostname((b.urls['api'] as Record<string, string>)['ws'] as string);
    const client = b.clients[url]!;
    const pending = b.watchOrderBook(SYMBOL);
    // a delta that continues the book but whose checksum is not the book's after it
    b.handleMessage(client as never, {
      event: 'book',
      data: {
        type: 'delta',
        market: ID,
        seq: (ob.nonce as number) + 1,
        prev: ob.nonce,
        bids: [['1.00', '1']],
        asks: [],
        checksum: 1,
        committedAt: Date.now(),
      },
    });
    await expect(pending).rejects.toBeInstanceOf(ccxt.ChecksumError);
    expect(b.orderbooks[SYMBOL]).toBeUndefined(); // the corrupt book is dropped
    // the watch that saw the error subscribed again: the server answers a snapshot
    const rest = await b.fetchOrderBook(SYMBOL, 1000);
    const again = await watchUntil(
      'a fresh snapshot',
      () => b.watchOrderBook(SYMBOL),
      (x) => x?.nonce === rest.nonce,
      () => b.orderbooks[SYMBOL] as unknown as OrderBook,
    );
    expect(view(again)).toEqual({ bids: rest.bids, asks: rest.asks, nonce: rest.nonce });
    expect(again.bids.map(([p]) => p)).not.toContain(1);
  });

  it('watchTrades: each trade with the id, price and amount fetchTrades gives it', async () => {
    const b = bot();
    await maker.cancelAll(ID);
    await maker.placeOrder({ market: ID, side: 'sell', type: 'limit', price: '10.00', quantity: '5' });
    const trades = b.watchTrades(SYMBOL);
    await b.watchTicker(SYMBOL); // answered at once: the trades subscription sent before it is in place
    const ask = (await b.fetchOrderBook(SYMBOL)).asks[0]!;
    await taker.placeOrder({ market: ID, side: 'buy', type: 'limit', price: ask[0]!.toFixed(2), quantity: '1', timeInForce: 'IOC' });
    const got = (await trades).at(-1)!;
    const rest = await b.fetchTrades(SYMBOL, undefined, 10);
    const same = rest.find((t) => t.id === got.id);
    expect(got).toMatchObject({ symbol: SYMBOL, side: 'buy', price: ask[0], amount: 1 });
    expect(same).toMatchObject({ id: got.id, price: got.price, amount: got.amount, side: got.side });
  });

  it('watchOrders, watchMyTrades, watchBalance: the bot sees its own orders, fills and balances as REST has them', async () => {
    await maker.cancelAll(ID);
    await maker.placeOrder({ market: ID, side: 'sell', type: 'limit', price: '10.00', quantity: '5' });
    const b = bot();
    const balance = await b.watchBalance(); // a REST snapshot once subscribed
    const rest0 = await b.fetchBalance();
    expect(balance['CREDIT']).toEqual(rest0['CREDIT']);
    const orders = b.watchOrders(SYMBOL);
    const placed = await b.createOrder(SYMBOL, 'limit', 'buy', 2, 9.5, { clientOrderId: 'pro-rest' });
    const open = (await orders).find((o) => o.id === placed.id);
    expect(open).toMatchObject({
      id: placed.id,
      symbol: SYMBOL,
      side: 'buy',
      type: 'limit',
      status: 'open',
      price: 9.5,
      amount: 2,
      filled: 0,
      remaining: 2,
    });
    const held = await watchUntil(
      'the credits held',
      () => b.watchBalance(),
      (x) => x?.['CREDIT']?.used === 19,
      () => b.balance as never,
    );
    expect(held['CREDIT']).toEqual((await b.fetchBalance())['CREDIT']);

    await b.cancelOrder(placed.id!, SYMBOL);
    const cancelled = await watchUntil(
      'the cancel',
      () => b.watchOrders(SYMBOL),
      (os) => os?.find((o: Order) => o.id === placed.id)?.status === 'canceled',
      () => b.orders as never,
    );
    expect(cancelled.find((o) => o.id === placed.id)).toMatchObject({ status: 'canceled', filled: 0 });

    // a taker: fills at the best ask; its order closes, the fill shows with its fee
    const myTrades = b.watchMyTrades(SYMBOL);
    const bestAsk = (await b.fetchOrderBook(SYMBOL)).asks[0]!;
    const taker = await b.createOrder(SYMBOL, 'limit', 'buy', 1, bestAsk[0], { timeInForce: 'IOC' });
    const fills = await myTrades;
    const fill = fills.find((t) => t.order === taker.id)!;
    const restFill = (await b.fetchMyTrades(SYMBOL)).find((t) => t.order === taker.id)!;
    expect(fill).toMatchObject({ id: restFill.id, order: taker.id, side: 'buy', takerOrMaker: 'taker', price: restFill.price, amount: 1 });
    expect(fill.fee).toEqual({ currency: restFill.fee!.currency, cost: restFill.fee!.cost });
    const closed = await watchUntil(
      'the taker closed',
      () => b.watchOrders(SYMBOL),
      (os) => os?.find((o: Order) => o.id === taker.id)?.status === 'closed',
      () => b.orders as never,
    );
    const restOrder = await b.fetchOrder(taker.id!, SYMBOL);
    expect(closed.find((o) => o.id === taker.id)).toMatchObject({
      status: restOrder.status,
      filled: restOrder.filled,
      remaining: restOrder.remaining,
      amount: restOrder.amount,
      average: restOrder.average,
    });
    const after = await watchUntil(
      'the balance after the fill',
      () => b.watchBalance(),
      (x) => x?.['CCP.1K']?.total === 1,
      () => b.balance as never,
    );
    const restAfter = await b.fetchBalance();
    expect({ CREDIT: after['CREDIT'], 'CCP.1K': after['CCP.1K'] }).toEqual({ CREDIT: restAfter['CREDIT'], 'CCP.1K': restAfter['CCP.1K'] });
  });

  it('refusals surface as CCXT classes: a bad key is an AuthenticationError, with no key the private watch asks for one', async () => {
    await expect(bot({ secret: 'not-the-secret' }).watchOrders(SYMBOL)).rejects.toBeInstanceOf(ccxt.AuthenticationError);
    await expect(bot({ apiKey: undefined, secret: undefined }).watchBalance()).rejects.toBeInstanceOf(ccxt.AuthenticationError);
    // the public channels need no key
    const anon = bot({ apiKey: undefined, secret: undefined });
    expect((await anon.watchOrderBook(SYMBOL)).symbol).toBe(SYMBOL);
  });
});
