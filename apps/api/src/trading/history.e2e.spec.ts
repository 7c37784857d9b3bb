import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteClient, OrderView } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { mulberry32 } from '@ate/contracts';
import { startTestApp, TEST_ADMIN, testConfig } from '../testing/test-app';

const M = 'HIS.1K-CREDIT';
const N = 'HIT.1K-CREDIT';

type Page<T> = { items: T[]; nextCursor: string | null };

/** Every page of a paged endpoint, following nextCursor. */
async function all<T>(fetchPage: (cursor?: string) => Promise<Page<T>>): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const p = await fetchPage(cursor);
    pages++;
    items.push(...p.items);
    if (!p.nextCursor) return { items, pages };
    cursor = p.nextCursor;
  }
}

/**
 * The history queries CCXT's unified methods need (fetchOrders/Open/Closed, fetchTrades, fetchMyTrades with since,
 * until, market and cursors; fetchOHLCV), held to a naive twin: the unfiltered history read whole, filtered and
 * ordered in the test. Orders and trades come from a pinned-seed stream of real orders on two markets.
 */
describe('history queries: filters, cursors, oldest-first paging and candles (real Postgres, real HTTP)', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let alice: AteClient;
  let bob: AteClient;
  let anon: AteClient;

  beforeAll(async () => {
    db = await createTestDatabase('history');
    let admin: AteClient;
    ({ app, url, admin } = await startTestApp(testConfig(db, { ORDER_RATE_PER_AGENT: '100000', RATE_LIMIT_PER_KEY: '100000' })));
    anon = new AteClient({ baseUrl: url });
    for (const base of ['HIS.1K', 'HIT.1K']) {
      await admin.defineAsset({ code: base, scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
      await admin.createMarket({ base, tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, priceBandBps: 5000 });
    }
    const a = await admin.createAgent({ name: 'alice' });
    const b = await admin.createAgent({ name: 'bob' });
    alice = new AteClient({ baseUrl: url, ...a.apiKey! });
    bob = new AteClient({ baseUrl: url, ...b.apiKey! });
    for (const [who, id] of [
      ['a', a.id],
      ['b', b.id],
    ] as const) {
      await admin.deposit({ id: `${who}-c`, agentId: id, asset: 'CREDIT', amount: '1000000' });
      await admin.deposit({ id: `${who}-1`, agentId: id, asset: 'HIS.1K', amount: '100000' });
      await admin.deposit({ id: `${who}-2`, agentId: id, asset: 'HIT.1K', amount: '100000' });
    }
    // a pinned-seed stream: resting and crossing limit orders from both agents on both markets, some cancelled
    const rnd = mulberry32(20261202);
    for (let i = 0; i < 90; i++) {
      const who = rnd() < 0.5 ? alice : bob;
      const o = await who.placeOrder({
        market: rnd() < 0.7 ? M : N,
        side: rnd() < 0.5 ? 'buy' : 'sell',
        type: 'limit',
        price: (0.99 + Math.floor(rnd() * 21) / 1000).toFixed(3),
        quantity: String(1 + Math.floor(rnd() * 5)),
        ...(rnd() < 0.2 ? { timeInForce: 'IOC' as const } : {}),
      });
      if (o.status === 'open' && rnd() < 0.3) await who.cancelOrder(o.id);
      if (i % 30 === 29) await new Promise((r) => setTimeout(r, 15)); // distinct milliseconds to cut at
    }
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const q = (o: Record<string, string | number | undefined>) =>
    new URLSearchParams(Object.entries(o).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v)]]))).toString();

  it('orders: status open | closed | canceled | all, market, since / until, newest first or (with since) oldest first, cursors', async () => {
    // the twin: every order of alice, newest first as the unfiltered list pages them
    const everything = (
      await all<OrderView>(async (cursor) => {
        const r = await alice.listOrders({ status: 'all', limit: 500, ...(cursor ? { cursor } : {}) });
        return { items: r.orders, nextCursor: r.nextCursor };
      })
    ).items;
    expect(everything.length).toBeGreaterThan(20);
    expect(new Set(everything.map((o) => o.status))).toEqual(new Set(['open', 'closed', 'canceled']));
    const times = [...new Set(everything.map((o) => o.createdAt.ms))].sort((x, y) => x - y);
    const since = times[Math.floor(times.length / 3)]!;
    const until = times[Math.floor((2 * times.length) / 3)]!;
    const cases: { status: 'open' | 'closed' | 'canceled' | 'all'; market?: string; since?: number; until?: number }[] = [];
    for (const status of ['open', 'closed', 'canceled', 'all'] as const)
      for (const market of [undefined, M, N])
        for (const [s, u] of [
          [undefined, undefined],
          [since, undefined],
          [undefined, until],
          [since, until],
        ] as const)
          cases.push({ status, market, since: s, until: u });
    for (const c of cases) {
      const want = everything
        .filter((o) => (c.status === 'all' || o.status === c.status) && (!c.market || o.market === c.market))
        .filter((o) => (c.since === undefined || o.createdAt.ms >= c.since) && (c.until === undefined || o.createdAt.ms < c.until));
      if (c.since !== undefined) want.reverse(); // oldest first
      const got = await all<OrderView>(async (cursor) => {
        const r = await alice.get<{ orders: OrderView[]; nextCursor: string | null }>(`/v1/orders?${q({ ...c, cursor, limit: 7 })}`);
        return { items: r.orders, nextCursor: r.nextCursor };
      });
      expect({ c, ids: got.items.map((o) => o.id) }).toEqual({ c, ids: want.map((o) => o.id) });
    }
  });

  it('public trades: since / until and cursors page the whole history once, in either order', async () => {
    type T = { id: string; timestamp: { ms: number } };
    const page = (o: Record<string, string | number | undefined>) =>
      anon.get<{ trades: T[]; nextCursor: string | null }>(`/v1/markets/${M}/trades?${q(o)}`, { signed: false });
    const newest = (await all<T>(async (cursor) => page({ cursor, limit: 500 }).then((r) => ({ items: r.trades, nextCursor: r.nextCursor })))).items;
    expect(newest.length).toBeGreaterThanOrEqual(10); // the pinned seed makes 10
    const seq = (t: T) => Number(t.id.split(':')[1]);
    expect(newest.map(seq)).toEqual([...newest.map(seq)].sort((x, y) => y - x));
    const times = newest.map((t) => t.timestamp.ms).sort((x, y) => x - y);
    const since = times[Math.floor(times.length / 4)]!;
    const until = times[Math.floor((3 * times.length) / 4)]!;
    for (const c of [{}, { since: 0 }, { since }, { until }, { since, until }, { since: Date.now() + 60_000 }] as {
      since?: number;
      until?: number;
    }[]) {
      const want = newest.filter((t) => (c.since === undefined || t.timestamp.ms >= c.since) && (c.until === undefined || t.timestamp.ms < c.until));
      if (c.since !== undefined) want.reverse();
      const got = await all<T>(async (cursor) => page({ ...c, cursor, limit: 4 }).then((r) => ({ items: r.trades, nextCursor: r.nextCursor })));
      expect({ c, ids: got.items.map((t) => t.id) }).toEqual({ c, ids: want.map((t) => t.id) });
      expect(got.pages).toBe(Math.max(1, Math.ceil(want.length / 4))); // each trade once, no empty page at the end
    }
  });

  it('fills: market, since / until and cursors across markets, in either order', async () => {
    type F = { id: string; market: string; orderId: string; timestamp: { ms: number } };
    const page = (o: Record<string, string | number | undefined>) =>
      alice.get<{ fills: F[]; nextCursor: string | null }>(`/v1/account/fills?${q(o)}`);
    const newest = (await all<F>(async (cursor) => page({ cursor, limit: 500 }).then((r) => ({ items: r.fills, nextCursor: r.nextCursor })))).items;
    expect(new Set(newest.map((f) => f.market))).toEqual(new Set([M, N]));
    const times = newest.map((f) => f.timestamp.ms).sort((x, y) => x - y);
    const since = times[Math.floor(times.length / 3)]!;
    for (const c of [{}, { market: N }, { since }, { since, market: M }, { until: since }] as Record<string, string | number>[]) {
      const want = newest.filter(
        (f) =>
          (!c['market'] || f.market === c['market']) &&
          (c['since'] === undefined || f.timestamp.ms >= (c['since'] as number)) &&
          (c['until'] === undefined || f.timestamp.ms < (c['until'] as number)),
      );
      if (c['since'] !== undefined) want.reverse();
      const got = await all<F>(async (cursor) => page({ ...c, cursor, limit: 3 }).then((r) => ({ items: r.fills, nextCursor: r.nextCursor })));
      expect({ c, ids: got.items.map((f) => f.id) }).toEqual({ c, ids: want.map((f) => f.id) });
    }
    // the agent's own fills only: alice's fills name alice's orders
    const mine = new Set((await alice.listOrders({ status: 'all', limit: 500 })).orders.map((o) => o.id));
    for (const f of newest) expect(mine.has(f.orderId)).toBe(true);
  });

  it('candles: every timeframe equals a naive fold of the per-minute aggregates (pinned seed), oldest first, since / until / limit', async () => {
    // 1,400 synthetic minutes on a third market (the table keeps ~25 hours; the trade trigger keeps it up to date)
    const admin = new AteClient({ baseUrl: url, ...TEST_ADMIN });
    await admin.defineAsset({ code: 'HIC.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'HIC.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000 });
    const rnd = mulberry32(7);
    const now = Math.floor(Date.now() / 60_000);
    const rows: MinuteRow[] = [];
    for (let m = now - 1400; m <= now; m++) {
      if (rnd() < 0.3) continue;
      const open = 900 + Math.floor(rnd() * 200);
      const close = 900 + Math.floor(rnd() * 200);
      const high = Math.max(open, close) + Math.floor(rnd() * 20);
      const low = Math.min(open, close) - Math.floor(rnd() * 20);
      const lots = 1 + Math.floor(rnd() * 50);
      rows.push({ minute: m, open, close, high, low, lots, notional: lots * close, trades: 1 + Math.floor(rnd() * 5) });
    }
    for (const r of rows)
      await db.pool.query(
        `INSERT INTO market_stats_minute (market_id, minute, open_seq, open_ticks, close_seq, close_ticks, high_ticks, low_ticks, lots, notional, trades)
         VALUES ('HIC.1K/CREDIT', $1, 1, $2, 2, $3, $4, $5, $6, $7, $8)`,
        [r.minute, r.open, r.close, r.high, r.low, r.lots, r.notional, r.trades],
      );
    const twin = (width: number) => foldCandles(rows, width);
    const get = (o: Record<string, string | number | undefined>) =>
      anon.get<{ timeframe: string; candles: ReturnType<typeof twin> }>(`/v1/markets/HIC.1K-CREDIT/candles?${q(o)}`, { signed: false });
    for (const [tf, width] of [
      ['1m', 1],
      ['5m', 5],
      ['15m', 15],
      ['1h', 60],
      ['4h', 240],
      ['1d', 1440],
    ] as const) {
      const want = twin(width);
      expect((await get({ timeframe: tf, limit: 1500 })).candles).toEqual(want);
      expect((await get({ timeframe: tf, limit: 3 })).candles).toEqual(want.slice(-3)); // the last 3
      const mid = want[Math.floor(want.length / 2)]!.timestamp;
      expect((await get({ timeframe: tf, since: mid, limit: 2 })).candles).toEqual(want.filter((c) => c.timestamp >= mid).slice(0, 2));
      expect((await get({ timeframe: tf, since: mid - 1, until: mid + 1 })).candles).toEqual(want.filter((c) => c.timestamp === mid));
    }
    // real trades land in the current minute's candle of their market
    const last = (await get({ timeframe: '1m', limit: 1 })).candles;
    expect(last).toHaveLength(1);
    const real = await anon.get<{ candles: { volume: string; trades: number }[] }>(`/v1/markets/${M}/candles?timeframe=1d`, { signed: false });
    const trades = (await anon.get<{ trades: { amount: string }[] }>(`/v1/markets/${M}/trades?limit=500`, { signed: false })).trades;
    expect(real.candles.reduce((s, c) => s + c.trades, 0)).toBe(trades.length);
    expect(real.candles.reduce((s, c) => s + Number(c.volume), 0)).toBe(trades.reduce((s, t) => s + Number(t.amount), 0));
  });

  it('candles of 1h and wider reach past the ~25 hours of minutes: the hour rows fold every minute, updates included, and outlive the minutes’ pruning', async () => {
    const admin = new AteClient({ baseUrl: url, ...TEST_ADMIN });
    await admin.defineAsset({ code: 'HOUR.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'HOUR.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000 });
    const rnd = mulberry32(11);
    // minutes of a week ago (three days of them, every 7th minute), each inserted then grown once as the trade
    // trigger does when a later batch trades in the same minute
    const start = Math.floor(Date.now() / 60_000) - 7 * 1440;
    const rows: MinuteRow[] = [];
    for (let m = start; m < start + 3 * 1440; m += 7) {
      const open = 900 + Math.floor(rnd() * 200);
      const close = 900 + Math.floor(rnd() * 200);
      const lots = 1 + Math.floor(rnd() * 50);
      const more = 1 + Math.floor(rnd() * 9);
      // the minute's first trade: lots + more - 1 at `open`; its second: 1 lot at `close`
      const total = lots + more;
      rows.push({
        minute: m,
        open,
        close,
        high: Math.max(open, close) + 5,
        low: Math.min(open, close) - 5,
        lots: total,
        notional: (total - 1) * open + close,
        trades: 2,
      });
    }
    for (const r of rows) {
      await db.pool.query(
        `INSERT INTO market_stats_minute (market_id, minute, open_seq, open_ticks, close_seq, close_ticks, high_ticks, low_ticks, lots, notional, trades)
         VALUES ('HOUR.1K/CREDIT', $1, 1, $2, 1, $2, $2, $2, $3, $4, 1)`,
        [r.minute, r.open, r.lots - 1, (r.lots - 1) * r.open],
      );
      // the second trade of the minute: closes at `close`, stretches high and low, adds the rest
      await db.pool.query(
        `UPDATE market_stats_minute SET close_seq = 2, close_ticks = $2, high_ticks = $3, low_ticks = $4, lots = $5, notional = $6, trades = 2
          WHERE market_id = 'HOUR.1K/CREDIT' AND minute = $1`,
        [r.minute, r.close, r.high, r.low, r.lots, r.notional],
      );
    }
    // the pruning (the trade trigger deletes minutes older than ~25 hours) removes the minutes, not the hours
    await db.pool.query(`DELETE FROM market_stats_minute WHERE market_id = 'HOUR.1K/CREDIT'`);
    const twin = (width: number) => foldCandles(rows, width);
    const get = (o: Record<string, string | number | undefined>) =>
      anon.get<{ candles: ReturnType<typeof twin> }>(`/v1/markets/HOUR.1K-CREDIT/candles?${q(o)}`, { signed: false });
    for (const [tf, width] of [
      ['1h', 60],
      ['4h', 240],
      ['1d', 1440],
    ] as const) {
      const want = twin(width);
      expect({ tf, candles: (await get({ timeframe: tf, limit: 1500 })).candles }).toEqual({ tf, candles: want });
      const mid = want[Math.floor(want.length / 2)]!.timestamp;
      expect((await get({ timeframe: tf, since: mid, limit: 2 })).candles).toEqual(want.filter((c) => c.timestamp >= mid).slice(0, 2));
      expect((await get({ timeframe: tf, since: mid - 1, until: mid + 1 })).candles).toEqual(want.filter((c) => c.timestamp === mid));
    }
    // candles under an hour fold minutes, which are gone
    expect((await get({ timeframe: '15m', limit: 1500 })).candles).toEqual([]);
  });

  it('refuses bad filters with 400 VALIDATION_FAILED, changing nothing', async () => {
    for (const path of [
      `/v1/orders?status=done`,
      `/v1/orders?since=-1`,
      `/v1/orders?since=1.5`,
      `/v1/account/fills?cursor=1.2.3`,
      `/v1/account/fills?market=nope`,
      `/v1/markets/${M}/trades?cursor=abc`,
      `/v1/markets/${M}/candles?timeframe=2m`,
      `/v1/markets/${M}/candles?limit=0`,
    ]) {
      const r = await alice.raw<{ error: { code: string } }>('GET', path);
      expect({ path, status: r.status, code: r.body.error.code }).toEqual({ path, status: 400, code: 'VALIDATION_FAILED' });
    }
    expect((await anon.raw('GET', '/v1/markets/NOPE.1K-CREDIT/candles', undefined, { signed: false })).status).toBe(404);
  });
});

type MinuteRow = { minute: number; open: number; close: number; high: number; low: number; lots: number; notional: number; trades: number };

/** The naive twin of the candles: minute rows (oldest first) folded into buckets of `width` minutes, as the API prints them. */
function foldCandles(rows: MinuteRow[], width: number) {
  const px = (t: number) => (t / 1000).toFixed(3);
  const by = new Map<number, MinuteRow[]>();
  for (const r of rows) {
    const b = Math.floor(r.minute / width) * width;
    by.set(b, [...(by.get(b) ?? []), r]);
  }
  return [...by.entries()]
    .sort(([x], [y]) => x - y)
    .map(([b, rs]) => ({
      timestamp: b * 60_000,
      open: px(rs[0]!.open),
      high: px(Math.max(...rs.map((r) => r.high))),
      low: px(Math.min(...rs.map((r) => r.low))),
      close: px(rs[rs.length - 1]!.close),
      volume: String(rs.reduce((s, r) => s + r.lots, 0)),
      quoteVolume: (rs.reduce((s, r) => s + r.notional, 0) / 1000).toFixed(3),
      trades: rs.reduce((s, r) => s + r.trades, 0),
    }));
}
