/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are read loosely; their schemas are checked by the contract test */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { startTestApp, testConfig, TEST_ADMIN } from '../testing/test-app';

const M = 'AUD.1K/CREDIT';
const ME = encodeURIComponent(M);

/**
 * The operator's audited actions end to end over signed REST on real Postgres: each leaves one row naming the key,
 * the request id, before and after, committed with its effect; refusals leave neither; the chain verifies in
 * reconciliation and a tampered row is reported.
 */
describe('the audit log of operator actions (real Postgres, real HTTP)', () => {
  jest.setTimeout(60_000);
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  let alice: AteClient;
  let aliceId: string;
  let aliceKey: string;

  beforeAll(async () => {
    db = await createTestDatabase('audit');
    ({ app, url, admin } = await startTestApp(testConfig(db)));
    await admin.defineAsset({ code: 'AUD.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'AUD.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, priceBandBps: 5000 });
    const a = await admin.createAgent({ name: 'alice' });
    aliceId = a.id;
    aliceKey = a.apiKey!.keyId;
    alice = new AteClient({ baseUrl: url, ...a.apiKey! });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const rows = async () => Number((await db.pool.query('SELECT count(*) AS n FROM audit_log')).rows[0].n);
  const last = async (q = '') => (await admin.raw<any>('GET', `/v1/admin/audit?limit=1${q}`)).body.entries[0];

  it('a mint with a reason: one row naming the key, the request id, before and after, with the engine command it committed with', async () => {
    const dep = { id: 'aud-1', agentId: aliceId, asset: 'CREDIT', amount: '100', reason: 'opening balance' };
    const text = JSON.stringify(dep);
    const r = await fetch(`${url}/v1/admin/deposits`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-mint-1', ...admin.sign('POST', '/v1/admin/deposits', text) },
      body: text,
    });
    expect(r.status).toBe(201);
    const body = (await r.json()) as { seq: string };
    expect(await last()).toMatchObject({
      actor: { kind: 'admin', id: null, keyId: TEST_ADMIN.keyId },
      action: 'funds.mint',
      target: { kind: 'agent', id: aliceId },
      requestId: 'req-mint-1',
      reason: 'opening balance',
      before: { total: '0' },
      after: { asset: 'CREDIT', amount: '100', total: '100000' },
      commandSeq: body.seq,
    });
    // the same id again is answered from idempotency: nothing done, no row
    const n = await rows();
    expect((await admin.raw<any>('POST', '/v1/admin/deposits', dep)).body.replayed).toBe(true);
    expect(await rows()).toBe(n);
  });

  it.each([
    [
      'a burn beyond the balance',
      'POST',
      '/v1/admin/withdrawals',
      () => ({ id: 'aud-2', agentId: aliceId, asset: 'CREDIT', amount: '1000', reason: 'x' }),
      422,
    ],
    [
      'a burn of an unknown agent',
      'POST',
      '/v1/admin/withdrawals',
      () => ({ id: 'aud-3', agentId: 'agt_nosuchagent0', asset: 'CREDIT', amount: '1' }),
      404,
    ],
    ['rules of an unknown market', 'PATCH', '/v1/admin/markets/NOPE%2FCREDIT/rules', () => ({ takerFeeBps: 5 }), 404],
    ['rules that cannot hold (min above max)', 'PATCH', `/v1/admin/markets/${ME}/rules`, () => ({ minOrderLots: 10, maxOrderLots: 5 }), 400],
    ['a fee beyond 1000 bps', 'PATCH', `/v1/admin/markets/${ME}/rules`, () => ({ takerFeeBps: 5000 }), 400],
    ['no rule at all', 'PATCH', `/v1/admin/markets/${ME}/rules`, () => ({ reason: 'nothing' }), 400],
    ['a negative max spend', 'PATCH', `/v1/admin/markets/${ME}/rules`, () => ({ maxSpend: '-1' }), 400],
    ['rotating an unknown key', 'POST', '/v1/admin/keys/ak_nosuchkey0000000000/rotate', () => undefined, 404],
    ['an audit page with a bad cursor', 'GET', '/v1/admin/audit?cursor=abc', () => undefined, 400],
  ])('%s is refused, changes nothing and leaves no row', async (_, method, path, body, status) => {
    const n = await rows();
    const log = Number((await db.pool.query('SELECT count(*) AS n FROM engine_command')).rows[0].n);
    const market = (await db.pool.query('SELECT * FROM market WHERE id = $1', [M])).rows[0];
    const r = await admin.raw<any>(method, path, body());
    expect(r.status).toBe(status);
    expect(r.body.error.code).toEqual(expect.any(String));
    expect(await rows()).toBe(n);
    expect(Number((await db.pool.query('SELECT count(*) AS n FROM engine_command')).rows[0].n)).toBe(log);
    expect((await db.pool.query('SELECT * FROM market WHERE id = $1', [M])).rows[0]).toEqual(market);
  });

  it("a market's rules change in the engine's sequence: the next order meets them, the row has before and after", async () => {
    expect((await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '20' })).status).toBe('open');
    const r = await admin.raw<any>('PATCH', `/v1/admin/markets/${ME}/rules`, { maxOrderLots: 10, takerFeeBps: 20, reason: 'limits' });
    expect(r).toMatchObject({ status: 200, body: { id: 'AUD.1K-CREDIT', rules: { maxOrderLots: 10, takerFeeBps: 20, maxSpend: '1000000.000' } } });
    const big = await alice.raw<any>('POST', '/v1/orders', { market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '11' });
    expect(big).toMatchObject({ status: 400, body: { error: { code: 'MATCHING_INVALID_SIZE' } } });
    expect(await last('&action=market.rules')).toMatchObject({
      target: { kind: 'market', id: M },
      reason: 'limits',
      before: { maxOrderLots: 1000000, takerFeeBps: 0 },
      after: { maxOrderLots: 10, takerFeeBps: 20 },
      commandSeq: r.body.seq,
    });
    expect((await db.pool.query('SELECT max_order_lots, taker_fee_bps FROM market WHERE id = $1', [M])).rows[0]).toEqual({
      max_order_lots: 10,
      taker_fee_bps: 20,
    });
    // raised: the api's edge checks follow at once on this node (its cached row is dropped), the engine from the command on
    expect((await admin.raw<any>('PATCH', `/v1/admin/markets/${ME}/rules`, { maxOrderLots: 20 })).status).toBe(200);
    expect((await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '15' })).status).toBe('open');
  });

  it('rotating a key: the new key works, the old is refused, one row in the same transaction', async () => {
    const r = await admin.raw<any>('POST', `/v1/admin/keys/${aliceKey}/rotate`);
    expect(r).toMatchObject({ status: 200, body: { replaces: aliceKey, role: 'agent', agentId: aliceId } });
    expect((await alice.raw<any>('GET', '/v1/account/balances')).status).toBe(401);
    const fresh = new AteClient({ baseUrl: url, keyId: r.body.keyId, secret: r.body.secret });
    expect((await fresh.raw<any>('GET', '/v1/account/balances')).status).toBe(200);
    expect(await last(`&target=${aliceKey}`)).toMatchObject({ action: 'key.rotate', before: { keyId: aliceKey }, after: { keyId: r.body.keyId } });
    expect((await admin.raw<any>('POST', `/v1/admin/keys/${aliceKey}/rotate`)).body.error.code).toBe('ADMIN_KEY_REVOKED');
    expect((await admin.raw('DELETE', `/v1/admin/keys/${r.body.keyId}`)).status).toBe(204);
    expect(await last('&action=key.revoke')).toMatchObject({ target: { id: r.body.keyId }, before: { revoked: false }, after: { revoked: true } });
  });

  it('creations are audited in their own transaction; a repeat that changes nothing leaves no row', async () => {
    expect(await last(`&action=agent.create&target=${aliceId}`)).toMatchObject({
      after: { name: 'alice', principalId: null, keyId: aliceKey },
      commandSeq: null,
    });
    const n = await rows();
    expect(
      (await admin.raw<any>('POST', '/v1/admin/assets', { code: 'AUD.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' })).status,
    ).toBe(201);
    expect(
      (await admin.raw<any>('POST', '/v1/admin/markets', { base: 'AUD.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000 })).status,
    ).toBe(409);
    expect((await admin.raw<any>('POST', '/v1/admin/agents', { name: 'bob', principalId: 'prn_nosuchprincipal' })).status).toBe(404);
    expect(await rows()).toBe(n);
    expect(Number((await db.pool.query(`SELECT count(*) AS n FROM agent WHERE name = 'bob'`)).rows[0].n)).toBe(0);
  });

  it('filters by actor, target, action and time, newest first, cursor-paged', async () => {
    const all = (await admin.raw<any>('GET', '/v1/admin/audit')).body.entries;
    expect(all.map((e: any) => e.action)).toEqual([
      'key.revoke',
      'key.rotate',
      'market.rules',
      'market.rules',
      'funds.mint',
      'agent.create',
      'market.create',
      'asset.define',
    ]);
    expect(all.every((e: any) => e.actor.keyId === TEST_ADMIN.keyId)).toBe(true);
    const p1 = (await admin.raw<any>('GET', '/v1/admin/audit?limit=5')).body;
    const p2 = (await admin.raw<any>('GET', `/v1/admin/audit?limit=5&cursor=${p1.nextCursor}`)).body;
    expect([...p1.entries, ...p2.entries]).toEqual(all);
    expect(p2.nextCursor).toBeNull();
    expect((await admin.raw<any>('GET', `/v1/admin/audit?actor=${TEST_ADMIN.keyId}&action=funds.mint`)).body.entries).toHaveLength(1);
    expect((await admin.raw<any>('GET', `/v1/admin/audit?target=${aliceId}`)).body.entries.map((e: any) => e.action)).toEqual([
      'funds.mint',
      'agent.create',
    ]);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await admin.raw<any>('GET', `/v1/admin/audit?from=${future}`)).body.entries).toEqual([]);
    expect((await admin.raw<any>('GET', `/v1/admin/audit?to=${future}`)).body.entries).toHaveLength(8);
    expect((await alice.raw<any>('GET', '/v1/admin/audit')).status).toBe(401); // her old key is revoked; agents never pass anyway
  });

  it('reconciliation verifies the chain and reports a tampered row', async () => {
    expect(await admin.reconciliation()).toMatchObject({ ok: true, audit: { ok: true, rowsChecked: 8, violations: [] } });
    const original = (await db.pool.query(`SELECT after::text AS a FROM audit_log WHERE action = 'funds.mint'`)).rows[0].a as string;
    await db.pool.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    try {
      await db.pool.query(`UPDATE audit_log SET after = '{"total":"1"}' WHERE action = 'funds.mint'`);
      const r = await admin.reconciliation();
      expect(r.ok).toBe(false);
      expect(r.audit.violations).toEqual([{ check: 'hash differs from the stored row', details: { seq: '4' } }]);
    } finally {
      await db.pool.query(`UPDATE audit_log SET after = $1::jsonb WHERE action = 'funds.mint'`, [original]);
      await db.pool.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
    }
    expect((await admin.reconciliation()).ok).toBe(true);
    // and the app's role cannot rewrite it at all
    const { Client } = await import('pg');
    const c = new Client({ connectionString: db.appUrl });
    await c.connect();
    try {
      await expect(c.query(`UPDATE audit_log SET reason = 'x'`)).rejects.toMatchObject({ code: '42501' });
      await expect(c.query('DELETE FROM audit_log')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await c.end();
    }
  });
});
