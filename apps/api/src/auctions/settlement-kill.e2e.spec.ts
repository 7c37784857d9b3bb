import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { freePort, startApiProcess, testApiEnv, untilReady } from '../testing/api-process';
import { startEngineProcess, stopProcess } from '../testing/engine-process';
import { dropRedisKeys, TEST_REDIS_URL as REDIS_URL, testRedisPrefix } from '../testing/redis';
import { TEST_ADMIN } from '../testing/test-app';

const ASSET = 'KIL.1K';
/** Auctions closing at the same deadline: their settlement jobs run side by side when the worker is killed. */
const AUCTIONS = 12;
const BIDDERS = 3;
const LIMITS = { RATE_LIMIT_PER_KEY: '1000000', RATE_LIMIT_PER_ADDRESS: '1000000', ORDER_RATE_PER_AGENT: '1000000' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Exactly-once settlement: auctions close at once, their BullMQ settlement jobs run, and the process running the
 * worker is SIGKILLed mid-way. Mid-way by construction, not by timing: the test holds a row lock on the last
 * auction, so the sequencer's commit that clears it waits (and the commands behind it with it); the kill comes once
 * that commit is seen waiting, and the lock is let go after the kill. Started again, the process takes up what was
 * left (stalled jobs come back; every auction not settled is scheduled again at start); each auction must be
 * settled exactly once (one clear and one settle command in the log), the ledger and the engine reconcile, and every
 * winner holds what its auction's results say.
 */
describe('settlement survives a SIGKILL of the worker mid-way (real processes, Postgres, Redis, BullMQ)', () => {
  jest.setTimeout(180_000);
  let db: TestDatabase;
  let port: number;
  let processes: ChildProcess[] = [];
  const master = randomBytes(32).toString('base64');

  beforeEach(async () => {
    db = await createTestDatabase('auction_kill');
    port = await freePort();
  });
  afterEach(async () => {
    await Promise.all(processes.map((p) => stopProcess(p, 'SIGKILL')));
    processes = [];
    await db?.drop();
  });

  async function scenario(start: () => Promise<ChildProcess>, kill: () => Promise<void>): Promise<void> {
    const url = `http://127.0.0.1:${port}`;
    await start();
    const admin = new AteClient({ baseUrl: url, ...TEST_ADMIN });
    await admin.defineAsset({ code: ASSET, scale: 0, model: 'm', provider: 'p', tokenClass: 'out' });
    const bidders: { id: string; keys: { keyId: string; secret: string } }[] = [];
    for (let i = 0; i < BIDDERS; i++) {
      const a = await admin.createAgent({ name: `kill-${i}` });
      await admin.deposit({ id: `kill-${i}-c`, agentId: a.id, asset: 'CREDIT', amount: '100000' });
      bidders.push({ id: a.id, keys: a.apiKey! });
    }
    const deadline = Date.now() + 4000 + AUCTIONS * BIDDERS * 60;
    const ids: string[] = [];
    for (let k = 0; k < AUCTIONS; k++) {
      const id = `kill-${String(k).padStart(2, '0')}`;
      const a = await admin.post<{ id: string }>('/v1/admin/auctions', { id, asset: ASSET, units: '3', reservePrice: '1', deadline });
      ids.push(a.id);
      for (let i = 0; i < BIDDERS; i++) {
        const c = new AteClient({ baseUrl: url, ...bidders[i]!.keys });
        await c.post(`/v1/auctions/${a.id}/bids`, { steps: [{ units: String(1 + ((i + k) % 3)), price: String(10 - i - (k % 4)) }] });
      }
    }
    const settled = async () =>
      (await db.pool.query<{ id: string }>(`SELECT id FROM auction WHERE status = 'settled' ORDER BY id`)).rows.map((r) => r.id);
    // the last auction is held back: its clearing commit waits on this lock until after the kill
    const held = ids[ids.length - 1]!;
    const lock = await db.pool.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('SELECT id FROM auction WHERE id = $1 FOR UPDATE', [held]);
      const pid = (await lock.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const waiting = async () =>
        (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [pid])).rows[0]!
          .n > 0;
      for (let i = 0; !(await waiting()); i++) {
        if (i > 3000) throw new Error(`the clearing of ${held} never reached the sequencer (settled: ${(await settled()).join(', ')})`);
        await sleep(10);
      }
      await kill();
      // the kill caught settlement mid-way: the held auction (and whatever was behind it) is left to the restart
      expect(await settled()).not.toContain(held);
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      lock.release();
    }
    await start();
    for (let i = 0; (await settled()).length < AUCTIONS; i++) {
      if (i > 1200) throw new Error(`only ${(await settled()).length} of ${AUCTIONS} auctions settled after the restart`);
      await sleep(100);
    }
    // exactly once: one clearing and one settlement command per auction in the log, however often its job ran
    const settles = await db.pool.query<{ id: string; op: string; n: number }>(
      `SELECT command->'op'->>'id' AS id, command->'op'->>'op' AS op, count(*)::int AS n FROM engine_command
        WHERE command->>'t' = 'a' AND command->'op'->>'op' IN ('clear', 'settle', 'settle_cleared') GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(settles.rows).toEqual(
      [...ids].sort().flatMap((id) => [
        { id, op: 'clear', n: 1 },
        { id, op: 'settle_cleared', n: 1 },
      ]),
    );
    expect((await admin.reconciliation()).ok).toBe(true);
    // every winner holds the units its results say (venue auctions: minted to the winners)
    const won = new Map<string, bigint>();
    for (const id of ids) {
      const r = await new AteClient({ baseUrl: url, ...bidders[0]!.keys }).get<{ allocation: { agentId: string; units: string }[] }>(
        `/v1/auctions/${id}/results`,
      );
      for (const w of r.allocation) won.set(w.agentId, (won.get(w.agentId) ?? 0n) + BigInt(w.units));
    }
    for (const b of bidders) {
      const bal = await new AteClient({ baseUrl: url, ...b.keys }).balances();
      expect([b.id, bal.balances[ASSET]?.total ?? '0']).toEqual([b.id, String(won.get(b.id) ?? 0n)]);
      expect([b.id, bal.balances['CREDIT']?.used]).toEqual([b.id, '0.000']);
    }
  }

  it('the api process with its in-process engine and the BullMQ worker, killed', async () => {
    const REDIS_PREFIX = testRedisPrefix('akill');
    let api: ChildProcess | undefined;
    try {
      await scenario(
        async () => {
          api = await startApiProcess(
            testApiEnv({ databaseUrl: db.url, port, masterKey: master }, { REDIS_URL, REDIS_PREFIX, RECONCILE_EVERY_MS: '0', ...LIMITS }),
          );
          processes.push(api);
          return api;
        },
        () => stopProcess(api!, 'SIGKILL'),
      );
    } finally {
      await dropRedisKeys(REDIS_PREFIX);
    }
  });

  it('ENGINE_MODE=redis: the api process running the worker killed, the engine node carrying on', async () => {
    const REDIS_PREFIX = testRedisPrefix('akillr');
    const url = `http://127.0.0.1:${port}`;
    let api: ChildProcess | undefined;
    try {
      const engine = await startEngineProcess({
        DATABASE_URL: db.url,
        REDIS_URL,
        REDIS_PREFIX,
        ENGINE_NODE_ID: 'akill-1',
        ENGINE_HEARTBEAT_MS: '250',
        LOG_LEVEL: 'warn',
      });
      processes.push(engine);
      await scenario(
        async () => {
          api = await startApiProcess(
            testApiEnv(
              { databaseUrl: db.url, port, masterKey: master },
              { ENGINE_MODE: 'redis', REDIS_URL, REDIS_PREFIX, RECONCILE_EVERY_MS: '0', ...LIMITS },
            ),
          );
          processes.push(api);
          await untilReady(url, 'the api did not see the engine node');
          return api;
        },
        () => stopProcess(api!, 'SIGKILL'),
      );
    } finally {
      await dropRedisKeys(REDIS_PREFIX);
    }
  });
});
