/* eslint-disable @typescript-eslint/no-explicit-any -- frames are read loosely; their shapes are asserted field by field */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { AteClient, LocalBook } from '@ate/client';
import { deriveSigningKey, FEED_PATH, FeedBookMessage, mulberry32, signRequest } from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { freePort, startApiProcess, testApiEnv } from '../testing/api-process';
import { startEngineProcess, stopProcess } from '../testing/engine-process';
import { dropRedisKeys, TEST_REDIS_URL as REDIS_URL, testRedisPrefix } from '../testing/redis';
import { TEST_ADMIN } from '../testing/test-app';

const M = 'WSR.1K-CREDIT';
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await wait(50);
  }
}

/**
 * /v1/ws on an api node in ENGINE_MODE=redis (real processes: the engine node and the api node, real Postgres and
 * Redis): its feed reads the engine's events stream itself; a book kept from its frames ends equal to the REST
 * book, and the private channel tells the agent's orders.
 */
describe('the plain-WebSocket feed on an api node over Redis (real processes)', () => {
  jest.setTimeout(180_000);
  const REDIS_PREFIX = testRedisPrefix('feed-ws-redis');
  let db: TestDatabase;
  const procs: ChildProcess[] = [];
  let url: string;
  let ws: WebSocket | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('feed_ws_redis');
    procs.push(
      await startEngineProcess({
        DATABASE_URL: db.url,
        REDIS_URL,
        REDIS_PREFIX,
        ENGINE_NODE_ID: `feed-ws-e2e-${process.pid}`,
        ENGINE_HEARTBEAT_MS: '250',
        LOG_LEVEL: 'warn',
      }),
    );
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const env = { REDIS_URL, REDIS_PREFIX, ENGINE_MODE: 'redis', FEED_CONFLATE_MS: '0' };
    procs.push(await startApiProcess(testApiEnv({ databaseUrl: db.url, port, masterKey: randomBytes(32).toString('base64') }, env)));
  });
  afterAll(async () => {
    ws?.close();
    for (const p of procs.reverse()) await stopProcess(p, 'SIGKILL');
    await dropRedisKeys(REDIS_PREFIX);
    await db?.drop();
  });

  it('a book kept from /v1/ws ends equal to the REST book; the private channel tells the orders', async () => {
    const admin = new AteClient({ baseUrl: url, ...TEST_ADMIN });
    await admin.defineAsset({ code: 'WSR.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'WSR.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, priceBandBps: 5000 });
    const agents = await Promise.all(['alice', 'bob'].map((name) => admin.createAgent({ name })));
    for (const a of agents) {
      await admin.deposit({ id: `${a.id}-c`, agentId: a.id, asset: 'CREDIT', amount: '1000000' });
      await admin.deposit({ id: `${a.id}-t`, agentId: a.id, asset: 'WSR.1K', amount: '1000000' });
    }
    const [alice, bob] = agents.map((a) => new AteClient({ baseUrl: url, ...a.apiKey! })) as [AteClient, AteClient];
    await until('the market on the node', () => fetch(`${url}/v1/markets/${encodeURIComponent(M)}/book`).then((r) => r.ok || undefined));

    const frames: any[] = [];
    ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`);
    ws.on('message', (d) => frames.push(JSON.parse(String(d))));
    await new Promise((resolve, reject) => (ws!.once('open', resolve), ws!.once('error', reject)));
    const req = async (body: Record<string, unknown>, id: string) => {
      ws!.send(JSON.stringify({ ...body, id }));
      return until(`the ack ${id}`, () => frames.find((f) => f.event === 'ack' && f.id === id));
    };
    const key = agents[0]!.apiKey!;
    const ts = String(Date.now());
    expect(
      await req({ op: 'login', key: key.keyId, timestamp: ts, signature: signRequest(deriveSigningKey(key.secret), ts, 'GET', FEED_PATH, '') }, 'l'),
    ).toMatchObject({
      ok: true,
    });
    expect(await req({ op: 'subscribe', channel: 'book', market: M }, 'b')).toMatchObject({ ok: true });
    expect(await req({ op: 'subscribe', channel: 'private' }, 'p')).toMatchObject({ ok: true, agent: agents[0]!.id });

    const rnd = mulberry32(99);
    for (let i = 0; i < 60; i++) {
      const c = rnd() < 0.5 ? alice : bob;
      const price = (0.95 + Math.floor(rnd() * 100) / 1000).toFixed(3);
      await c.placeOrder({ market: M, side: rnd() < 0.5 ? 'buy' : 'sell', type: 'limit', price, quantity: String(1 + Math.floor(rnd() * 9)) });
    }
    const rest = await admin.book(M, 1000);
    const book = new LocalBook(M);
    const results: string[] = [];
    let applied = 0;
    await until('the book at the REST seq', () => {
      const msgs = frames.filter((f) => f.event === 'book').map((f) => f.data as FeedBookMessage);
      for (const m of msgs.slice(applied)) results.push(book.apply(m));
      applied = msgs.length;
      return book.seq === rest.seq || undefined;
    });
    expect(results.filter((r) => r !== 'ok')).toEqual([]);
    expect(book.levels()).toEqual({ bids: rest.bids, asks: rest.asks });
    const mine = (await alice.get<{ orders: { id: string }[] }>(`/v1/orders?status=all&market=${M}&limit=500`)).orders.map((o) => o.id);
    await until('an accepted update per order of alice', () => {
      const accepted = new Set(frames.filter((f) => f.event === 'private' && f.data.event === 'accepted').map((f) => f.data.orderId));
      return mine.every((id) => accepted.has(id)) || undefined;
    });
  });
});
