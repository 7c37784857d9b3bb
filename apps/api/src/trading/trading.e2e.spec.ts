import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import type { AppConfig } from '../config/config';
import { startTestApp, TEST_ADMIN, testConfig } from '../testing/test-app';

const M = 'GPT-X.1K-CREDIT'; // the market id; requests take its symbol too (below)
const SYMBOL = 'GPT-X.1K/CREDIT'; // and the tables key it by its symbol

/**
 * Trading end to end on real Postgres: agents place orders over signed REST, the in-process engine matches,
 * each batch commits commands, orders, trades and ledger settlements in one transaction; a restart replays
 * the command log and rebuilds the same book.
 */
describe('trading end to end (real Postgres, real HTTP)', () => {
  let db: TestDatabase;
  let config: AppConfig;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  let alice: AteClient;
  let bob: AteClient;
  let aliceId: string;
  let bobId: string;

  async function boot(): Promise<void> {
    ({ app, url, admin } = await startTestApp(config));
  }

  beforeAll(async () => {
    db = await createTestDatabase('trading');
    config = testConfig(db);
    await boot();
    await admin.defineAsset({ code: 'GPT-X.1K', scale: 0, model: 'gpt-x', provider: 'acme-ai', tokenClass: 'output-1k' });
    // a tick is 0.001 credit per lot; a lot is one allowance of 1,000 tokens
    await admin.createMarket({ base: 'GPT-X.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 2000, priceBandBps: 5000 });
    const a = await admin.createAgent({ name: 'alice' });
    const b = await admin.createAgent({ name: 'bob' });
    aliceId = a.id;
    bobId = b.id;
    alice = new AteClient({ baseUrl: url, ...a.apiKey! });
    bob = new AteClient({ baseUrl: url, ...b.apiKey! });
    await admin.deposit({ id: 'alice-credits', agentId: aliceId, asset: 'CREDIT', amount: '1000' });
    await admin.deposit({ id: 'bob-tokens', agentId: bobId, asset: 'GPT-X.1K', amount: '500' });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });
  afterEach(async () => {
    expect(await admin.reconciliation()).toMatchObject({ ok: true, violations: [] });
  });

  it('lists the market with its rules', async () => {
    const { markets } = await alice.markets();
    expect(markets).toEqual([
      expect.objectContaining({
        id: M,
        symbol: SYMBOL,
        base: 'GPT-X.1K',
        quote: 'CREDIT',
        state: 'open',
        tickSize: '0.001',
        lotSize: '1',
        referencePrice: '2.000',
      }),
    ]);
  });

  it('a market is named by its id, unencoded in a path, or by its symbol; answers always name it by its id', async () => {
    // [path segment, status]: the id as is; the symbol URL-encoded; the symbol's slash unencoded is another path
    const cases: [string, number][] = [
      ['GPT-X.1K-CREDIT', 200],
      ['GPT-X.1K%2FCREDIT', 200],
      ['GPT-X.1K/CREDIT', 404],
      ['GPT-X.1K', 404],
      ['gpt-x.1k-credit', 404],
    ];
    for (const [segment, status] of cases) {
      const r = await alice.raw('GET', `/v1/markets/${segment}/book`, undefined, { signed: false });
      expect([segment, r.status, r.status === 200 ? (r.body as { market: string }).market : null]).toEqual([
        segment,
        status,
        status === 200 ? M : null,
      ]);
    }
    for (const market of [M, SYMBOL]) {
      const t = await alice.testOrder({ market, side: 'buy', type: 'limit', price: '1.000', quantity: '1' });
      expect(t).toMatchObject({ valid: true, market: M });
    }
  });

  it('a resting sell and a crossing buy trade at the maker price; balances settle in the ledger', async () => {
    const sell = await bob.placeOrder({ market: M, side: 'sell', type: 'limit', price: '2.000', quantity: '100', clientOrderId: 'bob-s1' });
    expect(sell).toMatchObject({ status: 'open', price: '2.000', quantity: '100', remaining: '100', filled: '0' });
    expect(await bob.balances()).toMatchObject({ balances: { 'GPT-X.1K': { total: '500' } } });
    const book = await alice.book(M);
    expect(book.asks).toEqual([['2.000', '100']]);

    const buy = await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.100', quantity: '40' });
    expect(buy).toMatchObject({ status: 'closed', filled: '40', remaining: '0', cost: '80.000', averagePrice: '2.000' });
    expect(await bob.getOrder(sell.id)).toMatchObject({ status: 'open', filled: '40', remaining: '60' });

    expect((await alice.balances()).balances).toEqual({
      CREDIT: { free: '920.000', used: '0.000', total: '920.000' },
      'GPT-X.1K': { free: '40', used: '0', total: '40' },
    });
    expect((await bob.balances()).balances).toEqual({
      CREDIT: { free: '80.000', used: '0.000', total: '80.000' },
      'GPT-X.1K': { free: '400', used: '60', total: '460' }, // 60 lots still offered
    });
    const t = await alice.trades(M);
    expect(t.trades[0]).toMatchObject({ price: '2.000', amount: '40', cost: '80.000', takerSide: 'buy' });
    expect((await bob.fills()).fills[0]).toMatchObject({ orderId: sell.id, side: 'sell', takerOrMaker: 'maker', amount: '40' });
  });

  it('the same clientOrderId again returns the same order and places nothing', async () => {
    const again = await bob.placeOrder({ market: M, side: 'sell', type: 'limit', price: '2.000', quantity: '100', clientOrderId: 'bob-s1' });
    expect(again).toMatchObject({ clientOrderId: 'bob-s1', remaining: '60' });
    expect((await bob.listOrders({ status: 'open' })).orders).toHaveLength(1);
    expect((await bob.getOrderByClientId('bob-s1')).id).toBe(again.id);
  });

  it('the order test endpoint says what an order would hold and places nothing', async () => {
    const before = await alice.book(M);
    expect(await alice.testOrder({ market: M, side: 'buy', type: 'limit', price: '1.500', quantity: '4' })).toEqual({
      valid: true,
      market: M,
      hold: { asset: 'CREDIT', amount: '6.000' },
      fee: { asset: 'GPT-X.1K', maxAmount: '0', makerBps: 0, takerBps: 0 },
    });
    expect(await alice.testOrder({ market: M, side: 'sell', type: 'market', quantity: '3' })).toMatchObject({
      hold: { asset: 'GPT-X.1K', amount: '3' },
    });
    await expect(alice.testOrder({ market: M, side: 'buy', type: 'limit', price: '1.5005', quantity: '1' })).rejects.toMatchObject({ status: 400 });
    expect(await alice.book(M)).toEqual(before);
  });

  it('a market order by spend never spends more than the cap', async () => {
    const o = await alice.placeOrder({ market: M, side: 'buy', type: 'market', spend: '9.999' });
    // 4 lots at 2.000 = 8.000; a fifth would cost 10.000: it used all it could, so it is filled
    expect(o).toMatchObject({ status: 'closed', filled: '4', cost: '8.000', spend: '9.999', reason: null });
  });

  it.each(
    [
      ['a price off the tick', { market: M, side: 'buy', type: 'limit', price: '2.0005', quantity: '1' }, 400, 'AMOUNT_TOO_MANY_DECIMALS'],
      ['a price beyond the band', { market: M, side: 'buy', type: 'limit', price: '9.000', quantity: '1' }, 422, 'MATCHING_PRICE_OUTSIDE_BAND'],
      ['more than the balance', { market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '100000' }, 422, 'MATCHING_INSUFFICIENT_FUNDS'],
      ['an unknown market', { market: 'NOPE/CREDIT', side: 'buy', type: 'limit', price: '2.000', quantity: '1' }, 404, 'NOT_FOUND'],
      ['a quantity of zero', { market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '0' }, 400, 'MATCHING_INVALID_SIZE'],
      ['a float price', { market: M, side: 'buy', type: 'limit', price: 2, quantity: '1' }, 400, 'VALIDATION_FAILED'],
      ['a market order with a price', { market: M, side: 'buy', type: 'market', price: '2.000', quantity: '1' }, 400, 'VALIDATION_FAILED'],
      [
        'post-only that would cross',
        { market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '1', postOnly: true },
        422,
        'MATCHING_POST_ONLY_WOULD_CROSS',
      ],
    ].map(([n, b, s, c]) => [n, s, c, b] as const),
  )('%s -> %i %s; book and balances unchanged', async (_n, status, code, body) => {
    const before = [await alice.balances(), await alice.book(M)];
    const r = await alice.raw<any>('POST', '/v1/orders', body);
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    const after = [await alice.balances(), await alice.book(M)];
    expect({ ...after, 1: { ...(after[1] as object), seq: 0 } }).toEqual({ ...before, 1: { ...(before[1] as object), seq: 0 } });
  });

  it("cancelling another agent's order answers like an unknown id", async () => {
    const open = (await bob.listOrders({ status: 'open' })).orders[0]!;
    const r = await alice.raw<any>('DELETE', `/v1/orders/${open.id}`);
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('MATCHING_UNKNOWN_ORDER');
    const unknown = await alice.raw<any>('DELETE', '/v1/orders/999999');
    // the same answer but for the id it echoes
    expect(unknown.body).toEqual({ error: { ...r.body.error, details: { orderId: '999999' } } });
  });

  it('a buy holds its credits until cancelled; a withdrawal cannot take held funds', async () => {
    const o = await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.500', quantity: '10' });
    expect(o.status).toBe('open');
    // the engine holds 15.000 credits of alice's 912.000, and the balance shows it as used
    expect((await alice.balances()).balances['CREDIT']).toEqual({ free: '897.000', used: '15.000', total: '912.000' });
    await expect(admin.withdraw({ id: 'alice-wd-all', agentId: aliceId, asset: 'CREDIT', amount: '912' })).rejects.toMatchObject({ status: 422 });
    const c = await alice.cancelOrder(o.id);
    expect(c).toMatchObject({ status: 'canceled', reason: 'MATCHING_CANCEL_BY_OWNER', remaining: '0' });
    const w = await admin.withdraw({ id: 'alice-wd-1', agentId: aliceId, asset: 'CREDIT', amount: '12' });
    expect(w.amount).toBe('12.000');
  });

  it('amend: a size decrease keeps priority, a price change loses it, a crossing price is refused', async () => {
    const o = await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.400', quantity: '6' });
    const smaller = await alice.amendOrder(o.id, { quantity: '4' });
    expect(smaller).toMatchObject({ keptPriority: true, remaining: '4', price: '1.400', status: 'open' });
    expect((await alice.balances()).balances['CREDIT']?.used).toBe('5.600');
    const moved = await alice.amendOrder(o.id, { price: '1.300' });
    expect(moved).toMatchObject({ keptPriority: false, remaining: '4', price: '1.300' });
    await expect(alice.amendOrder(o.id, { price: '2.000' })).rejects.toMatchObject({ status: 422, code: 'MATCHING_AMEND_WOULD_CROSS' });
    expect((await alice.getOrder(o.id)).price).toBe('1.300');
    await expect(alice.amendOrder(o.id, {})).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    await expect(bob.amendOrder(o.id, { quantity: '1' })).rejects.toMatchObject({ status: 404, code: 'MATCHING_UNKNOWN_ORDER' });
    await alice.cancelOrder(o.id);
  });

  it('maker and taker fees come out of what each side receives, into the fees accounts', async () => {
    await admin.defineAsset({ code: 'FEE.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'FEE.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, makerFeeBps: 10, takerFeeBps: 20 });
    const F = 'FEE.1K/CREDIT';
    await admin.deposit({ id: 'bob-fee-tokens', agentId: bobId, asset: 'FEE.1K', amount: '1000' });
    const aliceBefore = (await alice.balances()).balances['CREDIT']!.total;
    const bobBefore = (await bob.balances()).balances['CREDIT']!.total;
    await bob.placeOrder({ market: F, side: 'sell', type: 'limit', price: '1.000', quantity: '500' }); // maker
    const t = await alice.placeOrder({ market: F, side: 'buy', type: 'limit', price: '1.000', quantity: '500' }); // taker
    expect(t).toMatchObject({ status: 'closed', cost: '500.000' });
    // alice (taker, buyer) pays 20 bps of the 500 lots she receives (1 lot); bob (maker, seller) 10 bps of 500.000 credits
    const a = (await alice.balances()).balances;
    expect(a['FEE.1K']).toEqual({ free: '499', used: '0', total: '499' });
    expect(BigInt(a['CREDIT']!.total.replace('.', ''))).toBe(BigInt(aliceBefore.replace('.', '')) - 500_000n);
    const b = (await bob.balances()).balances;
    expect(BigInt(b['CREDIT']!.total.replace('.', ''))).toBe(BigInt(bobBefore.replace('.', '')) + 499_500n);
    const fees = await db.pool.query(
      `SELECT asset, balance::text FROM ledger_account WHERE owner_kind = 'system' AND owner_id = 'fees' AND balance > 0 ORDER BY asset`,
    );
    expect(fees.rows).toEqual([
      { asset: 'CREDIT', balance: '500' },
      { asset: 'FEE.1K', balance: '1' },
    ]);
    const fill = (await alice.fills()).fills.find((f) => f.id.startsWith('FEE.1K-CREDIT:'));
    expect(fill).toMatchObject({ takerOrMaker: 'taker', fee: { currency: 'FEE.1K', cost: '1' } });
    const market = (await alice.markets()).markets.find((m) => m.symbol === F) as unknown as { fees: { makerBps: number; takerBps: number } };
    expect(market.fees).toMatchObject({ makerBps: 10, takerBps: 20 });
  });

  it('24-hour statistics come from the trades', async () => {
    const s = await alice.stats(M);
    expect(s).toMatchObject({
      market: M,
      open: '2.000',
      last: '2.000',
      high: '2.000',
      low: '2.000',
      baseVolume: '44',
      quoteVolume: '88.000',
      trades: 2,
      ask: '2.000',
    });
  });

  it('a GTD order expires on time, with no other command to carry time forward', async () => {
    const expiresAt = Date.now() + 600;
    const o = await alice.placeOrder({
      market: M,
      side: 'buy',
      type: 'limit',
      price: '1.000',
      quantity: '3',
      timeInForce: 'GTD',
      expiresAt,
    });
    expect(o.status).toBe('open');
    expect((await alice.balances()).balances['CREDIT']?.used).toBe('3.000');
    // the engine's timer expires it at expiresAt: polled, as a loaded machine runs timers late
    for (let t0 = Date.now(); (await alice.getOrder(o.id)).status === 'open' && Date.now() - t0 < 10_000; )
      await new Promise((r) => setTimeout(r, 100));
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    expect(await alice.getOrder(o.id)).toMatchObject({ status: 'expired', remaining: '0' });
    expect((await alice.balances()).balances['CREDIT']?.used).toBe('0.000');
  });

  it("the dead-man's switch cancels every open order when heartbeats stop", async () => {
    const o = await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '2' });
    const hb = await alice.cancelAfter(3000);
    expect(hb.triggerTime! - hb.currentTime).toBe(3000);
    await new Promise((r) => setTimeout(r, 1000));
    const again = await alice.cancelAfter(3000); // a heartbeat in time keeps the orders
    await new Promise((r) => setTimeout(r, 2200)); // past the first trigger time, 0.8 s before the second
    expect(Date.now()).toBeGreaterThan(hb.triggerTime!);
    expect((await alice.getOrder(o.id)).status).toBe('open');
    // no heartbeat: the switch lapses at the second trigger time (polled: a loaded machine runs timers late)
    for (let t0 = Date.now(); (await alice.getOrder(o.id)).status === 'open' && Date.now() - t0 < 10_000; )
      await new Promise((r) => setTimeout(r, 100));
    expect(Date.now()).toBeGreaterThanOrEqual(again.triggerTime!);
    expect(await alice.getOrder(o.id)).toMatchObject({ status: 'canceled', reason: 'MATCHING_CANCEL_ALL' });
    await expect(alice.cancelAfter(500)).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect((await alice.cancelAfter(0)).triggerTime).toBeNull();
  });

  it('a burst reusing clientOrderIds and transfer ids across overlapping batches places and moves each id once', async () => {
    // five keys of one agent send the same bodies at once (distinct keys, so the signatures differ); the host
    // runs them over several batches, one committing while the next executes
    // the admin's clients differ in clock offset, so their signatures differ too
    const admins = Array.from({ length: 5 }, (_, i) => new AteClient({ baseUrl: url, ...TEST_ADMIN, clockOffsetMs: -600 * i }));
    const keys = await Promise.all(admins.map((a) => a.issueAgentKey(aliceId)));
    const clients = keys.map((k) => new AteClient({ baseUrl: url, ...k }));
    const ids = Array.from({ length: 30 }, (_, i) => `burst-${i}`); // 150 orders: within the agent's 200 a second
    const placed = await Promise.all(
      ids.flatMap((cid) =>
        clients.map((c) => c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '1', clientOrderId: cid })),
      ),
    );
    const byCid = new Map<string, Set<string>>();
    for (const o of placed) byCid.set(o.clientOrderId as string, (byCid.get(o.clientOrderId as string) ?? new Set()).add(o.id));
    expect([...byCid.keys()].sort()).toEqual([...ids].sort());
    for (const set of byCid.values()) expect(set.size).toBe(1);
    const rows = await db.pool.query(`SELECT count(*)::int AS n FROM trading_order WHERE agent_id = $1 AND client_order_id LIKE 'burst-%'`, [
      aliceId,
    ]);
    expect(rows.rows[0].n).toBe(30);

    const before = (await alice.balances()).balances['CREDIT']?.total;
    await Promise.all(
      Array.from({ length: 4 }, (_, i) => `burst-dep-${i}`).flatMap((id) =>
        admins.map((a) => a.deposit({ id, agentId: aliceId, asset: 'CREDIT', amount: '3' })),
      ),
    );
    expect(Number((await alice.balances()).balances['CREDIT']?.total) - Number(before)).toBe(12);
    for (const set of byCid.values()) await alice.cancelOrder([...set][0] as string);
  });

  it('after a restart the engine replays its log and the book is the same', async () => {
    await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.900', quantity: '7', clientOrderId: 'a-rest' });
    const before = await alice.book(M);
    await app.close();
    await boot();
    alice = new AteClient({ baseUrl: url, ...(await admin.issueAgentKey(aliceId)) });
    const after = await alice.book(M);
    expect(after).toEqual(before);
    expect((await alice.getOrderByClientId('a-rest')).status).toBe('open');
    // and trading goes on: bob's sell trades against alice's bid placed before the restart
    bob = new AteClient({ baseUrl: url, ...(await admin.issueAgentKey(bobId)) });
    const hit = await bob.placeOrder({ market: M, side: 'sell', type: 'limit', price: '1.900', quantity: '2', timeInForce: 'IOC' });
    expect(hit).toMatchObject({ status: 'closed', filled: '2', cost: '3.800' });
    const cancelled = await alice.cancelAll();
    expect(cancelled.cancelled.length).toBe(1);
    expect((await alice.book(M)).bids).toEqual([]);
  });

  it('recovery checks the state hash: a book that does not replay to its checkpoint is not served', async () => {
    await app.close(); // a clean shutdown leaves a checkpoint at the last command
    const cp = await db.pool.query('SELECT command_seq, state_hash FROM engine_checkpoint WHERE market_id = $1', [SYMBOL]);
    const last = await db.pool.query('SELECT max(seq) AS seq FROM engine_command');
    expect(cp.rows[0].command_seq).toBe(last.rows[0].seq);
    await boot();
    expect((await fetch(`${url}/ready`)).status).toBe(200); // verified, serving

    await app.close();
    await db.pool.query(`UPDATE engine_checkpoint SET state_hash = 'tampered' WHERE market_id = $1`, [SYMBOL]);
    await boot();
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { engine: { ok: boolean } } }).checks.engine.ok).toBe(false);
    alice = new AteClient({ baseUrl: url, ...(await admin.issueAgentKey(aliceId)) });
    const refused = await alice.raw<{ error: { code: string } }>('POST', '/v1/orders', {
      market: M,
      side: 'buy',
      type: 'limit',
      price: '1.000',
      quantity: '1',
    });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('SERVICE_UNAVAILABLE');

    await app.close();
    await db.pool.query('UPDATE engine_checkpoint SET state_hash = $2 WHERE market_id = $1', [SYMBOL, cp.rows[0].state_hash]);
    await boot();
    expect((await fetch(`${url}/ready`)).status).toBe(200);
  });
});
