import { createTestDatabase, TestDatabase } from '@ate/db';
import { defineAsset } from '@ate/ledger';
import { EngineHost } from './engine-host';
import { testMarketRow } from './market-config';
import { insertMarket } from './sql';

const M = 'PL.1K/CREDIT';
const AGENTS = ['agt_pipe0001', 'agt_pipe0002'];

/**
 * The sequencer's batch pipeline on real Postgres, driven the way an in-process caller drives it: a closed loop
 * that submits the next command as soon as the previous one is answered (the dead-man's switch, the Redis
 * server's reader, a bot on the same node). Every command must be picked up, whatever moment it arrives at.
 */
describe('engine host pipeline (real Postgres)', () => {
  jest.setTimeout(60_000);
  let db: TestDatabase;
  let host: EngineHost;

  beforeAll(async () => {
    db = await createTestDatabase('pipeline');
    expect((await defineAsset(db.pool, { code: 'PL.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' })).ok).toBe(true);
    expect(await insertMarket(db.pool, testMarketRow('PL.1K'))).toBe(true);
    await db.pool.query(`INSERT INTO agent (id, name) SELECT unnest($1::text[]), 'pipe'`, [AGENTS]);
    host = new EngineHost(db.pool);
    await host.load();
    for (const [i, agentId] of AGENTS.entries()) {
      for (const asset of ['CREDIT', 'PL.1K']) {
        expect(
          await host.submit({ kind: 'funds', op: 'deposit', agentId, asset, amount: 10_000_000n, transferId: `pipe-${i}-${asset}` }),
        ).toMatchObject({ code: null });
      }
    }
  });
  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  /** A command's answer, or a failure naming the command that was never picked up. */
  const answered = <T>(p: Promise<T>, what: string): Promise<T> =>
    Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} was never answered`)), 15_000).unref())]);

  it('a closed loop of 300 commands: each is answered, in sequence order', async () => {
    const seqs: number[] = [];
    for (let i = 0; i < 300; i++) {
      const agentId = AGENTS[i % 2] as string;
      const r = await answered(
        host.submit({
          kind: 'place',
          marketId: M,
          agentId,
          order: { type: 'limit', side: i % 2 ? 'sell' : 'buy', price: 1000, lots: 1, tif: i % 4 < 2 ? 'GTC' : 'IOC' },
        }),
        `command ${i}`,
      );
      expect(r.code).toBeNull();
      seqs.push(Number(r.seq));
    }
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('a command queued while the pipeline waits for its last batch is picked up when that batch is done', async () => {
    // hold the next batch after it has run (and committed) but before it is answered: the drain loop has
    // found the queue empty and waits for that batch alone
    type RunBatch = (...args: unknown[]) => Promise<unknown>;
    const h = host as unknown as { runBatch: RunBatch };
    const original = h.runBatch.bind(host);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let held = false;
    h.runBatch = async (...args: unknown[]) => {
      const results = await original(...args);
      if (!held) {
        held = true;
        await gate;
      }
      return results;
    };
    try {
      const order = { type: 'limit' as const, side: 'buy' as const, price: 900, lots: 1 };
      const first = host.submit({ kind: 'place', marketId: M, agentId: AGENTS[0] as string, order });
      while (!held) await new Promise((r) => setTimeout(r, 5));
      const late = host.submit({ kind: 'place', marketId: M, agentId: AGENTS[1] as string, order });
      await new Promise((r) => setTimeout(r, 20)); // queued meanwhile
      release();
      expect((await answered(first, 'the held command')).code).toBeNull();
      expect((await answered(late, 'the command queued meanwhile')).code).toBeNull();
    } finally {
      h.runBatch = original;
    }
  });

  it('after a failed batch, a rebuild that fails too (the database still away) is retried until it succeeds', async () => {
    type Fn = (...args: unknown[]) => Promise<unknown>;
    const h = host as unknown as { runBatch: Fn; load: Fn };
    const runBatch = h.runBatch.bind(host);
    const load = h.load.bind(host);
    let loads = 0;
    h.runBatch = async () => {
      throw new Error('connection lost'); // the batch's transaction never commits
    };
    h.load = async () => {
      if (++loads === 1) throw new Error('database still away');
      return load();
    };
    try {
      const order = { type: 'limit' as const, side: 'buy' as const, price: 900, lots: 1 };
      await expect(host.submit({ kind: 'place', marketId: M, agentId: AGENTS[0] as string, order })).rejects.toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
      });
      h.runBatch = runBatch;
      const t0 = Date.now();
      while (!host.attached && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 20));
      expect(host.attached).toBe(true);
      expect(loads).toBe(2);
      expect(
        (await answered(host.submit({ kind: 'place', marketId: M, agentId: AGENTS[0] as string, order }), 'the command after recovery')).code,
      ).toBeNull();
    } finally {
      h.runBatch = runBatch;
      h.load = load;
    }
  });

  it('rounds of commands, each round sent the moment the previous one is answered', async () => {
    for (let round = 0; round < 100; round++) {
      const rs = await answered(
        Promise.all(
          Array.from({ length: 1 + (round % 7) }, (_, i) =>
            host.submit({
              kind: 'place',
              marketId: M,
              agentId: AGENTS[(round + i) % 2] as string,
              order: { type: 'limit', side: (round + i) % 2 ? 'sell' : 'buy', price: 1000, lots: 1, tif: 'IOC' },
            }),
          ),
        ),
        `round ${round}`,
      );
      for (const r of rs) expect(r.code).toBeNull();
    }
  });

  it('several closed loops at once share batches and all finish', async () => {
    const loop = async (k: number) => {
      for (let i = 0; i < 100; i++) {
        // callers arrive at every moment of the pipeline: right away, after a turn, or a little later
        if (i % 3 === 1) await new Promise((r) => setImmediate(r));
        else if (i % 3 === 2) await new Promise((r) => setTimeout(r, (k + i) % 3));
        const r = await answered(
          host.submit({
            kind: 'place',
            marketId: M,
            agentId: AGENTS[k % 2] as string,
            order: { type: 'limit', side: k % 2 ? 'sell' : 'buy', price: k % 2 ? 1100 : 900, lots: 1 },
          }),
          `loop ${k} command ${i}`,
        );
        expect(r.code).toBeNull();
      }
    };
    await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(loop));
    expect(await host.agreement()).toMatchObject({ ok: true, violations: [] });
  });
});
