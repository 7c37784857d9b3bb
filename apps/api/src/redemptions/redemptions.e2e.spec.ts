/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are read loosely; their schemas are checked by the contract test */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startTestApp, testConfig } from '../testing/test-app';

const M = 'RDM.1K/CREDIT';

/**
 * Redemptions end to end over signed REST on real Postgres: the burn through the sequencer, the signed receipt
 * verified offline with only the JWKS, idempotency, expiry, refusals that change nothing, rotation.
 */
describe('redemptions with signed receipts (real Postgres, real HTTP)', () => {
  jest.setTimeout(60_000);
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  let alice: AteClient;
  let aliceId: string;
  let principalId: string;

  beforeAll(async () => {
    db = await createTestDatabase('redemptions');
    ({ app, url, admin } = await startTestApp(testConfig(db)));
    await admin.defineAsset({ code: 'RDM.1K', scale: 0, model: 'gpt-x', provider: 'p', tokenClass: 'output' });
    await admin.defineAsset({ code: 'EXP.1K', scale: 0, model: 'gpt-old', provider: 'p', tokenClass: 'input', expiresOn: '2021-06-30' });
    await admin.createMarket({ base: 'RDM.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, priceBandBps: 5000 });
    await admin.createMarket({ base: 'EXP.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, priceBandBps: 5000 });
    principalId = (await admin.raw<{ id: string }>('POST', '/v1/admin/principals', { name: 'acme' })).body.id;
    const a = await admin.createAgent({ name: 'alice', principalId });
    aliceId = a.id;
    alice = new AteClient({ baseUrl: url, ...a.apiKey! });
    await admin.deposit({ id: 'a-t', agentId: a.id, asset: 'RDM.1K', amount: '100' });
    await admin.deposit({ id: 'a-x', agentId: a.id, asset: 'EXP.1K', amount: '10' });
    await admin.deposit({ id: 'a-c', agentId: a.id, asset: 'CREDIT', amount: '100' });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const balance = async (asset: string) =>
    ((await alice.balances()) as { balances: Record<string, { total: string; free: string }> }).balances[asset];
  const jwks = async () => (await fetch(`${url}/.well-known/jwks.json`).then((r) => r.json())) as { keys: Record<string, unknown>[] };

  it('burns the units and answers a receipt that verifies offline with only the JWKS', async () => {
    const r = await alice.raw<any>('POST', '/v1/redemptions', { id: 'job-1', asset: 'RDM.1K', amount: '30' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      clientRedemptionId: 'job-1',
      agentId: aliceId,
      principalId,
      asset: 'RDM.1K',
      model: 'gpt-x',
      tokenClass: 'output',
      amount: '30',
      allowanceExpiresAt: null,
      replayed: false,
    });
    expect(await balance('RDM.1K')).toMatchObject({ total: '70' });

    const keys = await jwks(); // all a provider needs, fetched once and kept
    expect(keys.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(keys.keys[0]).not.toHaveProperty('d'); // public only
    const { payload, protectedHeader } = await jwtVerify(r.body.receipt, createLocalJWKSet(keys as never), {
      issuer: 'ate-exchange',
      algorithms: ['EdDSA'],
    });
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', kid: r.body.kid, typ: 'ate-receipt+jwt' });
    expect(payload).toEqual({
      iss: 'ate-exchange',
      jti: r.body.id,
      sub: aliceId,
      principal: principalId,
      asset: 'RDM.1K',
      model: 'gpt-x',
      token_class: 'output',
      amount: '30',
      iat: Math.floor(Date.parse(r.body.issuedAt) / 1000),
      allowance_exp: null,
    });
    // the typed client: the same id again is the same receipt
    expect(await alice.redeem({ id: 'job-1', asset: 'RDM.1K', amount: '30' })).toMatchObject({
      id: r.body.id,
      receipt: r.body.receipt,
      replayed: true,
    });
    // the ledger moved the units to the redemption account, and the engine agrees with the database
    expect((await admin.reconciliation()).ok).toBe(true);
    // a provider checks the id
    expect((await fetch(`${url}/v1/redemptions/${r.body.id}`).then((x) => x.json())) as unknown).toMatchObject({
      id: r.body.id,
      status: 'valid',
      amount: '30',
    });
    expect((await fetch(`${url}/v1/redemptions/rdm_nosuchreceipt00`).then((x) => x.json())) as unknown).toEqual({
      id: 'rdm_nosuchreceipt00',
      status: 'unknown',
    });
  });

  it('a tampered receipt fails verification', async () => {
    const r = await alice.raw<any>('POST', '/v1/redemptions', { id: 'job-tamper', asset: 'RDM.1K', amount: '1' });
    const keys = createLocalJWKSet((await jwks()) as never);
    const [h, p, s] = (r.body.receipt as string).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, amount: '1000' })).toString('base64url')}.${s}`;
    await expect(jwtVerify(forged, keys)).rejects.toThrow(/signature/i);
    const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`;
    await expect(compactVerify(flipped, keys)).rejects.toThrow();
  });

  it('the same redemption id twice returns the same receipt and burns once; another body under it is 409', async () => {
    const before = await balance('RDM.1K');
    const [a, b] = await Promise.all([
      alice.raw<any>('POST', '/v1/redemptions', { id: 'job-2', asset: 'RDM.1K', amount: '5' }),
      alice.raw<any>('POST', '/v1/redemptions', { id: 'job-2', asset: 'RDM.1K', amount: '5' }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.receipt).toBe(b.body.receipt);
    const c = await alice.raw<any>('POST', '/v1/redemptions', { id: 'job-2', asset: 'RDM.1K', amount: '5' });
    expect(c.body).toMatchObject({ id: a.body.id, receipt: a.body.receipt, replayed: true });
    expect(Number((await balance('RDM.1K'))!.total)).toBe(Number(before!.total) - 5);
    const d = await alice.raw<any>('POST', '/v1/redemptions', { id: 'job-2', asset: 'RDM.1K', amount: '6' });
    expect(d).toMatchObject({ status: 409, body: { error: { code: 'REDEMPTION_CONFLICT', details: { redemptionId: a.body.id } } } });
  });

  it.each([
    [
      'an expired allowance (naming the expiry)',
      { id: 'x-1', asset: 'EXP.1K', amount: '1' },
      422,
      'ALLOWANCE_EXPIRED',
      { asset: 'EXP.1K', expiresAt: '2021-07-01T00:00:00.000Z' },
    ],
    ['more than is held', { id: 'x-2', asset: 'RDM.1K', amount: '1000' }, 422, 'REDEMPTION_INSUFFICIENT_BALANCE', { requested: '1000' }],
    ['credits', { id: 'x-3', asset: 'CREDIT', amount: '1' }, 422, 'REDEMPTION_NOT_ALLOWANCE', { asset: 'CREDIT' }],
    ['an unknown asset', { id: 'x-4', asset: 'NOPE.1K', amount: '1' }, 404, 'LEDGER_ASSET_NOT_FOUND', undefined],
    ['zero', { id: 'x-5', asset: 'RDM.1K', amount: '0' }, 400, 'VALIDATION_FAILED', { amount: '0' }],
    ['a fraction of a whole-unit asset', { id: 'x-6', asset: 'RDM.1K', amount: '1.5' }, 400, 'AMOUNT_TOO_MANY_DECIMALS', undefined],
    ['a negative amount', { id: 'x-7', asset: 'RDM.1K', amount: '-1' }, 400, 'AMOUNT_NEGATIVE', undefined],
    ['an unknown field', { id: 'x-8', asset: 'RDM.1K', amount: '1', extra: 1 }, 400, 'VALIDATION_FAILED', undefined],
    ['a bad id', { id: '../x', asset: 'RDM.1K', amount: '1' }, 400, 'VALIDATION_FAILED', undefined],
  ])('refuses %s and changes nothing', async (_, body, status, code, details) => {
    const count = async () =>
      Number((await db.pool.query('SELECT (SELECT count(*) FROM redemption) + (SELECT count(*) FROM engine_command) AS n')).rows[0].n);
    const n0 = await count();
    const b0 = await alice.balances();
    const r = await alice.raw<any>('POST', '/v1/redemptions', body);
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    if (details) expect(r.body.error.details).toMatchObject(details);
    expect(await count()).toBe(n0);
    expect(await alice.balances()).toEqual(b0);
  });

  it("an expired allowance's market takes no orders", async () => {
    const r = await alice.raw<any>('POST', '/v1/orders', { market: 'EXP.1K/CREDIT', side: 'sell', type: 'limit', price: '1.000', quantity: '1' });
    expect(r).toMatchObject({
      status: 422,
      body: { error: { code: 'ALLOWANCE_EXPIRED', details: { asset: 'EXP.1K', expiresAt: '2021-07-01T00:00:00.000Z' } } },
    });
    expect((await alice.placeOrder({ market: M, side: 'sell', type: 'limit', price: '1.000', quantity: '1' })).status).toBe('open');
  });

  it('lists the agent’s redemptions, newest first, cursor-paged', async () => {
    const p1 = await alice.raw<any>('GET', '/v1/redemptions?limit=2');
    expect(p1.status).toBe(200);
    expect(p1.body.redemptions.map((x: any) => x.clientRedemptionId)).toEqual(['job-2', 'job-tamper']);
    const p2 = await alice.raw<any>('GET', `/v1/redemptions?limit=2&cursor=${p1.body.nextCursor}`);
    expect(p2.body).toMatchObject({ redemptions: [{ clientRedemptionId: 'job-1' }], nextCursor: null });
    expect((await admin.raw<any>('GET', '/v1/redemptions')).status).toBe(403); // agents only
  });

  it('after a rotation new receipts carry the new kid and old receipts still verify with the JWKS', async () => {
    const old = await alice.raw<any>('POST', '/v1/redemptions', { id: 'pre-rot', asset: 'RDM.1K', amount: '1' });
    const rot = await admin.raw<any>('POST', '/v1/admin/receipt-keys/rotate');
    expect(rot).toMatchObject({ status: 200, body: { retired: old.body.kid } });
    const neu = await alice.raw<any>('POST', '/v1/redemptions', { id: 'post-rot', asset: 'RDM.1K', amount: '1' });
    expect(decodeProtectedHeader(neu.body.receipt).kid).toBe(rot.body.kid);
    const keys = createLocalJWKSet((await jwks()) as never);
    for (const r of [old, neu]) expect((await jwtVerify(r.body.receipt, keys)).payload.jti).toBe(r.body.id);
    // the same id after the rotation: still the first receipt
    expect((await alice.raw<any>('POST', '/v1/redemptions', { id: 'pre-rot', asset: 'RDM.1K', amount: '1' })).body.receipt).toBe(old.body.receipt);
    // the signing key is sealed at rest: the row holds no plain key material
    const row = (await db.pool.query('SELECT private_enc, public_jwk FROM receipt_signing_key WHERE kid = $1', [rot.body.kid])).rows[0];
    expect(row.public_jwk).not.toHaveProperty('d');
    expect(row.private_enc.length).toBeGreaterThan(28 + 16);
    const audit = await admin.raw<any>('GET', '/v1/admin/audit?action=receipt_key.rotate');
    expect(audit.body.entries).toMatchObject([{ action: 'receipt_key.rotate', before: { kid: old.body.kid }, after: { kid: rot.body.kid } }]);
  });
});
