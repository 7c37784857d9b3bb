/* eslint-disable @typescript-eslint/no-explicit-any -- frames are read loosely; their shapes are asserted field by field */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { AteClient, FeedSubscriber, LocalBook } from '@ate/client';
import { bookChecksum, deriveSigningKey, FEED_PATH, FeedBookMessage, FeedPrivateMessage, mulberry32, signRequest } from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { EngineLink } from '../engine/engine-link';
import { InProcessEngine } from '../engine/engine.service';
import { startTestApp, testConfig } from '../testing/test-app';
import { FEED_WS_PATH } from './feed-ws.gateway';

const M = 'WSF.1K-CREDIT';
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await wait(20);
  }
}

/** A plain WebSocket client of /v1/ws: every frame it got, and requests that wait for their ack. */
class Conn {
  readonly frames: any[] = [];
  private n = 0;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => this.frames.push(JSON.parse(String(d))));
  }
  static async open(url: string, path = FEED_WS_PATH): Promise<Conn> {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + path);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new Conn(ws);
  }
  /** Sends a request with a fresh id and answers its ack. */
  async req(body: Record<string, unknown>): Promise<any> {
    const id = `r${++this.n}`;
    this.ws.send(JSON.stringify({ ...body, id }));
    return until(`the ack of ${JSON.stringify(body)}`, () => this.frames.find((f) => f.event === 'ack' && f.id === id));
  }
  of(event: string): any[] {
    return this.frames.filter((f) => f.event === event).map((f) => f.data);
  }
  close(): void {
    this.ws.close();
  }
}

/** Strictly increasing timestamps: two logins in one millisecond would carry the same signature (a replay). */
let lastTs = 0;
const nextTs = () => String((lastTs = Math.max(Date.now(), lastTs + 1)));
const login = (key: { keyId: string; secret: string }, ts = nextTs()) => ({
  op: 'login',
  key: key.keyId,
  timestamp: ts,
  signature: signRequest(deriveSigningKey(key.secret), ts, 'GET', FEED_PATH, ''),
});

/**
 * The plain-WebSocket feed (/v1/ws) on the real app (in-process engine, real Postgres) with real `ws` clients:
 * the same books, trades and private updates as the socket.io feed, its login, its refusals, and its
 * independence from the socket.io feed's subscribers.
 */
describe('the plain-WebSocket feed /v1/ws (real app, real Postgres, real ws clients)', () => {
  jest.setTimeout(120_000);
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  let alice: AteClient;
  let bob: AteClient;
  let aliceKey: { keyId: string; secret: string };
  let aliceId: string;
  const conns: Conn[] = [];
  const open = async (path?: string) => {
    const c = await Conn.open(url, path);
    conns.push(c);
    return c;
  };

  beforeAll(async () => {
    db = await createTestDatabase('feed_ws');
    ({ app, url, admin } = await startTestApp(
      testConfig(db, {
        FEED_REPLAY_DELTAS: '40',
        FEED_MAX_SUBSCRIPTIONS: '4',
        FEED_MAX_CONNECTIONS_PER_KEY: '3',
        FEED_CONFLATE_MS: '5',
        FEED_CLIENT_BUFFER_BYTES: '262144',
        FEED_PRIVATE_RETAIN_MS: '200', // a socket.io follower that left does not hold the feed's reading for long
        ORDER_RATE_PER_AGENT: '100000',
      }),
    ));
    await admin.defineAsset({ code: 'WSF.1K', scale: 0, model: 'wsf', provider: 'acme-ai', tokenClass: 'output-1k' });
    for (const base of ['WSF.1K', 'WSG.1K']) {
      if (base !== 'WSF.1K') await admin.defineAsset({ code: base, scale: 0, model: 'wsg', provider: 'acme-ai', tokenClass: 'output-1k' });
      await admin.createMarket({ base, tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, priceBandBps: 5000 });
    }
    const a = await admin.createAgent({ name: 'alice' });
    const b = await admin.createAgent({ name: 'bob' });
    aliceId = a.id;
    aliceKey = a.apiKey!;
    alice = new AteClient({ baseUrl: url, ...aliceKey });
    bob = new AteClient({ baseUrl: url, ...b.apiKey! });
    for (const [id, agent] of [
      ['a', a.id],
      ['b', b.id],
    ] as const) {
      await admin.deposit({ id: `${id}-c`, agentId: agent, asset: 'CREDIT', amount: '1000000' });
      await admin.deposit({ id: `${id}-t`, agentId: agent, asset: 'WSF.1K', amount: '1000000' });
    }
  });
  afterEach(async () => {
    // closed, and the server told (its per-key count is the next test's)
    await Promise.all(
      conns.splice(0).map((c) => (c.ws.readyState === WebSocket.CLOSED ? undefined : new Promise((r) => (c.ws.once('close', r), c.close())))),
    );
    await wait(100);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  /** An empty book: what a test trades is its own (no self-trade prevention against an earlier test's orders). */
  const clean = async () => {
    await alice.cancelAll(M);
    await bob.cancelAll(M);
  };

  /** Random resting and crossing limit orders of alice and bob near 1.000. */
  async function load(rnd: () => number, n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const c = rnd() < 0.5 ? alice : bob;
      const price = (0.95 + Math.floor(rnd() * 100) / 1000).toFixed(3);
      await c.placeOrder({ market: M, side: rnd() < 0.5 ? 'buy' : 'sell', type: 'limit', price, quantity: String(1 + Math.floor(rnd() * 20)) });
    }
  }

  it('a book starts with the REST book as a snapshot; deltas keep a local copy equal to REST, each checksum matching', async () => {
    await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '0.900', quantity: '7' });
    await bob.placeOrder({ market: M, side: 'sell', type: 'limit', price: '1.100', quantity: '9' });
    const c = await open();
    const rest = await admin.book(M, 1000);
    // the symbol names the market too; the answer names it by its id
    expect(await c.req({ op: 'subscribe', channel: 'book', market: 'WSF.1K/CREDIT' })).toMatchObject({
      event: 'ack',
      op: 'subscribe',
      ok: true,
      channel: 'book',
      market: M,
      seq: rest.seq,
    });
    const snap = c.of('book')[0] as FeedBookMessage;
    expect(snap).toMatchObject({ type: 'snapshot', market: M, seq: rest.seq, prev: null, bids: rest.bids, asks: rest.asks, checksum: rest.checksum });

    await load(mulberry32(7), 60);
    const book = new LocalBook(M);
    const applied: string[] = [];
    const final = await admin.book(M, 1000);
    await until('the deltas up to the REST seq', () => {
      const msgs = c.of('book') as FeedBookMessage[];
      for (const m of msgs.slice(applied.length)) applied.push(book.apply(m));
      return book.seq === final.seq || undefined;
    });
    expect(applied.filter((r) => r !== 'ok')).toEqual([]);
    expect(book.levels()).toEqual({ bids: final.bids, asks: final.asks });
    expect(book.checksum()).toBe(bookChecksum(final.bids.slice(0, 10), final.asks.slice(0, 10)));
    const deltas = (c.of('book') as FeedBookMessage[]).slice(1);
    expect(deltas.length).toBeGreaterThan(0);
    deltas.forEach((d, i) => expect(d.prev).toBe(i === 0 ? snap.seq : deltas[i - 1]!.seq));
  });

  it('replays what came after `since`, or says resync_required and sends a snapshot', async () => {
    const c = await open();
    const first = await c.req({ op: 'subscribe', channel: 'book', market: M });
    await load(mulberry32(11), 6);
    const rest = await admin.book(M, 1000);
    await until('the deltas', () => c.of('book').at(-1)?.seq === rest.seq || undefined);
    const d = await open();
    await d.req({ op: 'subscribe', channel: 'book', market: M, since: first.seq });
    expect(d.of('book').map((m) => m.type)).not.toContain('snapshot');
    expect(d.of('book')[0].prev).toBeLessThanOrEqual(first.seq);
    expect(d.of('book').at(-1).seq).toBe(rest.seq);
    const e = await open();
    await e.req({ op: 'subscribe', channel: 'book', market: M, since: rest.seq + 1_000_000 });
    expect(e.of('resync_required')).toEqual([{ market: M, since: rest.seq + 1_000_000, reason: 'replay_unavailable' }]);
    expect(e.of('book')).toEqual([expect.objectContaining({ type: 'snapshot', seq: rest.seq })]);
  });

  it('a depth-limited book (depth 10): a snapshot of the best levels, then its own deltas, ending equal to the REST best 10', async () => {
    await clean();
    for (let k = 0; k < 15; k++) {
      await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: (0.94 - k / 1000).toFixed(3), quantity: '1' });
      await bob.placeOrder({ market: M, side: 'sell', type: 'limit', price: (1.06 + k / 1000).toFixed(3), quantity: '1' });
    }
    const c = await open();
    expect(await c.req({ op: 'subscribe', channel: 'book', market: M, depth: 10 })).toMatchObject({
      ok: true,
      channel: 'book',
      market: M,
      depth: 10,
    });
    const snap = c.of('book')[0] as FeedBookMessage;
    const rest = await admin.book(M, 1000);
    expect(snap).toMatchObject({ type: 'snapshot', depth: 10, bids: rest.bids.slice(0, 10), asks: rest.asks.slice(0, 10), checksum: rest.checksum });
    await load(mulberry32(21), 40);
    const final = await admin.book(M, 1000);
    const book = new LocalBook(M, 10);
    const applied: string[] = [];
    const top = { bids: final.bids.slice(0, 10), asks: final.asks.slice(0, 10) };
    await until('the best 10 as REST has them', () => {
      for (const m of (c.of('book') as FeedBookMessage[]).slice(applied.length)) applied.push(book.apply(m));
      return JSON.stringify(book.levels()) === JSON.stringify(top) || undefined;
    });
    expect(applied.filter((r) => r !== 'ok')).toEqual([]);
    expect(book.checksum()).toBe(final.checksum);
    expect((c.of('book') as FeedBookMessage[]).every((m) => m.depth === 10)).toBe(true);
    expect((await c.req({ op: 'subscribe', channel: 'book', market: M, depth: 7 })).ok).toBe(false);
  });

  it('trades carry the id REST gives them; the ticker follows', async () => {
    const c = await open();
    await c.req({ op: 'subscribe', channel: 'trades', market: M });
    expect((await c.req({ op: 'subscribe', channel: 'ticker', market: M })).ok).toBe(true);
    expect(c.of('ticker')[0]).toMatchObject({ market: M });
    await clean();
    await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '0.980', quantity: '2' });
    await bob.placeOrder({ market: M, side: 'sell', type: 'limit', price: '0.980', quantity: '2' });
    const t = await until('a trade', () => c.of('trade').at(-1));
    const rest = await admin.trades(M, 1);
    expect(t).toMatchObject({ market: M, id: rest.trades[0]!.id, price: rest.trades[0]!.price, amount: rest.trades[0]!.amount });
  });

  it('private updates after a login signed as the socket.io handshake; refused logins change nothing', async () => {
    const c = await open();
    const stale = String(Date.now() - 60_000);
    const used = login(aliceKey);
    const cases: [string, Record<string, unknown>, string][] = [
      ['private before any login', { op: 'subscribe', channel: 'private' }, 'AUTH_MISSING'],
      ['login without a signature', { op: 'login', key: aliceKey.keyId, timestamp: nextTs() }, 'AUTH_MISSING'],
      ['login signed by another secret', login({ keyId: aliceKey.keyId, secret: 'not-the-secret' }), 'AUTH_INVALID_SIGNATURE'],
      ['login with an unknown key', login({ keyId: 'ak_nosuchkey000000000', secret: 'x' }), 'AUTH_INVALID_SIGNATURE'],
      ['login out of the time window', login(aliceKey, stale), 'AUTH_TIMESTAMP_OUT_OF_WINDOW'],
    ];
    const got: [string, string][] = [];
    for (const [what, body] of cases) got.push([what, (await c.req(body)).error?.code]);
    expect(got).toEqual(cases.map(([w, , code]) => [w, code]));
    expect(await c.req(used)).toMatchObject({ ok: true, op: 'login', keyId: aliceKey.keyId, role: 'agent', agentId: aliceId });
    // the same signature again is a replay, on any connection
    const other = await open();
    expect((await other.req(used)).error.code).toBe('AUTH_REPLAYED');
    expect((await c.req(login(aliceKey))).error.code).toBe('VALIDATION_FAILED'); // one key per connection
    expect((await c.req({ op: 'subscribe', channel: 'private', agent: 'agt_someoneelse' })).error.code).toBe('AUTH_FORBIDDEN');
    expect(await c.req({ op: 'subscribe', channel: 'private' })).toMatchObject({ ok: true, channel: 'private', agent: aliceId });
    expect((app.get(EngineLink) as InProcessEngine).host.outlet.wantsAgents).toBe(true); // agents' events are built now

    await clean();
    const o = await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '0.900', quantity: '4', clientOrderId: 'ws-priv' });
    await alice.cancelOrder(o.id);
    const mine = await until('accepted and cancelled', () => {
      const p = c.of('private').filter((m) => m.orderId === o.id);
      return p.length >= 2 ? p : undefined;
    });
    expect(mine.map((m) => [m.type, m.event])).toEqual([
      ['order', 'accepted'],
      ['order', 'cancelled'],
    ]);
    expect(mine[0]).toMatchObject({ agent: aliceId, market: M, side: 'buy', price: '0.900', quantity: '4' });
    const now = (await alice.balances()).balances['CREDIT']!;
    const credit = () => c.of('private').filter((m) => m.type === 'balance' && m.asset === 'CREDIT');
    await until('the balance as REST shows it', () => credit().at(-1)?.used === now.used || undefined);
    expect(credit().length).toBeGreaterThanOrEqual(2); // held, then released
    expect(credit().at(-1)).toMatchObject({ total: now.total, used: now.used, free: now.free });
    const seqs = c.of('private').map((m) => m.seq);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i)); // consecutive: no gap
  });

  it('bad requests are answered with a code and leave the connection open; the limits hold', async () => {
    const c = await open();
    const send = async (raw: string | Buffer) => {
      const before = c.of('ack').length;
      c.ws.send(raw);
      return until('the ack', () => c.frames.filter((f) => f.event === 'ack')[before]);
    };
    const cases: [string, string | Buffer, string][] = [
      ['not JSON', '{nope', 'VALIDATION_FAILED'],
      ['a JSON array', '[1,2]', 'VALIDATION_FAILED'],
      ['a binary frame', Buffer.from('{"op":"ping"}'), 'VALIDATION_FAILED'],
      ['an unknown op', '{"op":"dance"}', 'VALIDATION_FAILED'],
      ['an unknown channel', '{"op":"subscribe","channel":"gossip","market":"WSF.1K-CREDIT"}', 'VALIDATION_FAILED'],
      ['an unknown field', '{"op":"subscribe","channel":"trades","market":"WSF.1K-CREDIT","x":1}', 'VALIDATION_FAILED'],
      ['an unknown market', '{"op":"subscribe","channel":"book","market":"NOPE-CREDIT"}', 'NOT_FOUND'],
      ['an id that is an object', '{"op":"ping","id":{"a":1}}', 'VALIDATION_FAILED'],
    ];
    const got: [string, string][] = [];
    for (const [what, raw] of cases) got.push([what, (await send(raw)).error?.code]);
    expect(got).toEqual(cases.map(([w, , code]) => [w, code]));
    expect(await c.req({ op: 'ping' })).toMatchObject({ ok: true, serverTime: expect.any(Number) });

    // FEED_MAX_SUBSCRIPTIONS=4 per connection; subscribing again to one held is a resync, not a new one
    const d = await open();
    expect((await d.req(login(aliceKey))).ok).toBe(true);
    for (const sub of [
      { channel: 'book', market: M },
      { channel: 'trades', market: M },
      { channel: 'ticker', market: M },
      { channel: 'private' },
      { channel: 'book', market: 'WSF.1K/CREDIT', since: 0 },
    ])
      expect([sub, (await d.req({ op: 'subscribe', ...sub })).ok]).toEqual([sub, true]);
    expect((await d.req({ op: 'subscribe', channel: 'book', market: 'WSG.1K-CREDIT' })).error).toMatchObject({
      code: 'FEED_LIMIT_EXCEEDED',
      details: { limit: 'subscriptionsPerConnection', max: 4 },
    });
    await d.req({ op: 'unsubscribe', channel: 'ticker', market: M });
    expect((await d.req({ op: 'subscribe', channel: 'book', market: 'WSG.1K-CREDIT' })).ok).toBe(true);

    // FEED_MAX_CONNECTIONS_PER_KEY=3: d holds one; two more log in, the fourth is refused
    for (let i = 0; i < 2; i++) expect((await (await open()).req(login(aliceKey))).ok).toBe(true);
    const fourth = await (await open()).req(login(aliceKey));
    expect(fourth.error).toMatchObject({ code: 'FEED_LIMIT_EXCEEDED', details: { limit: 'connectionsPerKey', max: 3 } });
    // a connection that leaves gives its place back
    d.close();
    await until('the place given back', async () => ((await (await open()).req(login(aliceKey))).ok ? true : undefined));
  });

  it('a client that stops reading is told FEED_SLOW_CONSUMER and closed (1008); the others keep getting theirs', async () => {
    const healthy = await open();
    await healthy.req({ op: 'subscribe', channel: 'book', market: M });
    const slow = await open();
    await slow.req({ op: 'subscribe', channel: 'book', market: M });
    const closed = new Promise<number>((r) => slow.ws.once('close', (code) => r(code)));
    // stop reading the socket: what the server sends piles up (the kernel's buffers, then the server's)
    const tcp = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();
    const snapshot = JSON.stringify(await admin.book(M, 1000)).length;
    for (let k = 0; k < Math.ceil((8 * 1024 * 1024) / snapshot); k++) slow.ws.send(JSON.stringify({ op: 'subscribe', channel: 'book', market: M })); // each answers a snapshot
    await wait(3_000); // the server works through them
    const before = healthy.of('book').length;
    await clean();
    await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '0.700', quantity: '1' });
    await until('the healthy client gets its delta', () => healthy.of('book').length > before || undefined);
    tcp.resume();
    expect(await closed).toBe(1008);
    const error = slow.of('feed_error')[0];
    expect(error).toMatchObject({ code: 'FEED_SLOW_CONSUMER', details: { limit: 'clientBufferBytes', max: 262144 } });
    expect(error.details.unsent).toBeGreaterThan(262144);
  });

  it('another path is not upgraded; the socket.io feed beside it keeps working', async () => {
    await expect(Conn.open(url, '/v1/not-a-feed')).rejects.toThrow();
    const s = io(url, { path: FEED_PATH, transports: ['websocket'], reconnection: false, forceNew: true });
    await new Promise((r) => s.once('connect', () => r(undefined)));
    const a = (await s.timeout(5000).emitWithAck('subscribe', { channel: 'trades', market: M })) as { ok: boolean };
    expect(a.ok).toBe(true);
    s.disconnect();
  });

  it('one feed per node: a socket.io subscriber and a /v1/ws one get the same book deltas and the same private seqs', async () => {
    await clean();
    const c = await open();
    expect(await c.req(login(aliceKey))).toMatchObject({ ok: true });
    const f = new FeedSubscriber({ baseUrl: url, ...aliceKey });
    try {
      const privates: FeedPrivateMessage[] = [];
      const books: FeedBookMessage[] = [];
      f.on('private', (m) => privates.push(m)).on('book', ({ message }) => books.push(message));
      await f.connected();
      await f.book(M);
      const first = await f.subscribe({ channel: 'private' });
      expect(first).toMatchObject({ ok: true, epoch: expect.any(String) });
      expect(await c.req({ op: 'subscribe', channel: 'book', market: M })).toMatchObject({ ok: true });
      const a = await c.req({ op: 'subscribe', channel: 'private' });
      expect(a).toMatchObject({ ok: true, agent: aliceId });
      await load(mulberry32(29), 20);
      const final = await admin.book(M, 1000);
      const wsDeltas = () => (c.of('book') as FeedBookMessage[]).filter((m) => m.type === 'delta');
      await until('both at the REST seq', () => (books.at(-1)?.seq === final.seq && wsDeltas().at(-1)?.seq === final.seq) || undefined);
      // the same deltas: the same chain of seqs and checksums on both endpoints, from the ws subscription on
      const chain = (ms: FeedBookMessage[]) => ms.filter((m) => m.type === 'delta').map((m) => [m.prev, m.seq, m.checksum]);
      const fromWs = chain(wsDeltas());
      expect(fromWs.length).toBeGreaterThan(0);
      expect(chain(books).slice(-fromWs.length)).toEqual(fromWs);
      // the same private stream: each update with the same seq on both (the ws one from its subscription's seq)
      const credit = (await alice.balances()).balances['CREDIT']!;
      await until('the last balance on both', () => {
        const last = (ms: FeedPrivateMessage[]) => ms.filter((m) => m.type === 'balance' && m.asset === 'CREDIT').pop();
        const x = last(privates);
        const y = last(c.of('private') as FeedPrivateMessage[]);
        return (x?.type === 'balance' && x.used === credit.used && y?.type === 'balance' && y.used === credit.used) || undefined;
      });
      const wsPrivates = (c.of('private') as FeedPrivateMessage[]).map((m) => ({ ...m, ts: 0 }));
      expect(wsPrivates.length).toBeGreaterThan(0);
      expect(wsPrivates[0]!.seq).toBe((a as { seq: number }).seq + 1);
      expect(privates.filter((m) => m.seq > (a as { seq: number }).seq).map((m) => ({ ...m, ts: 0 }))).toEqual(wsPrivates);
      // the /v1/ws follower leaves; the socket.io one still follows: the agent's stream (its epoch) stays
      await new Promise((r) => (c.ws.once('close', r), c.close()));
      await wait(100);
      expect(await f.subscribe({ channel: 'private' })).toMatchObject({ ok: true, epoch: (first as { epoch: string }).epoch });
    } finally {
      f.close();
    }
  });

  it('runs on its own: a socket.io subscriber that leaves does not stop it, and it stops reading when its last subscriber leaves', async () => {
    const host = (app.get(EngineLink) as InProcessEngine).host;
    await until('nobody subscribed', () => !host.outlet.active || undefined);
    const c = await open();
    await c.req({ op: 'subscribe', channel: 'trades', market: M });
    const s = io(url, { path: FEED_PATH, transports: ['websocket'], reconnection: false, forceNew: true });
    await new Promise((r) => s.once('connect', () => r(undefined)));
    await s.timeout(5000).emitWithAck('subscribe', { channel: 'trades', market: M });
    s.disconnect(); // the socket.io feed's last subscriber: it stops reading, this endpoint does not
    await wait(200);
    const before = c.of('trade').length;
    await clean();
    await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '0.990', quantity: '1' });
    await bob.placeOrder({ market: M, side: 'sell', type: 'limit', price: '0.990', quantity: '1' });
    await until('the trade over /v1/ws', () => c.of('trade').length > before || undefined);
    expect(host.outlet.active).toBe(true);
    expect(host.outlet.wantsAgents).toBe(false); // trades only here: no orders' or balances' events are built
    c.close();
    await until('the last subscriber gone', () => !host.outlet.active || undefined);
  });
});
