import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase, testServerUrl } from '@ate/db';
import { Client } from 'pg';
import { startTestApp, testConfig } from '../testing/test-app';

const M = 'LOSS.1K/CREDIT';

/**
 * The database connections die under load (a failover, an operator's pg_terminate_backend): the api does not
 * crash; each order is answered 201 (committed) or 503 (nothing was done); the engine rebuilds from the log and
 * trading carries on; every acknowledged order is there and the books and the ledger agree.
 */
describe('losing the database connections mid-stream (real Postgres, real HTTP)', () => {
  jest.setTimeout(60_000);
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let admin: AteClient;
  let clients: AteClient[];

  beforeAll(async () => {
    db = await createTestDatabase('dbloss');
    let url: string;
    ({ app, url, admin } = await startTestApp(
      testConfig(db, { ORDER_RATE_PER_AGENT: '100000', RATE_LIMIT_PER_KEY: '100000', RATE_LIMIT_PER_ADDRESS: '100000' }),
    ));
    await admin.defineAsset({ code: 'LOSS.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'LOSS.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, priceBandBps: 5000 });
    clients = [];
    for (let i = 0; i < 4; i++) {
      const a = await admin.createAgent({ name: `loss-${i}` });
      await admin.deposit({ id: `l-${i}-c`, agentId: a.id, asset: 'CREDIT', amount: '100000' });
      await admin.deposit({ id: `l-${i}-t`, agentId: a.id, asset: 'LOSS.1K', amount: '100000' });
      clients.push(new AteClient({ baseUrl: url, ...a.apiKey! }));
    }
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  async function terminateConnections(): Promise<number> {
    const c = new Client({ connectionString: testServerUrl() });
    await c.connect();
    try {
      const r = await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db.name]);
      return r.rowCount ?? 0;
    } finally {
      await c.end();
    }
  }

  it('answers 201 or 503, never crashes, and recovers with every acknowledged order in place', async () => {
    const acked: string[] = [];
    const statuses = new Map<number, number>();
    let n = 0;
    let terminated = 0;
    const loop = async (k: number) => {
      const c = clients[k % clients.length] as AteClient;
      for (let i = 0; i < 60; i++) {
        const buy = (i + k) % 2 === 0;
        const r = await c.raw<{ id: string }>('POST', '/v1/orders', {
          market: M,
          side: buy ? 'buy' : 'sell',
          type: 'limit',
          price: buy ? '1.001' : '0.999',
          quantity: '1',
          clientOrderId: `loss-${k}-${i}`,
        });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 201) acked.push(`loss-${k}-${i}`);
        if (++n === 100) terminated = await terminateConnections(); // mid-stream: batches in flight, or between two
      }
    };
    await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(loop));
    expect(Object.fromEntries([...statuses].filter(([s]) => s !== 201 && s !== 503))).toEqual({});
    expect(terminated).toBeGreaterThan(0); // the api's connections were cut (a batch in flight then fails: 503)
    expect(statuses.get(201)).toBeGreaterThan(100);

    // the engine rebuilt itself: trading goes on
    const t0 = Date.now();
    let last: { status: number; body: unknown } = { status: 0, body: null };
    while (last.status !== 201 && Date.now() - t0 < 10_000) {
      last = await clients[0]!.raw('POST', '/v1/orders', { market: M, side: 'buy', type: 'limit', price: '0.900', quantity: '1' });
      if (last.status !== 201) await new Promise((r) => setTimeout(r, 200));
    }
    expect(last).toMatchObject({ status: 201 });
    // every acknowledged order is there
    const rows = await db.pool.query<{ client_order_id: string }>(`SELECT client_order_id FROM trading_order WHERE client_order_id LIKE 'loss-%'`);
    const present = new Set(rows.rows.map((r) => r.client_order_id));
    expect(acked.filter((id) => !present.has(id))).toEqual([]);
    expect(await admin.reconciliation()).toMatchObject({ ok: true, violations: [], engine: { ok: true, violations: [] } });
  });
});
