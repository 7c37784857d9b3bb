import { Controller, Get, Module, Param } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteClient } from '@ate/client';
import { AppError } from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { Public } from '../auth/decorators';
import { createApp } from '../bootstrap';
import { TEST_ADMIN, testConfig } from '../testing/test-app';

const M = 'GPT-X.1K/CREDIT';
const TOKEN = 'metrics-token-for-tests-0123456789';

/** What the Redis engine client answers when a command missed its deadline or its reply (redis-engine-client.ts). */
@Controller('test-engine')
class EngineOutcomeController {
  @Public()
  @Get(':outcome')
  fail(@Param('outcome') outcome: string): never {
    throw new AppError('SERVICE_UNAVAILABLE', 'test: the engine did not answer', { outcome });
  }
}
@Module({ controllers: [EngineOutcomeController] })
class EngineOutcomeModule {}

/** The samples of a Prometheus text exposition, by series (name and labels as printed). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('GET /metrics (Prometheus, real app on real Postgres)', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  let alice: AteClient;
  let flood: AteClient;
  let aliceId: string;

  const scrape = async (): Promise<Map<string, number>> => {
    const r = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return samples(await r.text());
  };

  beforeAll(async () => {
    db = await createTestDatabase('metrics');
    const config = testConfig(db, { METRICS_TOKEN: TOKEN, ORDER_RATE_PER_AGENT: '3', ORDER_RATE_WINDOW_MS: '60000', RECONCILE_EVERY_MS: '0' });
    app = await createApp(config, { extraModules: [EngineOutcomeModule] });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = await app.getUrl();
    admin = new AteClient({ baseUrl: url, ...TEST_ADMIN });
    await admin.defineAsset({ code: 'GPT-X.1K', scale: 0, model: 'gpt-x', provider: 'acme-ai', tokenClass: 'output-1k' });
    await admin.createMarket({ base: 'GPT-X.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 2000 });
    const a = await admin.createAgent({ name: 'alice' });
    aliceId = a.id;
    alice = new AteClient({ baseUrl: url, ...a.apiKey! });
    flood = new AteClient({ baseUrl: url, ...(await admin.createAgent({ name: 'flood' })).apiKey! });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it.each([
    ['no Authorization header', undefined],
    ['a wrong token', `Bearer ${TOKEN}x`],
    ['the token without Bearer', TOKEN],
  ])('with METRICS_TOKEN set, %s is 401 AUTH_MISSING', async (_, authorization) => {
    const r = await fetch(`${url}/metrics`, { headers: authorization ? { authorization } : {} });
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('AUTH_MISSING');
  });

  it('the values move with the traffic: requests, orders, errors, limits, engine batches, ledger, reconciliation', async () => {
    const before = await scrape();
    const delta = (series: string, after: Map<string, number>) => (after.get(series) ?? 0) - (before.get(series) ?? 0);

    await admin.deposit({ id: 'alice-credits', agentId: aliceId, asset: 'CREDIT', amount: '100' });
    await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '10' });
    await expect(alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '1000' })).rejects.toMatchObject({
      code: 'MATCHING_INSUFFICIENT_FUNDS',
    });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await flood.raw('POST', '/v1/orders', { market: M, side: 'buy', type: 'limit', price: '2.000', quantity: '1' })).status);
    expect(statuses).toEqual([422, 422, 422, 429]); // no funds, then the order rate (3 per agent) is spent
    expect((await fetch(`${url}/no/such/route`)).status).toBe(404);
    expect((await fetch(`${url}/test-engine/not_executed`)).status).toBe(503);
    expect((await fetch(`${url}/test-engine/unknown`)).status).toBe(503);
    await alice.get(`/v1/markets/${encodeURIComponent(M)}/book`, { signed: false });
    expect(await admin.reconciliation()).toMatchObject({ ok: true });

    const after = await scrape();
    expect({
      placed201: delta('http_request_duration_seconds_count{method="POST",route="/v1/orders",status_code="201"}', after),
      placed422: delta('http_request_duration_seconds_count{method="POST",route="/v1/orders",status_code="422"}', after),
      book200: delta('http_request_duration_seconds_count{method="GET",route="/v1/markets/:marketId/book",status_code="200"}', after),
      unmatched404: delta('http_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"}', after),
      accepted: delta('ate_orders_total{result="accepted",code="none"}', after),
      noFunds: delta('ate_orders_total{result="rejected",code="MATCHING_INSUFFICIENT_FUNDS"}', after),
      limited: delta('ate_orders_total{result="rejected",code="RATE_LIMITED"}', after),
      refusals: delta('ate_rate_limit_refusals_total{limit="orders_per_agent"}', after),
      routeNotFound: delta('ate_errors_total{code="ROUTE_NOT_FOUND"}', after),
      notExecuted: delta('ate_engine_transport_failures_total{outcome="not_executed"}', after),
      unknown: delta('ate_engine_transport_failures_total{outcome="unknown"}', after),
      reconciliations: delta('ate_reconciliation_runs_total{result="ok"}', after),
      lastOk: after.get('ate_reconciliation_last_ok'),
      lastViolations: after.get('ate_reconciliation_last_violations'),
    }).toEqual({
      placed201: 1,
      placed422: 4,
      book200: 1,
      unmatched404: 1,
      accepted: 1,
      noFunds: 4,
      limited: 1,
      refusals: 1,
      routeNotFound: 1,
      notExecuted: 1,
      unknown: 1,
      reconciliations: 1,
      lastOk: 1,
      lastViolations: 0,
    });
    // the deposit and the accepted order went through engine batches; the deposit is a ledger transfer
    expect(delta('ate_engine_batch_size_count', after)).toBeGreaterThanOrEqual(2);
    expect(delta('ate_engine_batch_duration_seconds_count', after)).toBeGreaterThanOrEqual(2);
    expect(delta('ate_engine_batch_size_sum', after)).toBeGreaterThanOrEqual(2);
    expect(delta('ate_ledger_transfers_total', after)).toBeGreaterThanOrEqual(1);
    expect(after.get('ate_engine_queue_depth')).toBe(0); // nothing waits once every answer is in
    expect(delta('ate_reconciliation_duration_seconds_count', after)).toBe(1);
    const latency = delta('http_request_duration_seconds_sum{method="POST",route="/v1/orders",status_code="201"}', after);
    expect(latency).toBeGreaterThan(0);
    expect(latency).toBeLessThan(30);
  });

  it('carries the process and event-loop metrics', async () => {
    const s = await scrape();
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect([name, s.has(name)]).toEqual([name, true]);
    }
  });
});
