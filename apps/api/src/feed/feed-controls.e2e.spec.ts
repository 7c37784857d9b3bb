import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { io, Socket } from 'socket.io-client';
import { AteClient, FeedSubscriber } from '@ate/client';
import {
  deriveSigningKey,
  FEED_PATH,
  FeedAck,
  FeedAuction,
  FeedError,
  FeedPrivateMessage,
  FeedPrivateResyncRequired,
  signRequest,
} from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { ApiKeysService } from '../auth/api-keys.service';
import { EngineLink } from '../engine/engine-link';
import { InProcessEngine } from '../engine/engine.service';
import { dropRedisKeys, TEST_REDIS_URL, testRedisPrefix } from '../testing/redis';
import { startTestApp, testConfig } from '../testing/test-app';

const M = 'CTRL.1K-CREDIT';
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Key = { keyId: string; secret: string };

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await wait(25);
  }
}

function rawSocket(url: string, key?: Key): Socket {
  const ts = String(Date.now());
  const auth = key ? { key: key.keyId, timestamp: ts, signature: signRequest(deriveSigningKey(key.secret), ts, 'GET', FEED_PATH, '') } : {};
  return io(url, { path: FEED_PATH, transports: ['websocket'], auth, reconnection: false, forceNew: true });
}

function connected(s: Socket): Promise<Socket> {
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

const ack = (s: Socket, ev: string, req: unknown) => s.timeout(5000).emitWithAck(ev, req) as Promise<FeedAck>;

/** A socket's private messages, resyncs, errors and how it was disconnected. */
function record(s: Socket) {
  const r = {
    privates: [] as FeedPrivateMessage[],
    resyncs: [] as FeedPrivateResyncRequired[],
    errors: [] as FeedError[],
    auctions: [] as FeedAuction[],
    disconnect: null as string | null,
  };
  s.on('private', (m: FeedPrivateMessage) => r.privates.push(m));
  s.on('private_resync_required', (m: FeedPrivateResyncRequired) => r.resyncs.push(m));
  s.on('feed_error', (e: FeedError) => r.errors.push(e));
  s.on('auction', (a: FeedAuction) => r.auctions.push(a));
  s.on('disconnect', (why: string) => (r.disconnect = why));
  return r;
}

/**
 * The feed's controls end to end on the real app (in-process engine, real Postgres, real Redis: key epoch, replay
 * cache, socket.io adapter, BullMQ) with real socket.io clients: the subscribe rate limit, revoked keys closing
 * their connections, the private channel's replay (or resync), the feed's metrics, auction events.
 */
describe('feed controls: rate limit, revocation, private replay, metrics, auctions (real app, Postgres, Redis)', () => {
  jest.setTimeout(180_000);
  const REDIS_PREFIX = testRedisPrefix('feed-ctl');
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let admin: AteClient;
  const agents: Record<string, { id: string; key: Key; c: AteClient }> = {};
  const sockets: Socket[] = [];
  const subscribers: FeedSubscriber[] = [];
  const host = () => (app.get(EngineLink) as InProcessEngine).host;
  const raw = (key?: Key) => {
    const s = rawSocket(url, key);
    sockets.push(s);
    return s;
  };

  beforeAll(async () => {
    db = await createTestDatabase('feed_ctl');
    ({ app, url, admin } = await startTestApp(
      testConfig(db, {
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX,
        FEED_SUBSCRIBE_RATE: '4',
        FEED_SUBSCRIBE_BURST: '8',
        FEED_PRIVATE_REPLAY: '12',
        FEED_PRIVATE_RETAIN_MS: '3000',
        FEED_KEY_CHECK_MS: '200',
        FEED_MAX_CONNECTIONS_PER_KEY: '4',
        ORDER_RATE_PER_AGENT: '100000',
      }),
    ));
    await admin.defineAsset({ code: 'CTRL.1K', scale: 0, model: 'ctl', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'CTRL.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, priceBandBps: 5000 });
    for (const name of ['alice', 'bob', 'carol', 'dave']) {
      const a = await admin.createAgent({ name });
      agents[name] = { id: a.id, key: a.apiKey!, c: new AteClient({ baseUrl: url, ...a.apiKey! }) };
      await admin.deposit({ id: `${name}-c`, agentId: a.id, asset: 'CREDIT', amount: '100000' });
      await admin.deposit({ id: `${name}-t`, agentId: a.id, asset: 'CTRL.1K', amount: '100000' });
    }
  });
  afterEach(() => {
    for (const f of subscribers.splice(0)) f.close();
    for (const s of sockets.splice(0)) s.disconnect();
  });
  afterAll(async () => {
    await app?.close();
    await dropRedisKeys(REDIS_PREFIX);
    await db?.drop();
  });

  const order = (who: string, price: string, side: 'buy' | 'sell' = 'buy') =>
    agents[who]!.c.placeOrder({ market: M, side, type: 'limit', price, quantity: '1' });

  it('subscribes are rate limited per connection (a token bucket): the refusal names the limit and when to retry', async () => {
    const s = await connected(raw());
    // 8 at once (the burst), subscribes and resubscribes alike; the 9th is refused with its retry time
    for (let k = 0; k < 8; k++) expect(await ack(s, 'subscribe', { channel: 'trades', market: M })).toMatchObject({ ok: true });
    const refused = await ack(s, 'subscribe', { channel: 'ticker', market: M });
    expect(refused).toEqual({
      ok: false,
      error: expect.objectContaining({
        code: 'FEED_LIMIT_EXCEEDED',
        details: { limit: 'subscribeRate', max: 8, perSecond: 4, retryAfterMs: expect.any(Number) },
      }),
    });
    const retryAfterMs = Number((refused as Extract<FeedAck, { ok: false }>).error.details?.['retryAfterMs']);
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(250); // one token at 4 a second
    // without an ack callback the refusal is a feed_error event (5 at once: at 4 a second some are refused)
    const errors: FeedError[] = [];
    s.on('feed_error', (e: FeedError) => errors.push(e));
    for (let k = 0; k < 5; k++) s.emit('subscribe', { channel: 'trades', market: M });
    await until('a feed_error', () => errors[0]);
    expect(errors[0]).toMatchObject({ code: 'FEED_LIMIT_EXCEEDED', details: { limit: 'subscribeRate', retryAfterMs: expect.any(Number) } });
    // unsubscribing is not limited; after the wait a subscribe passes again
    expect(await ack(s, 'unsubscribe', { channel: 'trades', market: M })).toMatchObject({ ok: true });
    await wait(retryAfterMs + 300);
    expect(await ack(s, 'subscribe', { channel: 'ticker', market: M })).toMatchObject({ ok: true });
    // each connection has its own bucket
    const other = await connected(raw());
    expect(await ack(other, 'subscribe', { channel: 'trades', market: M })).toMatchObject({ ok: true });
  });

  describe('private replay', () => {
    it('a client that resubscribes with the seq and epoch it last saw gets exactly what it missed (compared with one that stayed)', async () => {
      const { key } = agents['alice']!;
      const stay = await connected(raw(key));
      const stayed = record(stay);
      const first = await ack(stay, 'subscribe', { channel: 'private' });
      expect(first).toMatchObject({ ok: true, channel: 'private', agent: agents['alice']!.id, seq: expect.any(Number), epoch: expect.any(String) });
      const leave = await connected(raw(key));
      const left = record(leave);
      const a = (await ack(leave, 'subscribe', { channel: 'private' })) as Extract<FeedAck, { ok: true }>;
      expect(a.epoch).toBe((first as { epoch: string }).epoch); // one stream per agent on the node
      await order('alice', '0.900');
      await until('the first updates', () => left.privates.length >= 2 || undefined);
      await wait(200);
      const seen = left.privates[left.privates.length - 1]!.seq;
      leave.disconnect();
      // what it misses: an order, its cancel, the balances
      const o = await order('alice', '0.901');
      await agents['alice']!.c.cancelOrder(o.id);
      await until(
        'the missed updates',
        () => stayed.privates.some((m) => m.type === 'order' && m.event === 'cancelled' && m.orderId === o.id) || undefined,
      );
      await wait(200);

      const back = await connected(raw(key));
      const again = record(back);
      const b = await ack(back, 'subscribe', { channel: 'private', since: seen, epoch: a.epoch });
      const missed = stayed.privates.filter((m) => m.seq > seen);
      expect(missed.length).toBeGreaterThanOrEqual(4);
      expect(b).toMatchObject({ ok: true, epoch: a.epoch, seq: missed[missed.length - 1]!.seq });
      expect(again.privates).toEqual(missed); // before the ack: the replay, in order, nothing else
      expect(again.resyncs).toEqual([]);
      // and the stream goes on live, consecutive
      await order('alice', '0.902');
      await until('the next live update', () => again.privates.length > missed.length || undefined);
      expect(again.privates.map((m) => m.seq)).toEqual(again.privates.map((_, k) => seen + 1 + k));
    });

    it('with nobody left following the agent, the node keeps its stream FEED_PRIVATE_RETAIN_MS: a reconnect within it replays, after it resyncs', async () => {
      const { key, id } = agents['bob']!;
      const s1 = await connected(raw(key));
      const r1 = record(s1);
      const a = (await ack(s1, 'subscribe', { channel: 'private' })) as Extract<FeedAck, { ok: true }>;
      await order('bob', '0.800');
      await until('its updates', () => r1.privates.length >= 2 || undefined);
      await wait(200);
      const seen = r1.privates[r1.privates.length - 1]!.seq;
      s1.disconnect();
      const placed = await order('bob', '0.801'); // nobody follows bob now: the retained stream counts it
      const s2 = await connected(raw(key));
      const r2 = record(s2);
      const b = (await ack(s2, 'subscribe', { channel: 'private', since: seen, epoch: a.epoch })) as Extract<FeedAck, { ok: true }>;
      expect(r2.resyncs).toEqual([]);
      expect(r2.privates[0]).toMatchObject({ agent: id, seq: seen + 1, type: 'order', event: 'accepted', orderId: placed.id });
      expect(r2.privates.map((m) => m.seq)).toEqual(r2.privates.map((_, k) => seen + 1 + k));
      expect(b.seq).toBe(seen + r2.privates.length);
      s2.disconnect();

      // past the retention the stream is dropped: the next subscriber is on a new epoch and told to resync
      await wait(3_600);
      expect(host().outlet.wantsAgents).toBe(false); // nobody follows an agent here now: no agents' events are built
      await order('bob', '0.802'); // not counted anywhere: nobody follows bob on this node
      const s3 = await connected(raw(key));
      const r3 = record(s3);
      const c = (await ack(s3, 'subscribe', { channel: 'private', since: b.seq, epoch: b.epoch })) as Extract<FeedAck, { ok: true }>;
      expect(c.epoch).not.toBe(b.epoch);
      expect(r3.resyncs).toEqual([{ agent: id, since: b.seq, clientEpoch: b.epoch, epoch: c.epoch, seq: c.seq, reason: 'other_stream' }]);
      expect(r3.privates).toEqual([]);
    });

    it('resyncs instead of replaying, in precedence order: another stream, beyond the buffer, a seq never reached', async () => {
      const { key, id } = agents['carol']!;
      const s = await connected(raw(key));
      const r = record(s);
      const a = (await ack(s, 'subscribe', { channel: 'private' })) as Extract<FeedAck, { ok: true }>;
      for (let k = 0; k < 8; k++) await order('carol', `0.7${String(k).padStart(2, '0')}`); // 3 updates each: more than the 12 kept
      await until('the updates', () => r.privates.length >= 24 || undefined);
      await wait(200);
      const now = r.privates[r.privates.length - 1]!.seq;
      const cases: [what: string, req: { since: number; epoch?: string }, reason: FeedPrivateResyncRequired['reason'] | null, replayed: number][] = [
        ['no epoch', { since: now - 1 }, 'other_stream', 0],
        ['another epoch, seq within the buffer', { since: now - 1, epoch: 'not-this-stream' }, 'other_stream', 0],
        ['older than the 12 kept', { since: now - 13, epoch: a.epoch }, 'replay_unavailable', 0],
        ['a seq never reached', { since: now + 5, epoch: a.epoch }, 'replay_unavailable', 0],
        ['the oldest one kept can follow', { since: now - 12, epoch: a.epoch }, null, 12],
        ['up to date: nothing to replay', { since: now, epoch: a.epoch }, null, 0],
      ];
      for (const [what, req, reason, replayed] of cases) {
        r.privates.length = 0;
        r.resyncs.length = 0;
        const b = await ack(s, 'subscribe', { channel: 'private', ...req });
        expect([what, b]).toEqual([what, expect.objectContaining({ ok: true, seq: now, epoch: a.epoch })]);
        expect([what, r.resyncs]).toEqual([
          what,
          reason ? [{ agent: id, since: req.since, clientEpoch: req.epoch ?? null, epoch: a.epoch, seq: now, reason }] : [],
        ]);
        expect([what, r.privates.map((m) => m.seq)]).toEqual([what, Array.from({ length: replayed }, (_, k) => now - replayed + 1 + k)]);
        await wait(300); // the subscribe rate limit (4 a second)
      }
    });

    it('the helper replays by itself across a dropped transport: every update once, in order, none missed', async () => {
      const { key } = agents['dave']!;
      const f = new FeedSubscriber({ baseUrl: url, ...key });
      subscribers.push(f);
      const got: FeedPrivateMessage[] = [];
      f.on('private', (m) => got.push(m));
      await f.connected();
      const a = await f.subscribe({ channel: 'private' });
      expect(a).toMatchObject({ ok: true, epoch: expect.any(String) });
      const start = (a as { seq: number }).seq;
      const placed: string[] = [];
      for (let k = 0; k < 3; k++) {
        f.socket.io.engine.close(); // the transport drops; socket.io reconnects after its delay
        placed.push((await order('dave', `0.6${k}0`)).id); // placed while it is away
        await until('the reconnection', () => f.stats.reconnects > k || undefined);
        // its resubscription answered (the replay counted) before the next drop: a drop in between loses that ack
        await until('the replay after the reconnection', () => f.stats.privateReplays > k || undefined);
      }
      placed.push((await order('dave', '0.650')).id);
      await until(
        'every accepted order',
        () => placed.every((id) => got.some((m) => m.type === 'order' && m.event === 'accepted' && m.orderId === id)) || undefined,
      );
      expect(got.map((m) => m.seq)).toEqual(got.map((_, k) => start + 1 + k));
      expect(f.stats.privateReplays).toBe(3); // one after each reconnection (its ack follows what it replays)
      expect(f.stats.privateResyncs).toBe(0);
      const credit = (await agents['dave']!.c.balances()).balances['CREDIT']!;
      await until('the last balance', () => {
        const last = got.filter((m) => m.type === 'balance' && m.asset === 'CREDIT').pop();
        return last && last.type === 'balance' && last.used === credit.used ? last : undefined;
      });
    });
  });

  describe('revoked keys', () => {
    it('a key revoked (admin route) closes its open feed connections with FEED_KEY_REVOKED, within the check interval; others stay', async () => {
      const p = await admin.createPrincipal({ name: 'rev' });
      const victim = await admin.createAgent({ name: 'victim', principalId: p.id, withKey: true });
      const two = await app.get(ApiKeysService).issue('agent', { agentId: victim.id }); // a second key of the same agent
      const a = await connected(raw(victim.apiKey!));
      const ra = record(a);
      const b = await connected(raw(victim.apiKey!));
      const rb = record(b);
      const c = await connected(raw(two));
      const rc = record(c);
      const pub = await connected(raw());
      const rp = record(pub);
      for (const s of [a, b, c]) expect(await ack(s, 'subscribe', { channel: 'private' })).toMatchObject({ ok: true });
      expect(await ack(pub, 'subscribe', { channel: 'trades', market: M })).toMatchObject({ ok: true });
      const t0 = Date.now();
      await admin.revokeKey(victim.apiKey!.keyId);
      await until('both connections of the key closed', () => (ra.disconnect && rb.disconnect) || undefined, 10_000);
      const ms = Date.now() - t0;
      expect(ms).toBeLessThan(3_000); // 200 ms checks; a loaded machine is slow
      for (const r of [ra, rb]) {
        expect(r.errors).toEqual([{ code: 'FEED_KEY_REVOKED', message: expect.any(String), details: { keyId: victim.apiKey!.keyId } }]);
        expect(r.disconnect).toBe('io server disconnect'); // a server disconnect: socket.io does not reconnect by itself
      }
      await wait(500);
      expect([rc.disconnect, rc.errors, rp.disconnect, rp.errors]).toEqual([null, [], null, []]);
      // and it cannot come back
      await expect(connected(raw(victim.apiKey!))).rejects.toMatchObject({ data: { code: 'AUTH_INVALID_SIGNATURE' } });
    });

    it("a principal's revocation of its agent's key and its kill switch close the agent's connections; the principal's stays", async () => {
      const p = await admin.createPrincipal({ name: 'boss' });
      const pkey = await app.get(ApiKeysService).issue('principal', { principalId: p.id });
      const boss = new AteClient({ baseUrl: url, ...pkey });
      const bot = await admin.createAgent({ name: 'bot', principalId: p.id, withKey: true });
      const spare = await app.get(ApiKeysService).issue('agent', { agentId: bot.id });
      const mine = await connected(raw(bot.apiKey!));
      const rm = record(mine);
      const other = await connected(raw(spare));
      const ro = record(other);
      const watcher = await connected(raw(pkey));
      const rw = record(watcher);
      for (const s of [mine, other]) expect(await ack(s, 'subscribe', { channel: 'private' })).toMatchObject({ ok: true });
      expect(await ack(watcher, 'subscribe', { channel: 'private', agent: bot.id })).toMatchObject({ ok: true });

      await boss.delete(`/v1/principal/agents/${bot.id}/keys/${bot.apiKey!.keyId}`);
      await until('the revoked key closed', () => rm.disconnect || undefined, 10_000);
      expect(rm.errors[0]).toMatchObject({ code: 'FEED_KEY_REVOKED' });
      expect(ro.disconnect).toBeNull();

      await boss.post(`/v1/principal/agents/${bot.id}/kill`, {});
      await until("the kill switch's revocation closed the other key", () => ro.disconnect || undefined, 10_000);
      expect(ro.errors[0]).toMatchObject({ code: 'FEED_KEY_REVOKED', details: { keyId: spare.keyId } });
      await wait(500);
      expect([rw.disconnect, rw.errors]).toEqual([null, []]); // the principal's key is not revoked
    });
  });

  it('auction events: the public channel follows each auction, the private channel each bid of the agent', async () => {
    const [seller, alice, bob, carol] = (['dave', 'alice', 'bob', 'carol'] as const).map((n) => agents[n]!);
    const pub = await connected(raw());
    const rp = record(pub);
    expect(await ack(pub, 'subscribe', { channel: 'auctions' })).toEqual({ ok: true, channel: 'auctions' });
    const mine = await connected(raw(alice!.key));
    const ra = record(mine);
    const theirs = await connected(raw(bob!.key));
    const rb = record(theirs);
    for (const s of [mine, theirs]) expect(await ack(s, 'subscribe', { channel: 'private' })).toMatchObject({ ok: true });

    const deadline = Date.now() + 2500;
    const auc = await seller!.c.post<{ id: string }>('/v1/auctions', { asset: 'CTRL.1K', units: '2', reservePrice: '1', deadline });
    await alice!.c.post(`/v1/auctions/${auc.id}/bids`, { steps: [{ units: '1', price: '10' }] });
    await bob!.c.post(`/v1/auctions/${auc.id}/bids`, { steps: [{ units: '1', price: '8' }] });
    await carol!.c.post(`/v1/auctions/${auc.id}/bids`, { steps: [{ units: '2', price: '5' }] });
    await until('the settlement', () => rp.auctions.find((x) => x.auctionId === auc.id && x.event === 'settled'), 30_000);
    const life = rp.auctions.filter((x) => x.auctionId === auc.id);
    const common = { auctionId: auc.id, mechanism: 'vcg_multi_unit', sellerAgentId: seller!.id, asset: 'CTRL.1K', units: '2', reservePrice: '1.000' };
    expect(life).toEqual([
      { ...common, event: 'created', deadline: new Date(deadline).toISOString(), bids: 0, seq: expect.any(Number), ts: expect.any(Number) },
      expect.objectContaining({ ...common, event: 'closed', bids: 3 }),
      // alice and bob win one unit each at carol's 5 (the best rejected unit)
      expect.objectContaining({ ...common, event: 'settled', bids: 3, result: { unitsSold: '2', revenue: '10.000', winners: 2 } }),
    ]);
    expect(life.map((x) => x.seq)).toEqual([...life.map((x) => x.seq)].sort((x, y) => x - y));
    await until("alice's result", () => ra.privates.find((m) => m.type === 'auction_bid' && m.event === 'won'));
    const bids = (r: ReturnType<typeof record>) => r.privates.filter((m) => m.type === 'auction_bid');
    expect(bids(ra)).toEqual([
      expect.objectContaining({ type: 'auction_bid', agent: alice!.id, auctionId: auc.id, event: 'placed', hold: '10.000' }),
      expect.objectContaining({ type: 'auction_bid', agent: alice!.id, auctionId: auc.id, event: 'won', units: '1', payment: '5.000' }),
    ]);
    await until("bob's result", () => rb.privates.find((m) => m.type === 'auction_bid' && m.event === 'won'));
    expect(bids(rb).map((m) => m.type === 'auction_bid' && m.event)).toEqual(['placed', 'won']);
    expect(rb.privates.every((m) => m.agent === bob!.id)).toBe(true);

    // a cancelled auction: its bids are released
    const auc2 = await seller!.c.post<{ id: string }>('/v1/auctions', {
      asset: 'CTRL.1K',
      units: '1',
      reservePrice: '1',
      deadline: Date.now() + 60_000,
    });
    await alice!.c.post(`/v1/auctions/${auc2.id}/bids`, { steps: [{ units: '1', price: '3' }] });
    await admin.post(`/v1/admin/auctions/${auc2.id}/cancel`, {});
    await until('the cancellation', () => rp.auctions.find((x) => x.auctionId === auc2.id && x.event === 'cancelled'));
    expect(rp.auctions.filter((x) => x.auctionId === auc2.id).map((x) => [x.event, x.bids])).toEqual([
      ['created', 0],
      ['cancelled', 1],
    ]);
    await until("alice's release", () => ra.privates.find((m) => m.type === 'auction_bid' && m.event === 'released' && m.auctionId === auc2.id));
    expect(ra.privates.filter((m) => m.type === 'auction_bid' && m.auctionId === auc2.id)).toEqual([
      expect.objectContaining({ event: 'placed', hold: '3.000' }),
      expect.objectContaining({ event: 'released', hold: '3.000' }),
    ]);
    expect(await ack(pub, 'unsubscribe', { channel: 'auctions' })).toEqual({ ok: true, channel: 'auctions' });
  });

  // last in the file: the replays, refusals, revocations and auction messages it counts are those of the tests above
  it('GET /metrics carries the feed: connections, subscriptions, messages, conflation, disconnects, replays, refusals, fan-out latency', async () => {
    const s = await connected(raw());
    expect(await ack(s, 'subscribe', { channel: 'book', market: M })).toMatchObject({ ok: true });
    const priv = await connected(raw(agents['alice']!.key));
    expect(await ack(priv, 'subscribe', { channel: 'private' })).toMatchObject({ ok: true });
    await Promise.all(Array.from({ length: 12 }, (_, k) => order(k % 2 ? 'alice' : 'bob', `0.5${String(k).padStart(2, '0')}`)));
    await wait(500);
    const text = await (await fetch(`${url}/metrics`)).text();
    const value = (series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : NaN;
    };
    const cases: [series: string, atLeast: number][] = [
      ['ate_feed_connections', 2],
      ['ate_feed_subscriptions{channel="book"}', 1],
      ['ate_feed_subscriptions{channel="private"}', 1],
      ['ate_feed_messages_sent_total{channel="book"}', 1],
      ['ate_feed_messages_sent_total{channel="private"}', 1],
      ['ate_feed_messages_sent_total{channel="auction"}', 1],
      ['ate_feed_book_batches_conflated_total', 1],
      ['ate_feed_disconnects_total{reason="key_revoked"}', 1],
      ['ate_feed_replays_total{channel="private",result="hit"}', 1],
      ['ate_feed_replays_total{channel="private",result="miss"}', 1],
      ['ate_feed_limit_refusals_total{limit="subscribeRate"}', 1],
      ['ate_feed_fanout_seconds_count{channel="book"}', 1],
    ];
    for (const [series, atLeast] of cases) expect([series, value(series) >= atLeast]).toEqual([series, true]);
    expect(text).toContain('# TYPE ate_feed_fanout_seconds histogram');
    expect(text).toContain('# HELP ate_feed_disconnects_total');
  });
});
