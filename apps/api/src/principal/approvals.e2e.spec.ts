import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteApiError, AteClient, FeedSubscriber } from '@ate/client';
import type { FeedPrivateMessage } from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { startTestApp, testConfig } from '../testing/test-app';

const M = 'APR.1K-CREDIT';

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

type Order = {
  id: string;
  status: string;
  reason: string | null;
  clientOrderId: string | null;
  remaining: string;
  approval?: Record<string, unknown>;
};

/**
 * Approval above a threshold and who may thaw a freeze, end to end over signed REST on real Postgres with the
 * in-process engine. Command time is Date.now() of this process (the app runs in it): the TTL test moves it
 * forward with an offset, as the clock would move.
 */
describe('approvals above a threshold, freezes by role, allowance expiry (real Postgres, real HTTP)', () => {
  jest.setTimeout(120_000);
  const realNow = Date.now.bind(Date);
  let offset = 0;
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  let pa: AteClient;
  let pb: AteClient;
  let seller: AteClient;
  const keys = new Map<AteClient, { keyId: string; secret: string }>();
  const client = (k: { keyId: string; secret: string }) => {
    const c = new AteClient({ baseUrl: url, keyId: k.keyId, secret: k.secret });
    keys.set(c, k);
    return c;
  };
  const creds = (c: AteClient) => keys.get(c);
  type Created = { id: string; apiKey: { keyId: string; secret: string } };
  const newAgent = async (p: AteClient, name: string, credits = '1000') => {
    const a = await p.post<Created>('/v1/principal/agents', { name });
    if (credits !== '0')
      await p.post('/v1/principal/transfers', { id: `fund-${a.id}`, agentId: a.id, direction: 'to_agent', asset: 'CREDIT', amount: credits });
    return { id: a.id, c: client(a.apiKey) };
  };
  const withApproval = (above: string, ttlSeconds = 600) => ({ spendCaps: [{ windowSeconds: 3600, limit: '500' }], approval: { above, ttlSeconds } });
  const used = async (c: AteClient) => (await c.balances()).balances['CREDIT']?.used;

  beforeAll(async () => {
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
    db = await createTestDatabase('approvals');
    ({ app, url, admin } = await startTestApp(testConfig(db, { ORDER_RATE_PER_AGENT: '2000', RATE_LIMIT_PER_KEY: '5000' })));
    await admin.defineAsset({ code: 'APR.1K', scale: 0, model: 'm', provider: 'acme-ai', tokenClass: 'output-1k' });
    await admin.createMarket({ base: 'APR.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 2000, priceBandBps: 5000 });
    const principals: AteClient[] = [];
    for (const name of ['Acme', 'Globex']) {
      const p = await admin.createPrincipal({ name });
      principals.push(client(await admin.post<{ keyId: string; secret: string }>(`/v1/admin/principals/${p.id}/keys`, {})));
      await admin.post(`/v1/admin/principals/${p.id}/deposits`, { id: `seed-${p.id}`, asset: 'CREDIT', amount: '100000' });
    }
    [pa, pb] = principals as [AteClient, AteClient];
    const s = await admin.createAgent({ name: 'mm' });
    seller = client(s.apiKey as { keyId: string; secret: string });
    await admin.deposit({ id: 'mm-apr', agentId: s.id, asset: 'APR.1K', amount: '100000' });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    jest.restoreAllMocks();
  });
  afterEach(async () => {
    expect(await admin.reconciliation()).toMatchObject({ ok: true, violations: [] });
  });

  it.each([
    // [the approval rule, the field POLICY_INVALID names]: nothing is set
    [{ above: '0', ttlSeconds: 600 }, 'approval.above'],
    [{ above: '-5', ttlSeconds: 600 }, 'approval.above'],
    [{ above: '1.0001', ttlSeconds: 600 }, 'approval.above'],
    [{ above: '10', ttlSeconds: 0 }, 'approval.ttlSeconds'],
    [{ above: '10', ttlSeconds: 9 }, 'approval.ttlSeconds'],
    [{ above: '10', ttlSeconds: 7 * 86400 + 1 }, 'approval.ttlSeconds'],
    [{ above: '10', ttlSeconds: 1.5 }, 'approval.ttlSeconds'],
  ])('a policy with approval %j is refused (400 POLICY_INVALID naming %s) and changes nothing', async (approval, field) => {
    const { id } = await newAgent(pa, `invalid-${field}`, '0');
    expect(await failure(pa.put(`/v1/principal/agents/${id}/policy`, { approval }))).toMatchObject({
      status: 400,
      code: 'POLICY_INVALID',
      details: { field },
    });
    expect(await pa.get(`/v1/principal/agents/${id}/policy`)).toMatchObject({ version: 0, policy: null });
  });

  it('an order above the threshold waits as pending_approval (nothing reserved); the principal lists and approves it; it then reserves once', async () => {
    const { id, c } = await newAgent(pa, 'big-buyer');
    const set = await pa.put<{ policy: { approval: unknown } }>(`/v1/principal/agents/${id}/policy`, withApproval('20'));
    expect(set.policy.approval).toEqual({ above: '20.000', ttlSeconds: 600 });
    // at the threshold: placed at once
    const small = await c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '10', clientOrderId: 'small-1' });
    expect(small.status).toBe('open');
    // a dry run says the order would wait for approval
    expect(await c.testOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '25' })).toMatchObject({
      valid: true,
      approval: { required: true, notional: '50.000', threshold: '20.000', ttlSeconds: 600 },
    });
    expect(await c.testOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '10' })).not.toHaveProperty('approval');
    const big = (await c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '25', clientOrderId: 'big-1' })) as Order;
    expect(big).toMatchObject({
      status: 'pending_approval',
      clientOrderId: 'big-1',
      approval: { status: 'pending_approval', notional: '50.000', threshold: '20.000', expiresAt: expect.any(String) },
    });
    expect(await used(c)).toBe('20.000'); // the small order only
    expect(await c.getOrder(big.id)).toMatchObject({ status: 'pending_approval' });
    expect(await c.getOrderByClientId('big-1')).toMatchObject({ id: big.id, status: 'pending_approval' });
    // a retry with the same clientOrderId is the same order, never a second request
    expect(await c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '25', clientOrderId: 'big-1' })).toMatchObject({
      id: big.id,
      status: 'pending_approval',
    });
    const list = await pa.get<{ approvals: { orderId: string; agentId: string; notional: string; order: Order }[] }>('/v1/principal/approvals');
    expect(list.approvals).toEqual([
      expect.objectContaining({ orderId: big.id, agentId: id, notional: '50.000', order: expect.objectContaining({ status: 'pending_approval' }) }),
    ]);

    // role boundaries: another principal sees nothing and its decisions are 404; an agent may not decide
    expect((await pb.get<{ approvals: unknown[] }>('/v1/principal/approvals')).approvals).toEqual([]);
    expect(await failure(pb.post(`/v1/principal/approvals/${big.id}/approve`))).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(await failure(pb.post(`/v1/principal/approvals/${big.id}/reject`))).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(await failure(c.post(`/v1/principal/approvals/${big.id}/approve`))).toMatchObject({ status: 403, code: 'AUTH_FORBIDDEN' });
    expect(await failure(admin.post(`/v1/principal/approvals/${big.id}/approve`))).toMatchObject({ status: 403 });
    for (const bad of ['999999', 'abc', '0']) expect(await failure(pa.post(`/v1/principal/approvals/${bad}/approve`))).toMatchObject({ status: 404 });
    expect(await failure(pa.post(`/v1/principal/approvals/${small.id}/approve`))).toMatchObject({
      status: 409,
      code: 'APPROVAL_NOT_PENDING',
      details: { status: 'open' },
    });
    expect(await c.getOrder(big.id)).toMatchObject({ status: 'pending_approval' });

    const ok = await pa.post<{ decision: string; order: Order }>(`/v1/principal/approvals/${big.id}/approve`);
    expect(ok).toMatchObject({ decision: 'approved', order: { id: big.id, status: 'open', remaining: '25', clientOrderId: 'big-1' } });
    expect(await used(c)).toBe('70.000'); // 20 + 50: reserved at approval, once
    // the decision is in the audit log, written with its effect
    const audit = (await admin.get<{ entries: Record<string, unknown>[] }>('/v1/admin/audit?action=approval.approve&limit=5')).entries;
    expect(audit).toEqual([
      expect.objectContaining({
        actor: expect.objectContaining({ kind: 'principal' }),
        target: { kind: 'order', id: big.id },
        before: { status: 'pending_approval' },
        after: expect.objectContaining({ op: 'approve', status: 'open' }),
      }),
    ]);
    expect((await pa.get<{ usage: { reserved: string }[] }>(`/v1/principal/agents/${id}/policy`)).usage[0]?.reserved).toBe('70.000');
    expect(await failure(pa.post(`/v1/principal/approvals/${big.id}/approve`))).toMatchObject({ status: 409, code: 'APPROVAL_NOT_PENDING' });
    expect((await pa.get<{ approvals: unknown[] }>('/v1/principal/approvals')).approvals).toEqual([]);
    // it trades like any order
    await seller.placeOrder({ market: M, side: 'sell', type: 'limit', price: '2.000', quantity: '35' });
    expect(await c.getOrder(big.id)).toMatchObject({ status: 'closed' });
    expect(await used(c)).toBe('0.000');
  });

  it('a rejected order ends rejected (a retry with its clientOrderId says so); an expired request ends expired; amends may not cross the threshold', async () => {
    const { id, c } = await newAgent(pa, 'rejected-buyer');
    await pa.put(`/v1/principal/agents/${id}/policy`, withApproval('20', 10));
    const o = (await c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '30', clientOrderId: 'no-1' })) as Order;
    expect(await pa.post(`/v1/principal/approvals/${o.id}/reject`)).toMatchObject({
      decision: 'rejected',
      order: { status: 'rejected', reason: 'APPROVAL_REJECTED' },
    });
    expect(await c.getOrder(o.id)).toMatchObject({ status: 'rejected', reason: 'APPROVAL_REJECTED' });
    expect(
      await failure(c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '30', clientOrderId: 'no-1' })),
    ).toMatchObject({
      status: 422,
      code: 'APPROVAL_REJECTED',
    });
    expect(await used(c)).toBe('0.000');

    // nobody decides within ttlSeconds (command time): the request expires in the sequence
    const late = (await c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '30', clientOrderId: 'late-1' })) as Order;
    offset += 10_001;
    await pa.get(`/v1/principal/agents/${id}/policy`); // a sequenced read: the expiry timer re-arms on the moved clock
    for (let i = 0; i < 300 && (await c.getOrder(late.id)).status === 'pending_approval'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await c.getOrder(late.id)).toMatchObject({ status: 'expired', reason: 'APPROVAL_EXPIRED' });
    expect(await failure(pa.post(`/v1/principal/approvals/${late.id}/approve`))).toMatchObject({
      status: 409,
      code: 'APPROVAL_NOT_PENDING',
      details: { status: 'expired' },
    });

    // an amend above the threshold is refused, and changes nothing
    const s = await c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '5' });
    expect(await failure(c.amendOrder(s.id, { quantity: '11' }))).toMatchObject({
      status: 422,
      code: 'APPROVAL_AMEND_ABOVE_THRESHOLD',
      details: { threshold: '20.000', requested: '22.000' },
    });
    expect(await c.getOrder(s.id)).toMatchObject({ status: 'open', remaining: '5' });
    await c.cancelOrder(s.id);
  });

  it('at an allowance’s expiry its resting orders are cancelled in the sequence: holds released, owners told on the feed with the reason', async () => {
    // XPR.1K is valid through 2031-01-01 (UTC): it expires at 2031-01-02T00:00Z, command time
    await admin.defineAsset({ code: 'XPR.1K', scale: 0, model: 'm', provider: 'acme-ai', tokenClass: 'output-1k', expiresOn: '2031-01-01' });
    await admin.createMarket({ base: 'XPR.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 2000, priceBandBps: 5000 });
    const X = 'XPR.1K-CREDIT';
    const expiry = Date.UTC(2031, 0, 2);
    const { id, c } = await newAgent(pa, 'expiring-buyer');
    await pa.put(`/v1/principal/agents/${id}/policy`, { spendCaps: [{ windowSeconds: 3600, limit: '500' }] });
    const s = await admin.createAgent({ name: 'xpr-seller' });
    const sc = client(s.apiKey as { keyId: string; secret: string });
    await admin.deposit({ id: 'xpr-s', agentId: s.id, asset: 'XPR.1K', amount: '100' });
    offset = expiry - realNow() - 2_000; // two seconds before it expires
    await pa.get(`/v1/principal/agents/${id}/policy`); // a sequenced read: the expiry timer is armed on this clock
    const feed = new FeedSubscriber({ baseUrl: url, ...(creds(c) as { keyId: string; secret: string }) });
    const seen: FeedPrivateMessage[] = [];
    feed.on('private', (m: FeedPrivateMessage) => void seen.push(m));
    try {
      await feed.connected();
      await feed.subscribe({ channel: 'private' });
      const bid = await c.placeOrder({ market: X, side: 'buy', type: 'limit', price: '2.000', quantity: '10', clientOrderId: 'xpr-bid' });
      const ask = await sc.placeOrder({ market: X, side: 'sell', type: 'limit', price: '2.500', quantity: '4' });
      const kept = await c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.500', quantity: '2' });
      expect(await used(c)).toBe('23.000');
      // nobody sends anything: the timer's tick at the expiry cancels them
      for (let i = 0; i < 300 && (await c.getOrder(bid.id)).status === 'open'; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await c.getOrder(bid.id)).toMatchObject({ status: 'canceled', reason: 'MATCHING_CANCEL_ALLOWANCE_EXPIRED', remaining: '0' });
      expect(await sc.getOrder(ask.id)).toMatchObject({ status: 'canceled', reason: 'MATCHING_CANCEL_ALLOWANCE_EXPIRED' });
      expect(await c.getOrder(kept.id)).toMatchObject({ status: 'open' });
      expect(await used(c)).toBe('3.000');
      expect((await sc.balances()).balances['XPR.1K']).toMatchObject({ used: '0', total: '100' });
      // the budget's reservation of the cancelled bid is released with it
      expect((await pa.get<{ usage: { reserved: string }[] }>(`/v1/principal/agents/${id}/policy`)).usage[0]?.reserved).toBe('3.000');
      for (let i = 0; i < 300 && !seen.some((m) => m.type === 'order' && m.event === 'cancelled'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(seen.filter((m) => m.type === 'order' && m.event === 'cancelled')).toEqual([
        expect.objectContaining({ orderId: bid.id, market: X, reason: 'MATCHING_CANCEL_ALLOWANCE_EXPIRED' }),
      ]);
      expect(await failure(c.placeOrder({ market: X, side: 'buy', type: 'limit', price: '2.000', quantity: '1' }))).toMatchObject({
        status: 422,
        code: 'ALLOWANCE_EXPIRED',
      });
      await c.cancelOrder(kept.id);
    } finally {
      feed.close();
    }
  });

  // who froze, who thaws: an operator's freeze is the operator's to lift
  it.each([
    ['principal', 'principal', null],
    ['principal', 'operator', null],
    ['operator', 'operator', null],
    ['operator', 'principal', { status: 403, code: 'BUDGET_FROZEN_BY_OPERATOR' }],
  ] as const)('frozen by the %s, thawed by the %s: %j', async (freezer, thawer, refused) => {
    const { id, c } = await newAgent(pa, `frozen-${freezer}-${thawer}`);
    const as = (who: 'principal' | 'operator') => (who === 'operator' ? { c: admin, base: '/v1/admin' } : { c: pa, base: '/v1/principal' });
    const f = as(freezer);
    await f.c.post(`${f.base}/agents/${id}/freeze`, { cancelOrders: true });
    expect(await pa.get(`/v1/principal/agents/${id}/policy`)).toMatchObject({ frozen: true, frozenBy: freezer });
    const t = as(thawer);
    const r = await failure(t.c.post(`${t.base}/agents/${id}/unfreeze`));
    if (refused) {
      expect(r).toMatchObject({ ...refused, details: { agentIds: [id], frozenBy: 'operator' } });
      // still frozen: it may only cancel; a principal's own freeze on top does not lift it either
      expect(await failure(c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '1' }))).toMatchObject({
        code: 'BUDGET_AGENT_FROZEN',
      });
      await pa.post(`/v1/principal/agents/${id}/freeze`, { cancelOrders: false });
      expect(await failure(pa.post(`/v1/principal/agents/${id}/unfreeze`))).toMatchObject(refused);
      expect(await pa.get(`/v1/principal/agents/${id}/policy`)).toMatchObject({ frozen: true, frozenBy: 'operator' });
      await admin.post(`/v1/admin/agents/${id}/unfreeze`);
    } else expect(r).toBeNull();
    expect(await pa.get(`/v1/principal/agents/${id}/policy`)).toMatchObject({ frozen: false, frozenBy: null });
    expect((await c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '1' })).status).toBe('open');
    await c.cancelAll();
  });

  // ---- redemptions above a threshold (approval.redemptionsAbove) ----

  type Redemption = { id: string; status: string; reason: string | null; receipt: string | null; issuedAt: string | null; replayed?: boolean };
  const allowance = async (c: AteClient) => (await c.balances()).balances['APR.1K'];
  /** An agent of principal A holding 100 APR.1K, whose policy holds its redemptions above 10 for approval. */
  const redeemer = async (name: string) => {
    const a = await newAgent(pa, name, '0');
    await admin.deposit({ id: `allow-${a.id}`, agentId: a.id, asset: 'APR.1K', amount: '100' });
    await pa.put(`/v1/principal/agents/${a.id}/policy`, { approval: { ttlSeconds: 600, redemptionsAbove: { 'APR.1K': '10' } } });
    return a;
  };

  it.each([
    // [the approval rule, the field POLICY_INVALID names]
    [{ ttlSeconds: 600 }, 'approval'],
    [{ ttlSeconds: 600, redemptionsAbove: {} }, 'approval'],
    [{ ttlSeconds: 600, redemptionsAbove: { 'APR.1K': '0' } }, 'approval.redemptionsAbove.APR.1K'],
    [{ ttlSeconds: 600, redemptionsAbove: { 'APR.1K': '1.5' } }, 'approval.redemptionsAbove.APR.1K'],
    [{ ttlSeconds: 600, redemptionsAbove: { CREDIT: '10' } }, 'approval.redemptionsAbove.CREDIT'],
    [{ ttlSeconds: 600, redemptionsAbove: { 'NOPE.1K': '10' } }, 'approval.redemptionsAbove.NOPE.1K'],
  ])('a redemption threshold %j is refused (400 POLICY_INVALID naming %s) and changes nothing', async (approval, field) => {
    const { id } = await newAgent(pa, `invalid-r-${field}`, '0');
    expect(await failure(pa.put(`/v1/principal/agents/${id}/policy`, { approval }))).toMatchObject({
      status: 400,
      code: 'POLICY_INVALID',
      details: { field },
    });
    expect(await pa.get(`/v1/principal/agents/${id}/policy`)).toMatchObject({ version: 0, policy: null });
  });

  it('a redemption above the threshold waits (nothing burnt, no receipt); approved, it is burnt once and its receipt verifies offline', async () => {
    const { id, c } = await redeemer('redeemer-approve');
    expect((await pa.get<{ policy: { approval: unknown } }>(`/v1/principal/agents/${id}/policy`)).policy.approval).toEqual({
      above: null,
      ttlSeconds: 600,
      redemptionsAbove: { 'APR.1K': '10' },
    });
    // at the threshold: issued at once; above it: held
    expect(await c.post<Redemption>('/v1/redemptions', { id: 'small', asset: 'APR.1K', amount: '10' })).toMatchObject({ status: 'issued' });
    const held = await c.post<Redemption & { approval: Record<string, unknown> }>('/v1/redemptions', { id: 'big', asset: 'APR.1K', amount: '40' });
    expect(held).toMatchObject({ status: 'pending_approval', receipt: null, issuedAt: null, replayed: false, approval: { decidedAt: null } });
    expect(await allowance(c)).toMatchObject({ total: '90', used: '0', free: '90' });
    // the same id again answers the same request (never a second hold); the public status knows no receipt yet
    expect(await c.post<Redemption>('/v1/redemptions', { id: 'big', asset: 'APR.1K', amount: '40' })).toMatchObject({
      id: held.id,
      status: 'pending_approval',
      replayed: true,
    });
    expect(await admin.get(`/v1/redemptions/${held.id}`)).toMatchObject({ status: 'unknown' });
    // principal A lists it; principal B cannot see or decide it (404, no effect)
    const list = await pa.get<{ redemptions: { redemptionId: string; agentId: string; amount: string; threshold: string }[] }>(
      '/v1/principal/approvals',
    );
    expect(list.redemptions).toEqual([expect.objectContaining({ redemptionId: held.id, agentId: id, amount: '40', threshold: '10' })]);
    expect((await pb.get<{ redemptions: unknown[] }>('/v1/principal/approvals')).redemptions).toEqual([]);
    expect(await failure(pb.post(`/v1/principal/approvals/${held.id}/approve`))).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    // approved: burnt now, with a receipt a provider verifies with the JWKS alone
    const d = await pa.post<{ decision: string; redemption: Redemption }>(`/v1/principal/approvals/${held.id}/approve`);
    expect(d).toMatchObject({ decision: 'approved', redemption: { id: held.id, status: 'issued', reason: null } });
    expect(await allowance(c)).toMatchObject({ total: '50', free: '50' });
    const jwks = createLocalJWKSet((await admin.get('/.well-known/jwks.json')) as never);
    const { payload } = await jwtVerify(d.redemption.receipt as string, jwks);
    expect(payload).toMatchObject({ jti: held.id, sub: id, asset: 'APR.1K', amount: '40' });
    expect(await admin.get(`/v1/redemptions/${held.id}`)).toMatchObject({ status: 'valid', amount: '40' });
    // decided once: again is 409 APPROVAL_NOT_PENDING; the retry of the agent gets the receipt
    expect(await failure(pa.post(`/v1/principal/approvals/${held.id}/approve`))).toMatchObject({
      status: 409,
      code: 'APPROVAL_NOT_PENDING',
      details: { status: 'issued' },
    });
    expect(await c.post<Redemption>('/v1/redemptions', { id: 'big', asset: 'APR.1K', amount: '40' })).toMatchObject({
      status: 'issued',
      receipt: d.redemption.receipt,
    });
    // the audit log names the principal's decision
    const audit = (
      await admin.get<{ entries: { action: string; target: unknown; actor: { kind: string } }[] }>('/v1/admin/audit?action=approval.approve&limit=1')
    ).entries[0];
    expect(audit).toMatchObject({ action: 'approval.approve', target: { kind: 'redemption', id: held.id }, actor: { kind: 'principal' } });
  });

  it('a rejected redemption burns nothing; one approved after the units went elsewhere ends rejected with the code the burn met; a freeze cancels what waits', async () => {
    const { id, c } = await redeemer('redeemer-reject');
    const r1 = await c.post<Redemption>('/v1/redemptions', { id: 'r1', asset: 'APR.1K', amount: '60' });
    const r2 = await c.post<Redemption>('/v1/redemptions', { id: 'r2', asset: 'APR.1K', amount: '70' });
    expect([r1.status, r2.status]).toEqual(['pending_approval', 'pending_approval']); // nothing reserved: both may wait
    expect(await pa.post(`/v1/principal/approvals/${r1.id}/reject`)).toMatchObject({
      decision: 'rejected',
      redemption: { status: 'rejected', reason: 'APPROVAL_REJECTED' },
    });
    expect(await allowance(c)).toMatchObject({ total: '100' });
    // the units leave for an order meanwhile: at approval the burn is checked again, and refused
    await c.placeOrder({ market: M, side: 'sell', type: 'limit', price: '2.900', quantity: '40' });
    expect(await pa.post(`/v1/principal/approvals/${r2.id}/approve`)).toMatchObject({
      decision: 'approved',
      redemption: { status: 'rejected', reason: 'REDEMPTION_INSUFFICIENT_BALANCE', receipt: null },
    });
    expect(await allowance(c)).toMatchObject({ total: '100', used: '40' });
    // a freeze cancels what the agent has waiting, orders and redemptions alike
    const r3 = await c.post<Redemption>('/v1/redemptions', { id: 'r3', asset: 'APR.1K', amount: '20' });
    await pa.post(`/v1/principal/agents/${id}/freeze`, { cancelOrders: true });
    expect(await c.post<Redemption>('/v1/redemptions', { id: 'r3', asset: 'APR.1K', amount: '20' })).toMatchObject({
      status: 'canceled',
      reason: 'APPROVAL_CANCELLED',
    });
    expect((await pa.get<{ redemptions: unknown[] }>('/v1/principal/approvals')).redemptions).toEqual([]);
    expect(await failure(pa.post(`/v1/principal/approvals/${r3.id}/approve`))).toMatchObject({
      code: 'APPROVAL_NOT_PENDING',
      details: { status: 'canceled' },
    });
    const all = await c.get<{ redemptions: Redemption[] }>('/v1/redemptions');
    expect(all.redemptions.map((r) => [r.id, r.status])).toEqual([
      [r3.id, 'canceled'],
      [r2.id, 'rejected'],
      [r1.id, 'rejected'],
    ]);
    await pa.post(`/v1/principal/agents/${id}/unfreeze`);
  });

  it('a redemption waiting past its TTL expires (command time); an agent cancels its own order that waits for approval', async () => {
    const { id, c } = await redeemer('redeemer-ttl');
    await pa.put(`/v1/principal/agents/${id}/policy`, { approval: { above: '20', ttlSeconds: 60, redemptionsAbove: { 'APR.1K': '10' } } });
    const r = await c.post<Redemption>('/v1/redemptions', { id: 'slow', asset: 'APR.1K', amount: '15' });
    await pa.post(`/v1/principal/transfers`, { id: `fund-ttl-${id}`, agentId: id, direction: 'to_agent', asset: 'CREDIT', amount: '100' });
    const o = await c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '30', clientOrderId: 'wait-1' });
    expect(o.status).toBe('pending_approval');
    expect(await c.cancelOrder(o.id)).toMatchObject({ status: 'canceled', reason: 'APPROVAL_CANCELLED' });
    expect(await failure(pa.post(`/v1/principal/approvals/${o.id}/approve`))).toMatchObject({ code: 'APPROVAL_NOT_PENDING' });
    // a cancel-all reaches the waiting ones too, and names them
    const o2 = await c.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '30', clientOrderId: 'wait-2' });
    expect(await c.cancelAll()).toEqual({ cancelled: [o2.id] });
    expect(await c.getOrder(o2.id)).toMatchObject({ status: 'canceled', reason: 'APPROVAL_CANCELLED' });
    offset += 61_000; // the expiry timer ticks the sequence once the TTL has run out
    await pa.get(`/v1/principal/agents/${id}/policy`); // a sequenced read: the expiry timer re-arms on the moved clock
    const t0 = realNow();
    let now = r;
    while (now.status === 'pending_approval' && realNow() - t0 < 10_000) {
      await new Promise((res) => setTimeout(res, 100));
      now = await c.post<Redemption>('/v1/redemptions', { id: 'slow', asset: 'APR.1K', amount: '15' });
    }
    expect(now).toMatchObject({ status: 'expired', reason: 'APPROVAL_EXPIRED', receipt: null });
    expect(await allowance(c)).toMatchObject({ total: '100' });
  });
});
