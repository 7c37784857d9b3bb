import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { io, Socket } from 'socket.io-client';
import { AteClient, FeedSubscriber, LocalBook } from '@ate/client';
import {
  bookChecksum,
  bookChecksumString,
  deriveSigningKey,
  FEED_PATH,
  FeedAck,
  FeedBookMessage,
  FeedPrivateMessage,
  mulberry32,
  signRequest,
} from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { ApiKeysService } from '../auth/api-keys.service';
import { EngineLink } from '../engine/engine-link';
import { InProcessEngine } from '../engine/engine.service';
import { startTestApp, testConfig } from '../testing/test-app';

const M = 'FEED.1K-CREDIT'; // the market's id (requests also take its symbol FEED.1K/CREDIT)
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await wait(25);
  }
}

/** A raw socket.io client (no helper), signed with `key` when given, for the protocol's edges. */
function rawSocket(url: string, key?: { keyId: string; secret: string }, auth?: Record<string, string>): Socket {
  const a =
    auth ??
    (key
      ? (() => {
          const ts = String(Date.now());
          return { key: key.keyId, timestamp: ts, signature: signRequest(deriveSigningKey(key.secret), ts, 'GET', FEED_PATH, '') };
        })()
      : {});
  return io(url, { path: FEED_PATH, transports: ['websocket'], auth: a, reconnection: false, forceNew: true });
}

function connected(s: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('connect_error', reject);
  });
}

const ack = (s: Socket, ev: string, req: unknown) => s.timeout(5000).emitWithAck(ev, req) as Promise<FeedAck>;

/**
 * The live feed end to end on the real app (in-process engine, real Postgres) with real socket.io clients: the
 * book channel's snapshot, deltas, seq and checksum against the REST book; gaps and reconnects under load; the
 * replay buffer and resync_required; private channels and their authentication; the limits.
 */
describe('the live feed (real app, real Postgres, real socket.io clients)', () => {
  jest.setTimeout(300_000);
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  let alice: AteClient;
  let bob: AteClient;
  let aliceKey: { keyId: string; secret: string };
  let bobKey: { keyId: string; secret: string };
  let aliceId: string;
  let bobId: string;
  const subscribers: FeedSubscriber[] = [];
  const sockets: Socket[] = [];
  const feed = (o: Partial<ConstructorParameters<typeof FeedSubscriber>[0]> = {}) => {
    const f = new FeedSubscriber({ baseUrl: url, ...o });
    subscribers.push(f);
    return f;
  };
  const raw = (...a: Parameters<typeof rawSocket>) => {
    const s = rawSocket(...a);
    sockets.push(s);
    return s;
  };

  beforeAll(async () => {
    db = await createTestDatabase('feed');
    ({ app, url, admin } = await startTestApp(
      testConfig(db, {
        FEED_REPLAY_DELTAS: '40',
        FEED_MAX_SUBSCRIPTIONS: '4',
        FEED_MAX_CONNECTIONS_PER_KEY: '3',
        FEED_CONFLATE_MS: '5',
        FEED_CLIENT_BUFFER_BYTES: '262144',
        // the load of the gap test places orders as fast as the machine allows: not a test of the order rate limit
        ORDER_RATE_PER_AGENT: '100000',
        RATE_LIMIT_PER_KEY: '1000000',
        RATE_LIMIT_PER_ADDRESS: '1000000',
        // the slow-consumer test floods subscribes (each answers a snapshot): not a test of the subscribe rate limit
        FEED_SUBSCRIBE_BURST: '100000',
      }),
    ));
    await admin.defineAsset({ code: 'FEED.1K', scale: 0, model: 'feed', provider: 'acme-ai', tokenClass: 'output-1k' });
    await admin.createMarket({ base: 'FEED.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, priceBandBps: 5000 });
    const a = await admin.createAgent({ name: 'alice' });
    const b = await admin.createAgent({ name: 'bob' });
    aliceId = a.id;
    bobId = b.id;
    aliceKey = a.apiKey!;
    bobKey = b.apiKey!;
    alice = new AteClient({ baseUrl: url, ...aliceKey });
    bob = new AteClient({ baseUrl: url, ...bobKey });
    await admin.deposit({ id: 'alice-c', agentId: aliceId, asset: 'CREDIT', amount: '10000000' });
    await admin.deposit({ id: 'alice-t', agentId: aliceId, asset: 'FEED.1K', amount: '10000000' });
    await admin.deposit({ id: 'bob-c', agentId: bobId, asset: 'CREDIT', amount: '10000000' });
    await admin.deposit({ id: 'bob-t', agentId: bobId, asset: 'FEED.1K', amount: '10000000' });
  });
  afterEach(() => {
    for (const f of subscribers.splice(0)) f.close();
    for (const s of sockets.splice(0)) s.disconnect();
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  /** Random resting and crossing limit orders of alice and bob near 1.000, `n` of them, `parallel` at a time. */
  async function load(rnd: () => number, n: number, parallel = 8): Promise<void> {
    let i = 0;
    const one = async () => {
      for (; i < n; ) {
        i++;
        const c = rnd() < 0.5 ? alice : bob;
        const price = (0.95 + Math.floor(rnd() * 100) / 1000).toFixed(3);
        await c.placeOrder({ market: M, side: rnd() < 0.5 ? 'buy' : 'sell', type: 'limit', price, quantity: String(1 + Math.floor(rnd() * 20)) });
      }
    };
    await Promise.all(Array.from({ length: parallel }, one));
  }

  /** A raw connected socket recording the book messages and resync_required events it gets. */
  async function bookSocket(): Promise<{ s: Socket; msgs: FeedBookMessage[]; resyncs: unknown[] }> {
    const s = raw(url);
    const msgs: FeedBookMessage[] = [];
    const resyncs: unknown[] = [];
    s.on('book', (m: FeedBookMessage) => msgs.push(m));
    s.on('resync_required', (r: unknown) => resyncs.push(r));
    await connected(s);
    return { s, msgs, resyncs };
  }

  /** The client's book equals the REST book at the same seq, and both hash to the same checksum. */
  async function expectSameAsRest(book: LocalBook): Promise<void> {
    const rest = await until('the client at the REST seq', async () => {
      const r = await admin.book(M, 1000);
      return r.seq === book.seq ? r : undefined;
    });
    expect(book.levels()).toEqual({ bids: rest.bids, asks: rest.asks });
    expect(book.checksum()).toBe(bookChecksum(rest.bids.slice(0, 10), rest.asks.slice(0, 10)));
    expect(book.checksum()).toBe(rest.checksum);
  }

  it('the checksum string is Kraken v2 style: top 10 asks then top 10 bids, price and quantity without point and leading zeros', () => {
    const cases: [bids: [string, string][], asks: [string, string][], s: string][] = [
      [[], [], ''],
      [[['0.999', '5']], [['1.001', '12']], '100112' + '9995'],
      [[['0.050', '0.100']], [], '50100'],
      [
        Array.from({ length: 12 }, (_, k) => [`0.9${String(90 - k).padStart(2, '0')}`, '1'] as [string, string]),
        [],
        Array.from({ length: 10 }, (_, k) => `9${String(90 - k).padStart(2, '0')}1`).join(''),
      ],
    ];
    for (const [bids, asks, s] of cases) expect(bookChecksumString(bids, asks)).toBe(s);
    expect(bookChecksum([], [])).toBe(0);
    expect(bookChecksum([['0.999', '5']], [['1.001', '12']])).toBe(bookChecksum([['0.999', '5']], [['1.001', '12']]));
  });

  it('the feed reads committed batches only while someone subscribes: otherwise the engine builds no events for it', async () => {
    const host = (app.get(EngineLink) as InProcessEngine).host;
    await until('nobody subscribed', () => !host.outlet.active || undefined);
    const s = raw(url);
    await connected(s);
    expect(host.outlet.active).toBe(false); // connected, not subscribed
    expect(await ack(s, 'subscribe', { channel: 'trades', market: M })).toMatchObject({ ok: true });
    expect(host.outlet.active).toBe(true);
    expect(await ack(s, 'unsubscribe', { channel: 'trades', market: M })).toMatchObject({ ok: true });
    expect(host.outlet.active).toBe(false);
    // the market's symbol names it too; answers name it by its id
    expect(await ack(s, 'subscribe', { channel: 'trades', market: 'FEED.1K/CREDIT' })).toMatchObject({ ok: true, market: M });
    expect(await ack(s, 'unsubscribe', { channel: 'trades', market: 'FEED.1K/CREDIT' })).toMatchObject({ ok: true, market: M });
    expect(host.outlet.active).toBe(false);
    expect(await ack(s, 'subscribe', { channel: 'book', market: 'NOPE/CREDIT' })).toMatchObject({ ok: false });
    expect(host.outlet.active).toBe(false);
    await ack(s, 'subscribe', { channel: 'book', market: M });
    // nobody follows an agent: the engine builds no orders' or balances' events for the feed; a private
    // subscription makes it build them from the next batch on, and they stay while its stream is retained
    expect(host.outlet.wantsAgents).toBe(false);
    const p = raw(url, aliceKey);
    await connected(p);
    expect(host.outlet.wantsAgents).toBe(false);
    expect(await ack(p, 'subscribe', { channel: 'private' })).toMatchObject({ ok: true });
    expect(host.outlet.wantsAgents).toBe(true);
    expect(await ack(p, 'unsubscribe', { channel: 'private' })).toMatchObject({ ok: true });
    expect(host.outlet.wantsAgents).toBe(true); // FEED_PRIVATE_RETAIN_MS: a client that comes back gets what it missed
    p.disconnect();
    s.disconnect();
    await until('the last subscriber gone', () => !host.outlet.active || undefined);
  });

  it('a book subscription starts with a snapshot at the REST seq and checksum, then deltas chain prev -> seq', async () => {
    await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '0.900', quantity: '7' });
    await bob.placeOrder({ market: M, side: 'sell', type: 'limit', price: '1.100', quantity: '9' });
    const s = raw(url);
    const msgs: FeedBookMessage[] = [];
    s.on('book', (m: FeedBookMessage) => msgs.push(m));
    await connected(s);
    const rest = await admin.book(M, 1000);
    expect(await ack(s, 'subscribe', { channel: 'book', market: M })).toMatchObject({ ok: true, channel: 'book', market: M, seq: rest.seq });
    await until('the snapshot', () => msgs[0]);
    expect(msgs[0]).toMatchObject({ type: 'snapshot', seq: rest.seq, prev: null, bids: rest.bids, asks: rest.asks });
    expect(msgs[0]!.checksum).toBe(bookChecksum(rest.bids.slice(0, 10), rest.asks.slice(0, 10)));
    await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '0.901', quantity: '3' });
    await bob.placeOrder({ market: M, side: 'sell', type: 'limit', price: '0.901', quantity: '1' }); // trades 1 of 3
    await until('two deltas', () => msgs.length >= 3 || undefined);
    const after = await admin.book(M, 1000);
    await until('the last delta', () => msgs[msgs.length - 1]!.seq === after.seq || undefined);
    for (let k = 1; k < msgs.length; k++) expect(msgs[k]!.prev).toBe(msgs[k - 1]!.seq);
    const local = new LocalBook(M);
    for (const m of msgs) expect(local.apply(m)).toBe('ok');
    expect(local.levels()).toEqual({ bids: after.bids, asks: after.asks });
    expect(msgs.flatMap((m) => m.bids)).toContainEqual(['0.901', '2']);
  });

  it('with gaps forced (dropped deltas) and reconnects under load, the helper resyncs and ends equal to the REST book, checksum included', async () => {
    let n = 0;
    let dropping = true;
    const f = feed({ dropBookMessage: (m) => dropping && m.type === 'delta' && ++n % 7 === 0 });
    await f.connected();
    const book = await f.book(M);
    const rnd = mulberry32(1202);
    const running = load(rnd, 600);
    for (let k = 0; k < 4; k++) {
      await wait(250);
      f.socket.io.engine.close(); // the transport drops; socket.io reconnects and the helper subscribes from its seq
      await until('the reconnection', () => f.stats.reconnects > k || undefined);
    }
    await running;
    // a lost message shows only when the next one comes (on a real connection nothing is lost but by reconnecting)
    dropping = false;
    await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '0.950', quantity: '1' });
    await expectSameAsRest(book);
    expect(f.stats.gaps).toBeGreaterThan(0);
    expect(f.stats.reconnects).toBeGreaterThanOrEqual(4);
    expect(f.stats.checksumFailures).toBe(0);
  });

  it('a depth-limited book (depth 10) under load, with gaps forced and reconnects, ends equal to the REST best 10, in fewer messages', async () => {
    let n = 0;
    let dropping = true;
    const f = feed({ dropBookMessage: (m) => dropping && m.type === 'delta' && ++n % 5 === 0 });
    const whole = feed();
    await Promise.all([f.connected(), whole.connected()]);
    const top = await f.book(M, { depth: 10 });
    const all = await whole.book(M);
    expect(top.depth).toBe(10);
    const seen: FeedBookMessage[] = [];
    f.on('book', ({ message }) => void seen.push(message));
    const running = load(mulberry32(1210), 400);
    for (let k = 0; k < 3; k++) {
      await wait(250);
      f.socket.io.engine.close(); // reconnects, and the helper subscribes again from its depth-10 book's seq
      await until('the reconnection', () => f.stats.reconnects > k || undefined);
    }
    await running;
    dropping = false;
    // a lost message shows only when the next one comes: one more at the best bid (no cross) sends a depth-10 message
    const bestBid = (await admin.book(M, 1)).bids[0]?.[0] ?? '0.950';
    await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: bestBid, quantity: '1' });
    // the depth-10 book's seq is the last change of its levels: it is right once the whole book is at the REST seq
    // and the top-of-book order above reached it
    const rest = await until('both books at the REST seq', async () => {
      const r = await admin.book(M, 1000);
      const t = top.levels();
      return r.seq === all.seq && JSON.stringify(t) === JSON.stringify({ bids: r.bids.slice(0, 10), asks: r.asks.slice(0, 10) }) ? r : undefined;
    });
    expect(top.levels()).toEqual({ bids: rest.bids.slice(0, 10), asks: rest.asks.slice(0, 10) });
    expect(top.checksum()).toBe(rest.checksum);
    expect(all.levels()).toEqual({ bids: rest.bids, asks: rest.asks });
    expect(f.stats.gaps).toBeGreaterThan(0);
    expect(f.stats.checksumFailures).toBe(0);
    expect(seen.every((m) => m.depth === 10 && m.bids.length <= 10 && m.asks.length <= 10)).toBe(true);
  });

  it('a depth subscription: its snapshot holds the best levels, its seq chains its own deltas; a depth not offered is refused by name', async () => {
    for (let k = 0; k < 30; k++) {
      await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: (0.8 - k / 1000).toFixed(3), quantity: '1' });
      await bob.placeOrder({ market: M, side: 'sell', type: 'limit', price: (1.2 + k / 1000).toFixed(3), quantity: '1' });
    }
    const { s, msgs, resyncs } = await bookSocket();
    const a = await ack(s, 'subscribe', { channel: 'book', market: M, depth: 25 });
    expect(a).toMatchObject({ ok: true, channel: 'book', market: M, depth: 25, seq: expect.any(Number) });
    const snap = await until('the snapshot', () => msgs[0]);
    const rest = await admin.book(M, 1000);
    expect(snap).toMatchObject({ type: 'snapshot', depth: 25, prev: null, bids: rest.bids.slice(0, 25), asks: rest.asks.slice(0, 25) });
    expect(snap.seq).toBeLessThanOrEqual(rest.seq); // the last change of its levels
    expect(snap.checksum).toBe(rest.checksum);
    // changes at the top (more at the best bid, then at the best ask): deltas, continuing the snapshot's seq
    await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: rest.bids[0]![0], quantity: '2' });
    await until('the first delta', () => msgs.length >= 2 || undefined); // (else conflation may make one of the two)
    await bob.placeOrder({ market: M, side: 'sell', type: 'limit', price: rest.asks[0]![0], quantity: '4' });
    await until('the second delta', () => msgs.length >= 3 || undefined);
    expect(msgs[1]).toMatchObject({ type: 'delta', depth: 25, prev: snap.seq });
    expect(msgs[2]!.prev).toBe(msgs[1]!.seq);
    // a change deeper than the best 25 sends nothing: with a change at the top after it, one delta (conflated with
    // it or not), without the deep level
    await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '0.700', quantity: '3' });
    await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: rest.bids[0]![0], quantity: '1' });
    await until('the delta of the top change', () => msgs.length >= 4 || undefined);
    await wait(300);
    expect(msgs).toHaveLength(4);
    expect(msgs[3]!.bids).toEqual([[rest.bids[0]![0], String(Number(rest.bids[0]![1]) + 3)]]);
    // a replay from the snapshot's seq is its own deltas
    const live = msgs.slice(1);
    msgs.length = 0;
    expect(await ack(s, 'subscribe', { channel: 'book', market: M, depth: 25, since: snap.seq })).toMatchObject({ ok: true, depth: 25 });
    await until('the replay', () => msgs.length >= live.length || undefined);
    expect(msgs).toEqual(live);
    expect(resyncs).toEqual([]);
    // from a seq it never had: resync_required naming the depth, then a snapshot
    msgs.length = 0;
    await ack(s, 'subscribe', { channel: 'book', market: M, depth: 25, since: snap.seq + 1_000_000 });
    await until('the resync', () => resyncs[0]);
    expect(resyncs[0]).toEqual({ market: M, depth: 25, since: snap.seq + 1_000_000, reason: 'replay_unavailable' });
    expect(await until('the snapshot', () => msgs[0])).toMatchObject({ type: 'snapshot', depth: 25 });
    // depths not offered, and not numbers
    for (const depth of [5, 11, 1000, '10', -10, 10.5]) {
      const r = await ack(s, 'subscribe', { channel: 'book', market: M, depth });
      expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
      expect(JSON.stringify(r)).toMatch(/depth/);
    }
    expect(await ack(s, 'unsubscribe', { channel: 'book', market: M, depth: 25 })).toMatchObject({ ok: true });
  });

  it('a client that says the seq it last saw gets the missed deltas from the buffer, or resync_required and a fresh snapshot', async () => {
    const { s, msgs, resyncs } = await bookSocket();
    await ack(s, 'subscribe', { channel: 'book', market: M });
    await until('the snapshot', () => msgs[0]);
    await load(mulberry32(7), 30, 1);
    const restNow = await admin.book(M, 1000);
    await until('the deltas', () => msgs[msgs.length - 1]!.seq === restNow.seq || undefined);
    const live = msgs.slice();
    expect(live.length).toBeGreaterThan(5);

    // a short gap (within the 40 deltas kept): exactly the deltas after it, no snapshot
    const from = live[live.length - 4]!;
    msgs.length = 0;
    await ack(s, 'subscribe', { channel: 'book', market: M, since: from.seq });
    await until('the replay', () => msgs.length >= 3 || undefined);
    expect(msgs).toEqual(live.slice(-3));
    expect(resyncs).toEqual([]);

    // a seq older than the buffer: resync_required, then a snapshot at the current seq
    await load(mulberry32(8), 100, 1);
    const later = await admin.book(M, 1000);
    msgs.length = 0;
    await until('the feed at the REST seq', async () => {
      const a = await ack(s, 'subscribe', { channel: 'book', market: M, since: live[0]!.seq });
      return a.ok && a.seq === later.seq ? a : undefined;
    });
    expect(resyncs[0]).toEqual({ market: M, since: live[0]!.seq, reason: 'replay_unavailable' });
    const snap = msgs.find((m) => m.type === 'snapshot' && m.seq === later.seq);
    expect(snap).toMatchObject({ bids: later.bids, asks: later.asks });
    // a seq the feed never reached is no replay either
    resyncs.length = 0;
    await ack(s, 'subscribe', { channel: 'book', market: M, since: later.seq + 1_000_000 });
    await until('resync', () => resyncs[0]);
  });

  it('socket.io long-polling (no WebSocket) works too: the feed shares the api HTTP server with Fastify', async () => {
    const s = io(url, { path: FEED_PATH, transports: ['polling'], reconnection: false, forceNew: true });
    sockets.push(s);
    const msgs: FeedBookMessage[] = [];
    s.on('book', (m: FeedBookMessage) => msgs.push(m));
    await connected(s);
    expect(await ack(s, 'subscribe', { channel: 'book', market: M })).toMatchObject({ ok: true });
    const snap = await until('the snapshot', () => msgs[0]);
    expect(snap.seq).toBe((await admin.book(M, 1000)).seq);
    expect((await fetch(`${url}/v1/time`)).status).toBe(200); // REST beside it, untouched
  });

  it('the Binance way: a REST snapshot plus the deltas after it builds the same book', async () => {
    const s = raw(url);
    const msgs: FeedBookMessage[] = [];
    s.on('book', (m: FeedBookMessage) => msgs.push(m));
    await connected(s);
    await ack(s, 'subscribe', { channel: 'book', market: M });
    const running = load(mulberry32(99), 150, 4);
    await wait(150);
    const rest = await admin.book(M, 1000);
    await running;
    const end = await admin.book(M, 1000);
    await until('the last delta', () => msgs[msgs.length - 1]!.seq === end.seq || undefined);
    const local = new LocalBook(M);
    local.fromRest(rest);
    for (const m of msgs.filter((x) => x.type === 'delta' && x.seq > rest.seq)) expect(local.applyOverlapping(m)).toBe('ok');
    expect(local.levels()).toEqual({ bids: end.bids, asks: end.asks });
  });

  it('trades and ticker channels carry what committed', async () => {
    const f = feed();
    await f.connected();
    const trades: unknown[] = [];
    const tickers: { last: string | null }[] = [];
    f.on('trade', (t) => trades.push(t)).on('ticker', (t) => tickers.push(t));
    expect(await f.subscribe({ channel: 'trades', market: M })).toMatchObject({ ok: true });
    expect(await f.subscribe({ channel: 'ticker', market: M })).toMatchObject({ ok: true });
    await until('the first ticker', () => tickers[0]);
    await bob.placeOrder({ market: M, side: 'sell', type: 'limit', price: '0.800', quantity: '2' });
    await alice.placeOrder({ market: M, side: 'buy', type: 'market', quantity: '2' });
    const t = await until('a trade', () => trades[trades.length - 1]);
    const rest = (await admin.trades(M, 1)).trades[0]!;
    expect(t).toMatchObject({ market: M, id: rest.id, price: rest.price, amount: rest.amount, takerSide: 'buy' });
    await until('the ticker at the last trade', () => tickers.find((x) => x.last === rest.price));
  });

  describe('private channels', () => {
    it("an agent key follows its own orders, fills and balances in commit order, each with the agent's sequence", async () => {
      const f = feed(aliceKey);
      await f.connected();
      const got: FeedPrivateMessage[] = [];
      f.on('private', (m) => got.push(m));
      const a = await f.subscribe({ channel: 'private' });
      expect(a).toMatchObject({ ok: true, channel: 'private', agent: aliceId });
      await alice.cancelAll(); // a clean book: the orders below meet each other
      await bob.cancelAll();
      await until('the cancels', () => got.some((m) => m.type === 'order' && m.event === 'cancelled') || undefined);
      await wait(200);
      const all = got.slice();
      expect(all.map((m) => m.seq)).toEqual(all.map((_, k) => (a.ok ? (a.seq as number) : 0) + k + 1));
      const start = all[all.length - 1]!.seq;
      got.length = 0;
      const sell = await bob.placeOrder({ market: M, side: 'sell', type: 'limit', price: '0.700', quantity: '3' });
      const buy = await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '0.700', quantity: '3' });
      await until('the fill and balances', () => got.filter((m) => m.type === 'balance').length >= 2 || undefined);
      expect(got.every((m) => m.agent === aliceId)).toBe(true); // nothing of bob's
      expect(got.map((m) => m.seq)).toEqual(got.map((_, k) => start + k + 1));
      const cmds = got.map((m) => m.commandSeq);
      expect([...cmds].sort((x, y) => x - y)).toEqual(cmds);
      expect(got).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'order', event: 'accepted', orderId: buy.id, side: 'buy', price: '0.700', quantity: '3' }),
          expect.objectContaining({ type: 'fill', orderId: buy.id, side: 'buy', takerOrMaker: 'taker', price: '0.700', amount: '3' }),
          expect.objectContaining({ type: 'balance', asset: 'CREDIT' }),
        ]),
      );
      const bal = (await alice.balances()).balances;
      const lastCredit = got.filter((m) => m.type === 'balance' && m.asset === 'CREDIT').pop();
      expect(lastCredit).toMatchObject({ total: bal['CREDIT']!.total, used: bal['CREDIT']!.used, free: bal['CREDIT']!.free });
      expect(sell.id).not.toBe(buy.id);
    });

    it("never joins another agent's channel: forged agent ids and room names are refused, unsigned and bad handshakes too", async () => {
      const s = raw(url, aliceKey);
      const got: unknown[] = [];
      s.on('private', (m: unknown) => got.push(m));
      await connected(s);
      const refused: [unknown, string][] = [
        [{ channel: 'private', agent: bobId }, 'AUTH_FORBIDDEN'],
        [{ channel: `agent:${bobId}` }, 'VALIDATION_FAILED'],
        [{ channel: 'private', agent: aliceId, room: `agent:${bobId}` }, 'VALIDATION_FAILED'],
        [{ channel: 'book', market: `${M}`, agent: bobId }, 'VALIDATION_FAILED'],
        [{ channel: 'book', market: 'NOPE/CREDIT' }, 'NOT_FOUND'],
        [`agent:${bobId}`, 'VALIDATION_FAILED'],
        [null, 'VALIDATION_FAILED'],
      ];
      for (const [req, code] of refused)
        expect([req, await ack(s, 'subscribe', req)]).toEqual([req, { ok: false, error: expect.objectContaining({ code }) }]);
      s.emit('join', `agent:${bobId}`); // no such event: ignored
      await bob.placeOrder({ market: M, side: 'buy', type: 'limit', price: '0.500', quantity: '1' });
      await wait(300);
      expect(got).toEqual([]);

      const pub = raw(url);
      await connected(pub);
      expect(await ack(pub, 'subscribe', { channel: 'private' })).toMatchObject({ ok: false, error: { code: 'AUTH_MISSING' } });

      const handshakes: [Record<string, string>, string][] = [
        [{ key: aliceKey.keyId, timestamp: String(Date.now()), signature: 'f'.repeat(64) }, 'AUTH_INVALID_SIGNATURE'],
        [{ key: 'ak_0000000000000000', timestamp: String(Date.now()), signature: 'f'.repeat(64) }, 'AUTH_INVALID_SIGNATURE'],
        [{ key: aliceKey.keyId, timestamp: String(Date.now() - 60_000), signature: 'f'.repeat(64) }, 'AUTH_TIMESTAMP_OUT_OF_WINDOW'],
        [{ key: aliceKey.keyId }, 'AUTH_MISSING'],
      ];
      for (const [auth, code] of handshakes) {
        const e = await connected(raw(url, undefined, auth)).then(
          () => null,
          (err: Error & { data?: { code: string } }) => err.data?.code,
        );
        expect([auth, e]).toEqual([auth, code]);
      }
      // the same signed handshake twice: the second is a replay
      const ts = String(Date.now());
      const auth = { key: aliceKey.keyId, timestamp: ts, signature: signRequest(deriveSigningKey(aliceKey.secret), ts, 'GET', FEED_PATH, '') };
      await connected(raw(url, undefined, auth));
      await expect(connected(raw(url, undefined, auth))).rejects.toMatchObject({ data: { code: 'AUTH_REPLAYED' } });
    });

    it('a principal key follows its own agents and no other', async () => {
      const p = await admin.createPrincipal({ name: 'acme' });
      const mine = await admin.createAgent({ name: 'acme-bot', principalId: p.id, withKey: true });
      await admin.deposit({ id: 'acme-c', agentId: mine.id, asset: 'CREDIT', amount: '100' });
      const key = await app.get(ApiKeysService).issue('principal', { principalId: p.id });
      const s = raw(url, key);
      const got: FeedPrivateMessage[] = [];
      s.on('private', (m: FeedPrivateMessage) => got.push(m));
      await connected(s);
      expect(await ack(s, 'subscribe', { channel: 'private', agent: aliceId })).toMatchObject({ ok: false, error: { code: 'AUTH_FORBIDDEN' } });
      expect(await ack(s, 'subscribe', { channel: 'private', agent: 'agt_nonexistent' })).toMatchObject({
        ok: false,
        error: { code: 'AUTH_FORBIDDEN' },
      });
      expect(await ack(s, 'subscribe', { channel: 'private', agent: mine.id })).toMatchObject({ ok: true, agent: mine.id });
      const bot = new AteClient({ baseUrl: url, ...mine.apiKey! });
      const ref = (await admin.markets()).markets.find((m) => m.id === M)!.referencePrice;
      await bot.placeOrder({ market: M, side: 'buy', type: 'limit', price: ref, quantity: '5' });
      await until('its order', () => got.find((m) => m.type === 'order'));
      expect(got.every((m) => m.agent === mine.id)).toBe(true);
    });
  });

  describe('limits', () => {
    it('a subscription beyond the per-connection limit is refused with the limit named', async () => {
      const s = raw(url);
      await connected(s);
      for (const channel of ['book', 'trades', 'ticker'] as const)
        expect(await ack(s, 'subscribe', { channel, market: M })).toMatchObject({ ok: true });
      expect(await ack(s, 'subscribe', { channel: 'book', market: M })).toMatchObject({ ok: true }); // held already: a resync
      const m2 = 'FEED2.1K/CREDIT';
      await admin.defineAsset({ code: 'FEED2.1K', scale: 0, model: 'feed', provider: 'acme-ai', tokenClass: 'output-1k' });
      await admin.createMarket({ base: 'FEED2.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000 });
      expect(await ack(s, 'subscribe', { channel: 'book', market: m2 })).toMatchObject({ ok: true });
      expect(await ack(s, 'subscribe', { channel: 'trades', market: m2 })).toEqual({
        ok: false,
        error: expect.objectContaining({ code: 'FEED_LIMIT_EXCEEDED', details: { limit: 'subscriptionsPerConnection', max: 4 } }),
      });
      // without an ack the refusal comes as a feed_error event
      const err = new Promise((r) => s.once('feed_error', r));
      s.emit('subscribe', { channel: 'ticker', market: m2 });
      expect(await err).toMatchObject({ code: 'FEED_LIMIT_EXCEEDED', details: { limit: 'subscriptionsPerConnection' } });
    });

    it('a client that stops reading is cut off with FEED_SLOW_CONSUMER; the others keep getting theirs; it reconnects and resyncs', async () => {
      const healthy = raw(url);
      const got: FeedBookMessage[] = [];
      healthy.on('book', (m: FeedBookMessage) => got.push(m));
      await connected(healthy);
      await ack(healthy, 'subscribe', { channel: 'book', market: M });
      const slow = feed();
      const errors: unknown[] = [];
      slow.on('error', (e) => errors.push(e));
      await slow.connected();
      const book = await slow.book(M);
      // stop reading the socket: what the server sends piles up (the kernel's buffers, then the server's)
      const tcp = (slow.socket.io.engine.transport as unknown as { ws: { _socket: { pause(): void; resume(): void } } }).ws._socket;
      tcp.pause();
      const snapshot = JSON.stringify(await admin.book(M, 1000)).length;
      for (let k = 0; k < Math.ceil((6 * 1024 * 1024) / snapshot); k++) slow.socket.emit('subscribe', { channel: 'book', market: M }); // each answers a snapshot
      await wait(3_000); // the server works through them (a loaded machine is slow at it)
      got.length = 0;
      await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '0.600', quantity: '1' });
      await until('the healthy client gets its delta', () => got.find((m) => m.type === 'delta'), 20_000);
      await wait(1_000); // the check runs every 100 ms
      tcp.resume();
      await until('the reason', () => errors[0]);
      expect(errors[0]).toMatchObject({ code: 'FEED_SLOW_CONSUMER', details: { limit: 'clientBufferBytes', max: 262144 } });
      await until('the reconnection', () => slow.stats.reconnects > 0 || undefined);
      await alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '0.601', quantity: '1' });
      await expectSameAsRest(book);
    });

    it('a connection beyond the per-key limit is refused at the handshake with the limit named', async () => {
      for (let k = 0; k < 3; k++) await connected(raw(url, bobKey));
      await expect(connected(raw(url, bobKey))).rejects.toMatchObject({
        data: { code: 'FEED_LIMIT_EXCEEDED', details: { limit: 'connectionsPerKey', max: 3 } },
      });
    });
  });
});
