import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { startTestApp, testConfig } from '../testing/test-app';

const ASSET = { code: 'GPT-X.1K', scale: 0, model: 'gpt-x', provider: 'acme-ai', tokenClass: 'output-1k' };

describe('deposits, balances and statements over REST (real Postgres ledger)', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let admin: AteClient;
  let agent: AteClient;
  let agentId: string;

  beforeAll(async () => {
    db = await createTestDatabase('account');
    let url: string;
    ({ app, url, admin } = await startTestApp(testConfig(db)));
    const a = await admin.createAgent({ name: 'funded' });
    agentId = a.id;
    agent = new AteClient({ baseUrl: url, ...a.apiKey! });
    await admin.defineAsset(ASSET);
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  afterEach(async () => {
    // conservation and every other ledger promise hold after each test
    const r = await admin.reconciliation();
    expect(r).toMatchObject({ ok: true, violations: [] });
  });

  it('a deposit shows in the balance as decimal strings; the same id again is the same deposit', async () => {
    const d = await admin.deposit({ id: 'dep-1', agentId, asset: 'CREDIT', amount: '250.5' });
    expect(d).toMatchObject({ amount: '250.500', replayed: false });
    const again = await admin.deposit({ id: 'dep-1', agentId, asset: 'CREDIT', amount: '250.5' });
    expect(again).toMatchObject({ seq: d.seq, replayed: true });
    await admin.deposit({ id: 'dep-2', agentId, asset: 'GPT-X.1K', amount: '40' });
    const b = await agent.balances();
    expect(b).toEqual({
      agentId,
      balances: { CREDIT: { free: '250.500', used: '0.000', total: '250.500' }, 'GPT-X.1K': { free: '40', used: '0', total: '40' } },
    });
  });

  it('a withdrawal beyond the balance is refused and changes nothing', async () => {
    const before = await agent.balances();
    await expect(admin.withdraw({ id: 'wd-too-much', agentId, asset: 'CREDIT', amount: '1000000' })).rejects.toMatchObject({
      status: 422,
      code: 'LEDGER_INSUFFICIENT_FUNDS',
    });
    expect(await agent.balances()).toEqual(before);
    const ok = await admin.withdraw({ id: 'wd-1', agentId, asset: 'CREDIT', amount: '0.5' });
    expect(ok.amount).toBe('0.500');
    expect((await agent.balances()).balances['CREDIT']?.total).toBe('250.000');
  });

  it('the statement pages through the entries with a cursor', async () => {
    const p1 = await agent.statement('CREDIT', { limit: 1 });
    expect(p1.entries.map((e) => [e.amount, e.type])).toEqual([['250.500', 'mint']]);
    expect(p1.nextCursor).not.toBeNull();
    const p2 = await agent.statement('CREDIT', { limit: 1, cursor: p1.nextCursor! });
    expect(p2.entries.map((e) => [e.amount, e.type])).toEqual([['-0.500', 'burn']]);
    expect(p2.nextCursor).toBeNull();
  });

  it.each(
    [
      ['float amount', { id: 'x1', agentId: 'AGENT', asset: 'CREDIT', amount: 1.5 }, 400, 'VALIDATION_FAILED'],
      ['too many decimals', { id: 'x2', agentId: 'AGENT', asset: 'CREDIT', amount: '1.0001' }, 400, 'AMOUNT_TOO_MANY_DECIMALS'],
      ['negative', { id: 'x3', agentId: 'AGENT', asset: 'CREDIT', amount: '-5' }, 400, 'AMOUNT_NEGATIVE'],
      ['zero', { id: 'x4', agentId: 'AGENT', asset: 'CREDIT', amount: '0' }, 400, 'VALIDATION_FAILED'],
      ['exponent', { id: 'x5', agentId: 'AGENT', asset: 'CREDIT', amount: '1e3' }, 400, 'AMOUNT_INVALID'],
      ['beyond bigint', { id: 'x6', agentId: 'AGENT', asset: 'CREDIT', amount: '99999999999999999999' }, 400, 'AMOUNT_OUT_OF_RANGE'],
      // 2^53 minor units: within the ledger's range, beyond what the engine's balance view holds exactly
      ['beyond the engine (2^53)', { id: 'x10', agentId: 'AGENT', asset: 'CREDIT', amount: '9007199254740.992' }, 400, 'AMOUNT_OUT_OF_RANGE'],
      ['unknown asset', { id: 'x7', agentId: 'AGENT', asset: 'NOPE', amount: '1' }, 404, 'LEDGER_ASSET_NOT_FOUND'],
      ['unknown agent', { id: 'x8', agentId: 'agt_nosuchagent1', asset: 'CREDIT', amount: '1' }, 404, 'NOT_FOUND'],
      ['unknown field', { id: 'x9', agentId: 'AGENT', asset: 'CREDIT', amount: '1', memo: 'hi' }, 400, 'VALIDATION_FAILED'],
      ['same id, other body', { id: 'dep-1', agentId: 'AGENT', asset: 'CREDIT', amount: '1' }, 409, 'LEDGER_IDEMPOTENCY_CONFLICT'],
    ].map(([n, b, s, c]) => [n, s, c, b] as [string, number, string, { agentId: string } & Record<string, unknown>]),
  )('deposit with %s -> %i %s, nothing written', async (_n, status, code, body) => {
    const before = await db.pool.query('SELECT count(*)::int AS n FROM ledger_transfer');
    const r = await admin.raw<any>('POST', '/v1/admin/deposits', { ...body, agentId: body.agentId === 'AGENT' ? agentId : body.agentId });
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM ledger_transfer')).rows).toEqual(before.rows);
  });

  it('agents may not deposit, and admins have no agent balances', async () => {
    await expect(agent.deposit({ id: 'self', agentId, asset: 'CREDIT', amount: '1' })).rejects.toMatchObject({ status: 403, code: 'AUTH_FORBIDDEN' });
    await expect(admin.balances()).rejects.toMatchObject({ status: 403, code: 'AUTH_FORBIDDEN' });
  });
});
