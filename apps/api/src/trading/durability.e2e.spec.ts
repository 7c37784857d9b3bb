import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { AteApiError, AteClient, OrderView } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { reconcile } from '@ate/ledger';
import { EngineHost } from '@ate/sequencer';
import { freePort, startApiProcess, testApiEnv, untilReady } from '../testing/api-process';
import { startEngineProcess, stopProcess } from '../testing/engine-process';
import { dropRedisKeys, TEST_REDIS_URL as REDIS_URL, testRedisPrefix } from '../testing/redis';
import { TEST_ADMIN } from '../testing/test-app';

const M = 'DUR.1K/CREDIT';
const CLIENTS = 4; // concurrent agents placing orders
const ORDERS_BEFORE_KILL = 1200; // acknowledged orders before the SIGKILL
const ORDERS_TOTAL_MIN = 2000; // acknowledged orders over the whole test

/** The processes of one deployment under test: what hosts the engine can be killed and started again. */
interface Deployment {
  url: string;
  /** everything up and /ready 200 */
  start(): Promise<void>;
  /** SIGKILL the process that hosts the engine; resolves once it has exited */
  killEngine(): Promise<void>;
  /** start it again; resolves once /ready is 200 */
  restartEngine(): Promise<void>;
  /** SIGTERM every process (clean stop) */
  stop(): Promise<void>;
  /** SIGKILL whatever still runs (cleanup) */
  kill(): Promise<void>;
}

/**
 * The durability test: real processes on real Postgres, driven by concurrent signed clients; the process that
 * hosts the engine is killed with SIGKILL mid-stream and started again. Every acknowledged order must be
 * there; an order whose answer was lost is either there in full or not at all (and one answered "nothing was
 * done" is not there at all); the ledger reconciles; the books served after the restart equal a fresh replay of
 * the command log.
 */
async function losesNothing(db: TestDatabase, d: Deployment): Promise<void> {
  await d.start();
  const url = d.url;
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
  const notExecuted = new Set<string>(); // answered 503 "nothing was done"
  let stop = false;
  const drive = async (k: number, phase: string, until: () => boolean) => {
    const a = agents[k]!;
    for (let n = 0; !stop && !until(); n++) {
      const cid = `${phase}-${k}-${n}`;
      // alternate sides around a mid so that most orders cross something
      const side = (n + k) % 2 === 0 ? 'buy' : 'sell';
      const price = (1000 + ((n * 7 + k * 3) % 11) - 5) / 1000;
      try {
        const o = await a.client.placeOrder({
          market: M,
          side,
          type: 'limit',
          price: price.toFixed(3),
          quantity: String(1 + (n % 5)),
          clientOrderId: cid,
        });
        acked.set(cid, o);
      } catch (e) {
        if (e instanceof AteApiError && e.details?.['outcome'] === 'not_executed') notExecuted.add(cid);
        else unknown.add(cid);
        if (stop) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };

  // phase 1: drive until enough are acknowledged, then kill the engine's process while requests are in flight
  const killer = (async () => {
    while (acked.size < ORDERS_BEFORE_KILL) await new Promise((r) => setTimeout(r, 5));
    await d.killEngine();
    stop = true;
  })();
  await Promise.all([killer, ...agents.map((_, k) => drive(k, 'p1', () => false))]);
  for (const cid of acked.keys()) unknown.delete(cid);
  expect(acked.size).toBeGreaterThanOrEqual(ORDERS_BEFORE_KILL);

  // restart: the engine replays its log
  await d.restartEngine();
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
  // an order answered "nothing was done" is not there at all
  for (const cid of notExecuted) expect(byCid.get(cid)).toBeUndefined();
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

  // 4. the book served after the restart equals a fresh replay of the log
  const served = await new AteClient({ baseUrl: url }).book(M, 1000);
  const replay = new EngineHost(db.pool);
  await replay.load();
  const depth = replay.market(M)!.engine.depth(1000);
  const fmt = ([p, l]: [number, number]) => [(p / 1000).toFixed(3), String(l)];
  expect(served.bids).toEqual(depth.bids.map(fmt));
  expect(served.asks).toEqual(depth.asks.map(fmt));
  expect(served.seq).toBe(replay.market(M)!.engine.sequence);

  await d.stop();
}

describe('durability: SIGKILL mid-stream (real processes, real Postgres)', () => {
  jest.setTimeout(240_000);
  let db: TestDatabase;
  let port: number;
  const master = randomBytes(32).toString('base64');
  const apiEnv = (extra: Record<string, string> = {}) =>
    testApiEnv(
      { databaseUrl: db.url, port, masterKey: master },
      { RATE_LIMIT_PER_KEY: '1000000', RATE_LIMIT_PER_ADDRESS: '1000000', ORDER_RATE_PER_AGENT: '1000000', ...extra },
    );
  let processes: ChildProcess[] = [];
  const killAll = async () => {
    await Promise.all(processes.map((p) => stopProcess(p, 'SIGKILL')));
    processes = [];
  };

  beforeEach(async () => {
    db = await createTestDatabase('durability');
    port = await freePort();
  });
  afterEach(async () => {
    await killAll();
    await db?.drop();
  });

  it('the api process with its in-process engine: loses nothing acknowledged and half-applies nothing', async () => {
    let api: ChildProcess | undefined;
    const start = async () => {
      api = await startApiProcess(apiEnv());
      processes.push(api);
    };
    await losesNothing(db, {
      url: `http://127.0.0.1:${port}`,
      start,
      killEngine: () => stopProcess(api!, 'SIGKILL'),
      restartEngine: start,
      stop: () => stopProcess(api!, 'SIGTERM'),
      kill: killAll,
    });
  });

  it('api and engine apart (ENGINE_MODE=redis), the engine process killed: loses nothing acknowledged and half-applies nothing', async () => {
    const REDIS_PREFIX = testRedisPrefix('dur');
    const url = `http://127.0.0.1:${port}`;
    let api: ChildProcess | undefined;
    let engine: ChildProcess | undefined;
    let starts = 0;
    const startEngine = async () => {
      // a new node id each time: the restarted node waits for the killed node's lease to lapse (3 heartbeats)
      engine = await startEngineProcess({
        DATABASE_URL: db.url,
        REDIS_URL,
        REDIS_PREFIX,
        ENGINE_NODE_ID: `dur-${++starts}`,
        ENGINE_HEARTBEAT_MS: '250',
        LOG_LEVEL: 'warn',
      });
      processes.push(engine);
      await untilReady(url, 'the api did not see the engine node');
    };
    try {
      await losesNothing(db, {
        url,
        start: async () => {
          // deadline 1.5 s, reply timeout 4 s: requests caught by the kill end before the clients' own 5 s timeout
          api = await startApiProcess(
            apiEnv({ ENGINE_MODE: 'redis', REDIS_URL, REDIS_PREFIX, ENGINE_COMMAND_DEADLINE_MS: '1500', ENGINE_REPLY_TIMEOUT_MS: '4000' }),
            { ready: 'listening' },
          );
          processes.push(api);
          await startEngine();
        },
        killEngine: () => stopProcess(engine!, 'SIGKILL'),
        restartEngine: startEngine,
        stop: async () => {
          await stopProcess(engine!, 'SIGTERM');
          expect(engine!.exitCode).toBe(0);
          await stopProcess(api!, 'SIGTERM');
        },
        kill: killAll,
      });
    } finally {
      await dropRedisKeys(REDIS_PREFIX);
    }
  });
});
