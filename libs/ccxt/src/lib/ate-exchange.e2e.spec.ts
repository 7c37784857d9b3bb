import { AteClient } from '@ate/client';
import { ERROR_CODES } from '@ate/contracts';
import { startTestExchange, TestExchange } from '@ate/db';
import * as ccxt from 'ccxt';
import { ATE_CCXT_ERRORS, AteExchange } from './ate-exchange';

const SYMBOL = 'CCX.1K/CREDIT';
const ID = 'CCX.1K-CREDIT';

/**
 * Real CCXT (the npm package) against a real exchange process on real Postgres: a bot written as for any CCXT
 * venue, then each refusal surfacing as CCXT's error class.
 */
describe('AteExchange: CCXT against the real exchange', () => {
  let ex: TestExchange;
  let admin: AteClient;
  let bobClient: AteClient;
  let keys: { apiKey: string; secret: string };
  let hostname: string;

  beforeAll(async () => {
    ex = await startTestExchange('ccxt', { RATE_LIMIT_PER_KEY: '100000', ORDER_RATE_PER_AGENT: '25', ORDER_RATE_WINDOW_MS: '1000' });
    hostname = new URL(ex.url).host;
    admin = new AteClient({ baseUrl: ex.url, ...ex.admin });
    await admin.defineAsset({ code: 'CCX.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({
      base: 'CCX.1K',
      tickSize: '0.01',
      lotSizeUnits: 1,
      initialPriceTicks: 1000,
      priceBandBps: 2000,
      makerFeeBps: 10,
      takerFeeBps: 20,
    });
    const a = await admin.createAgent({ name: 'bot' });
    const b = await admin.createAgent({ name: 'maker' });
    keys = { apiKey: a.apiKey!.keyId, secret: a.apiKey!.secret };
    bobClient = new AteClient({ baseUrl: ex.url, ...b.apiKey! });
    await admin.deposit({ id: 'a-c', agentId: a.id, asset: 'CREDIT', amount: '1000' });
    await admin.deposit({ id: 'a-t', agentId: a.id, asset: 'CCX.1K', amount: '10' });
    await admin.deposit({ id: 'b-t', agentId: b.id, asset: 'CCX.1K', amount: '100' });
    await admin.deposit({ id: 'b-c', agentId: b.id, asset: 'CREDIT', amount: '1000' });
    for (const [price, q] of [
      ['10.00', '5'],
      ['10.10', '5'],
      ['10.20', '20'],
    ])
      await bobClient.placeOrder({ market: ID, side: 'sell', type: 'limit', price, quantity: q });
  }, 180_000);
  afterAll(async () => {
    await ex?.stop();
  });

  const bot = (o: Record<string, unknown> = {}) => new AteExchange({ ...keys, hostname, rateLimit: 60, ...o });

  it('describes itself: capabilities, api map, and markets with precision from tick and lot', async () => {
    const e = bot();
    expect(e.id).toBe('ate');
    expect(e.has).toMatchObject({
      fetchOrderBook: true,
      createOrder: true,
      fetchOHLCV: true,
      fetchClosedOrders: true,
      watchOrderBook: false,
      margin: false,
    });
    const markets = await e.loadMarkets();
    expect(markets[SYMBOL]).toMatchObject({
      id: ID,
      symbol: SYMBOL,
      base: 'CCX.1K',
      quote: 'CREDIT',
      spot: true,
      active: true,
      precision: { price: 0.01, amount: 1, cost: 0.001 },
      limits: { amount: { min: 1 }, price: { min: 0.01 } },
      maker: 0.001,
      taker: 0.002,
    });
    expect(Math.abs((await e.fetchTime())! - Date.now())).toBeLessThan(5000);
  });

  it('a bot trades, cancels and reads back, as on any CCXT venue', async () => {
    const e = bot();
    await e.loadMarkets();
    const book = await e.fetchOrderBook(SYMBOL, 10);
    expect(book.asks[0]).toEqual([10, 5]);
    expect(book.bids).toEqual([]);
    expect(book.nonce).toBeGreaterThan(0);

    // rest a bid, see it open and in the balance, amend it, cancel it
    const bid = await e.createOrder(SYMBOL, 'limit', 'buy', 3, 9.5, { clientOrderId: 'bot-bid-1' });
    expect(bid).toMatchObject({
      symbol: SYMBOL,
      type: 'limit',
      side: 'buy',
      price: 9.5,
      amount: 3,
      filled: 0,
      remaining: 3,
      status: 'open',
      clientOrderId: 'bot-bid-1',
    });
    expect(typeof bid.timestamp).toBe('number');
    expect((await e.fetchOpenOrders(SYMBOL)).map((o) => o.id)).toEqual([bid.id]);
    expect((await e.fetchBalance())['CREDIT']).toMatchObject({ free: 971.5, used: 28.5, total: 1000 });
    const edited = await e.editOrder(bid.id!, SYMBOL, 'limit', 'buy', 2, 9.6);
    expect(edited).toMatchObject({ id: bid.id, price: 9.6, remaining: 2 });
    expect((await e.fetchOrder(bid.id!, SYMBOL)).price).toBe(9.6);
    expect((await e.fetchOrder(undefined as unknown as string, SYMBOL, { clientOrderId: 'bot-bid-1' })).id).toBe(bid.id);
    expect(await e.cancelOrder(bid.id!, SYMBOL)).toMatchObject({ id: bid.id, status: 'canceled' });

    // take liquidity: a limit buy that crosses, a market buy by quantity, a market buy by cost (spend)
    const since = Date.now() - 1;
    const take = await e.createOrder(SYMBOL, 'limit', 'buy', 2, 10, { timeInForce: 'IOC' });
    expect(take).toMatchObject({ status: 'closed', filled: 2, cost: 20, average: 10 });
    const mkt = await e.createOrder(SYMBOL, 'market', 'buy', 4);
    expect(mkt).toMatchObject({ status: 'closed', filled: 4, cost: 40.1 }); // 3 at 10.00, 1 at 10.10
    const spent = await e.createMarketBuyOrderWithCost(SYMBOL, 25);
    expect(spent).toMatchObject({ type: 'market', side: 'buy', filled: 2, cost: 20.2 }); // whole lots only: 2 at 10.10 (a third would pass 25)
    // sell back with a post-only ask above the book, then cancel everything
    const ask = await e.createOrder(SYMBOL, 'limit', 'sell', 1, 12, { postOnly: true });
    expect(ask).toMatchObject({ status: 'open', postOnly: true, timeInForce: 'PO' });
    const cancelled = await e.cancelAllOrders(SYMBOL);
    expect(cancelled.map((o) => [o.id, o.status])).toEqual([[ask.id, 'canceled']]);

    // read back: my trades since the first take (oldest first), closed and canceled orders, balances, ticker, trades, candles
    const mine = await e.fetchMyTrades(SYMBOL, since);
    expect(mine.map((t) => [t.side, t.takerOrMaker, t.price, t.amount])).toEqual([
      ['buy', 'taker', 10, 2],
      ['buy', 'taker', 10, 3],
      ['buy', 'taker', 10.1, 1],
      ['buy', 'taker', 10.1, 2],
    ]);
    expect(mine[0]!.fee).toMatchObject({ currency: 'CCX.1K' });
    expect(mine.every((t) => t.timestamp! >= since)).toBe(true);
    expect((await e.fetchClosedOrders(SYMBOL)).map((o) => o.id).sort()).toEqual([take.id, mkt.id, spent.id].sort()); // a spend-sized order that used all it could is closed
    expect((await e.fetchCanceledOrders(SYMBOL)).map((o) => o.id)).toEqual(expect.arrayContaining([bid.id, ask.id]));
    const all = await e.fetchOrders(SYMBOL, since);
    expect(all.map((o) => o.id)).toEqual([take.id, mkt.id, spent.id, ask.id]); // oldest first from since
    const bal = await e.fetchBalance();
    const fees = mine.reduce((s, t) => s + (t.fee?.cost ?? 0), 0); // paid in the base asset, rounded up per order
    expect(fees).toBeGreaterThan(0);
    expect(bal['CCX.1K']).toMatchObject({ total: 10 + 8 - fees, used: 0 });
    expect((bal['CREDIT'] as { free: number }).free).toBeCloseTo(1000 - 20 - 40.1 - 20.2, 6);
    const ticker = await e.fetchTicker(SYMBOL);
    expect(ticker).toMatchObject({ symbol: SYMBOL, last: 10.1, high: 10.1, low: 10, baseVolume: 8, ask: 10.1 });
    const trades = await e.fetchTrades(SYMBOL, since);
    expect(trades.map((t) => t.price)).toEqual([10, 10, 10.1, 10.1]);
    const candles = await e.fetchOHLCV(SYMBOL, '1m', undefined, 5);
    expect(candles.reduce((s, c) => s + (c[5] as number), 0)).toBe(8);
    expect(candles.at(-1)![4]).toBe(10.1);
  });

  describe('each refusal surfaces as the CCXT error class', () => {
    it.each([
      ['InsufficientFunds', (e: AteExchange) => e.createOrder(SYMBOL, 'limit', 'buy', 1000, 11), ccxt.InsufficientFunds],
      ['InvalidOrder (outside the price band)', (e: AteExchange) => e.createOrder(SYMBOL, 'limit', 'buy', 1, 1), ccxt.InvalidOrder],
      ['OrderNotFound (no such order)', (e: AteExchange) => e.cancelOrder('999999', SYMBOL), ccxt.OrderNotFound],
      [
        'OrderImmediatelyFillable (post-only would cross)',
        (e: AteExchange) => e.createOrder(SYMBOL, 'limit', 'buy', 1, 10.2, { postOnly: true }),
        ccxt.OrderImmediatelyFillable,
      ],
      ['OrderNotFillable (FOK)', (e: AteExchange) => e.createOrder(SYMBOL, 'limit', 'buy', 30, 10.2, { timeInForce: 'FOK' }), ccxt.OrderNotFillable],
      ['AuthenticationError (wrong secret)', () => bot({ secret: 'not-the-secret' }).fetchBalance(), ccxt.AuthenticationError],
      ['InvalidNonce (clock a minute off)', () => bot({ options: { timeDifference: 60_000 } }).fetchBalance(), ccxt.InvalidNonce],
      ['BadRequest (a filter the exchange refuses)', (e: AteExchange) => e.fetchOrders(SYMBOL, -5), ccxt.BadRequest],
    ])('%s', async (_name, f, cls) => {
      const e = bot();
      await e.loadMarkets();
      const err = await f(e).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(err).toBeInstanceOf(cls);
      expect(String((err as Error).message)).toMatch(/^ate \{"error":\{"code":"[A-Z_]+"/); // the exchange's body verbatim
    });

    it('DuplicateOrderId: the same clientOrderId with another body; the same body again is the same order', async () => {
      const e = bot();
      await e.loadMarkets();
      const first = await e.createOrder(SYMBOL, 'limit', 'buy', 1, 9, { clientOrderId: 'bot-dup' });
      expect((await e.createOrder(SYMBOL, 'limit', 'buy', 1, 9, { clientOrderId: 'bot-dup' })).id).toBe(first.id);
      await expect(e.createOrder(SYMBOL, 'limit', 'buy', 2, 9, { clientOrderId: 'bot-dup' })).rejects.toBeInstanceOf(ccxt.DuplicateOrderId);
      await e.cancelOrder(first.id!);
    });

    it('MarketClosed: a halted market', async () => {
      const e = bot();
      await e.loadMarkets();
      await admin.post(`/v1/admin/markets/${ID}/state`, { state: 'halted' });
      try {
        await expect(e.createOrder(SYMBOL, 'limit', 'buy', 1, 9)).rejects.toBeInstanceOf(ccxt.MarketClosed);
      } finally {
        await admin.post(`/v1/admin/markets/${ID}/state`, { state: 'open' });
      }
    });

    it('RateLimitExceeded: more orders a second than the agent may place', async () => {
      const e = bot({ enableRateLimit: false });
      await e.loadMarkets();
      const results = await Promise.allSettled(Array.from({ length: 40 }, () => e.createOrder(SYMBOL, 'limit', 'buy', 1, 9)));
      const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      expect(refused.length).toBeGreaterThan(0);
      for (const x of refused) expect(x).toBeInstanceOf(ccxt.RateLimitExceeded);
      await new Promise((r) => setTimeout(r, 1100));
      await e.cancelAllOrders(SYMBOL);
    });

    it('every mapped code is one of ours and maps as the table says (handleErrors on the exchange body)', () => {
      const e = bot();
      for (const [code, cls] of Object.entries(ATE_CCXT_ERRORS)) {
        expect(Object.keys(ERROR_CODES)).toContain(code);
        const body = JSON.stringify({ error: { code, message: 'm', details: {} } });
        expect(() => e.handleErrors(400, '', '', 'GET', {}, body, JSON.parse(body))).toThrow(cls);
      }
      // a code without a mapping is an ExchangeError; a success body is no error
      const other = JSON.stringify({ error: { code: 'LEDGER_UNBALANCED', message: 'm' } });
      expect(() => e.handleErrors(400, '', '', 'GET', {}, other, JSON.parse(other))).toThrow(ccxt.ExchangeError);
      expect(e.handleErrors(200, '', '', 'GET', {}, '{}', {})).toBeUndefined();
    });
  });
});
