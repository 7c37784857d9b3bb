import { mulberry32 } from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { defineAsset } from '@ate/ledger';
import { Client } from 'pg';
import { EngineHost } from './engine-host';
import type { HostCommand, HostResult } from './host-types';
import type { CommittedCommand, CommittedEvent } from './outlet';
import { OutletReplica, randomHostCommand } from './outlet-replica';
import { testMarketRow } from './market-config';
import { insertMarket } from './sql';

const MARKETS = ['OA.1K/CREDIT', 'OB.1K/CREDIT'];
const ASSETS = ['CREDIT', 'OA.1K', 'OB.1K'];
const AGENTS = ['agt_outlet01', 'agt_outlet02', 'agt_outlet03', 'agt_outlet04'];

/**
 * The committed-event outlet on real Postgres: a subscriber that sees only the outlet's events rebuilds every book
 * and every agent's balances exactly as the engine holds them after a random run of mixed commands sent in
 * concurrent waves (so batches hold many commands); each logged command comes out once, in seq order; a batch
 * whose COMMIT fails answers nobody with success and emits nothing; an answered command is visible from another
 * connection at once.
 */
describe('the committed-event outlet (real Postgres)', () => {
  jest.setTimeout(90_000);
  let db: TestDatabase;
  let host: EngineHost;
  const rebuilt = new OutletReplica();
  const world = { agents: AGENTS, markets: MARKETS, assets: ASSETS };
  const batchErrors: Error[] = [];
  const emitted: CommittedCommand[] = [];
  let offReplica: () => void = () => undefined;

  beforeAll(async () => {
    db = await createTestDatabase('outlet');
    for (const code of ASSETS.slice(1))
      expect((await defineAsset(db.pool, { code, scale: 0, model: 'm', provider: 'p', tokenClass: 'out' })).ok).toBe(true);
    for (const [i, id] of MARKETS.entries()) {
      // OA rounds fees up (the default of new markets), OB down (a market made before the setting)
      const rules = {
        lot_size: '3',
        max_order_lots: 100_000,
        max_price_ticks: 100_000,
        orders_per_agent_max: 1000,
        maker_fee_bps: 5,
        taker_fee_bps: 30,
      };
      expect(await insertMarket(db.pool, testMarketRow(ASSETS[i + 1] as string, { id, ...rules, fee_rounding: i === 0 ? 'up' : 'down' }))).toBe(true);
    }
    await db.pool.query(`INSERT INTO agent (id, name) SELECT unnest($1::text[]), 'outlet'`, [AGENTS]);
    host = new EngineHost(db.pool, (e) => batchErrors.push(e));
    await host.load();
    offReplica = host.subscribe((b) => {
      rebuilt.apply(b);
      emitted.push(...b.commands);
    });
  });
  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it('a subscriber rebuilds every book and balance from the events alone, after a random run', async () => {
    for (const agentId of AGENTS)
      for (const asset of ASSETS)
        await host.submit({ kind: 'funds', op: 'deposit', agentId, asset, amount: 2_000_000n, transferId: `seed-${agentId}-${asset}` });
    const rnd = mulberry32(20261201);
    const placed = new Map<string, number[]>();
    const other = new Client({ connectionString: db.url });
    await other.connect();
    try {
      for (let wave = 0, i = 0; wave < 60; wave++) {
        const cmds = Array.from({ length: 1 + Math.floor(rnd() * 30) }, () => randomHostCommand(rnd, i++, placed, world));
        const results: HostResult[] = await Promise.all(cmds.map((c) => host.submit(c)));
        results.forEach((r, k) => {
          const c = cmds[k] as HostCommand;
          if (c.kind === 'place' && r.orderId && r.order?.status === 'open') placed.set(c.agentId, [...(placed.get(c.agentId) ?? []), r.orderId]);
        });
        // an answered order is committed: another connection sees it at once
        const last = results
          .map((r) => r.orderId)
          .filter((x): x is number => x !== undefined)
          .pop();
        if (last) expect((await other.query('SELECT 1 FROM trading_order WHERE id = $1', [last])).rowCount).toBe(1);
      }
    } finally {
      await other.end();
    }
    await host.flush();
    const core = host.state!;
    // each logged command once, in order, none missing
    expect(rebuilt.seqs).toEqual(Array.from({ length: core.seq }, (_, k) => k + 1));
    expect(rebuilt.differences(host, world)).toEqual([]);
    expect(new OutletReplica().differences(host, world).length).toBeGreaterThan(MARKETS.length); // it does see differences
    expect(rebuilt.trades.length).toBeGreaterThan(100);
    expect(await host.agreement()).toMatchObject({ ok: true, violations: [] });
  });

  it('a recovery with emitAfter emits again exactly what the commands after that seq did (what a crash kept from subscribers)', async () => {
    const seq = host.state!.seq;
    const fresh = new EngineHost(db.pool, undefined, undefined, { snapshotEvery: 0 }); // a reader: writes no snapshot
    const again: CommittedCommand[] = [];
    let replayedFlag = false;
    fresh.subscribe((b) => {
      again.push(...b.commands);
      replayedFlag = b.replayed === true;
    });
    await fresh.load({ emitAfter: seq - 40 });
    try {
      expect(again.map((c) => c.seq)).toEqual(Array.from({ length: 40 }, (_, k) => seq - 39 + k));
      expect(again).toEqual(emitted.slice(-40));
      expect(replayedFlag).toBe(true);
    } finally {
      await fresh.stop();
    }
  });

  /** Empties both books (every agent cancels everything). */
  const clearBooks = async () => {
    for (const agentId of AGENTS) expect((await host.submit({ kind: 'cancel_all', agentId })).code).toBeNull();
    for (const id of MARKETS) expect(host.market(id)!.engine.openOrders).toBe(0);
  };

  it('trades carry each side its own rate: the taker pays the taker rate, the maker the maker rate', async () => {
    await clearBooks();
    const trades = rebuilt.trades as Extract<CommittedEvent, { kind: 'trade' }>[];
    const ceil = (a: number, bps: number) => Math.ceil((a * bps) / 10_000);
    // the first fill of a fresh taker buy on OA (rounding up): buyer = taker (30 bps on base), seller = maker (5 bps)
    await host.submit({
      kind: 'place',
      marketId: MARKETS[0]!,
      agentId: AGENTS[0]!,
      order: { type: 'limit', side: 'sell', price: 1009, lots: 4, tif: 'GTC' },
    });
    const before = trades.length;
    const r = await host.submit({
      kind: 'place',
      marketId: MARKETS[0]!,
      agentId: AGENTS[1]!,
      order: { type: 'limit', side: 'buy', price: 1019, lots: 4, tif: 'IOC' },
    });
    expect(r.code).toBeNull();
    const t = trades.slice(before)[0]!;
    expect(t).toMatchObject({ takerSide: 'buy', takerAgentId: AGENTS[1], makerAgentId: AGENTS[0], lots: 4, price: 1009, notional: 4036 });
    expect(t.buyerFee).toBe(ceil(4 * 3, 30)); // taker: 30 bps of 12 base units, rounded up: 1
    expect(t.sellerFee).toBe(ceil(4036, 5)); // maker: 5 bps of 4,036 credits, rounded up: 3
    const rows = await db.pool.query('SELECT buyer_fee::int, seller_fee::int FROM trade WHERE market_id = $1 AND event_seq = $2', [
      MARKETS[0],
      t.seq,
    ]);
    expect(rows.rows[0]).toEqual({ buyer_fee: t.buyerFee, seller_fee: t.sellerFee });
  });

  it('a batch whose COMMIT fails is answered with 503 to every command and emits nothing', async () => {
    // a deferred trigger refuses, at COMMIT, any trade of exactly 7 lots
    await db.pool.query(`CREATE FUNCTION refuse_seven() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no sevens'; END $$`);
    await db.pool.query(
      `CREATE CONSTRAINT TRIGGER no_sevens AFTER INSERT ON trade DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.lots = 7) EXECUTE FUNCTION refuse_seven()`,
    );
    await clearBooks();
    const seqBefore = rebuilt.seqs.length;
    const tradesBefore = rebuilt.trades.length;
    try {
      await host.submit({
        kind: 'place',
        marketId: MARKETS[1]!,
        agentId: AGENTS[2]!,
        order: { type: 'limit', side: 'sell', price: 1005, lots: 7, tif: 'GTC' },
      });
      const wave = await Promise.allSettled([
        host.submit({
          kind: 'place',
          marketId: MARKETS[1]!,
          agentId: AGENTS[3]!,
          order: { type: 'limit', side: 'buy', price: 1005, lots: 7, tif: 'IOC' },
        }),
        host.submit({
          kind: 'place',
          marketId: MARKETS[0]!,
          agentId: AGENTS[3]!,
          order: { type: 'limit', side: 'buy', price: 900, lots: 1, tif: 'GTC' },
        }),
      ]);
      expect(wave.map((w) => w.status)).toEqual(['rejected', 'rejected']);
      expect(wave.map((w) => (w as PromiseRejectedResult).reason.code)).toEqual(['SERVICE_UNAVAILABLE', 'SERVICE_UNAVAILABLE']);
      expect(rebuilt.trades.slice(tradesBefore).filter((t) => t.kind === 'trade' && t.lots === 7)).toEqual([]);
    } finally {
      await db.pool.query('DROP TRIGGER no_sevens ON trade');
    }
    const t0 = Date.now();
    while (!host.attached && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    expect(host.attached).toBe(true);
    expect(batchErrors.length).toBeGreaterThan(0);
    // after the rebuild the subscriber and the engine still agree: nothing of the failed batch was seen
    const ok = await host.submit({
      kind: 'place',
      marketId: MARKETS[0]!,
      agentId: AGENTS[3]!,
      order: { type: 'limit', side: 'buy', price: 900, lots: 1, tif: 'GTC' },
    });
    expect(ok.code).toBeNull();
    expect(rebuilt.seqs.slice(seqBefore)).toEqual(rebuilt.seqs.slice(seqBefore).map((_, k) => rebuilt.seqs[seqBefore - 1]! + 1 + k));
    expect(rebuilt.differences(host, world)).toEqual([]);
  });
  it("a subscriber that needs no agents' events (OutletInterest) gets trades, books and states only; it is asked as each batch starts", async () => {
    await clearBooks();
    offReplica(); // the replica needs every event: with it subscribed, everything is built
    let follows = false;
    const got: CommittedCommand[] = [];
    const off = host.subscribe((b) => got.push(...b.commands), { agents: () => follows });
    const pair = async (price: number) => {
      got.length = 0;
      const order = (side: 'buy' | 'sell') => ({ type: 'limit' as const, side, price, lots: 2, tif: 'GTC' as const });
      expect((await host.submit({ kind: 'place', marketId: MARKETS[0]!, agentId: AGENTS[0]!, order: order('sell') })).code).toBeNull();
      expect((await host.submit({ kind: 'place', marketId: MARKETS[0]!, agentId: AGENTS[1]!, order: order('buy') })).code).toBeNull();
      await host.flush();
      return [...new Set(got.flatMap((c) => c.events.map((e) => e.kind)))].sort();
    };
    try {
      // nobody follows an agent: the orders' events and the balances are not built; the trade and the book are
      expect(await pair(1001)).toEqual(['book', 'trade']);
      // someone does now: the next batches carry them again
      follows = true;
      expect(await pair(1002)).toEqual(['accepted', 'balance', 'book', 'trade']);
      // a second subscriber without an interest needs everything, whatever the first says
      follows = false;
      const all: CommittedCommand[] = [];
      const offAll = host.subscribe((b) => all.push(...b.commands));
      try {
        expect(await pair(1003)).toEqual(['accepted', 'balance', 'book', 'trade']);
        expect(all.map((c) => c.seq)).toEqual(got.map((c) => c.seq));
      } finally {
        offAll();
      }
    } finally {
      off();
    }
  });
});
