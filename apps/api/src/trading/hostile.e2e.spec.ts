import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteClient } from '@ate/client';
import { deriveSigningKey, signRequest } from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { startTestApp, testConfig } from '../testing/test-app';

const M = 'HOS.1K/CREDIT';
const ME = encodeURIComponent(M);

interface Hostile {
  name: string;
  /** the request: [method, path, body (object or raw string), headers override] */
  send: () => Promise<{ status: number; body: any }>;
  status: number;
  code: string;
}

/**
 * Hostile input on the trading path, one row each: the status, the stable code, and that nothing changed
 * (balances of both agents, the book, the journal and the order table).
 */
describe('hostile requests change nothing (real Postgres, real HTTP)', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  let alice: AteClient;
  let bob: AteClient;
  let aliceKey: { keyId: string; secret: string };
  let bobOrderId: string;
  let aliceId: string;

  beforeAll(async () => {
    db = await createTestDatabase('hostile');
    ({ app, url, admin } = await startTestApp(testConfig(db, { BODY_LIMIT_BYTES: '4096' })));
    await admin.defineAsset({ code: 'HOS.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'HOS.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, priceBandBps: 1000, maxOrderLots: 1000 });
    const a = await admin.createAgent({ name: 'alice' });
    const b = await admin.createAgent({ name: 'bob' });
    aliceKey = a.apiKey!;
    aliceId = a.id;
    alice = new AteClient({ baseUrl: url, ...aliceKey });
    bob = new AteClient({ baseUrl: url, ...b.apiKey! });
    await admin.deposit({ id: 'a-c', agentId: a.id, asset: 'CREDIT', amount: '100' });
    await admin.deposit({ id: 'b-t', agentId: b.id, asset: 'HOS.1K', amount: '100' });
    bobOrderId = (await bob.placeOrder({ market: M, side: 'sell', type: 'limit', price: '1.050', quantity: '10' })).id;
    await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '0.950', quantity: '10', clientOrderId: 'alice-bid' });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const order = (o: Record<string, unknown>) => ({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '1', ...o });
  const post = (c: AteClient, path: string, body: unknown) => c.raw<any>('POST', path, body);
  const raw = async (method: string, path: string, body: string | undefined, headers: Record<string, string>) => {
    const res = await fetch(url + path, { method, headers, body });
    return { status: res.status, body: await res.json() };
  };
  const signedRaw = (method: string, path: string, body: string, extra: Record<string, string> = {}) => {
    const ts = String(Date.now());
    const sig = signRequest(deriveSigningKey(aliceKey.secret), ts, method, path, body);
    return raw(method, path, body, {
      'content-type': 'application/json',
      'ate-key': aliceKey.keyId,
      'ate-timestamp': ts,
      'ate-signature': sig,
      ...extra,
    });
  };

  const rows: Hostile[] = [
    // --- authentication ---
    { name: 'no signature', send: () => alice.raw('POST', '/v1/orders', order({}), { signed: false }), status: 401, code: 'AUTH_MISSING' },
    {
      name: 'stale timestamp',
      send: () =>
        raw('POST', '/v1/orders', JSON.stringify(order({})), {
          'content-type': 'application/json',
          ...alice.sign('POST', '/v1/orders', JSON.stringify(order({})), Date.now() - 60_000),
        }),
      status: 401,
      code: 'AUTH_TIMESTAMP_OUT_OF_WINDOW',
    },
    {
      name: 'future timestamp',
      send: () =>
        raw('POST', '/v1/orders', JSON.stringify(order({})), {
          'content-type': 'application/json',
          ...alice.sign('POST', '/v1/orders', JSON.stringify(order({})), Date.now() + 60_000),
        }),
      status: 401,
      code: 'AUTH_TIMESTAMP_OUT_OF_WINDOW',
    },
    {
      name: 'wrong signature',
      send: () => signedRaw('POST', '/v1/orders', JSON.stringify(order({})), { 'ate-signature': 'ab'.repeat(32) }),
      status: 401,
      code: 'AUTH_INVALID_SIGNATURE',
    },
    {
      name: 'body swapped after signing',
      send: () =>
        raw('POST', '/v1/orders', JSON.stringify(order({ quantity: '9' })), {
          'content-type': 'application/json',
          ...alice.sign('POST', '/v1/orders', JSON.stringify(order({}))),
        }),
      status: 401,
      code: 'AUTH_INVALID_SIGNATURE',
    },
    {
      name: 'replayed signature',
      send: async () => {
        const body = JSON.stringify({ market: 'NOPE/CREDIT', side: 'buy', type: 'limit', price: '1.000', quantity: '1' });
        const h = { 'content-type': 'application/json', ...alice.sign('POST', '/v1/orders', body) };
        await raw('POST', '/v1/orders', body, h); // 404 unknown market, no effect
        return raw('POST', '/v1/orders', body, h);
      },
      status: 401,
      code: 'AUTH_REPLAYED',
    },
    {
      name: 'unknown key',
      send: () => new AteClient({ baseUrl: url, keyId: 'ak_nosuchkey000000000', secret: 'x' }).raw('POST', '/v1/orders', order({})),
      status: 401,
      code: 'AUTH_INVALID_SIGNATURE',
    },
    {
      name: 'agent key on an admin route',
      send: () => post(alice, '/v1/admin/deposits', { id: 'steal', agentId: 'agt_000000000000', asset: 'CREDIT', amount: '1' }),
      status: 403,
      code: 'AUTH_FORBIDDEN',
    },
    { name: 'admin key placing an order', send: () => post(admin, '/v1/orders', order({})), status: 403, code: 'AUTH_FORBIDDEN' },
    // --- body shape ---
    { name: 'malformed JSON', send: () => signedRaw('POST', '/v1/orders', '{"market":'), status: 400, code: 'MALFORMED_JSON' },
    { name: 'JSON array', send: () => signedRaw('POST', '/v1/orders', '[]'), status: 400, code: 'VALIDATION_FAILED' },
    {
      name: 'form-encoded body',
      send: () => signedRaw('POST', '/v1/orders', 'market=x', { 'content-type': 'application/x-www-form-urlencoded' }),
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'oversized body',
      send: () => post(alice, '/v1/orders', order({ clientOrderId: 'x'.repeat(5000) })),
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    },
    { name: 'unknown field', send: () => post(alice, '/v1/orders', order({ leverage: 100 })), status: 400, code: 'VALIDATION_FAILED' },
    {
      name: 'agent id smuggled in',
      send: () => post(alice, '/v1/orders', order({ agentId: 'agt_someoneelse1' })),
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'missing side',
      send: () => post(alice, '/v1/orders', { market: M, type: 'limit', price: '1.000', quantity: '1' }),
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    { name: 'side "long"', send: () => post(alice, '/v1/orders', order({ side: 'long' })), status: 400, code: 'VALIDATION_FAILED' },
    { name: 'type "stop"', send: () => post(alice, '/v1/orders', order({ type: 'stop' })), status: 400, code: 'VALIDATION_FAILED' },
    { name: 'timeInForce "GTX"', send: () => post(alice, '/v1/orders', order({ timeInForce: 'GTX' })), status: 400, code: 'VALIDATION_FAILED' },
    {
      name: 'STP mode unknown',
      send: () => post(alice, '/v1/orders', order({ selfTradePrevention: 'none' })),
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'clientOrderId with spaces',
      send: () => post(alice, '/v1/orders', order({ clientOrderId: 'a b' })),
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    { name: 'market id without quote', send: () => post(alice, '/v1/orders', order({ market: 'HOS.1K' })), status: 400, code: 'VALIDATION_FAILED' },
    // --- amounts ---
    { name: 'price as a JSON number', send: () => post(alice, '/v1/orders', order({ price: 1 })), status: 400, code: 'VALIDATION_FAILED' },
    { name: 'quantity as a JSON number', send: () => post(alice, '/v1/orders', order({ quantity: 1 })), status: 400, code: 'VALIDATION_FAILED' },
    { name: 'price with an exponent', send: () => post(alice, '/v1/orders', order({ price: '1e0' })), status: 400, code: 'AMOUNT_INVALID' },
    { name: 'negative price', send: () => post(alice, '/v1/orders', order({ price: '-1.000' })), status: 400, code: 'AMOUNT_NEGATIVE' },
    {
      name: 'price finer than a credit allows',
      send: () => post(alice, '/v1/orders', order({ price: '1.0001' })),
      status: 400,
      code: 'AMOUNT_TOO_MANY_DECIMALS',
    },
    { name: 'price of zero', send: () => post(alice, '/v1/orders', order({ price: '0' })), status: 400, code: 'MATCHING_INVALID_PRICE' },
    {
      name: 'price beyond bigint',
      send: () => post(alice, '/v1/orders', order({ price: '99999999999999999999' })),
      status: 400,
      code: 'AMOUNT_OUT_OF_RANGE',
    },
    { name: 'fractional lots', send: () => post(alice, '/v1/orders', order({ quantity: '1.5' })), status: 400, code: 'AMOUNT_TOO_MANY_DECIMALS' },
    {
      name: 'quantity above the market maximum',
      send: () => post(alice, '/v1/orders', order({ quantity: '1001' })),
      status: 400,
      code: 'MATCHING_INVALID_SIZE',
    },
    {
      name: 'market order with both quantity and spend',
      send: () => post(alice, '/v1/orders', { market: M, side: 'buy', type: 'market', quantity: '1', spend: '1.000' }),
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'limit order without a price',
      send: () => post(alice, '/v1/orders', { market: M, side: 'buy', type: 'limit', quantity: '1' }),
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'spend above the market maximum',
      send: () => post(alice, '/v1/orders', { market: M, side: 'buy', type: 'market', spend: '99999999' }),
      status: 400,
      code: 'MATCHING_INVALID_SPEND',
    },
    // --- business rules ---
    { name: 'unknown market', send: () => post(alice, '/v1/orders', order({ market: 'NOPE/CREDIT' })), status: 404, code: 'NOT_FOUND' },
    {
      name: 'an order beyond the balance',
      send: () => post(alice, '/v1/orders', order({ quantity: '500', price: '1.000' })),
      status: 422,
      code: 'MATCHING_INSUFFICIENT_FUNDS',
    },
    {
      name: 'selling what one does not hold',
      send: () => post(alice, '/v1/orders', order({ side: 'sell', price: '1.060' })),
      status: 422,
      code: 'MATCHING_INSUFFICIENT_FUNDS',
    },
    {
      name: 'price beyond the band',
      send: () => post(alice, '/v1/orders', order({ price: '1.200' })),
      status: 422,
      code: 'MATCHING_PRICE_OUTSIDE_BAND',
    },
    {
      name: 'post-only that would cross',
      send: () => post(alice, '/v1/orders', order({ price: '1.050', postOnly: true })),
      status: 422,
      code: 'MATCHING_POST_ONLY_WOULD_CROSS',
    },
    {
      name: 'FOK that cannot fill',
      send: () => post(alice, '/v1/orders', order({ price: '1.050', quantity: '20', timeInForce: 'FOK' })),
      status: 422,
      code: 'MATCHING_FOK_NOT_FILLABLE',
    },
    {
      name: 'an order in a halted market',
      send: async () => {
        await post(admin, `/v1/admin/markets/${ME}/state`, { state: 'halted' });
        const r = await post(alice, '/v1/orders', order({}));
        const cancel = await bob.raw<any>('DELETE', `/v1/orders/${bobOrderId}`);
        await post(admin, `/v1/admin/markets/${ME}/state`, { state: 'open' });
        return cancel.body?.error?.code === 'MATCHING_MARKET_HALTED' ? r : cancel; // a halted market refuses cancels too
      },
      status: 422,
      code: 'MATCHING_MARKET_HALTED',
    },
    {
      name: 'an order in a cancel-only market',
      send: async () => {
        await post(admin, `/v1/admin/markets/${ME}/state`, { state: 'cancel_only' });
        const r = await post(alice, '/v1/orders', order({}));
        await post(admin, `/v1/admin/markets/${ME}/state`, { state: 'open' });
        return r;
      },
      status: 422,
      code: 'MATCHING_MARKET_CANCEL_ONLY',
    },
    {
      name: 'halting an unknown market',
      send: () => post(admin, '/v1/admin/markets/NOPE%2FCREDIT/state', { state: 'halted' }),
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      name: 'market state "paused"',
      send: () => post(admin, `/v1/admin/markets/${ME}/state`, { state: 'paused' }),
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'an agent halting a market',
      send: () => post(alice, `/v1/admin/markets/${ME}/state`, { state: 'halted' }),
      status: 403,
      code: 'AUTH_FORBIDDEN',
    },
    {
      name: 'GTD already expired',
      send: () => post(alice, '/v1/orders', order({ timeInForce: 'GTD', expiresAt: Date.now() - 1000 })),
      status: 422,
      code: 'MATCHING_ALREADY_EXPIRED',
    },
    // --- the order test answers what placing would, and places nothing ---
    {
      name: 'testing an order beyond the balance',
      send: () => post(alice, '/v1/orders/test', order({ quantity: '500', price: '1.000' })),
      status: 422,
      code: 'MATCHING_INSUFFICIENT_FUNDS',
    },
    {
      name: 'testing a sale of what one does not hold',
      send: () => post(alice, '/v1/orders/test', order({ side: 'sell', price: '1.060' })),
      status: 422,
      code: 'MATCHING_INSUFFICIENT_FUNDS',
    },
    {
      name: 'testing a price beyond the band',
      send: () => post(alice, '/v1/orders/test', order({ price: '1.200' })),
      status: 422,
      code: 'MATCHING_PRICE_OUTSIDE_BAND',
    },
    {
      name: 'testing a post-only that would cross',
      send: () => post(alice, '/v1/orders/test', order({ price: '1.050', postOnly: true })),
      status: 422,
      code: 'MATCHING_POST_ONLY_WOULD_CROSS',
    },
    {
      name: 'testing a FOK that cannot fill',
      send: () => post(alice, '/v1/orders/test', order({ price: '1.050', quantity: '20', timeInForce: 'FOK' })),
      status: 422,
      code: 'MATCHING_FOK_NOT_FILLABLE',
    },
    {
      name: 'testing in an unknown market',
      send: () => post(alice, '/v1/orders/test', order({ market: 'NOPE/CREDIT' })),
      status: 404,
      code: 'NOT_FOUND',
    },
    // --- idempotency: the same clientOrderId with another body ---
    {
      name: 'a clientOrderId reused for another order',
      send: () => post(alice, '/v1/orders', order({ price: '0.940', quantity: '10', clientOrderId: 'alice-bid' })),
      status: 409,
      code: 'CONFLICT',
    },
    {
      name: 'a clientOrderId reused on another side',
      send: () => post(alice, '/v1/orders', order({ side: 'sell', price: '0.950', quantity: '10', clientOrderId: 'alice-bid' })),
      status: 409,
      code: 'CONFLICT',
    },
    // --- deposits beyond what an agent may hold ---
    {
      name: 'a deposit beyond the largest holding',
      send: () => post(admin, '/v1/admin/deposits', { id: 'too-much', agentId: aliceId, asset: 'CREDIT', amount: '9007199254740.991' }),
      status: 400,
      code: 'AMOUNT_OUT_OF_RANGE',
    },
    // --- other agents' orders and unknown ids ---
    {
      name: "cancelling another agent's order",
      send: () => alice.raw('DELETE', `/v1/orders/${bobOrderId}`),
      status: 404,
      code: 'MATCHING_UNKNOWN_ORDER',
    },
    { name: "reading another agent's order", send: () => alice.raw('GET', `/v1/orders/${bobOrderId}`), status: 404, code: 'MATCHING_UNKNOWN_ORDER' },
    {
      name: 'cancelling an id that is not a number',
      send: () => alice.raw('DELETE', '/v1/orders/DROP%20TABLE'),
      status: 404,
      code: 'MATCHING_UNKNOWN_ORDER',
    },
    {
      name: 'cancel-all in an unknown market',
      send: () => post(alice, '/v1/orders/cancel-all', { market: 'NOPE/CREDIT' }),
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      name: 'book of an unknown market',
      send: () => alice.raw('GET', '/v1/markets/NOPE%2FCREDIT/book', undefined, { signed: false }),
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      name: 'book depth out of range',
      send: () => alice.raw('GET', `/v1/markets/${ME}/book?depth=100000`, undefined, { signed: false }),
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    { name: 'unknown query parameter', send: () => alice.raw('GET', '/v1/orders?status=open&admin=1'), status: 400, code: 'VALIDATION_FAILED' },
    {
      name: 'dead-man timeout too short',
      send: () => post(alice, '/v1/orders/cancel-after', { timeoutMs: 10 }),
      status: 400,
      code: 'VALIDATION_FAILED',
    },
  ];

  async function state() {
    const [a, b, book, counts] = await Promise.all([
      alice.balances(),
      bob.balances(),
      alice.book(M, 100),
      db.pool.query(`SELECT (SELECT count(*) FROM ledger_transfer)::int AS transfers, (SELECT count(*) FROM trade)::int AS trades,
                            (SELECT count(*) FROM trading_order WHERE status = 'open')::int AS open`),
    ]);
    return { a, b, bids: book.bids, asks: book.asks, ...counts.rows[0] };
  }

  it('has at least 40 rows', () => {
    expect(rows.length).toBeGreaterThanOrEqual(40);
  });

  it.each(rows.map((r) => [r.name, r.status, r.code, r] as const))('%s -> %i %s, nothing changed', async (_n, status, code, row) => {
    const before = await state();
    const r = await row.send();
    expect({ status: r.status, code: r.body?.error?.code }).toEqual({ status, code });
    expect(Object.keys(r.body)).toEqual(['error']);
    expect(await state()).toEqual(before);
  });

  it('the order test of a good order says what it would hold and reserves nothing; the same clientOrderId and body is the same order', async () => {
    const before = await state();
    const t = await post(alice, '/v1/orders/test', order({ price: '1.000', quantity: '3' }));
    expect(t).toMatchObject({ status: 201, body: { valid: true, hold: { asset: 'CREDIT', amount: '3.000' } } });
    expect(await state()).toEqual(before);
    const again = await post(alice, '/v1/orders', order({ price: '0.950', quantity: '10', clientOrderId: 'alice-bid' }));
    expect(again).toMatchObject({ status: 201, body: { clientOrderId: 'alice-bid', price: '0.950', status: 'open' } });
    const conflict = await post(alice, '/v1/orders', order({ price: '0.940', quantity: '10', clientOrderId: 'alice-bid' }));
    expect(conflict.body.error.details).toEqual({ orderId: again.body.id, clientOrderId: 'alice-bid' });
    expect(await state()).toEqual(before);
  });

  it('and a good order still works afterwards', async () => {
    const o = await alice.placeOrder(order({ price: '1.050', quantity: '2' }) as never);
    expect(o).toMatchObject({ status: 'closed', filled: '2' });
    expect(await admin.reconciliation()).toMatchObject({ ok: true });
  });
});
