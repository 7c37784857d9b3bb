import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { AteClient, OrderView } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { reconcile } from '@ate/ledger';
import { EngineHost } from '@ate/sequencer';
import { freePort, startApiProcess } from '../testing/api-process';
import { TEST_ADMIN } from '../testing/test-app';

const M = 'DUR.1K/CREDIT';
const CLIENTS = 4; // concurrent agents placing orders
const ORDERS_BEFORE_KILL = 1200; // acknowledged orders before the SIGKILL
const ORDERS_TOTAL_MIN = 2000; // acknowledged orders over the whole test

/**
 * The durability test: the real api process (embedded engine) on real Postgres, driven by concurrent signed
 * clients, killed with SIGKILL mid-stream, restarted. Every acknowledged order must be there; an order whose
 * answer was lost is either there in full or not at all; the ledger reconciles; the books the restarted
 * process serves equal a fresh replay of the command log.
 */
describe('durability: SIGKILL mid-stream (real processes, real Postgres)', () => {
  jest.setTimeout(240_000);
  let db: TestDatabase;
  let child: ChildProcess | undefined;
  let port: number;
  const env = () => ({
    DATABASE_URL: db.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    MASTER_KEY: master,
    ADMIN_KEY_ID: TEST_ADMIN.keyId,
    ADMIN_SECRET: TEST_ADMIN.secret,
    RATE_LIMIT_PER_KEY: '1000000',
    RATE_LIMIT_PER_ADDRESS: '1000000',
    ORDER_RATE_PER_AGENT: '1000000',
  });
  const master = randomBytes(32).toString('base64');

  async function startServer(): Promise<void> {
    child = await startApiProcess(env());
  }

  beforeAll(async () => {
    db = await createTestDatabase('durability');
    port = await freePort();
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await db?.drop();
  });

  it('loses nothing acknowledged and half-applies nothing', async () => {
    await startServer();
    const url = `http://127.0.0.1:${port}`;
    const admin = new AteClient({ baseUrl: url, ...TEST_ADMIN });
    await admin.defineAsset({ code: 'DUR.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    await admin.createMarket({ base: 'DUR.1K', tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, priceBandBps: 5000 });
    const agents: { id: string; client: AteClient; keys: { keyId: string; secret: string } }[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const a = await admin.createAgent({ name: `dur-${i}` });
      await admin.deposit({ id: `dur-${i}-c`, agentId: a.id, asset: 'CREDIT', amount: '10000000' });
      await admin.deposit({ id: `dur-${i}-t`, agentId: a.id, asset: 'DUR.1K', amount: '10000000' });
      agents.push({ id: a.id, keys: a.apiKey!, client: new AteClient({ baseUrl: url, ...a.apiKey!, timeoutMs: 5000 }) });
    }

    const acked = new Map<string, OrderView>(); // clientOrderId -> the answer
    const unknown = new Set<string>(); // sent, answer lost (kill)
    let stop = false;
    const drive = async (k: number, phase: string, until: () => boolean) => {
      const a = agents[k]!;
      for (let n = 0; !stop && !until(); n++) {
        const cid = `${phase}-${k}-${n}`;
        // alternate sides around a mid so that most orders cross something
        const side = (n + k) % 2 === 0 ? 'buy' : 'sell';
        const price = (1000 + ((n * 7 + k * 3) % 11) - 5) / 1000;
        try {
          const o = await a.client.placeOrder({ market: M, side, type: 'limit', price: price.toFixed(3), quantity: String(1 + (n % 5)), clientOrderId: cid });
          acked.set(cid, o);
        } catch {
          unknown.add(cid);
          if (stop) return;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };

    // phase 1: drive until enough are acknowledged, then kill the server while requests are in flight
    const killer = (async () => {
      while (acked.size < ORDERS_BEFORE_KILL) await new Promise((r) => setTimeout(r, 5));
      child!.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      stop = true;
    })();
    await Promise.all([killer, ...agents.map((_, k) => drive(k, 'p1', () => false))]);
    for (const cid of acked.keys()) unknown.delete(cid);
    expect(acked.size).toBeGreaterThanOrEqual(ORDERS_BEFORE_KILL);

    // restart: the engine replays its log
    await startServer();
    stop = false;
    for (const a of agents) a.client = new AteClient({ baseUrl: url, ...a.keys, timeoutMs: 5000 });
    await Promise.all(agents.map((_, k) => drive(k, 'p2', () => acked.size >= ORDERS_TOTAL_MIN)));
    expect(acked.size).toBeGreaterThanOrEqual(ORDERS_TOTAL_MIN);

    // 1. every acknowledged order is there, as acknowledged or later
    const rows = await db.pool.query<{ client_order_id: string; id: string; command_seq: string; status: string }>(
      'SELECT client_order_id, id, command_seq, status FROM trading_order WHERE client_order_id IS NOT NULL',
    );
    const byCid = new Map(rows.rows.map((r) => [r.client_order_id, r]));
    for (const [cid, o] of acked) {
      const r = byCid.get(cid);
      expect(r).toBeDefined();
      expect(r!.id).toBe(o.id);
    }
    // 2. an order whose answer was lost is in full or not at all: its command is logged with it, and its trades
    //    each have their ledger settlement
    const logged = await db.pool.query(
      `SELECT count(*)::int AS n FROM trading_order o LEFT JOIN engine_command c ON c.seq = o.command_seq WHERE c.seq IS NULL`,
    );
    expect(logged.rows[0].n).toBe(0);
    const unsettled = await db.pool.query(
      `SELECT count(*)::int AS n FROM trade t LEFT JOIN ledger_transfer l ON l.id = 'trade:DUR.1K:' || t.event_seq WHERE l.id IS NULL`,
    );
    expect(unsettled.rows[0].n).toBe(0);
    const trades = await db.pool.query('SELECT count(*)::int AS n FROM trade');
    expect(trades.rows[0].n).toBeGreaterThan(100);

    // 3. the ledger keeps every promise
    expect((await reconcile(db.pool)).violations).toEqual([]);

    // 4. the book the restarted process serves equals a fresh replay of the log
    const served = await new AteClient({ baseUrl: url }).book(M, 1000);
    const replay = new EngineHost(db.pool);
    await replay.load();
    const depth = replay.market(M)!.engine.depth(1000);
    const fmt = ([p, l]: [number, number]) => [(p / 1000).toFixed(3), String(l)];
    expect(served.bids).toEqual(depth.bids.map(fmt));
    expect(served.asks).toEqual(depth.asks.map(fmt));
    expect(served.seq).toBe(replay.market(M)!.engine.sequence);

    child!.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
    child = undefined;
  });
});
