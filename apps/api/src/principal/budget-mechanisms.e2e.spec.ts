import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteApiError, AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { AuctionsService } from '../auctions/auctions.service';
import type { AppConfig } from '../config/config';
import { startTestApp, testConfig } from '../testing/test-app';

const ASSET = 'SPD.1K';
const M = `${ASSET}/CREDIT`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

type Usage = { windowSeconds: number; limit: string; used: string; reserved: string; remaining: string };
type BudgetView = { usage: Usage[]; redemptionUsage: { asset: string; used: string; remaining: string }[]; reserved: string };
type Spend = {
  spent: string;
  agents: {
    agentId: string;
    spent: string;
    spentBy: { trades: string; auctions: string; purchases: string };
    redeemed: Record<string, string>;
    auctions: { payments: string; won: Record<string, string>; auctionsWon: number };
    purchases: { cost: string; bought: Record<string, string>; count: number };
  }[];
};

/**
 * Budget policies on auction bids, posted-price purchases and redemptions, end to end over signed REST on real
 * Postgres with the in-process engine: a capped agent's bid is checked like an order and reserves its maximum
 * payment, winning spends exactly the VCG payment; concurrent purchases against a cap admit exactly what fits;
 * redemptions have caps of their own; the kill switch withdraws open bids; the spend report has each on its own
 * line; and all of it comes back after a restart (replayed from the command log).
 */
describe('budgets on auctions, posted prices and redemptions (real Postgres, real HTTP)', () => {
  jest.setTimeout(120_000);
  let db: TestDatabase;
  let config: AppConfig;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  let pa: AteClient;
  const keys = new Map<AteClient, { keyId: string; secret: string }>();
  const client = (k: { keyId: string; secret: string }) => {
    const c = new AteClient({ baseUrl: url, keyId: k.keyId, secret: k.secret });
    keys.set(c, k);
    return c;
  };
  const again = (c: AteClient) => client(keys.get(c) as { keyId: string; secret: string });
  const newAgent = async (name: string, credits: string) => {
    const a = await pa.post<{ id: string; apiKey: { keyId: string; secret: string } }>('/v1/principal/agents', { name });
    await pa.post('/v1/principal/transfers', { id: `fund-${a.id}`, agentId: a.id, direction: 'to_agent', asset: 'CREDIT', amount: credits });
    return { id: a.id, c: client(a.apiKey) };
  };
  const policyOf = (id: string) => pa.get<BudgetView>(`/v1/principal/agents/${id}/policy`);
  const credits = async (c: AteClient) => (await c.balances()).balances['CREDIT'];
  const spendOf = async (id: string) => (await pa.get<Spend>(`/v1/principal/agents/${id}/spend`)).agents[0] as Spend['agents'][number];

  let capped: { id: string; c: AteClient };
  let rival: AteClient;

  beforeAll(async () => {
    db = await createTestDatabase('budget_mechanisms');
    config = testConfig(db, { RATE_LIMIT_PER_KEY: '5000', RATE_LIMIT_PER_ADDRESS: '20000' });
    ({ app, url, admin } = await startTestApp(config));
    await admin.defineAsset({ code: ASSET, scale: 0, model: 'spd', provider: 'acme-ai', tokenClass: 'output-1k' });
    await admin.createMarket({ base: ASSET, tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, priceBandBps: 5000 });
    const p = await admin.createPrincipal({ name: 'Acme' });
    pa = client(await admin.post<{ keyId: string; secret: string }>(`/v1/admin/principals/${p.id}/keys`, { label: 'ops' }));
    await admin.post(`/v1/admin/principals/${p.id}/deposits`, { id: 'seed', asset: 'CREDIT', amount: '100000' });
    capped = await newAgent('capped', '1000');
    await pa.put(`/v1/principal/agents/${capped.id}/policy`, {
      spendCaps: [{ windowSeconds: 3600, limit: '30' }],
      maxOrderNotional: '20',
      redemptionCaps: [{ asset: ASSET, windowSeconds: 3600, limit: '10' }],
    });
    const r = await admin.createAgent({ name: 'rival' });
    rival = client(r.apiKey as { keyId: string; secret: string });
    await admin.deposit({ id: 'rival-c', agentId: r.id, asset: 'CREDIT', amount: '1000' });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });
  afterEach(async () => {
    expect(await admin.reconciliation()).toMatchObject({ ok: true, violations: [] });
  });

  it('a bid passes the budget like an order, reserves its maximum payment, and winning spends exactly the VCG payment', async () => {
    const deadline = Date.now() + 4000;
    const a = await admin.post<{ id: string }>('/v1/admin/auctions', { asset: ASSET, units: '4', reservePrice: '0', deadline });
    const bid = (c: AteClient, steps: { units: string; price: string }[]) => c.post<{ hold: string }>(`/v1/auctions/${a.id}/bids`, { steps });
    // 3 x 7 = 21 at most: above the per-order notional of 20; refused, and nothing is held anywhere
    expect(await failure(bid(capped.c, [{ units: '3', price: '7' }]))).toMatchObject({
      status: 422,
      code: 'BUDGET_ORDER_NOTIONAL_EXCEEDED',
      details: { rule: 'maxOrderNotional', limit: '20.000', requested: '21.000' },
    });
    expect(await credits(capped.c)).toEqual({ free: '1000.000', used: '0.000', total: '1000.000' });
    expect(await failure(capped.c.get(`/v1/auctions/${a.id}/bids/mine`))).toMatchObject({ status: 404, code: 'AUCTION_BID_NOT_FOUND' });
    expect((await policyOf(capped.id)).usage[0]).toMatchObject({ used: '0.000', reserved: '0.000', remaining: '30.000' });

    // 2 x 9 = 18: admitted; it holds 18 of the hourly 30, on the book's window too
    expect((await bid(capped.c, [{ units: '2', price: '9' }])).hold).toBe('18.000');
    expect((await policyOf(capped.id)).usage[0]).toMatchObject({ used: '0.000', reserved: '18.000', remaining: '12.000' });
    const order = await failure(capped.c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.300', quantity: '10' }));
    expect(order).toMatchObject({
      status: 422,
      code: 'BUDGET_EXCEEDED',
      details: {
        rule: 'spendCap',
        windowSeconds: 3600,
        limit: '30.000',
        used: '0.000',
        reserved: '18.000',
        remaining: '12.000',
        requested: '13.000',
        freesAt: null,
      },
    });
    // withdrawing releases the reservation; bidding again takes it
    await capped.c.delete(`/v1/auctions/${a.id}/bids/mine`);
    expect((await policyOf(capped.id)).usage[0]).toMatchObject({ reserved: '0.000', remaining: '30.000' });
    await bid(capped.c, [{ units: '2', price: '9' }]);
    await bid(rival, [{ units: '3', price: '4' }]);

    // settled after the deadline: capped wins 2 units and pays what they were worth to the rival (1 unit x 4)
    const svc = app.get(AuctionsService);
    while (Date.now() < deadline) await sleep(100);
    for (let s = await svc.settle(a.id); s === 'not_due'; s = await svc.settle(a.id)) await sleep(100);
    const results = await capped.c.get<{ allocation: { agentId: string; units: string; payment: string }[] }>(`/v1/auctions/${a.id}/results`);
    expect(results.allocation.find((x) => x.agentId === capped.id)).toMatchObject({ units: '2', payment: '4.000' });
    expect((await policyOf(capped.id)).usage[0]).toMatchObject({ used: '4.000', reserved: '0.000', remaining: '26.000' });
    expect(await credits(capped.c)).toEqual({ free: '996.000', used: '0.000', total: '996.000' });
    expect(await spendOf(capped.id)).toMatchObject({
      spent: '4.000',
      spentBy: { trades: '0.000', auctions: '4.000', purchases: '0.000' },
      auctions: { payments: '4.000', won: { [ASSET]: '2' }, auctionsWon: 1 },
    });
  });

  it('many concurrent purchases at a posted price against a cap admit exactly what fits; each refusal says why; no hold is left', async () => {
    const buyer = await newAgent('pool-buyer', '1000');
    await pa.put(`/v1/principal/agents/${buyer.id}/policy`, { spendCaps: [{ windowSeconds: 3600, limit: '50' }] });
    await admin.post('/v1/admin/pools', { id: 'spd-fixed', asset: ASSET, mode: 'fixed', price: '2', supply: '1000' });
    // each purchase: 1 unit, worst case 2.500 (its max price), cost 2.000: admitted while 2k + 2.5 <= 50, i.e. 24 of them
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, () => buyer.c.post('/v1/pools/spd-fixed/purchases', { units: '1', maxPrice: '2.500' })),
    );
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as AteApiError] : []));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(24);
    expect(new Set(refused.map((e) => `${e.status} ${e.code}`))).toEqual(new Set(['422 BUDGET_EXCEEDED']));
    expect(refused[0]?.details).toMatchObject({ rule: 'spendCap', windowSeconds: 3600, limit: '50.000', requested: '2.500', used: '48.000' });
    expect((await policyOf(buyer.id)).usage[0]).toMatchObject({ used: '48.000', reserved: '0.000', remaining: '2.000' });
    expect(await credits(buyer.c)).toEqual({ free: '952.000', used: '0.000', total: '952.000' });
    expect((await buyer.c.balances()).balances[ASSET]?.total).toBe('24');
    // a max price at the posted price fits the room left
    await buyer.c.post('/v1/pools/spd-fixed/purchases', { units: '1', maxPrice: '2' });
    expect(await spendOf(buyer.id)).toMatchObject({
      spent: '50.000',
      spentBy: { trades: '0.000', auctions: '0.000', purchases: '50.000' },
      purchases: { cost: '50.000', bought: { [ASSET]: '25' }, count: 25 },
    });
  });

  it('redemptions are capped per allowance by a counter of their own (not spend); a refusal redeems nothing', async () => {
    await admin.deposit({ id: 'capped-spd', agentId: capped.id, asset: ASSET, amount: '20' });
    const redeem = (id: string, amount: string) => capped.c.post<{ amount: string }>('/v1/redemptions', { id, asset: ASSET, amount });
    const listed = async () => (await capped.c.get<{ redemptions: unknown[] }>('/v1/redemptions')).redemptions.length;
    await redeem('r-1', '6');
    const held = (await capped.c.balances()).balances[ASSET]?.total;
    const n = await listed();
    const over = await failure(redeem('r-2', '5'));
    expect(over).toMatchObject({
      status: 422,
      code: 'BUDGET_EXCEEDED',
      details: { rule: 'redemptionCap', asset: ASSET, windowSeconds: 3600, limit: '10', used: '6', remaining: '4', requested: '5' },
    });
    expect(Number(over?.details?.['freesAtMs'])).toBeGreaterThan(Date.now() + 3590_000);
    expect([(await capped.c.balances()).balances[ASSET]?.total, await listed()]).toEqual([held, n]);
    await redeem('r-2', '4'); // the same client id, now within the cap
    expect((await policyOf(capped.id)).redemptionUsage).toEqual([expect.objectContaining({ asset: ASSET, used: '10', remaining: '0' })]);
    const s = await spendOf(capped.id);
    expect([s.redeemed, s.spent]).toEqual([{ [ASSET]: '10' }, '4.000']);

    // validated like the spend caps, with the field that is wrong
    const cases: [unknown, string][] = [
      [[{ asset: 'CREDIT', windowSeconds: 60, limit: '1' }], 'redemptionCaps[0].asset'],
      [[{ asset: 'NOPE.1K', windowSeconds: 60, limit: '1' }], 'redemptionCaps[0].asset'],
      [[{ asset: ASSET, windowSeconds: 0, limit: '1' }], 'redemptionCaps[0].windowSeconds'],
      [[{ asset: ASSET, windowSeconds: 60, limit: '0' }], 'redemptionCaps[0].limit'],
      [[{ asset: ASSET, windowSeconds: 60, limit: '1.5' }], 'redemptionCaps[0].limit'],
      [
        [
          { asset: ASSET, windowSeconds: 60, limit: '1' },
          { asset: ASSET, windowSeconds: 60, limit: '2' },
        ],
        'redemptionCaps[1].windowSeconds',
      ],
    ];
    const version = (await pa.get<{ version: number }>(`/v1/principal/agents/${capped.id}/policy`)).version;
    for (const [redemptionCaps, field] of cases)
      expect([field, await failure(pa.put(`/v1/principal/agents/${capped.id}/policy`, { redemptionCaps }))]).toEqual([
        field,
        expect.objectContaining({ status: 400, code: 'POLICY_INVALID', details: expect.objectContaining({ field }) }),
      ]);
    expect((await pa.get<{ version: number }>(`/v1/principal/agents/${capped.id}/policy`)).version).toBe(version);
  });

  it('the kill switch withdraws the agent’s open bids in the same step: no bid of a frozen agent can win', async () => {
    const k = await newAgent('killed', '100');
    await pa.put(`/v1/principal/agents/${k.id}/policy`, { spendCaps: [{ windowSeconds: 3600, limit: '50' }] });
    const a = await admin.post<{ id: string }>('/v1/admin/auctions', { asset: ASSET, units: '1', reservePrice: '0', deadline: Date.now() + 600_000 });
    await k.c.post(`/v1/auctions/${a.id}/bids`, { steps: [{ units: '1', price: '10' }] });
    expect((await policyOf(k.id)).reserved).toBe('10.000');
    await pa.post(`/v1/principal/agents/${k.id}/kill`, {});
    const rows = await db.pool.query<{ status: string }>('SELECT status FROM auction_bid WHERE auction_id = $1 AND agent_id = $2', [a.id, k.id]);
    expect(rows.rows).toEqual([{ status: 'withdrawn' }]);
    expect((await pa.get<{ balances: Record<string, { used: string }> }>(`/v1/principal/agents/${k.id}/balances`)).balances['CREDIT']?.used).toBe(
      '0.000',
    );
    expect(await policyOf(k.id)).toMatchObject({ reserved: '0.000', frozen: true });
    await admin.post(`/v1/admin/auctions/${a.id}/cancel`, {});
  });

  it('budget state of bids, purchases and redemptions survives a restart: replayed from the command log', async () => {
    const a = await admin.post<{ id: string }>('/v1/admin/auctions', { asset: ASSET, units: '1', reservePrice: '0', deadline: Date.now() + 600_000 });
    await capped.c.post(`/v1/auctions/${a.id}/bids`, { steps: [{ units: '1', price: '5' }] });
    const strip = (b: BudgetView & { asOf?: string }) => ({ usage: b.usage, redemptionUsage: b.redemptionUsage, reserved: b.reserved });
    const before = strip(await policyOf(capped.id));
    expect(before.usage[0]).toMatchObject({ used: '4.000', reserved: '5.000', remaining: '21.000' });
    await app.close();
    ({ app, url, admin } = await startTestApp(config));
    pa = again(pa);
    capped = { id: capped.id, c: again(capped.c) };
    expect(strip(await policyOf(capped.id))).toEqual(before);
    // and it still binds: 4 spent + 5 held by the bid + 20 on the book fit 30; 2 more do not
    const o = await capped.c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '20' });
    expect(await failure(capped.c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '2' }))).toMatchObject({
      status: 422,
      code: 'BUDGET_EXCEEDED',
      details: { reserved: '25.000', remaining: '1.000' },
    });
    await capped.c.cancelOrder(o.id);
    expect(await failure(capped.c.post('/v1/redemptions', { id: 'r-3', asset: ASSET, amount: '1' }))).toMatchObject({
      code: 'BUDGET_EXCEEDED',
      details: { rule: 'redemptionCap' },
    });
    await admin.post(`/v1/admin/auctions/${a.id}/cancel`, {});
    expect((await policyOf(capped.id)).usage[0]).toMatchObject({ reserved: '0.000' });
  });
});
