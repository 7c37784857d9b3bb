/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are read loosely; their schemas are checked by the contract test */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { startTestApp, testConfig, TEST_ADMIN } from '../testing/test-app';

/** The operator's lists and searches over signed REST on real Postgres: filters, keyset pages, bad cursors. */
describe('admin lists and search (real Postgres, real HTTP)', () => {
  jest.setTimeout(60_000);
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let admin: AteClient;
  const agents: { id: string; keyId: string }[] = [];
  let acme: string;

  beforeAll(async () => {
    db = await createTestDatabase('admin_lists');
    ({ app, admin } = await startTestApp(testConfig(db)));
    acme = (await admin.raw<{ id: string }>('POST', '/v1/admin/principals', { name: 'Acme Research' })).body.id;
    await admin.raw('POST', '/v1/admin/principals', { name: 'Globex 50%_off' });
    for (const name of ['scout-1', 'scout-2', 'scout-3', 'trader']) {
      const a = await admin.createAgent({ name, ...(name.startsWith('scout') ? { principalId: acme } : {}) });
      agents.push({ id: a.id, keyId: a.apiKey!.keyId });
    }
    await admin.raw('DELETE', `/v1/admin/keys/${agents[3]!.keyId}`);
    await admin.defineAsset({ code: 'LST.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'LST.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, takerFeeBps: 7 });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const get = async (path: string) => (await admin.raw<any>('GET', path)).body;

  /** Every item of a list, walked page by page. */
  async function walk(path: string, limit: number): Promise<unknown[]> {
    const out: unknown[] = [];
    let cursor: string | null = null;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const p: any = await get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      out.push(...p.items);
      cursor = p.nextCursor;
    } while (cursor);
    return out;
  }

  it.each([
    ['agents of a principal', '/v1/admin/agents?principalId=PRN', ['scout-1', 'scout-2', 'scout-3']],
    ['agents by name', '/v1/admin/agents?q=TRAD', ['trader']],
    ['principals by name', '/v1/admin/principals?q=acme', ['Acme Research']],
    ['a search is literal (% and _ match themselves)', '/v1/admin/principals?q=50%25_', ['Globex 50%_off']],
  ])('%s', async (_, path, names) => {
    const items = (await walk(path.replace('PRN', acme), 1)) as { name: string }[];
    expect(items.map((i) => i.name).sort()).toEqual(names);
  });

  it('pages in id order: every row once, whatever the page size', async () => {
    const all = (await get('/v1/admin/agents?limit=500')).items;
    expect(all).toHaveLength(4);
    for (const limit of [1, 2, 3]) expect(await walk('/v1/admin/agents', limit)).toEqual(all);
    expect(all.map((a: any) => a.id)).toEqual([...all.map((a: any) => a.id)].sort());
  });

  it('keys: by owner, role and revocation, never with key material', async () => {
    const revoked = (await get('/v1/admin/keys?revoked=true')).items;
    expect(revoked.map((k: any) => k.keyId)).toEqual([agents[3]!.keyId]);
    const mine = (await get(`/v1/admin/keys?agentId=${agents[0]!.id}`)).items;
    expect(mine).toEqual([expect.objectContaining({ keyId: agents[0]!.keyId, role: 'agent', revokedAt: null, label: 'first key' })]);
    expect((await get('/v1/admin/keys?role=admin')).items.map((k: any) => k.keyId)).toEqual([TEST_ADMIN.keyId]);
    const text = JSON.stringify(await walk('/v1/admin/keys', 2));
    expect(text).not.toMatch(/key_?enc|secret/i);
  });

  it('markets with their rules', async () => {
    expect((await get('/v1/admin/markets?q=lst')).items).toEqual([
      expect.objectContaining({ id: 'LST.1K/CREDIT', baseAsset: 'LST.1K', tickSize: '0.001', rules: expect.objectContaining({ takerFeeBps: 7 }) }),
    ]);
  });

  it.each([
    ['a cursor of another shape', '/v1/admin/agents?cursor=prn_abcdefgh', 400, 'ADMIN_INVALID_CURSOR'],
    ['a limit beyond 500', '/v1/admin/principals?limit=501', 400, 'VALIDATION_FAILED'],
    ['an unknown filter', '/v1/admin/markets?owner=x', 400, 'VALIDATION_FAILED'],
    ['revoked not a boolean', '/v1/admin/keys?revoked=yes', 400, 'VALIDATION_FAILED'],
  ])('refuses %s', async (_, path, status, code) => {
    expect(await admin.raw<any>('GET', path)).toMatchObject({ status, body: { error: { code } } });
  });
});
