import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteApiError, AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import type { AppConfig } from '../config/config';
import { EngineLink } from '../engine/engine-link';
import { UnfinishedSubAgents } from './unfinished-sub-agents';
import { startTestApp, testConfig } from '../testing/test-app';

const M = 'BGT.1K/CREDIT';
const M2 = 'OTH.1K/CREDIT';

/** The error an API call ends with (code, status, details), or null when it succeeded. */
async function failure(p: Promise<unknown>): Promise<{ status: number; code: string; details?: Record<string, unknown> } | null> {
  try {
    await p;
    return null;
  } catch (e) {
    if (!(e instanceof AteApiError)) throw e;
    return { status: e.status, code: e.code, details: e.details };
  }
}

/**
 * Principals acting for themselves and budget policies, end to end over signed REST on real Postgres with the
 * in-process engine: principal keys, its agents and their keys, transfers through the sequencer, every role
 * boundary crossed and refused, policies enforced atomically (200 concurrent orders against a cap of 10), the kill
 * switch, and recovery of budget state from the command log.
 */
describe('principals and budgets (real Postgres, real HTTP)', () => {
  jest.setTimeout(120_000);
  let db: TestDatabase;
  let config: AppConfig;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  let pa: AteClient; // principal A
  let pb: AteClient; // principal B
  let paId: string;
  let pbId: string;
  let seller: AteClient;
  let sellerId: string;

  const creds = new Map<AteClient, { keyId: string; secret: string }>();
  const client = (k: { keyId: string; secret: string }) => {
    const c = new AteClient({ baseUrl: url, keyId: k.keyId, secret: k.secret });
    creds.set(c, { keyId: k.keyId, secret: k.secret });
    return c;
  };
  /** The same key on the app as it runs now (after a restart it listens on another port). */
  const again = (c: AteClient) => client(creds.get(c) as { keyId: string; secret: string });
  type Created = { id: string; apiKey: { keyId: string; secret: string } };
  const newAgent = async (p: AteClient, name: string, credits = '0') => {
    const a = await p.post<Created>('/v1/principal/agents', { name });
    if (credits !== '0')
      await p.post('/v1/principal/transfers', { id: `fund-${a.id}`, agentId: a.id, direction: 'to_agent', asset: 'CREDIT', amount: credits });
    return { id: a.id, c: client(a.apiKey) };
  };

  async function boot(): Promise<void> {
    ({ app, url, admin } = await startTestApp(config));
  }

  beforeAll(async () => {
    db = await createTestDatabase('principals');
    config = testConfig(db, { ORDER_RATE_PER_AGENT: '2000', RATE_LIMIT_PER_KEY: '5000', RATE_LIMIT_PER_ADDRESS: '20000' });
    await boot();
    for (const base of ['BGT.1K', 'OTH.1K']) {
      await admin.defineAsset({ code: base, scale: 0, model: base.toLowerCase(), provider: 'acme-ai', tokenClass: 'output-1k' });
      // a tick is 0.001 credit per lot; the reference price 2.000 credits per lot, band +-50%
      await admin.createMarket({ base, tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 2000, priceBandBps: 5000 });
    }
    for (const [name, set] of [
      ['Acme', (id: string, c: AteClient) => ((paId = id), (pa = c))],
      ['Globex', (id: string, c: AteClient) => ((pbId = id), (pb = c))],
    ] as const) {
      const p = await admin.createPrincipal({ name });
      const k = await admin.post<{ keyId: string; secret: string; principalId: string }>(`/v1/admin/principals/${p.id}/keys`, { label: 'ops' });
      expect(k.principalId).toBe(p.id);
      set(p.id, client(k));
      await admin.post(`/v1/admin/principals/${p.id}/deposits`, { id: `seed-${p.id}`, asset: 'CREDIT', amount: '100000' });
    }
    const s = await admin.createAgent({ name: 'market-maker' });
    sellerId = s.id;
    seller = client(s.apiKey!);
    for (const base of ['BGT.1K', 'OTH.1K']) await admin.deposit({ id: `mm-${base}`, agentId: sellerId, asset: base, amount: '100000' });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });
  afterEach(async () => {
    expect(await admin.reconciliation()).toMatchObject({ ok: true, violations: [] });
  });

  it('an operator issues a principal key; the principal creates and lists its agents, issues and revokes their keys', async () => {
    expect(await pa.me()).toMatchObject({ role: 'principal', principalId: paId, agentId: null });
    expect(await pb.me()).toMatchObject({ role: 'principal', principalId: pbId, agentId: null });
    const a = await pa.post<Created & { principalId: string }>('/v1/principal/agents', { name: 'researcher' });
    expect(a).toMatchObject({ principalId: paId, status: 'active', apiKey: { keyId: expect.stringMatching(/^ak_/) } });
    expect(await client(a.apiKey).me()).toMatchObject({ role: 'agent', agentId: a.id });
    const list = await pa.get<{ agents: { id: string; frozen: boolean }[] }>('/v1/principal/agents');
    expect(list.agents.map((x) => x.id)).toContain(a.id);
    expect((await pb.get<{ agents: { id: string }[] }>('/v1/principal/agents')).agents.map((x) => x.id)).not.toContain(a.id);

    const k = await pa.post<{ keyId: string; secret: string }>(`/v1/principal/agents/${a.id}/keys`, { label: 'second' });
    const second = client(k);
    expect((await second.me()).agentId).toBe(a.id);
    const keys = await pa.get<{ keys: { keyId: string; revokedAt: unknown }[] }>(`/v1/principal/agents/${a.id}/keys`);
    expect(keys.keys.map((x) => x.keyId)).toEqual([a.apiKey.keyId, k.keyId]);
    await pa.delete(`/v1/principal/agents/${a.id}/keys/${k.keyId}`);
    expect(await failure(second.me())).toMatchObject({ status: 401, code: 'AUTH_INVALID_SIGNATURE' });
    expect(await failure(pa.delete(`/v1/principal/agents/${a.id}/keys/${k.keyId}x`))).toMatchObject({ status: 404 });
  });

  it('moves funds between its own account and its agents’ through the sequencer; a refused transfer changes nothing', async () => {
    const { id, c } = await newAgent(pa, 'spender');
    const before = await pa.get<{ balances: Record<string, string> }>('/v1/principal/account');
    const t = await pa.post<{ seq: string; replayed: boolean }>('/v1/principal/transfers', {
      id: 't-1',
      agentId: id,
      direction: 'to_agent',
      asset: 'CREDIT',
      amount: '250.5',
    });
    expect(t).toMatchObject({ amount: '250.500', replayed: false, direction: 'to_agent' });
    // the same id again: nothing more
    expect(
      await pa.post('/v1/principal/transfers', { id: 't-1', agentId: id, direction: 'to_agent', asset: 'CREDIT', amount: '250.5' }),
    ).toMatchObject({ replayed: true });
    expect((await c.balances()).balances['CREDIT']).toEqual({ free: '250.500', used: '0.000', total: '250.500' });
    expect((await pa.get<{ balances: Record<string, { total: string }> }>(`/v1/principal/agents/${id}/balances`)).balances['CREDIT']?.total).toBe(
      '250.500',
    );
    await pa.post('/v1/principal/transfers', { id: 't-2', agentId: id, direction: 'from_agent', asset: 'CREDIT', amount: '50.5' });
    expect((await c.balances()).balances['CREDIT']?.total).toBe('200.000');
    const after = await pa.get<{ balances: Record<string, string> }>('/v1/principal/account');
    expect(Number(after.balances['CREDIT'])).toBeCloseTo(Number(before.balances['CREDIT']) - 200, 3);

    // refused: more than the agent holds, more than the principal holds, a bad amount; nothing changes
    const cases: [string, Record<string, unknown>, number, string][] = [
      ['agent holds less', { direction: 'from_agent', amount: '200.001' }, 422, 'LEDGER_INSUFFICIENT_FUNDS'],
      ['principal holds less', { direction: 'to_agent', amount: '99999999' }, 422, 'BUDGET_PRINCIPAL_INSUFFICIENT_FUNDS'],
      ['too many decimals', { direction: 'to_agent', amount: '1.0001' }, 400, 'AMOUNT_TOO_MANY_DECIMALS'],
      ['negative', { direction: 'to_agent', amount: '-1' }, 400, 'AMOUNT_NEGATIVE'],
      ['no such asset', { direction: 'to_agent', amount: '1', asset: 'NOPE' }, 404, 'LEDGER_ASSET_NOT_FOUND'],
      ['unknown direction', { direction: 'sideways', amount: '1' }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [name, body, status, code] of cases) {
      const r = await failure(pa.post('/v1/principal/transfers', { id: `bad-${name.replace(/ /g, '-')}`, agentId: id, asset: 'CREDIT', ...body }));
      expect([name, r?.status, r?.code]).toEqual([name, status, code]);
    }
    expect((await c.balances()).balances['CREDIT']?.total).toBe('200.000');
    expect((await pa.get<{ balances: Record<string, string> }>('/v1/principal/account')).balances).toEqual(after.balances);
  });

  it('every role boundary refuses: agent -> principal routes, principal -> admin routes, principal A -> B’s agent, agent -> another agent', async () => {
    const { id: aAgent, c: aAgentClient } = await newAgent(pa, 'a-bot', '100');
    const { id: bAgent, c: bAgentClient } = await newAgent(pb, 'b-bot', '100');
    const order = await bAgentClient.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '5' });
    const bPolicyBefore = await pb.get(`/v1/principal/agents/${bAgent}/policy`);

    // agent keys on principal routes: 403 (an agent cannot change its own policy)
    for (const [method, path, body] of [
      ['GET', '/v1/principal/agents', undefined],
      ['POST', '/v1/principal/agents', { name: 'x' }],
      ['PUT', `/v1/principal/agents/${aAgent}/policy`, { spendCaps: [] }],
      ['POST', `/v1/principal/agents/${aAgent}/unfreeze`, {}],
      ['POST', '/v1/principal/transfers', { id: 'x1', agentId: aAgent, direction: 'to_agent', asset: 'CREDIT', amount: '1' }],
    ] as const) {
      expect([path, await failure(aAgentClient.request(method, path, body))]).toEqual([
        path,
        expect.objectContaining({ status: 403, code: 'AUTH_FORBIDDEN' }),
      ]);
    }
    // principal keys on admin routes and on agent routes: 403
    for (const [method, path, body] of [
      ['POST', '/v1/admin/principals', { name: 'x' }],
      ['POST', '/v1/admin/agents', { name: 'x' }],
      ['POST', `/v1/admin/principals/${paId}/keys`, {}],
      ['POST', `/v1/admin/principals/${paId}/deposits`, { id: 'x', asset: 'CREDIT', amount: '1' }],
      ['POST', `/v1/admin/agents/${aAgent}/unfreeze`, {}],
      ['POST', '/v1/admin/deposits', { id: 'x', agentId: aAgent, asset: 'CREDIT', amount: '1' }],
      ['POST', '/v1/orders', { market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '1' }],
      ['GET', '/v1/account/balances', undefined],
    ] as const) {
      expect([path, await failure(pa.request(method, path, body))]).toEqual([path, expect.objectContaining({ status: 403, code: 'AUTH_FORBIDDEN' })]);
    }
    // principal A on principal B's agent: 404 exactly as an unknown agent, and nothing happens
    const foreign: [string, string, unknown][] = [
      ['GET', `/v1/principal/agents/${bAgent}/balances`, undefined],
      ['GET', `/v1/principal/agents/${bAgent}/orders`, undefined],
      ['GET', `/v1/principal/agents/${bAgent}/fills`, undefined],
      ['GET', `/v1/principal/agents/${bAgent}/spend`, undefined],
      ['GET', `/v1/principal/agents/${bAgent}/keys`, undefined],
      ['GET', `/v1/principal/agents/${bAgent}/policy`, undefined],
      ['PUT', `/v1/principal/agents/${bAgent}/policy`, { spendCaps: [{ windowSeconds: 60, limit: '0.001' }] }],
      ['DELETE', `/v1/principal/agents/${bAgent}/policy`, undefined],
      ['POST', `/v1/principal/agents/${bAgent}/keys`, {}],
      ['DELETE', `/v1/principal/agents/${bAgent}/keys/${'ak_' + 'x'.repeat(20)}`, undefined],
      ['POST', `/v1/principal/agents/${bAgent}/freeze`, {}],
      ['POST', `/v1/principal/agents/${bAgent}/kill`, {}],
      ['POST', '/v1/principal/transfers', { id: 'steal', agentId: bAgent, direction: 'from_agent', asset: 'CREDIT', amount: '50' }],
    ];
    for (const [method, path, body] of foreign) {
      const mine = await failure(pa.request(method, path, body));
      const unknown = await failure(pa.request(method, path.replace(bAgent, 'agt_nosuchagent00'), body));
      expect([method, path, mine]).toEqual([method, path, expect.objectContaining({ status: 404, code: 'NOT_FOUND' })]);
      expect(mine?.code).toBe(unknown?.code);
    }
    // B's agent is untouched: same policy, its order still open, its funds all there, its key works
    expect(await pb.get(`/v1/principal/agents/${bAgent}/policy`)).toMatchObject({
      version: (bPolicyBefore as { version: number }).version,
      frozen: false,
    });
    expect(await bAgentClient.getOrder(order.id)).toMatchObject({ status: 'open' });
    expect((await bAgentClient.balances()).balances['CREDIT']?.total).toBe('100.000');
    // an agent on another agent's order: unknown to it
    expect(await failure(aAgentClient.cancelOrder(order.id))).toMatchObject({ status: 404, code: 'MATCHING_UNKNOWN_ORDER' });
    expect(await failure(aAgentClient.getOrder(order.id))).toMatchObject({ status: 404 });
    expect(await bAgentClient.getOrder(order.id)).toMatchObject({ status: 'open' });
    await bAgentClient.cancelOrder(order.id);
  });

  it('validates policies with a code that says why; a stale version is 409; a refused policy changes nothing', async () => {
    const { id } = await newAgent(pa, 'validated');
    const put = (body: unknown) => pa.put<{ version: number; policy: unknown }>(`/v1/principal/agents/${id}/policy`, body);
    const ok = await put({ spendCaps: [{ windowSeconds: 3600, limit: '100' }] });
    expect(ok).toMatchObject({ version: 1, policy: { spendCaps: [{ windowSeconds: 3600, limit: '100.000' }] } });
    const cases: [string, unknown, string, string?][] = [
      ['zero window', { spendCaps: [{ windowSeconds: 0, limit: '1' }] }, 'POLICY_INVALID', 'spendCaps[0].windowSeconds'],
      ['negative window', { spendCaps: [{ windowSeconds: -60, limit: '1' }] }, 'POLICY_INVALID', 'spendCaps[0].windowSeconds'],
      ['fractional window', { spendCaps: [{ windowSeconds: 1.5, limit: '1' }] }, 'POLICY_INVALID', 'spendCaps[0].windowSeconds'],
      ['window over 31 days', { spendCaps: [{ windowSeconds: 32 * 86400, limit: '1' }] }, 'POLICY_INVALID', 'spendCaps[0].windowSeconds'],
      [
        'two caps on one window',
        {
          spendCaps: [
            { windowSeconds: 60, limit: '1' },
            { windowSeconds: 60, limit: '2' },
          ],
        },
        'POLICY_INVALID',
        'spendCaps[1].windowSeconds',
      ],
      ['zero limit', { spendCaps: [{ windowSeconds: 60, limit: '0' }] }, 'POLICY_INVALID', 'spendCaps[0].limit'],
      ['negative limit', { spendCaps: [{ windowSeconds: 60, limit: '-5' }] }, 'POLICY_INVALID', 'spendCaps[0].limit'],
      ['limit not a number', { spendCaps: [{ windowSeconds: 60, limit: 'lots' }] }, 'POLICY_INVALID', 'spendCaps[0].limit'],
      ['zero notional', { maxOrderNotional: '0' }, 'POLICY_INVALID', 'maxOrderNotional'],
      ['ceiling on an unknown asset', { maxPrice: { 'NOPE.1K': '1' } }, 'POLICY_INVALID', 'maxPrice.NOPE.1K'],
      ['no market at all', { markets: [] }, 'POLICY_INVALID', 'markets'],
      ['an unknown market', { markets: ['NOPE/CREDIT'] }, 'POLICY_INVALID', 'markets'],
      ['no order type', { orderTypes: [] }, 'POLICY_INVALID', 'orderTypes'],
      ['expired already', { expiresAt: '2020-01-01T00:00:00Z' }, 'POLICY_INVALID', 'expiresAt'],
      ['not a time', { expiresAt: 'tomorrow' }, 'POLICY_INVALID', 'expiresAt'],
      ['unknown field', { spendCap: [] }, 'VALIDATION_FAILED'],
      ['stale version', { expectedVersion: 0, spendCaps: [] }, 'POLICY_VERSION_CONFLICT'],
    ];
    for (const [name, body, code, field] of cases) {
      const r = await failure(put(body));
      expect([name, r?.code, field ? r?.details?.['field'] : undefined]).toEqual([name, code, field]);
    }
    const now = await pa.get<{ version: number; policy: unknown }>(`/v1/principal/agents/${id}/policy`);
    expect(now).toMatchObject({ version: 1, policy: ok.policy });
    expect(await put({ expectedVersion: 1, spendCaps: [] })).toMatchObject({ version: 2, policy: { spendCaps: [] } });
  });

  it('200 concurrent orders at an agent whose cap allows 10: exactly 10 admitted, spend <= cap', async () => {
    const { id, c } = await newAgent(pa, 'hammer', '10000');
    // each order: 10 lots at 2.000 = 20.000 credits worst case; the hourly cap is 200.000: room for exactly 10
    await pa.put(`/v1/principal/agents/${id}/policy`, { spendCaps: [{ windowSeconds: 3600, limit: '200' }] });
    await seller.placeOrder({ market: M, side: 'sell', type: 'limit', price: '2.000', quantity: '50', clientOrderId: 'mm-ask-hammer' });
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '10', clientOrderId: `h-${i}` }),
      ),
    );
    const admitted = results.filter((r) => r.status === 'fulfilled');
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as AteApiError] : []));
    expect(admitted).toHaveLength(10);
    expect(new Set(refused.map((e) => `${e.status} ${e.code}`))).toEqual(new Set(['422 BUDGET_EXCEEDED']));
    const b = await pa.get<{ usage: { used: string; reserved: string; remaining: string; limit: string }[] }>(`/v1/principal/agents/${id}/policy`);
    // 5 orders filled against the 50-lot ask (100.000 spent), 5 rest (100.000 reserved)
    expect(b.usage).toEqual([expect.objectContaining({ limit: '200.000', used: '100.000', reserved: '100.000', remaining: '0.000' })]);
    const spend = await pa.get<{ spent: string }>(`/v1/principal/agents/${id}/spend`);
    expect(Number(spend.spent)).toBeLessThanOrEqual(200);
    expect(spend.spent).toBe('100.000');
    // the ledger agrees: the agent paid exactly what the budget counts
    expect((await c.balances()).balances['CREDIT']).toEqual({ free: '9800.000', used: '100.000', total: '9900.000' });

    // the refusal says what to do: rule, window, limit, used, remaining, and that open orders hold the rest
    const e = refused[0] as AteApiError & { details: Record<string, unknown> };
    expect(e.details).toMatchObject({ rule: 'spendCap', windowSeconds: 3600, limit: '200.000', requested: '20.000' });
    // POST /v1/orders/test answers the same
    const t = await failure(c.testOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '10' }));
    expect(t).toMatchObject({ status: 422, code: 'BUDGET_EXCEEDED', details: expect.objectContaining({ rule: 'spendCap', remaining: '0.000' }) });
    // 20.000 of the 100.000 spent must leave the window: that happens one hour after those fills, not before
    expect(t?.details?.['freesAtMs']).toBeGreaterThan(Date.now() + 3590_000);
    expect(t?.details?.['freesAtMs']).toBeLessThanOrEqual(Date.now() + 3600_000);
    // cancelling resting orders releases what they reserved
    const open = await c.listOrders({ status: 'open' });
    await c.cancelOrder(open.orders[0]!.id);
    expect(await pa.get(`/v1/principal/agents/${id}/policy`)).toMatchObject({
      usage: [expect.objectContaining({ reserved: '80.000', remaining: '20.000' })],
    });
    expect(await c.testOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '10' })).toMatchObject({ valid: true });
    await c.cancelAll();
  });

  it('a spend cap counts fills over a rolling window and says when it frees', async () => {
    const { id, c } = await newAgent(pa, 'window', '1000');
    await pa.put(`/v1/principal/agents/${id}/policy`, {
      spendCaps: [
        { windowSeconds: 5, limit: '10' },
        { windowSeconds: 86400, limit: '1000' },
      ],
    });
    await seller.placeOrder({ market: M, side: 'sell', type: 'limit', price: '2.000', quantity: '100', clientOrderId: 'mm-ask-window' });
    const t0 = Date.now();
    await c.placeOrder({ market: M, side: 'buy', type: 'market', spend: '8' }); // fills 4 lots: 8.000 spent
    const r = await failure(c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '2' }));
    expect(r).toMatchObject({
      status: 422,
      code: 'BUDGET_EXCEEDED',
      details: expect.objectContaining({ windowSeconds: 5, limit: '10.000', used: '8.000', remaining: '2.000', requested: '4.000' }),
    });
    const freesAt = r?.details?.['freesAtMs'] as number;
    expect(freesAt).toBeGreaterThanOrEqual(t0 + 5000);
    expect(freesAt).toBeLessThan(Date.now() + 5000);
    await new Promise((res) => setTimeout(res, Math.max(0, freesAt - Date.now()) + 50));
    expect(await c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '2' })).toMatchObject({ status: 'closed' });
    const b = await c.get<{ usage: { windowSeconds: number; used: string }[] }>('/v1/account/budget');
    expect(b.usage).toEqual([
      expect.objectContaining({ windowSeconds: 5, used: '4.000' }),
      expect.objectContaining({ windowSeconds: 86400, used: '12.000' }),
    ]);
    await seller.cancelAll();
  });

  it('per-order rules: max notional, a price ceiling per asset, allowed markets and order types, the delegation’s expiry', async () => {
    const { id, c } = await newAgent(pa, 'rules', '1000');
    const rules = { maxOrderNotional: '50', maxPrice: { 'BGT.1K': '2.500' }, markets: [M], orderTypes: ['limit'] };
    await pa.put(`/v1/principal/agents/${id}/policy`, { ...rules, expiresAt: Date.now() + 600_000 });
    const cases: [string, Parameters<AteClient['placeOrder']>[0], string | null, Record<string, unknown>?][] = [
      ['within every rule', { market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '5' }, null],
      [
        'notional above the max',
        { market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '51' },
        'BUDGET_ORDER_NOTIONAL_EXCEEDED',
        { limit: '50.000', requested: '51.000' },
      ],
      [
        'a sell above the max notional too',
        { market: M, side: 'sell', type: 'limit', price: '2.000', quantity: '26' },
        'BUDGET_ORDER_NOTIONAL_EXCEEDED',
      ],
      [
        'price above the ceiling',
        { market: M, side: 'buy', type: 'limit', price: '2.501', quantity: '1' },
        'BUDGET_PRICE_ABOVE_CEILING',
        { ceiling: '2.500', price: '2.501' },
      ],
      [
        'another market',
        { market: M2, side: 'buy', type: 'limit', price: '1.000', quantity: '1' },
        'BUDGET_MARKET_NOT_ALLOWED',
        { allowed: ['BGT.1K-CREDIT'] },
      ],
      ['a market order', { market: M, side: 'buy', type: 'market', spend: '1' }, 'BUDGET_ORDER_TYPE_NOT_ALLOWED', { allowed: ['limit'] }],
    ];
    for (const [name, order, code, details] of cases) {
      const tested = await failure(c.testOrder(order));
      const placed = await failure(c.placeOrder(order));
      expect([name, placed?.code ?? null]).toEqual([name, code]);
      expect([name, tested?.code ?? null]).toEqual([name, code]);
      if (details) expect(placed?.details).toMatchObject(details);
    }
    // the delegation ends at expiresAt (command time): from then on no new order
    const expiresAt = Date.now() + 1000;
    await pa.put(`/v1/principal/agents/${id}/policy`, { ...rules, expiresAt });
    await new Promise((res) => setTimeout(res, Math.max(0, expiresAt - Date.now()) + 20));
    expect(await failure(c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '1' }))).toMatchObject({
      code: 'BUDGET_POLICY_EXPIRED',
    });
    await c.cancelAll();
  });

  it('freeze stops spending (cancels still work); the kill switch cancels every open order and revokes the keys in one step', async () => {
    const { id, c } = await newAgent(pa, 'killable', '1000');
    const o1 = await c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '5' });
    const o2 = await c.placeOrder({ market: M2, side: 'buy', type: 'limit', price: '1.000', quantity: '5' });
    const f = await pa.post<{ frozen: boolean; cancelledOrders: string[] }>(`/v1/principal/agents/${id}/freeze`, { cancelOrders: false });
    expect(f).toMatchObject({ frozen: true, cancelledOrders: [] });
    expect(await failure(c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '1' }))).toMatchObject({
      status: 422,
      code: 'BUDGET_AGENT_FROZEN',
    });
    expect(await failure(c.amendOrder(o1.id, { price: '1.100' }))).toMatchObject({ code: 'BUDGET_AGENT_FROZEN' });
    expect(await c.cancelOrder(o1.id)).toMatchObject({ status: 'canceled' });
    await pa.post(`/v1/principal/agents/${id}/unfreeze`);
    const o3 = await c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '5' });

    const k = await pa.post<{ frozen: boolean; cancelledOrders: string[]; revokedKeys: string[] }>(`/v1/principal/agents/${id}/kill`);
    expect(k.frozen).toBe(true);
    expect(k.cancelledOrders.sort()).toEqual([o2.id, o3.id].sort());
    expect(k.revokedKeys).toHaveLength(1);
    expect(await failure(c.me())).toMatchObject({ status: 401 });
    const orders = await pa.get<{ orders: { status: string }[] }>(`/v1/principal/agents/${id}/orders?status=open`);
    expect(orders.orders).toEqual([]);
    expect((await pa.get<{ balances: Record<string, { used: string }> }>(`/v1/principal/agents/${id}/balances`)).balances['CREDIT']?.used).toBe(
      '0.000',
    );
    // its funds can still go home to the principal
    await pa.post('/v1/principal/transfers', { id: 'sweep-killable', agentId: id, direction: 'from_agent', asset: 'CREDIT', amount: '1000' });
  });

  it('each principal action is in the audit log, written with its effect: who, which key, what, on what', async () => {
    const { id } = await newAgent(pa, 'audited', '10');
    await pa.put(`/v1/principal/agents/${id}/policy`, { spendCaps: [{ windowSeconds: 3600, limit: '5' }] });
    await pa.post(`/v1/principal/agents/${id}/kill`);
    await pa.post('/v1/principal/transfers', { id: 'sweep-audited', agentId: id, direction: 'from_agent', asset: 'CREDIT', amount: '10' });
    const page = await admin.get<{
      entries: { action: string; actor: { kind: string; id: string; keyId: string }; target: { kind: string; id: string } }[];
    }>(`/v1/admin/audit?actor=${paId}&target=${id}`);
    // newest first; the kill is the sequencer's revoke (its subtree frozen, orders cancelled); its keys' revocation
    // (outside the sequencer) has one row per key, whose target is the key (audit/principal-audit.e2e.spec.ts)
    expect(page.entries.map((e) => [e.action, e.target.kind, e.target.id])).toEqual([
      ['principal.from_agent', 'agent', id],
      ['budget.revoke', 'agent', id],
      ['budget.set_policy', 'agent', id],
      ['principal.to_agent', 'agent', id],
      ['agent.create', 'agent', id],
    ]);
    expect(page.entries.every((e) => e.actor.kind === 'principal' && e.actor.id === paId && e.actor.keyId === creds.get(pa)?.keyId)).toBe(true);
    // a refused action leaves no row
    expect(
      await failure(pa.post('/v1/principal/transfers', { id: 'too-much', agentId: id, direction: 'from_agent', asset: 'CREDIT', amount: '1' })),
    ).toMatchObject({
      status: 422,
    });
    expect((await admin.get<{ entries: unknown[] }>(`/v1/admin/audit?actor=${paId}&target=${id}`)).entries).toHaveLength(5);
  });

  it('an operator freezes a principal: all its agents and its transfers, until thawed', async () => {
    const p = await admin.createPrincipal({ name: 'Initech' });
    const pk = client(await admin.post<{ keyId: string; secret: string }>(`/v1/admin/principals/${p.id}/keys`, {}));
    await admin.post(`/v1/admin/principals/${p.id}/deposits`, { id: 'init-seed', asset: 'CREDIT', amount: '100' });
    const { id, c } = await newAgent(pk, 'initech-bot', '10');
    const order = await c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '2' });
    const r = await admin.post<{ cancelledOrders: string[] }>(`/v1/admin/principals/${p.id}/freeze`, {});
    expect(r.cancelledOrders).toEqual([order.id]);
    expect(await failure(c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '1' }))).toMatchObject({
      code: 'BUDGET_AGENT_FROZEN',
    });
    expect(
      await failure(pk.post('/v1/principal/transfers', { id: 'i-1', agentId: id, direction: 'to_agent', asset: 'CREDIT', amount: '1' })),
    ).toMatchObject({
      code: 'BUDGET_AGENT_FROZEN',
    });
    expect(await failure(pk.post(`/v1/principal/agents/${id}/unfreeze`))).toMatchObject({ code: 'BUDGET_AGENT_FROZEN' });
    expect(await failure(pk.post('/v1/principal/agents', { name: 'another' }))).toMatchObject({ code: 'BUDGET_AGENT_FROZEN' });
    await admin.post(`/v1/admin/principals/${p.id}/unfreeze`);
    expect(await c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '1' })).toMatchObject({ status: 'open' });
    await c.cancelAll();
    // an admin freezes a single agent, with its keys (the operator's kill switch)
    const k = await admin.post<{ revokedKeys: string[] }>(`/v1/admin/agents/${id}/freeze`, { revokeKeys: true });
    expect(k.revokedKeys).toHaveLength(1);
    expect(await failure(c.me())).toMatchObject({ status: 401 });
  });

  it('spend reports per agent and for all of a principal’s agents over a period', async () => {
    const { id, c } = await newAgent(pb, 'reported', '100');
    await seller.placeOrder({ market: M, side: 'sell', type: 'limit', price: '2.000', quantity: '10', clientOrderId: 'mm-ask-report' });
    await c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '3' });
    const one = await pb.get<{ spent: string; agents: { agentId: string; spent: string; allowances: Record<string, { bought: string }> }[] }>(
      `/v1/principal/agents/${id}/spend`,
    );
    expect(one).toMatchObject({
      spent: '6.000',
      agents: [{ agentId: id, spent: '6.000', allowances: { 'BGT.1K': { bought: '3', feesPaid: '0' } } }],
    });
    const all = await pb.get<{ spent: string; agents: { agentId: string }[] }>('/v1/principal/spend');
    expect(all.agents.map((a) => a.agentId)).toContain(id);
    expect(Number(all.spent)).toBeGreaterThanOrEqual(6);
    const past = await pb.get<{ spent: string }>(`/v1/principal/agents/${id}/spend?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z`);
    expect(past.spent).toBe('0.000');
    await seller.cancelAll();
  });

  it('hierarchical delegation end to end: a three-level tree of escrowed carve-outs; revoking the middle freezes its subtree and returns what it did not spend', async () => {
    type Sub = { id: string; apiKey: { keyId: string; secret: string }; budget: { carveOut: { limit: string; remaining: string } } };
    type B = {
      usage: { remaining: string }[];
      carvedOut: string;
      carveOut: { limit: string; spent: string; remaining: string } | null;
      frozen: boolean;
    };
    const { id: rootId, c: root } = await newAgent(pa, 'tree-root', '1000');
    await pa.put(`/v1/principal/agents/${rootId}/policy`, {
      spendCaps: [{ windowSeconds: 3600, limit: '100' }],
      maxOrderNotional: '40',
      subAgents: true,
    });
    // without a policy that allows it, an agent creates no sub-agent; nothing is left behind
    const { c: plain } = await newAgent(pa, 'tree-plain', '10');
    const agentsBefore = (await pa.get<{ agents: unknown[] }>('/v1/principal/agents')).agents.length;
    expect(await failure(plain.post('/v1/account/subagents', { name: 'x', carveOut: '1' }))).toMatchObject({
      status: 422,
      code: 'BUDGET_CARVE_OUT_REFUSED',
    });
    expect((await pa.get<{ agents: unknown[] }>('/v1/principal/agents')).agents).toHaveLength(agentsBefore);

    const mid = await root.post<Sub>('/v1/account/subagents', { name: 'tree-mid', carveOut: '60' });
    expect(mid.budget.carveOut).toMatchObject({ limit: '60.000', remaining: '60.000' });
    const midC = client(mid.apiKey);
    // a parent cannot raise a child above itself
    expect(await failure(root.put(`/v1/account/subagents/${mid.id}/policy`, { maxOrderNotional: '50', subAgents: true }))).toMatchObject({
      status: 400,
      code: 'POLICY_ABOVE_PARENT',
      details: expect.objectContaining({ field: 'maxOrderNotional' }),
    });
    await root.put(`/v1/account/subagents/${mid.id}/policy`, { maxOrderNotional: '40', subAgents: true });
    const leaf = await midC.post<Sub>('/v1/account/subagents', { name: 'tree-leaf', carveOut: '20' });
    const leafC = client(leaf.apiKey);
    // the mid-level has 40 of its 60 left: a second carve-out of 50 does not fit
    expect(await failure(midC.post('/v1/account/subagents', { name: 'too-big', carveOut: '50' }))).toMatchObject({
      code: 'BUDGET_CARVE_OUT_REFUSED',
      details: { reason: expect.stringMatching(/carve-out has 40\.000 left/) },
    });
    // the carve-outs are escrowed in the root's cap: 100 - 60 = 40 left for the root itself
    expect((await root.get<B>('/v1/account/budget')).usage[0]?.remaining).toBe('40.000');
    expect(await failure(root.testOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '21' }))).toMatchObject({
      code: 'BUDGET_ORDER_NOTIONAL_EXCEEDED',
    });
    // other agents cannot manage someone else's sub-agent: 404
    expect(await failure(leafC.put(`/v1/account/subagents/${mid.id}/carve-out`, { amount: '1' }))).toMatchObject({ status: 404 });
    expect(await failure(plain.post(`/v1/account/subagents/${leaf.id}/revoke`))).toMatchObject({ status: 404 });

    for (const s of [mid, leaf])
      await pa.post('/v1/principal/transfers', { id: `tree-fund-${s.id}`, agentId: s.id, direction: 'to_agent', asset: 'CREDIT', amount: '100' });
    await seller.placeOrder({ market: M, side: 'sell', type: 'limit', price: '2.000', quantity: '200', clientOrderId: 'mm-ask-tree' });
    expect(await leafC.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '8' })).toMatchObject({ status: 'closed' }); // 16 spent
    expect(await failure(leafC.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '3' }))).toMatchObject({
      code: 'BUDGET_EXCEEDED',
      details: expect.objectContaining({ rule: 'carveOut', limit: '20.000', used: '16.000', remaining: '4.000', freesAt: null }),
    });
    const resting = await leafC.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '2' }); // rests: 2 reserved
    expect(await midC.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '10' })).toMatchObject({ status: 'closed' }); // 20 spent
    expect(await failure(midC.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '11' }))).toMatchObject({
      details: expect.objectContaining({ rule: 'carveOut', remaining: '20.000' }),
    });

    // revoke the middle node: its subtree frozen, the leaf's resting order cancelled, keys revoked, unspent carve-outs back to the root
    const r = await root.post<{ agentIds: string[]; cancelledOrders: string[]; revokedKeys: string[] }>(`/v1/account/subagents/${mid.id}/revoke`);
    expect(r.agentIds).toEqual([mid.id, leaf.id]);
    expect(r.cancelledOrders).toEqual([resting.id]);
    expect(r.revokedKeys).toHaveLength(2);
    expect(await failure(leafC.me())).toMatchObject({ status: 401 });
    const subs = await root.get<{ subAgents: B[] }>('/v1/account/subagents');
    expect(subs.subAgents).toEqual([
      expect.objectContaining({ frozen: true, carveOut: expect.objectContaining({ limit: '36.000', spent: '20.000' }) }),
    ]);
    const rootBudget = await root.get<B>('/v1/account/budget');
    expect(rootBudget).toMatchObject({ carvedOut: '36.000', usage: [expect.objectContaining({ remaining: '64.000' })] });
    expect(await root.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '20' })).toMatchObject({ status: 'closed' });
    // the whole tree spent 16 + 20 + 40 = 76 credits: within the root's cap of 100
    const report = await pa.get<{ agents: { agentId: string; spent: string }[] }>('/v1/principal/spend');
    const tree = report.agents.filter((a) => [rootId, mid.id, leaf.id].includes(a.agentId)).reduce((x, a) => x + Number(a.spent), 0);
    expect(tree).toBe(76);
    await seller.cancelAll();
  });

  it('a sub-agent whose creation did not finish (the api stopped after its carve-out, before its key) is revoked by the sweep, its carve-out back with the parent', async () => {
    const { id: rootId, c: root } = await newAgent(pa, 'sweep-root', '100');
    await pa.put(`/v1/principal/agents/${rootId}/policy`, { spendCaps: [{ windowSeconds: 3600, limit: '100' }], subAgents: true });
    const remaining = async () => (await root.get<{ usage: { remaining: string }[] }>('/v1/account/budget')).usage[0]?.remaining;
    // the first two steps of createSubAgent, then the stop: the agent row and the sequenced carve-out, no key, no agent.create row
    const orphan = 'agt_unfinished01';
    await db.pool.query(`INSERT INTO agent (id, name, principal_id, created_at) VALUES ($1, 'orphan', $2, now() - interval '2 minutes')`, [
      orphan,
      paId,
    ]);
    expect(
      await app.get(EngineLink).submit({ kind: 'budget', op: { op: 'carve', parentId: rootId, childId: orphan, amount: 30_000 } }),
    ).toMatchObject({
      code: null,
    });
    expect(await remaining()).toBe('70.000');
    // a finished sub-agent (it has its key), and a keyless one younger than a minute, are left alone
    const finished = await root.post<{ id: string }>('/v1/account/subagents', { name: 'sweep-finished', carveOut: '10' });
    const sweep = app.get(UnfinishedSubAgents);
    expect(await sweep.sweep()).toEqual([orphan]);
    expect(await remaining()).toBe('90.000');
    expect((await root.get<{ subAgents: { agentId: string; frozen: boolean }[] }>('/v1/account/subagents')).subAgents).toEqual([
      expect.objectContaining({ agentId: orphan, frozen: true }),
      expect.objectContaining({ agentId: finished.id, frozen: false }),
    ]);
    expect(await sweep.sweep()).toEqual([]); // revoked once
    const audit = (await admin.get<{ entries: unknown[] }>(`/v1/admin/audit?action=budget.revoke&target=${orphan}`)).entries;
    expect(audit).toEqual([
      expect.objectContaining({
        actor: { kind: 'system', id: null, keyId: null },
        reason: 'sub-agent creation unfinished',
        commandSeq: expect.any(String),
      }),
    ]);
  });

  it('budget state (policy, spend, reservations, freezes, principal funds) survives a restart: it is replayed from the command log', async () => {
    const { id, c } = await newAgent(pa, 'durable', '1000');
    await pa.put(`/v1/principal/agents/${id}/policy`, { spendCaps: [{ windowSeconds: 3600, limit: '30' }] });
    await seller.placeOrder({ market: M, side: 'sell', type: 'limit', price: '2.000', quantity: '5', clientOrderId: 'mm-ask-durable' });
    await c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '10' }); // 10 spent, 10 reserved
    const before = await pa.get(`/v1/principal/agents/${id}/policy`);
    const account = await pa.get('/v1/principal/account');
    await app.close();
    await boot();
    [pa, pb, seller] = [again(pa), again(pb), again(seller)];
    const c2 = again(c);
    const after = await pa.get<{ asOf: string }>(`/v1/principal/agents/${id}/policy`);
    expect({ ...after, asOf: null, usage: (after as unknown as { usage: { resetsAt: unknown }[] }).usage.map((u) => ({ ...u })) }).toEqual({
      ...(before as object),
      asOf: null,
      usage: (before as { usage: unknown[] }).usage,
    });
    expect(await pa.get('/v1/principal/account')).toEqual(account);
    expect(await failure(c2.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '6' }))).toMatchObject({
      code: 'BUDGET_EXCEEDED',
      details: expect.objectContaining({ used: '10.000', reserved: '10.000', remaining: '10.000' }),
    });
    await c2.cancelAll();
  });
});
