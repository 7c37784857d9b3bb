import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { AteClient, FeedSubscriber } from '@ate/client';
import { FeedBookMessage, FeedError, FeedPrivateMessage, FeedPrivateResyncRequired, mulberry32 } from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { freePort, startApiProcess, testApiEnv, untilReady } from '../testing/api-process';
import { startEngineProcess, stopProcess } from '../testing/engine-process';
import { dropRedisKeys, TEST_REDIS_URL as REDIS_URL, testRedisPrefix } from '../testing/redis';
import { TEST_ADMIN } from '../testing/test-app';

const M = 'NODES.1K-CREDIT'; // the market's id
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p`, or an error naming the step once `ms` passed (a step that never ends says which it was) */
function within<T>(what: string, p: Promise<T>, ms = 30_000): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(t));
}

/** true once `url` answers 200; a request that fails or takes over 5 s is tried again */
const probe = (url: string): Promise<true | undefined> =>
  fetch(url, { signal: AbortSignal.timeout(5_000) }).then(
    (r) => r.status === 200 || undefined,
    () => undefined,
  );

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
 * Two api nodes (real processes, ENGINE_MODE=redis) and the engine node (a real process), on real Postgres and
 * Redis: each api node reads the committed events from the engine's events stream; a feed client on each node
 * receives the same book sequence (same deltas, seqs and checksums) and the same private updates, and both end
 * equal to the REST book. Connections per key are counted across the nodes (the socket.io Redis adapter).
 */
describe('the feed on two api nodes over Redis (real processes)', () => {
  jest.setTimeout(180_000);
  const REDIS_PREFIX = testRedisPrefix('feed-nodes');
  let db: TestDatabase;
  const procs: ChildProcess[] = [];
  const urls: string[] = [];
  const subs: FeedSubscriber[] = [];
  const master = randomBytes(32).toString('base64');

  beforeAll(async () => {
    db = await createTestDatabase('feed_nodes');
    procs.push(
      await startEngineProcess({
        DATABASE_URL: db.url,
        REDIS_URL,
        REDIS_PREFIX,
        ENGINE_NODE_ID: `feed-e2e-${process.pid}`,
        ENGINE_HEARTBEAT_MS: '250',
        LOG_LEVEL: 'warn',
      }),
    );
    for (let k = 0; k < 2; k++) {
      const port = await freePort();
      urls.push(`http://127.0.0.1:${port}`);
      const env = {
        REDIS_URL,
        REDIS_PREFIX,
        ENGINE_MODE: 'redis',
        FEED_CONFLATE_MS: '0',
        FEED_MAX_CONNECTIONS_PER_KEY: '2',
        FEED_KEY_CHECK_MS: '200',
      };
      procs.push(await startApiProcess(testApiEnv({ databaseUrl: db.url, port, masterKey: master }, env)));
    }
    // both nodes ready (the engine node's lease seen): a request before then waits on the engine
    for (const u of urls) await untilReady(u, `the node at ${u} did not start serving`, 60_000);
  });
  afterAll(async () => {
    for (const s of subs) s.close();
    for (const p of procs.reverse()) await stopProcess(p, 'SIGKILL');
    await dropRedisKeys(REDIS_PREFIX);
    await db?.drop();
  });

  it('a client on each node receives the same book sequence and the same private updates', async () => {
    const [urlA, urlB] = urls as [string, string];
    const admin = new AteClient({ baseUrl: urlA, ...TEST_ADMIN });
    await admin.defineAsset({ code: 'NODES.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'NODES.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, priceBandBps: 5000 });
    const agents = await Promise.all(['alice', 'bob'].map((name) => admin.createAgent({ name })));
    for (const a of agents) {
      await admin.deposit({ id: `${a.id}-c`, agentId: a.id, asset: 'CREDIT', amount: '1000000' });
      await admin.deposit({ id: `${a.id}-t`, agentId: a.id, asset: 'NODES.1K', amount: '1000000' });
    }
    const [alice, bob] = agents.map((a, k) => new AteClient({ baseUrl: k === 0 ? urlA : urlB, ...a.apiKey! })) as [AteClient, AteClient];
    // the market is loaded on both nodes (each reads the engine's market cache)
    for (const u of urls) await until('the market on the node', () => probe(`${u}/v1/markets/${encodeURIComponent(M)}/book`));

    const books: FeedBookMessage[][] = [[], []];
    const privates: FeedPrivateMessage[][] = [[], []];
    const clients = urls.map((u, k) => {
      const f = new FeedSubscriber({ baseUrl: u, ...agents[0]!.apiKey! });
      subs.push(f);
      f.on('book', ({ message }) => books[k]!.push(message));
      f.on('private', (m) => privates[k]!.push(m));
      return f;
    });
    const local = [];
    for (const f of clients) {
      await within('the connection', f.connected());
      local.push(await within('the first book snapshot', f.book(M)));
      expect(await f.subscribe({ channel: 'private' })).toMatchObject({ ok: true, agent: agents[0]!.id });
    }
    // the key holds two connections (one per node): a third, on either node, is refused (counted across nodes)
    const third = new FeedSubscriber({ baseUrl: urlA, ...agents[0]!.apiKey! });
    subs.push(third);
    await expect(within('the third connection refused', third.connected())).rejects.toMatchObject({
      data: { code: 'FEED_LIMIT_EXCEEDED', details: { limit: 'connectionsPerKey', max: 2 } },
    });
    third.close();

    const rnd = mulberry32(4242);
    await within(
      'the 240 orders',
      Promise.all(
        Array.from({ length: 6 }, async () => {
          for (let i = 0; i < 40; i++) {
            const c = rnd() < 0.5 ? alice : bob;
            const price = (0.95 + Math.floor(rnd() * 100) / 1000).toFixed(3);
            await c.placeOrder({ market: M, side: rnd() < 0.5 ? 'buy' : 'sell', type: 'limit', price, quantity: String(1 + Math.floor(rnd() * 9)) });
          }
        }),
      ),
      90_000,
    );
    const rest = await admin.book(M, 1000);
    for (const b of local) {
      await until('the client at the REST seq', () => b.seq === rest.seq || undefined);
      expect(b.levels()).toEqual({ bids: rest.bids, asks: rest.asks });
      expect(b.checksum()).toBe(rest.checksum);
    }
    const deltas = books.map((ms) => ms.filter((m) => m.type === 'delta').map((m) => [m.prev, m.seq, m.checksum]));
    expect(deltas[0]!.length).toBeGreaterThan(20);
    expect(deltas[1]).toEqual(deltas[0]);
    await wait(300);
    const priv = privates.map((ms) => ms.map((m) => ({ ...m, ts: 0 })));
    expect(priv[0]!.length).toBeGreaterThan(20);
    expect(priv[1]).toEqual(priv[0]);
    for (const c of clients) expect(c.stats).toMatchObject({ gaps: 0, checksumFailures: 0 });
  });

  it("a key revoked on one node closes the key's connections on the other; a private stream does not replay across nodes", async () => {
    const [urlA, urlB] = urls as [string, string];
    const admin = new AteClient({ baseUrl: urlA, ...TEST_ADMIN });
    const agent = await admin.createAgent({ name: 'carol' });
    const key = agent.apiKey!;
    // on node A: a private subscription, and the stream it is on
    const onA = new FeedSubscriber({ baseUrl: urlA, ...key });
    subs.push(onA);
    await within('the connection on A', onA.connected());
    const a = await onA.subscribe({ channel: 'private' });
    expect(a).toMatchObject({ ok: true, epoch: expect.any(String) });
    onA.close();
    // node B has another stream of the agent (its own count): asked to replay A's, it says resync
    const onB = new FeedSubscriber({ baseUrl: urlB, ...key });
    subs.push(onB);
    const resyncs: FeedPrivateResyncRequired[] = [];
    const errors: FeedError[] = [];
    onB.on('privateResync', (r) => resyncs.push(r)).on('error', (e) => errors.push(e));
    await within('the connection on B', onB.connected());
    const since = (a as { seq: number }).seq;
    const b = await onB.subscribe({ channel: 'private', since, epoch: (a as { epoch: string }).epoch });
    expect(b).toMatchObject({ ok: true, epoch: expect.any(String) });
    expect((b as { epoch: string }).epoch).not.toBe((a as { epoch: string }).epoch);
    await until('the resync', () => resyncs[0]);
    expect(resyncs[0]).toMatchObject({ agent: agent.id, since, clientEpoch: (a as { epoch: string }).epoch, reason: 'other_stream' });

    // revoked through node A: node B closes the key's connection within its check interval (200 ms), saying why
    const disconnected = new Promise<string>((r) => onB.socket.once('disconnect', r));
    const t0 = Date.now();
    await admin.revokeKey(key.keyId);
    expect(await within('the disconnect', disconnected)).toBe('io server disconnect');
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(errors).toEqual([expect.objectContaining({ code: 'FEED_KEY_REVOKED', details: { keyId: key.keyId } })]);
    await wait(1_500);
    expect(onB.socket.connected).toBe(false); // the helper does not reconnect a revoked key
  });
});
