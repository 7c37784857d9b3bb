import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { AteClient, RawResponse } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { z } from 'zod';
import { startTestApp, testConfig } from '../testing/test-app';
import { buildOpenApiDocument, documentedErrors } from './document';
import { MARKET_ID } from './examples';
import { OPERATIONS } from './operations';
import { ErrorSchema } from './schemas';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const M = encodeURIComponent(MARKET_ID);

/** Why a body does not fit its schema (empty when it does). */
const misfit = (schema: z.ZodType, body: unknown): string[] => {
  const r = schema.safeParse(body);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('the OpenAPI document describes what the api really answers', () => {
  it.each(Object.entries(OPERATIONS).filter(([, op]) => op.response !== null && op.response !== 'text'))(
    '%s: its example fits its schema',
    (_, op) => {
      expect(misfit(op.response as z.ZodType, op.example)).toEqual([]);
    },
  );

  describe('real responses of a running app (real Postgres)', () => {
    let db: TestDatabase;
    let app: NestFastifyApplication;
    let url: string;
    let admin: AteClient;
    let doc: OpenAPIObject;
    const checked = new Set<string>();

    /** The response of `key` (METHOD /path template) fits the documented success schema or a documented error. */
    const check = async <T = Json>(key: string, call: Promise<RawResponse<T>>): Promise<T> => {
      const r = await call;
      const op = OPERATIONS[key];
      if (!op) throw new Error(`no documented operation ${key}`);
      const [method, path] = key.split(' ') as [string, string];
      const responses = (doc.paths[path] as Json)[method.toLowerCase()].responses as Json;
      expect([key, r.status, responses[String(r.status)] !== undefined]).toEqual([key, r.status, true]);
      if (r.status >= 400) {
        expect([key, misfit(ErrorSchema, r.body)]).toEqual([key, []]);
        const code = (r.body as Json)['error'].code as string;
        expect([key, code, documentedErrors(doc, method, path).has(code)]).toEqual([key, code, true]);
      } else if (op.response === null) {
        expect(r.body).toBeUndefined();
      } else if (op.response !== 'text') {
        expect([key, misfit(op.response, r.body)]).toEqual([key, []]);
      }
      checked.add(`${key} ${r.status < 400 ? 'ok' : 'error'}`);
      return r.body;
    };

    beforeAll(async () => {
      db = await createTestDatabase('contract');
      ({ app, url, admin } = await startTestApp(testConfig(db, { RECONCILE_EVERY_MS: '0' })));
      doc = buildOpenApiDocument(app).document;
    });
    afterAll(async () => {
      await app.close();
      await db.drop();
    });

    // one scripted session in steps that build on each other: the main operations, successes and typical refusals
    let open: AteClient;
    let a: AteClient;
    let b: AteClient;
    let restingId: string;
    const get = (p: string) => open.raw('GET', p, undefined, { signed: false });

    it("probes and the operator's set-up", async () => {
      open = new AteClient({ baseUrl: url });
      await check('GET /health', get('/health'));
      await check('GET /ready', get('/ready'));
      await check('GET /v1/time', get('/v1/time'));
      const metrics = await fetch(`${url}/metrics`);
      expect([metrics.status, metrics.headers.get('content-type')]).toEqual([200, expect.stringMatching(/^text\/plain; version=0\.0\.4/)]);

      // operator set-up
      const principal = await check<Json>('POST /v1/admin/principals', admin.raw('POST', '/v1/admin/principals', { name: 'Acme' }));
      await check('POST /v1/admin/agents', admin.raw('POST', '/v1/admin/agents', { name: 'x', principalId: 'prn_nosuchprincipal' }));
      const alice = await check<Json>(
        'POST /v1/admin/agents',
        admin.raw('POST', '/v1/admin/agents', { name: 'alice', principalId: principal['id'] }),
      );
      const bob = await check<Json>('POST /v1/admin/agents', admin.raw('POST', '/v1/admin/agents', { name: 'bob' }));
      const key = await check<Json>(
        'POST /v1/admin/agents/{agentId}/keys',
        admin.raw('POST', `/v1/admin/agents/${alice['id']}/keys`, { label: 'second' }),
      );
      await check('DELETE /v1/admin/keys/{keyId}', admin.raw('DELETE', `/v1/admin/keys/${key['keyId']}`));
      await check('DELETE /v1/admin/keys/{keyId}', admin.raw('DELETE', '/v1/admin/keys/ak_nosuchkey0000000000'));
      const asset = { code: 'GPT-X.1K', scale: 0, model: 'gpt-x', provider: 'acme-ai', tokenClass: 'output-1k' };
      await check('POST /v1/admin/assets', admin.raw('POST', '/v1/admin/assets', asset));
      await check('POST /v1/admin/assets', admin.raw('POST', '/v1/admin/assets', { ...asset, scale: 2 }));
      await check(
        'POST /v1/admin/markets',
        admin.raw('POST', '/v1/admin/markets', { base: 'GPT-X.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 2000, takerFeeBps: 10 }),
      );
      await check(
        'POST /v1/admin/markets',
        admin.raw('POST', '/v1/admin/markets', { base: 'GPT-X.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 2000 }),
      );
      const fund = { id: 'a-credits', agentId: alice['id'], asset: 'CREDIT', amount: '100' };
      await check('POST /v1/admin/deposits', admin.raw('POST', '/v1/admin/deposits', fund));
      await check('POST /v1/admin/deposits', admin.raw('POST', '/v1/admin/deposits', fund)); // replayed
      await check('POST /v1/admin/deposits', admin.raw('POST', '/v1/admin/deposits', { ...fund, amount: '1.0001' }));
      await check(
        'POST /v1/admin/deposits',
        admin.raw('POST', '/v1/admin/deposits', { id: 'b-tokens', agentId: bob['id'], asset: 'GPT-X.1K', amount: '50' }),
      );
      await check(
        'POST /v1/admin/withdrawals',
        admin.raw('POST', '/v1/admin/withdrawals', { id: 'a-wd', agentId: alice['id'], asset: 'CREDIT', amount: '1' }),
      );
      await check(
        'POST /v1/admin/withdrawals',
        admin.raw('POST', '/v1/admin/withdrawals', { id: 'a-wd2', agentId: alice['id'], asset: 'CREDIT', amount: '1000' }),
      );

      a = new AteClient({ baseUrl: url, ...(alice['apiKey'] as { keyId: string; secret: string }) });
      b = new AteClient({ baseUrl: url, ...(bob['apiKey'] as { keyId: string; secret: string }) });
      await check('GET /v1/me', a.raw('GET', '/v1/me'));
      await check('GET /v1/admin/reconciliation', a.raw('GET', '/v1/admin/reconciliation')); // an agent key: 403
      await check('GET /v1/account/balances', open.raw('GET', '/v1/account/balances', undefined, { signed: false })); // 401
    });

    it('trading and the account', async () => {
      const sell = { market: MARKET_ID, side: 'sell', type: 'limit', price: '2.000', quantity: '10', clientOrderId: 'b-sell' };
      await check('POST /v1/orders/test', b.raw('POST', '/v1/orders/test', sell));
      await check('POST /v1/orders/test', b.raw('POST', '/v1/orders/test', { ...sell, price: '2.0005' }));
      restingId = (await check<Json>('POST /v1/orders', b.raw('POST', '/v1/orders', sell)))['id'] as string;
      await check(
        'POST /v1/orders',
        a.raw('POST', '/v1/orders', { market: MARKET_ID, side: 'buy', type: 'limit', price: '2.000', quantity: '4', clientOrderId: 'a-buy' }),
      );
      await check('POST /v1/orders', a.raw('POST', '/v1/orders', { market: MARKET_ID, side: 'buy', type: 'market', spend: '3.000' }));
      await check(
        'POST /v1/orders',
        a.raw('POST', '/v1/orders', { market: MARKET_ID, side: 'buy', type: 'limit', price: '2.000', quantity: '1000' }),
      );
      await check('POST /v1/orders', a.raw('POST', '/v1/orders', { market: MARKET_ID, side: 'buy', type: 'limit', price: 2, quantity: '1' }));
      await check('GET /v1/orders', b.raw('GET', `/v1/orders?status=open&market=${M}`));
      await check('GET /v1/orders/{orderId}', b.raw('GET', `/v1/orders/${restingId}`));
      await check('GET /v1/orders/{orderId}', a.raw('GET', `/v1/orders/${restingId}`)); // not hers
      await check('GET /v1/orders/by-client-id/{clientOrderId}', b.raw('GET', '/v1/orders/by-client-id/b-sell'));
      await check('PATCH /v1/orders/{orderId}', b.raw('PATCH', `/v1/orders/${restingId}`, { price: '2.100' }));
      await check('PATCH /v1/orders/{orderId}', b.raw('PATCH', `/v1/orders/${restingId}`, { price: '1.000' })); // beyond the price band
      await check('POST /v1/orders/cancel-after', b.raw('POST', '/v1/orders/cancel-after', { timeoutMs: 60000 }));
      await check('POST /v1/orders/cancel-after', b.raw('POST', '/v1/orders/cancel-after', { timeoutMs: 0 }));
      await check('GET /v1/account/fills', a.raw('GET', '/v1/account/fills?limit=10'));
      await check('GET /v1/account/fills', b.raw('GET', '/v1/account/fills'));
      await check('GET /v1/account/balances', a.raw('GET', '/v1/account/balances'));
      await check('GET /v1/account/statement', a.raw('GET', '/v1/account/statement?asset=CREDIT&limit=2'));
      await check('GET /v1/account/statement', a.raw('GET', '/v1/account/statement?asset=NOPE'));
    });

    it('market data', async () => {
      await check('GET /v1/markets', get('/v1/markets'));
      await check('GET /v1/markets/{marketId}', get(`/v1/markets/${M}`));
      await check('GET /v1/markets/{marketId}', get(`/v1/markets/${encodeURIComponent('NOPE/CREDIT')}`));
      await check('GET /v1/markets/{marketId}/book', get(`/v1/markets/${M}/book?depth=5`));
      await check('GET /v1/markets/{marketId}/book', get(`/v1/markets/${M}/book?depth=0`));
      await check('GET /v1/markets/{marketId}/stats', get(`/v1/markets/${M}/stats`));
      await check('GET /v1/markets/{marketId}/trades', get(`/v1/markets/${M}/trades?limit=5`));
      await check('GET /v1/markets/{marketId}/candles', get(`/v1/markets/${M}/candles?timeframe=1m&limit=5`));
    });

    it('halting, then the end of the day', async () => {
      await check('POST /v1/admin/markets/{marketId}/state', admin.raw('POST', `/v1/admin/markets/${M}/state`, { state: 'halted' }));
      await check('DELETE /v1/orders/{orderId}', b.raw('DELETE', `/v1/orders/${restingId}`));
      await check('POST /v1/admin/markets/{marketId}/state', admin.raw('POST', `/v1/admin/markets/${M}/state`, { state: 'open' }));
      await check('DELETE /v1/orders/{orderId}', b.raw('DELETE', `/v1/orders/${restingId}`));
      await check('POST /v1/orders/cancel-all', a.raw('POST', '/v1/orders/cancel-all', { market: MARKET_ID }));
      await check('POST /v1/orders/cancel-all', a.raw('POST', '/v1/orders/cancel-all', {}));
      await check('GET /v1/admin/reconciliation', admin.raw('GET', '/v1/admin/reconciliation'));
    });

    it('auctions and posted-price pools', async () => {
      const deadline = Date.now() + 1500;
      const auction = await check<Json>(
        'POST /v1/auctions',
        b.raw('POST', '/v1/auctions', { asset: 'GPT-X.1K', units: '2', reservePrice: '1', deadline }),
      );
      const id = auction['id'] as string;
      await check('POST /v1/auctions', b.raw('POST', '/v1/auctions', { asset: 'GPT-X.1K', units: '0', deadline }));
      await check('GET /v1/auctions', a.raw('GET', '/v1/auctions?status=open'));
      await check('GET /v1/auctions/{auctionId}', a.raw('GET', `/v1/auctions/${id}`));
      await check('GET /v1/auctions/{auctionId}', a.raw('GET', '/v1/auctions/nope'));
      const steps = [{ units: '1', price: '10' }];
      await check('POST /v1/auctions/{auctionId}/bids', a.raw('POST', `/v1/auctions/${id}/bids`, { steps }));
      await check('POST /v1/auctions/{auctionId}/bids', a.raw('POST', `/v1/auctions/${id}/bids`, { steps }));
      await check('GET /v1/auctions/{auctionId}/bids/mine', a.raw('GET', `/v1/auctions/${id}/bids/mine`));
      await check('GET /v1/auctions/{auctionId}/bids/mine', b.raw('GET', `/v1/auctions/${id}/bids/mine`));
      await check('DELETE /v1/auctions/{auctionId}/bids/mine', a.raw('DELETE', `/v1/auctions/${id}/bids/mine`));
      await check('DELETE /v1/auctions/{auctionId}/bids/mine', a.raw('DELETE', `/v1/auctions/${id}/bids/mine`));
      await check('POST /v1/auctions/{auctionId}/bids', a.raw('POST', `/v1/auctions/${id}/bids`, { steps }));
      await check('GET /v1/auctions/{auctionId}/results', a.raw('GET', `/v1/auctions/${id}/results`));
      const venue = await check<Json>(
        'POST /v1/admin/auctions',
        admin.raw('POST', '/v1/admin/auctions', { asset: 'GPT-X.1K', units: '5', deadline }),
      );
      await check('POST /v1/admin/auctions', admin.raw('POST', '/v1/admin/auctions', { asset: 'NOPE', units: '5', deadline }));
      await check('POST /v1/admin/auctions/{auctionId}/cancel', admin.raw('POST', `/v1/admin/auctions/${venue['id']}/cancel`));
      await check('POST /v1/admin/auctions/{auctionId}/cancel', admin.raw('POST', `/v1/admin/auctions/${venue['id']}/cancel`));
      await check(
        'POST /v1/admin/pools',
        admin.raw('POST', '/v1/admin/pools', { id: 'fixed', asset: 'GPT-X.1K', mode: 'fixed', price: '2', supply: '5' }),
      );
      const pool = {
        id: 'cong',
        asset: 'GPT-X.1K',
        mode: 'congestion',
        price: '1',
        capacityPerEpoch: '10',
        minPrice: '0.008',
        maxPrice: '100',
        epochMs: 60000,
      };
      await check('POST /v1/admin/pools', admin.raw('POST', '/v1/admin/pools', pool));
      await check('POST /v1/admin/pools', admin.raw('POST', '/v1/admin/pools', { ...pool, id: 'bad', capacityPerEpoch: '1' }));
      await check('GET /v1/pools', a.raw('GET', '/v1/pools'));
      await check('GET /v1/pools/{poolId}', a.raw('GET', '/v1/pools/cong'));
      await check('GET /v1/pools/{poolId}', a.raw('GET', '/v1/pools/nope'));
      await check('POST /v1/pools/{poolId}/purchases', a.raw('POST', '/v1/pools/cong/purchases', { units: '3', maxPrice: '1' }));
      await check('POST /v1/pools/{poolId}/purchases', a.raw('POST', '/v1/pools/fixed/purchases', { units: '1', maxPrice: '1' }));
      // a client id: the first purchase, its retry (replayed), another body under the same id (409)
      const buy = { units: '1', maxPrice: '2', clientPurchaseId: 'contract-buy' };
      await check('POST /v1/pools/{poolId}/purchases', a.raw('POST', '/v1/pools/fixed/purchases', buy));
      await check('POST /v1/pools/{poolId}/purchases', a.raw('POST', '/v1/pools/fixed/purchases', buy));
      await check('POST /v1/pools/{poolId}/purchases', a.raw('POST', '/v1/pools/fixed/purchases', { ...buy, units: '2' }));
      for (let i = 0; i < 100 && (await a.raw('GET', `/v1/auctions/${id}/results`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
      await check('GET /v1/auctions/{auctionId}/results', a.raw('GET', `/v1/auctions/${id}/results`));
    });

    it('principals, budgets and the kill switch', async () => {
      const p = (await admin.post<Json>('/v1/admin/principals', { name: 'Contract principal' }))['id'] as string;
      const pk = await check<Json>(
        'POST /v1/admin/principals/{principalId}/keys',
        admin.raw('POST', `/v1/admin/principals/${p}/keys`, { label: 'ops' }),
      );
      await check('POST /v1/admin/principals/{principalId}/keys', admin.raw('POST', '/v1/admin/principals/prn_nosuchprincipal/keys', {}));
      const pc = new AteClient({ baseUrl: url, keyId: pk['keyId'], secret: pk['secret'] });
      const dep = { id: 'c-p-seed', asset: 'CREDIT', amount: '1000' };
      await check('POST /v1/admin/principals/{principalId}/deposits', admin.raw('POST', `/v1/admin/principals/${p}/deposits`, dep));
      await check(
        'POST /v1/admin/principals/{principalId}/withdrawals',
        admin.raw('POST', `/v1/admin/principals/${p}/withdrawals`, { ...dep, id: 'c-p-out', amount: '1' }),
      );
      await check(
        'POST /v1/admin/principals/{principalId}/withdrawals',
        admin.raw('POST', `/v1/admin/principals/${p}/withdrawals`, { ...dep, id: 'c-p-out2', amount: '5000' }),
      );
      await check('GET /v1/principal/account', pc.raw('GET', '/v1/principal/account'));
      const agent = await check<Json>('POST /v1/principal/agents', pc.raw('POST', '/v1/principal/agents', { name: 'c-bot' }));
      const id = agent['id'] as string;
      const ac = new AteClient({ baseUrl: url, ...(agent['apiKey'] as { keyId: string; secret: string }) });
      await check('GET /v1/principal/agents', pc.raw('GET', '/v1/principal/agents'));
      const k = await check<Json>('POST /v1/principal/agents/{agentId}/keys', pc.raw('POST', `/v1/principal/agents/${id}/keys`, { label: 'second' }));
      await check('GET /v1/principal/agents/{agentId}/keys', pc.raw('GET', `/v1/principal/agents/${id}/keys`));
      await check('DELETE /v1/principal/agents/{agentId}/keys/{keyId}', pc.raw('DELETE', `/v1/principal/agents/${id}/keys/${k['keyId']}`));
      await check('DELETE /v1/principal/agents/{agentId}/keys/{keyId}', pc.raw('DELETE', `/v1/principal/agents/${id}/keys/${k['keyId']}`));
      const t = { id: 'c-t-1', agentId: id, direction: 'to_agent', asset: 'CREDIT', amount: '100' };
      await check('POST /v1/principal/transfers', pc.raw('POST', '/v1/principal/transfers', t));
      await check(
        'POST /v1/principal/transfers',
        pc.raw('POST', '/v1/principal/transfers', { ...t, id: 'c-t-2', direction: 'from_agent', amount: '500' }),
      );
      await check('POST /v1/principal/transfers', pc.raw('POST', '/v1/principal/transfers', { ...t, id: 'c-t-3', agentId: 'agt_nosuchagent00' }));
      const policy = {
        spendCaps: [{ windowSeconds: 3600, limit: '10' }],
        maxOrderNotional: '8',
        maxPrice: { 'GPT-X.1K': '3.000' },
        markets: [MARKET_ID],
      };
      await check('PUT /v1/principal/agents/{agentId}/policy', pc.raw('PUT', `/v1/principal/agents/${id}/policy`, policy));
      await check(
        'PUT /v1/principal/agents/{agentId}/policy',
        pc.raw('PUT', `/v1/principal/agents/${id}/policy`, { spendCaps: [{ windowSeconds: 0, limit: '1' }] }),
      );
      await check('PUT /v1/principal/agents/{agentId}/policy', pc.raw('PUT', `/v1/principal/agents/${id}/policy`, { ...policy, expectedVersion: 0 }));
      await check('GET /v1/principal/agents/{agentId}/policy', pc.raw('GET', `/v1/principal/agents/${id}/policy`));
      await check('GET /v1/account/budget', ac.raw('GET', '/v1/account/budget'));
      const order = { market: MARKET_ID, side: 'buy', type: 'limit', price: '2.000', quantity: '3' };
      await check('POST /v1/orders', ac.raw('POST', '/v1/orders', order));
      await check('POST /v1/orders', ac.raw('POST', '/v1/orders', { ...order, quantity: '4' })); // 8.000 more than the 10.000 cap holds
      await check('POST /v1/orders/test', ac.raw('POST', '/v1/orders/test', { ...order, quantity: '5' })); // above the max notional
      await check('POST /v1/orders/test', ac.raw('POST', '/v1/orders/test', { ...order, quantity: '1' }));
      await check('GET /v1/principal/agents/{agentId}/balances', pc.raw('GET', `/v1/principal/agents/${id}/balances`));
      await check('GET /v1/principal/agents/{agentId}/orders', pc.raw('GET', `/v1/principal/agents/${id}/orders?status=open`));
      await check('GET /v1/principal/agents/{agentId}/fills', pc.raw('GET', `/v1/principal/agents/${id}/fills?limit=5`));
      await check('GET /v1/principal/agents/{agentId}/spend', pc.raw('GET', `/v1/principal/agents/${id}/spend`));
      await check('GET /v1/principal/agents/{agentId}/spend', pc.raw('GET', `/v1/principal/agents/agt_nosuchagent00/spend`));
      await check('GET /v1/principal/spend', pc.raw('GET', '/v1/principal/spend?from=2026-01-01T00:00:00Z'));
      await check('POST /v1/principal/agents/{agentId}/freeze', pc.raw('POST', `/v1/principal/agents/${id}/freeze`, { cancelOrders: false }));
      await check('POST /v1/orders', ac.raw('POST', '/v1/orders', { ...order, quantity: '1' })); // frozen
      await check('POST /v1/principal/agents/{agentId}/unfreeze', pc.raw('POST', `/v1/principal/agents/${id}/unfreeze`));
      // delegation: the agent's policy allows sub-agents; it carves 20 credits out for one
      await pc.put(`/v1/principal/agents/${id}/policy`, { ...policy, spendCaps: [{ windowSeconds: 3600, limit: '100' }], subAgents: true });
      const sub = await check<Json>('POST /v1/account/subagents', ac.raw('POST', '/v1/account/subagents', { name: 'c-sub', carveOut: '20' }));
      await check('POST /v1/account/subagents', ac.raw('POST', '/v1/account/subagents', { name: 'c-sub2', carveOut: '1000' }));
      await check('GET /v1/account/subagents', ac.raw('GET', '/v1/account/subagents'));
      const subPath = `/v1/account/subagents/${sub['id']}`;
      await check('PUT /v1/account/subagents/{agentId}/carve-out', ac.raw('PUT', `${subPath}/carve-out`, { amount: '25' }));
      await check(
        'PUT /v1/account/subagents/{agentId}/carve-out',
        ac.raw('PUT', '/v1/account/subagents/agt_nosuchagent00/carve-out', { amount: '1' }),
      );
      const subPolicy = { maxOrderNotional: '5', maxPrice: { 'GPT-X.1K': '3.000' }, markets: [MARKET_ID] };
      await check('PUT /v1/account/subagents/{agentId}/policy', ac.raw('PUT', `${subPath}/policy`, subPolicy));
      await check('PUT /v1/account/subagents/{agentId}/policy', ac.raw('PUT', `${subPath}/policy`, { ...subPolicy, maxOrderNotional: '9' }));
      await check('POST /v1/account/subagents/{agentId}/revoke', ac.raw('POST', `${subPath}/revoke`));
      await check('DELETE /v1/principal/agents/{agentId}/policy', pc.raw('DELETE', `/v1/principal/agents/${id}/policy`));
      await check('POST /v1/admin/agents/{agentId}/freeze', admin.raw('POST', `/v1/admin/agents/${id}/freeze`, {}));
      await check('POST /v1/admin/agents/{agentId}/unfreeze', admin.raw('POST', `/v1/admin/agents/${id}/unfreeze`));
      await check('POST /v1/admin/principals/{principalId}/freeze', admin.raw('POST', `/v1/admin/principals/${p}/freeze`, { cancelOrders: false }));
      await check('POST /v1/principal/agents/{agentId}/unfreeze', pc.raw('POST', `/v1/principal/agents/${id}/unfreeze`)); // the principal is frozen
      await check('POST /v1/admin/principals/{principalId}/unfreeze', admin.raw('POST', `/v1/admin/principals/${p}/unfreeze`));
      await check('POST /v1/principal/agents/{agentId}/kill', pc.raw('POST', `/v1/principal/agents/${id}/kill`));
      await check('POST /v1/principal/agents/{agentId}/kill', pc.raw('POST', '/v1/principal/agents/agt_nosuchagent00/kill'));
      await check('GET /v1/principal/agents', a.raw('GET', '/v1/principal/agents')); // an agent key: 403
    });

    it('redemptions, receipt keys and the audit log', async () => {
      const r = await check<Json>('POST /v1/redemptions', b.raw('POST', '/v1/redemptions', { id: 'c-1', asset: 'GPT-X.1K', amount: '1' }));
      await check('POST /v1/redemptions', b.raw('POST', '/v1/redemptions', { id: 'c-1', asset: 'GPT-X.1K', amount: '2' })); // another body
      await check('POST /v1/redemptions', b.raw('POST', '/v1/redemptions', { id: 'c-2', asset: 'CREDIT', amount: '1' }));
      await check('GET /v1/redemptions', b.raw('GET', '/v1/redemptions?limit=5'));
      await check('GET /v1/redemptions/{id}', get(`/v1/redemptions/${r['id']}`));
      await check('GET /v1/redemptions/{id}', get('/v1/redemptions/rdm_unknown000000'));
      await check('GET /.well-known/jwks.json', get('/.well-known/jwks.json'));
      await check('POST /v1/admin/receipt-keys/rotate', admin.raw('POST', '/v1/admin/receipt-keys/rotate'));
      await check(
        'PATCH /v1/admin/markets/{marketId}/rules',
        admin.raw('PATCH', `/v1/admin/markets/${M}/rules`, { takerFeeBps: 5, reason: 'contract' }),
      );
      await check('PATCH /v1/admin/markets/{marketId}/rules', admin.raw('PATCH', '/v1/admin/markets/NOPE%2FCREDIT/rules', { takerFeeBps: 5 }));
      const k = await check<Json>('POST /v1/admin/agents/{agentId}/keys', admin.raw('POST', `/v1/admin/agents/${r['agentId']}/keys`, {}));
      await check('POST /v1/admin/keys/{keyId}/rotate', admin.raw('POST', `/v1/admin/keys/${k['keyId']}/rotate`));
      await check('POST /v1/admin/keys/{keyId}/rotate', admin.raw('POST', `/v1/admin/keys/${k['keyId']}/rotate`)); // revoked now
      for (const list of ['principals', 'agents', 'keys', 'markets']) {
        await check(`GET /v1/admin/${list}`, admin.raw('GET', `/v1/admin/${list}?limit=2`));
        await check(`GET /v1/admin/${list}`, admin.raw('GET', `/v1/admin/${list}?cursor=..`));
      }
      await check('GET /v1/admin/audit', admin.raw('GET', '/v1/admin/audit?limit=5'));
      await check('GET /v1/admin/audit', admin.raw('GET', '/v1/admin/audit?cursor=abc'));
    });

    it('approvals above a threshold', async () => {
      const p = (await admin.post<Json>('/v1/admin/principals', { name: 'Approvals principal' }))['id'] as string;
      const pc = new AteClient({ baseUrl: url, ...(await admin.post<{ keyId: string; secret: string }>(`/v1/admin/principals/${p}/keys`, {})) });
      await admin.post(`/v1/admin/principals/${p}/deposits`, { id: 'c-ap-seed', asset: 'CREDIT', amount: '1000' });
      const agent = await pc.post<Json>('/v1/principal/agents', { name: 'c-ap-bot' });
      const id = agent['id'] as string;
      const ac = new AteClient({ baseUrl: url, ...(agent['apiKey'] as { keyId: string; secret: string }) });
      await pc.post('/v1/principal/transfers', { id: 'c-ap-t', agentId: id, direction: 'to_agent', asset: 'CREDIT', amount: '500' });
      await check(
        'PUT /v1/principal/agents/{agentId}/policy',
        pc.raw('PUT', `/v1/principal/agents/${id}/policy`, { approval: { above: '5', ttlSeconds: 3600 } }),
      );
      await check(
        'PUT /v1/principal/agents/{agentId}/policy',
        pc.raw('PUT', `/v1/principal/agents/${id}/policy`, { approval: { above: '5', ttlSeconds: 1 } }),
      );
      const order = { market: MARKET_ID, side: 'buy', type: 'limit', price: '2.000', quantity: '3' };
      const x = await check<Json>('POST /v1/orders', ac.raw('POST', '/v1/orders', { ...order, clientOrderId: 'c-ap-1' }));
      const y = await check<Json>('POST /v1/orders', ac.raw('POST', '/v1/orders', { ...order, clientOrderId: 'c-ap-2' }));
      await check('GET /v1/orders/{orderId}', ac.raw('GET', `/v1/orders/${x['id']}`));
      await check('GET /v1/principal/approvals', pc.raw('GET', '/v1/principal/approvals'));
      await check('POST /v1/principal/approvals/{id}/approve', pc.raw('POST', `/v1/principal/approvals/${x['id']}/approve`));
      await check('POST /v1/principal/approvals/{id}/approve', pc.raw('POST', `/v1/principal/approvals/${x['id']}/approve`)); // decided
      await check('POST /v1/principal/approvals/{id}/reject', pc.raw('POST', `/v1/principal/approvals/${y['id']}/reject`));
      await check('POST /v1/principal/approvals/{id}/reject', pc.raw('POST', '/v1/principal/approvals/99999999/reject'));
      await check('POST /v1/orders', ac.raw('POST', '/v1/orders', { ...order, clientOrderId: 'c-ap-2' })); // rejected by the principal
      await check('POST /v1/admin/agents/{agentId}/freeze', admin.raw('POST', `/v1/admin/agents/${id}/freeze`, {}));
      await check('POST /v1/principal/agents/{agentId}/unfreeze', pc.raw('POST', `/v1/principal/agents/${id}/unfreeze`)); // an operator's freeze
      await check('GET /v1/principal/agents/{agentId}/policy', pc.raw('GET', `/v1/principal/agents/${id}/policy`));
      await check('POST /v1/admin/agents/{agentId}/unfreeze', admin.raw('POST', `/v1/admin/agents/${id}/unfreeze`));
      // a redemption above the policy's threshold for its asset waits, then is approved (issued) or rejected
      await admin.post('/v1/admin/deposits', { id: 'c-ap-allow', agentId: id, asset: 'GPT-X.1K', amount: '100' });
      await check(
        'PUT /v1/principal/agents/{agentId}/policy',
        pc.raw('PUT', `/v1/principal/agents/${id}/policy`, { approval: { ttlSeconds: 3600, redemptionsAbove: { 'GPT-X.1K': '10' } } }),
      );
      const r1 = await check<Json>('POST /v1/redemptions', ac.raw('POST', '/v1/redemptions', { id: 'c-ap-r1', asset: 'GPT-X.1K', amount: '20' }));
      const r2 = await check<Json>('POST /v1/redemptions', ac.raw('POST', '/v1/redemptions', { id: 'c-ap-r2', asset: 'GPT-X.1K', amount: '30' }));
      expect([r1['status'], r2['status']]).toEqual(['pending_approval', 'pending_approval']);
      await check('GET /v1/principal/approvals', pc.raw('GET', '/v1/principal/approvals'));
      await check('POST /v1/principal/approvals/{id}/approve', pc.raw('POST', `/v1/principal/approvals/${r1['id']}/approve`));
      await check('POST /v1/principal/approvals/{id}/reject', pc.raw('POST', `/v1/principal/approvals/${r2['id']}/reject`));
      await check('GET /v1/redemptions', ac.raw('GET', '/v1/redemptions'));
    });

    it('every operation but /metrics (text, checked above) answered at least one success', () => {
      const succeeded = new Set([...checked].filter((c) => c.endsWith(' ok')).map((c) => c.slice(0, -3)));
      expect(Object.keys(OPERATIONS).filter((k) => !succeeded.has(k))).toEqual(['GET /metrics']);
    });
  });
});
