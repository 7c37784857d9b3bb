import type { ChildProcess } from 'node:child_process';
import { CREDIT } from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { defineAsset } from '@ate/ledger';
import { clearMultiUnit } from '@ate/mechanisms';
import {
  AuctionClearing,
  EngineHost,
  engineRedisKeys,
  HostCommand,
  insertMarket,
  OutletReplica,
  readEvents,
  RedisEngineClient,
  testMarketRow,
  WireBatch,
} from '@ate/sequencer';
import Redis from 'ioredis';
import { startEngineProcess, stopProcess } from '../testing/engine-process';
import { dropRedisKeys, TEST_REDIS_URL, testRedisPrefix } from '../testing/redis';

const ASSET = 'RR.1K';
const MARKET = `${ASSET}/CREDIT`;
const P = 'prn_redisreemit';
const [X, Y, S] = ['agt_redisreemx1', 'agt_redisreemy1', 'agt_redisreems1'];
const PREFIX = testRedisPrefix('reemit');

/**
 * The engine node's re-publication on the Redis events stream, with the engine in its own process: batches that
 * committed but never reached the stream (the node died between COMMIT and XADD; here the stream is cut back to an
 * earlier entry while the node is down) are published again at its next start, marked replayed, with the same
 * commands and balance events as live, also for principals' transfers and auction commands.
 */
describe('the events stream after a restart re-publishes principal transfers and auction commands as live (real Postgres, Redis, processes)', () => {
  jest.setTimeout(120_000);
  let db: TestDatabase;
  let engine: ChildProcess | undefined;
  let redis: Redis;
  let client: RedisEngineClient;
  const keys = engineRedisKeys(PREFIX);
  const env = () => ({
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: PREFIX,
    ENGINE_NODE_ID: 'reemit-engine',
    ENGINE_HEARTBEAT_MS: '200',
    LOG_LEVEL: 'warn',
  });
  const submit = async (cmd: HostCommand) => {
    const r = await client.submit(cmd);
    expect({ kind: cmd.kind, code: r.code }).toEqual({ kind: cmd.kind, code: null });
    return r;
  };
  const stream = async (): Promise<{ id: string; batch: WireBatch }[]> => {
    const out: { id: string; batch: WireBatch }[] = [];
    for (let after = '0'; ; ) {
      const page = await readEvents(redis, keys, after, 500);
      out.push(...page);
      if (page.length < 500) return out;
      after = (page[page.length - 1] as { id: string }).id;
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase('reemit_redis');
    expect((await defineAsset(db.pool, { code: ASSET, scale: 0, model: 'm', provider: 'p', tokenClass: 'out' })).ok).toBe(true);
    expect(await insertMarket(db.pool, testMarketRow(ASSET))).toBe(true);
    await db.pool.query(`INSERT INTO principal (id, name) VALUES ($1, 'p')`, [P]);
    await db.pool.query(`INSERT INTO agent (id, name, principal_id) SELECT unnest($1::text[]), 'rr', $2`, [[X, Y], P]);
    await db.pool.query(`INSERT INTO agent (id, name) VALUES ($1, 'seller')`, [S]);
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

  it('what the stream lost is published again at start with the same commands and balance events', async () => {
    await submit({ kind: 'funds', op: 'deposit', agentId: S, asset: ASSET, amount: 20n, transferId: 's-seed' });
    await submit({ kind: 'principal_funds', op: 'deposit', principalId: P, asset: CREDIT, amount: 100_000n, transferId: 'p-dep' });
    const cut = Number((await db.pool.query<{ m: string }>('SELECT max(seq)::text AS m FROM engine_command')).rows[0]?.m);

    for (const a of [X, Y])
      await submit({ kind: 'principal_funds', op: 'to_agent', principalId: P, agentId: a, asset: CREDIT, amount: 10_000n, transferId: `t-${a}` });
    await submit({ kind: 'principal_funds', op: 'from_agent', principalId: P, agentId: Y, asset: CREDIT, amount: 1_000n, transferId: 'back-y' });
    const deadline = Date.now() + 2_000;
    await submit({ kind: 'auction_create', auctionId: 'ra', sellerId: S, asset: ASSET, units: 2n, reservePrice: 10n, feeBps: 10, deadline });
    await submit({ kind: 'auction_bid', auctionId: 'ra', agentId: X, steps: [{ units: 2n, price: 300n }] });
    await submit({ kind: 'auction_bid', auctionId: 'ra', agentId: Y, steps: [{ units: 1n, price: 200n }] });
    await submit({ kind: 'auction_withdraw', auctionId: 'ra', agentId: Y });
    const pool = { kind: 'pool_create', poolId: 'rp', asset: ASSET, mode: 'fixed', price: 50n, supply: 5n } as const;
    await submit({ ...pool, capacityPerEpoch: 0n, minPrice: 0n, maxPrice: 1_000n, epochMs: 0 });
    await submit({ kind: 'pool_buy', poolId: 'rp', agentId: Y, units: 1n, maxPrice: 50n });
    while (Date.now() <= deadline) await new Promise((r) => setTimeout(r, 50));
    await submit({ kind: 'auction_close', auctionId: 'ra' });
    const c = clearMultiUnit({ units: 2n, reservePrice: 10n, bids: [{ bidder: X, steps: [{ units: 2n, price: 300n }] }] });
    if ('code' in c) throw new Error(c.code);
    const clearing: AuctionClearing = {
      mechanism: 'vcg_multi_unit',
      awards: c.awards.filter((w) => w.units > 0n).map((w) => ({ bidder: w.bidder, units: w.units, payment: w.payment })),
      unitsSold: c.unitsSold,
      revenue: c.revenue,
    };
    await submit({ kind: 'auction_settle', auctionId: 'ra', clearing });
    await stopProcess(engine as ChildProcess, 'SIGTERM'); // a clean stop: everything committed is in the stream
    engine = undefined;
    const last = Number((await db.pool.query<{ m: string }>('SELECT max(seq)::text AS m FROM engine_command')).rows[0]?.m);
    const live = (await stream()).flatMap((e) => e.batch.commands);
    expect(live.map((x) => x.seq)).toEqual(Array.from({ length: last }, (_, k) => k + 1));

    // the node "died" after committing everything after `cut` and before publishing it: the stream ends at `cut`
    const raw = (await redis.xrange(keys.events, '-', '+')) as [string, string[]][];
    await redis.del(keys.events);
    for (const [id, fields] of raw) if (Number(id.slice(0, id.indexOf('-'))) <= cut) await redis.xadd(keys.events, id, ...fields);
    expect((await stream()).flatMap((e) => e.batch.commands).map((x) => x.seq)).toEqual(Array.from({ length: cut }, (_, k) => k + 1));

    engine = await startEngineProcess(env());
    await client.status();
    for (let i = 0; (await stream()).at(-1)?.batch.seq !== last; i++) {
      if (i > 100) throw new Error('the engine node did not publish again what the stream lost');
      await new Promise((r) => setTimeout(r, 100));
    }
    const entries = await stream();
    const again = entries.filter((e) => e.batch.seq > cut);
    expect(again.every((e) => e.batch.replayed === true)).toBe(true);
    expect(again.flatMap((e) => e.batch.commands)).toEqual(live.filter((x) => x.seq > cut));
    const balances = again.flatMap((e) => e.batch.commands.flatMap((x) => x.events.filter((v) => v.kind === 'balance')));
    expect(balances.length).toBeGreaterThanOrEqual(10); // transfers, escrow, holds, release, purchase, settlement

    // the stream alone rebuilds the balances the database recovers to
    const replica = new OutletReplica();
    for (const e of entries) replica.apply(e.batch);
    const fresh = new EngineHost(db.pool, undefined, undefined, { snapshotEvery: 0 }); // a reader: writes no snapshot
    await fresh.load();
    try {
      expect(replica.differences(fresh, { agents: [X, Y, S], markets: [MARKET], assets: [CREDIT, ASSET] })).toEqual([]);
    } finally {
      await fresh.stop();
    }
  });
});
