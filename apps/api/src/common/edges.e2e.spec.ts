import { connect } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { startTestApp, testConfig } from '../testing/test-app';

/**
 * The api's edges, probed from outside over real HTTP: input the database cannot hold, oversized or broken URLs,
 * methods a route does not have, broken HTTP. Every answer is our one error shape with a stable code, and no
 * answer echoes the input unbounded.
 */
describe('api edges (real HTTP, real Postgres)', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  let agent: AteClient;
  const long = 'x'.repeat(10_000);

  beforeAll(async () => {
    db = await createTestDatabase('edges');
    ({ app, url, admin } = await startTestApp(testConfig(db)));
    agent = new AteClient({
      baseUrl: url,
      ...(await admin.createAgent({ name: 'edgy' })).apiKey!,
    });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const expectShape = (body: unknown, code: string) => {
    expect(Object.keys(body as object)).toEqual(['error']);
    expect((body as { error: { code: string } }).error.code).toBe(code);
    const text = JSON.stringify(body);
    expect(text.length).toBeLessThan(1000);
    expect(text).not.toContain('x'.repeat(200));
  };

  // Text the database cannot hold (NUL; an unpaired UTF-16 surrogate would be stored as U+FFFD): 400 wherever it is.
  type Row = [string, AteClient | null, string, string, unknown];
  const unstorable: Row[] = [
    ['NUL in a path parameter', null, 'GET', '/v1/orders/by-client-id/a%00b', undefined],
    ['NUL in a query value', null, 'GET', '/v1/orders?cursor=a%00b', undefined],
    ['NUL in a query key', null, 'GET', '/v1/orders?a%00b=1', undefined],
    [
      'NUL in a body string',
      null,
      'POST',
      '/v1/orders',
      {
        market: 'NO/CREDIT',
        side: 'buy',
        type: 'limit',
        price: '1',
        quantity: '1',
        clientOrderId: 'a\u0000b',
      },
    ],
    ['NUL in an admin body (agent name)', null, 'POST', '/v1/admin/agents', { name: 'bad\u0000name' }],
    ['NUL in a body key', null, 'POST', '/v1/admin/principals', { 'na\u0000me': 'x' }],
    ['unpaired surrogate in a body string', null, 'POST', '/v1/admin/principals', { name: 'half \ud800 pair' }],
  ];
  it.each(unstorable.map(([n, , m, p, b]) => [n, m, p, b] as const))('%s -> 400 VALIDATION_FAILED', async (_n, method, path, body) => {
    const before = await db.pool.query('SELECT (SELECT count(*) FROM principal) AS p, (SELECT count(*) FROM agent) AS a');
    for (const c of [agent, admin]) {
      const r = await c.raw<any>(method, path, body);
      expect(r.status).toBe(400);
      expectShape(r.body, 'VALIDATION_FAILED');
      expect(r.body.error.details.issues[0]).toMatchObject({
        code: 'unstorable_character',
      });
    }
    const after = await db.pool.query('SELECT (SELECT count(*) FROM principal) AS p, (SELECT count(*) FROM agent) AS a');
    expect(after.rows).toEqual(before.rows);
  });

  it('paired surrogates (emoji) are fine', async () => {
    expect((await admin.raw('POST', '/v1/admin/principals', { name: 'ok 🚀' })).status).toBe(201);
  });

  it.each<readonly [string, string, number, string, string]>([
    ['a 10,000-character path parameter', 'GET', 414, 'URI_TOO_LONG', `/v1/markets/${long}/book`],
    ['a 10,000-character unknown path', 'GET', 404, 'ROUTE_NOT_FOUND', `/v1/${long}`],
    ['a broken percent-encoding', 'GET', 400, 'VALIDATION_FAILED', '/v1/markets/%E0%A4%A/book'],
    ['a huge content type', 'POST', 415, 'UNSUPPORTED_MEDIA_TYPE', '/v1/admin/principals'],
    ['PUT on /v1/orders (it has GET and POST)', 'PUT', 405, 'METHOD_NOT_ALLOWED', '/v1/orders'],
    ['DELETE on /v1/time', 'DELETE', 405, 'METHOD_NOT_ALLOWED', '/v1/time'],
    ['POST on an order id', 'POST', 405, 'METHOD_NOT_ALLOWED', '/v1/orders/ord_123'],
    ['an unknown route', 'GET', 404, 'ROUTE_NOT_FOUND', '/v1/nope'],
  ])('%s: %s -> %i %s, in our shape, echoing nothing unbounded', async (name, method, status, code, path) => {
    const headers = name === 'a huge content type' ? { 'content-type': `text/${long}` } : undefined;
    const res = await fetch(url + path, {
      method,
      headers,
      body: headers ? 'x' : undefined,
    });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expectShape(await res.json(), code);
    if (status === 405) {
      const allow = path === '/v1/orders' ? 'GET, HEAD, POST' : path === '/v1/time' ? 'GET, HEAD' : 'DELETE, GET, HEAD, PATCH';
      expect(res.headers.get('allow')).toBe(allow);
    }
  });

  it('a cursor beyond a bigint is a 400, not a database error', async () => {
    const me = await agent.me();
    await admin.deposit({ id: `edge-${me.agentId}`, agentId: me.agentId as string, asset: 'CREDIT', amount: '1' });
    for (const cursor of ['9223372036854775808', '9999999999999999999']) {
      const r = await agent.raw<any>('GET', `/v1/account/statement?asset=CREDIT&cursor=${cursor}`);
      expect(r.status).toBe(400);
      expectShape(r.body, 'VALIDATION_FAILED');
    }
    expect((await agent.raw('GET', '/v1/account/statement?asset=CREDIT&cursor=9223372036854775807')).status).toBe(200);
  });

  it('broken HTTP (a request line the parser refuses) gets our shape too', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const s = connect(Number(new URL(url).port), '127.0.0.1', () => s.write('GET /v1/time HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'));
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expectShape(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)), 'VALIDATION_FAILED');
  });
});
