import type { ChildProcess } from 'node:child_process';
import { mulberry32 } from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { defineAsset } from '@ate/ledger';
import { EngineHost, engineRedisKeys, HostCommand, OutletReplica, randomHostCommand, readEvents, RedisEngineClient } from '@ate/sequencer';
import Redis from 'ioredis';
import { startEngineProcess, stopProcess } from '../testing/engine-process';
import { dropRedisKeys, TEST_REDIS_URL, testRedisPrefix } from '../testing/redis';
import { insertMarket, testMarketRow } from '@ate/sequencer';

const MARKETS = ['RO.1K/CREDIT'];
const ASSETS = ['CREDIT', 'RO.1K'];
const AGENTS = ['agt_redisout1', 'agt_redisout2', 'agt_redisout3'];
const PREFIX = testRedisPrefix('outlet');

/**
 * The event outlet over Redis, with the engine in its own process (ENGINE_MODE=redis): commands go through the
 * command stream; each committed batch comes out on the events stream. The engine is SIGKILLed while commands are
 * in flight and started again; afterwards the events stream holds every committed command exactly once, in seq
 * order, and a replica built from it alone equals the state recovered from the database (books and balances).
 */
describe('the event outlet over Redis, across a SIGKILL of the engine process (real Postgres, Redis, processes)', () => {
  jest.setTimeout(180_000);
  let db: TestDatabase;
  let engine: ChildProcess | undefined;
  let redis: Redis;
  let client: RedisEngineClient;
  const env = () => ({
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: PREFIX,
    ENGINE_NODE_ID: 'outlet-engine',
    ENGINE_HEARTBEAT_MS: '200',
    LOG_LEVEL: 'warn',
  });

  beforeAll(async () => {
    db = await createTestDatabase('outlet_redis');
    expect((await defineAsset(db.pool, { code: 'RO.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' })).ok).toBe(true);
    const rules = { max_order_lots: 100_000, max_price_ticks: 100_000, orders_per_agent_max: 1000, maker_fee_bps: 5, taker_fee_bps: 30 };
    expect(await insertMarket(db.pool, testMarketRow('RO.1K', { id: MARKETS[0], ...rules }))).toBe(true);
    await db.pool.query(`INSERT INTO agent (id, name) SELECT unnest($1::text[]), 'redis outlet'`, [AGENTS]);
    engine = await startEngineProcess(env());
    redis = new Redis(TEST_REDIS_URL);
    client = new RedisEngineClient(redis, { prefix: PREFIX, deadlineMs: 3000, timeoutMs: 8000 });
    await client.start();
  });
  afterAll(async () => {
    await client?.stop();
    if (engine) await stopProcess(engine, 'SIGKILL');
    redis?.disconnect();
    await dropRedisKeys(PREFIX);
    await db?.drop();
  });

  /** Waves of random commands; failures (the engine is gone) are tolerated: only what committed counts. */
  async function waves(
    rnd: () => number,
    from: number,
    count: number,
    placed: Map<string, number[]>,
    world: Parameters<typeof randomHostCommand>[3],
  ): Promise<number> {
    let i = from;
    for (let w = 0; w < count; w++) {
      const cmds: HostCommand[] = Array.from({ length: 1 + Math.floor(rnd() * 20) }, () => randomHostCommand(rnd, i++, placed, world));
      const rs = await Promise.allSettled(cmds.map((c) => client.submit(c)));
      rs.forEach((r, k) => {
        const c = cmds[k] as HostCommand;
        if (r.status === 'fulfilled' && c.kind === 'place' && r.value.order?.status === 'open')
          placed.set(c.agentId, [...(placed.get(c.agentId) ?? []), r.value.orderId as number]);
      });
    }
    return i;
  }

  it('every committed command comes out once, and the events alone rebuild the books and balances', async () => {
    const world = { agents: AGENTS, markets: MARKETS, assets: ASSETS };
    for (const agentId of AGENTS)
      for (const asset of ASSETS)
        await client.submit({ kind: 'funds', op: 'deposit', agentId, asset, amount: 1_000_000n, transferId: `seed-${agentId}-${asset}` });
    const rnd = mulberry32(20261202);
    const placed = new Map<string, number[]>();
    let i = await waves(rnd, 0, 25, placed, world);
    // kill the engine with commands in flight, then start it again
    const inFlight = waves(rnd, i, 5, placed, world);
    await new Promise((r) => setTimeout(r, 30));
    await stopProcess(engine as ChildProcess, 'SIGKILL');
    i = await inFlight;
    engine = await startEngineProcess(env());
    await client.status();
    i = await waves(rnd, i + 1000, 25, placed, world);
    await stopProcess(engine, 'SIGTERM'); // a clean stop publishes what it committed
    engine = undefined;

    const keys = engineRedisKeys(PREFIX);
    const replica = new OutletReplica();
    for (let after = '0'; ; ) {
      const page = await readEvents(redis, keys, after, 500);
      for (const e of page) replica.apply(e.batch);
      if (page.length < 500) break;
      after = (page[page.length - 1] as { id: string }).id;
    }
    const last = Number((await db.pool.query<{ m: string }>('SELECT max(seq)::text AS m FROM engine_command')).rows[0]?.m);
    expect(replica.seqs).toEqual(Array.from({ length: last }, (_, k) => k + 1));
    // the state recovered from the database (what the engine committed)
    const fresh = new EngineHost(db.pool, undefined, undefined, { snapshotEvery: 0 }); // a reader: writes no snapshot
    await fresh.load();
    expect(replica.differences(fresh, world)).toEqual([]);
    expect(replica.trades.length).toBeGreaterThan(50);
    await fresh.stop();
  });
});
