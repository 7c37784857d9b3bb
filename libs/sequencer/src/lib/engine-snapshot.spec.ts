import { mulberry32 } from '@ate/contracts';
import { createTestDatabase, TestDatabase, testServerUrl, withDatabase } from '@ate/db';
import { defineAsset } from '@ate/ledger';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Client, Pool } from 'pg';
import { EngineHost } from './engine-host';
import type { EngineHostOptions, HostCommand, HostResult } from './host-types';
import { testMarketRow } from './market-config';
import { insertMarket } from './sql';

const M1 = 'SA.1K/CREDIT';
const M2 = 'SB.1K/CREDIT';
/** created after the last snapshot, with an asset defined after it too */
const M3 = 'SC.1K/CREDIT';
const AGENTS = ['agt_snap0001', 'agt_snap0002', 'agt_snap0003', 'agt_snap0004', 'agt_snap0005', 'agt_snap0006'];
/** places the GTD order that expires during the run (and nothing else: no random command cancels it) */
const GTD_AGENT = 'agt_snapgtd01';
const ASSETS = ['CREDIT', 'SA.1K', 'SB.1K', 'SC.1K'];
const SNAPSHOT_EVERY = 400;

interface HostInternals {
  orders: Map<number, unknown>;
  expiries: { at: number; marketId: string }[];
  lastOrderId: number;
  seq: number;
  snapshotChain: Promise<void>;
}
/** The state recovery rebuilds (the host's core) and the snapshot writes in flight. */
const internals = (h: EngineHost): HostInternals => {
  const core = h.state!;
  const snapshots = (h as unknown as { snapshots: { written: Promise<void> } }).snapshots;
  return { orders: core.fills, expiries: core.expiries, lastOrderId: core.lastOrderId, seq: core.seq, snapshotChain: snapshots.written };
};

/** Everything recovery rebuilds, as comparable values. */
function stateOf(h: EngineHost) {
  const p = internals(h);
  return {
    markets: h.marketIds().map((id) => {
      const e = h.market(id)!.engine;
      return { id, hash: e.stateHash(), seq: e.sequence, open: e.openOrders, book: h.committedBook(id) };
    }),
    reserved: [...AGENTS, GTD_AGENT].flatMap((a) => ASSETS.map((s) => `${a} ${s} ${h.reserved(a, s)}`)),
    orders: [...p.orders.entries()].sort((x, y) => x[0] - y[0]),
    expiries: [...p.expiries].sort((x, y) => x.at - y.at || x.marketId.localeCompare(y.marketId)),
    lastOrderId: p.lastOrderId,
    seq: p.seq,
  };
}

/** What a command's answer says, without the live order row (the same on both hosts by construction). */
const answer = (r: HostResult) => ({ seq: r.seq, code: r.code, orderId: r.orderId, events: r.events });

/**
 * Snapshots and recovery on real Postgres: a few thousand mixed commands with a small snapshot interval; a fresh
 * host restores the newest snapshot and replays only the tail, and ends exactly where a host that replays the
 * whole log ends (books, balances, reservations, open orders' fills, GTD expiries), and both answer the next
 * commands alike. A snapshot that does not verify is skipped for the one before, then for the whole log.
 */
describe('engine snapshots (real Postgres)', () => {
  jest.setTimeout(60_000);
  let db: TestDatabase;
  let copyName: string | undefined;
  const pools: Pool[] = [];
  const pool = (url: string) => {
    const p = new Pool({ connectionString: url, max: 4 });
    pools.push(p);
    return p;
  };
  const admin = async <T>(f: (c: Client) => Promise<T>): Promise<T> => {
    const c = new Client({ connectionString: testServerUrl() });
    await c.connect();
    try {
      return await f(c);
    } finally {
      await c.end();
    }
  };
  const batchErrors: Error[] = [];
  const host = (p: Pool, opts: EngineHostOptions = {}) => new EngineHost(p, (e) => batchErrors.push(e), undefined, opts);

  beforeAll(async () => {
    db = await createTestDatabase('snapshot');
  });
  afterAll(async () => {
    for (const p of pools) await p.end().catch(() => undefined);
    if (copyName) await admin((c) => c.query(`DROP DATABASE IF EXISTS "${copyName}" WITH (FORCE)`));
    await db?.drop();
  });

  it('restores the newest snapshot, replays only the tail, and equals a full replay; a bad snapshot is skipped', async () => {
    // db.pool stays unused: the database is copied (CREATE DATABASE ... TEMPLATE needs it without sessions)
    let p1 = pool(db.url);
    for (const code of ['SA.1K', 'SB.1K'])
      expect((await defineAsset(p1, { code, scale: 0, model: 'm', provider: 'p', tokenClass: 'out' })).ok).toBe(true);
    const market = (id: string, base: string, fees: [number, number]) =>
      insertMarket(p1, testMarketRow(base, { id, maker_fee_bps: fees[0], taker_fee_bps: fees[1] }));
    await market(M1, 'SA.1K', [10, 20]);
    await market(M2, 'SB.1K', [0, 0]);
    await p1.query(`INSERT INTO agent (id, name) SELECT unnest($1::text[]), 'snap'`, [[...AGENTS, GTD_AGENT]]);

    // --- 1. host A: ~2,600 mixed commands, a snapshot every 400 commands (one write failing), then a clean stop
    const written: { seq: number; bytes: number }[] = [];
    const snapErrors: string[] = [];
    const a = host(p1, {
      snapshotEvery: SNAPSHOT_EVERY,
      onSnapshot: (s) => written.push(s),
      onSnapshotError: (e, phase) => snapErrors.push(`${phase}: ${e.message}`),
    });
    expect(await a.load()).toMatchObject({ commands: 0, fromSnapshot: null });
    const rand = mulberry32(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const resting: { marketId: string; agentId: string; orderId: number }[] = [];
    let n = 0;
    const funds = (agentId: string, asset: string, amount: bigint, op: 'deposit' | 'withdraw' = 'deposit'): HostCommand => ({
      kind: 'funds',
      op,
      agentId,
      asset,
      amount,
      transferId: `snap-${op}-${n++}`,
    });
    const submitAll = async (h: EngineHost, cmds: HostCommand[]) => {
      const rs = await Promise.all(cmds.map((c) => h.submit(c)));
      rs.forEach((r, i) => {
        const c = cmds[i] as HostCommand;
        if (c.kind === 'place' && r.order?.['status'] === 'open')
          resting.push({ marketId: c.marketId, agentId: c.agentId, orderId: r.orderId as number });
      });
      return rs;
    };
    const randomCommand = (): HostCommand => {
      const x = rand();
      const marketId = pick([M1, M2]);
      const agentId = pick(AGENTS);
      const side = rand() < 0.5 ? ('buy' as const) : ('sell' as const);
      const away = 1 + Math.floor(rand() * 30);
      if (x < 0.45) {
        // rests, mostly: away from the middle on its own side
        return {
          kind: 'place',
          marketId,
          agentId,
          order: {
            type: 'limit',
            side,
            price: side === 'buy' ? 1000 - away : 1000 + away,
            lots: 1 + Math.floor(rand() * 20),
            ...(rand() < 0.3 ? { clientOrderId: `c${n++}` } : {}),
          },
        };
      }
      if (x < 0.62) {
        // crosses
        return {
          kind: 'place',
          marketId,
          agentId,
          order: {
            type: 'limit',
            side,
            price: side === 'buy' ? 1000 + away : 1000 - away,
            lots: 1 + Math.floor(rand() * 30),
            tif: rand() < 0.3 ? 'IOC' : 'GTC',
          },
        };
      }
      if (x < 0.67) return { kind: 'place', marketId, agentId, order: { type: 'market', side, lots: 1 + Math.floor(rand() * 10) } };
      if (x < 0.85 && resting.length > 0) {
        const o = resting.splice(Math.floor(rand() * resting.length), 1)[0]!;
        return { kind: 'cancel', marketId: o.marketId, agentId: o.agentId, orderId: o.orderId };
      }
      if (x < 0.9 && resting.length > 0) {
        const o = pick(resting);
        return {
          kind: 'amend',
          marketId: o.marketId,
          agentId: o.agentId,
          orderId: o.orderId,
          price: 1000 + (rand() < 0.5 ? -1 : 1) * (20 + Math.floor(rand() * 20)),
          lots: 1 + Math.floor(rand() * 10),
        };
      }
      if (x < 0.93)
        return {
          kind: 'place',
          marketId,
          agentId,
          order: { type: 'limit', side, price: side === 'buy' ? 900 : 1100, lots: 2, tif: 'GTD', expiresAt: Date.now() + 3_600_000 },
        };
      if (x < 0.95) return { kind: 'cancel_all', agentId, marketId };
      return funds(agentId, pick(['CREDIT', 'SA.1K', 'SB.1K']), BigInt(1 + Math.floor(rand() * 1000)), rand() < 0.5 ? 'deposit' : 'withdraw');
    };

    await submitAll(
      a,
      [...AGENTS, GTD_AGENT].flatMap((ag) => [funds(ag, 'CREDIT', 100_000_000n), funds(ag, 'SA.1K', 1_000_000n), funds(ag, 'SB.1K', 1_000_000n)]),
    );
    // a GTD order that expires on time during the run (the host's timer logs a tick)
    const shortGtd = await a.submit({
      kind: 'place',
      marketId: M2,
      agentId: GTD_AGENT,
      order: { type: 'limit', side: 'sell', price: 1450, lots: 3, tif: 'GTD', expiresAt: Date.now() + 150 },
    });
    expect(shortGtd.order?.['status']).toBe('open');
    let repairedAt = 0;
    for (let round = 0; round < 20; round++) {
      if (round === 6) await p1.query('ALTER TABLE engine_snapshot ADD CONSTRAINT snap_test_refuse CHECK (false) NOT VALID');
      if (round === 10) {
        await internals(a).snapshotChain;
        expect(snapErrors.some((e) => e.startsWith('write: '))).toBe(true); // reported, and no batch failed
        await p1.query('ALTER TABLE engine_snapshot DROP CONSTRAINT snap_test_refuse');
        repairedAt = internals(a).seq;
      }
      await submitAll(a, Array.from({ length: 130 }, randomCommand));
    }
    expect((await p1.query(`SELECT status FROM trading_order WHERE id = $1`, [shortGtd.orderId])).rows[0].status).toBe('expired');
    await a.stop();
    expect(batchErrors).toEqual([]);
    const seqA = internals(a).seq;
    expect(seqA).toBeGreaterThan(2_500);
    expect(written.length).toBeGreaterThanOrEqual(5);
    expect(written.at(-1)?.seq).toBe(seqA); // at stop()
    expect(written.some((w) => w.seq > repairedAt && w.seq <= repairedAt + 130)).toBe(true); // taken again by the next batch
    const kept = (await p1.query<{ seq: string }>('SELECT command_seq AS seq FROM engine_snapshot ORDER BY command_seq')).rows.map((r) =>
      Number(r.seq),
    );
    expect(kept).toEqual(written.slice(-2).map((w) => w.seq)); // the last two
    const openA = a.marketIds().reduce((s, id) => s + a.market(id)!.engine.openOrders, 0);
    expect(openA).toBeGreaterThan(200);

    // --- 2. host B: starts from A's last snapshot (nothing to replay), runs a tail of ~400 commands, writes no snapshot
    const b = host(p1, { snapshotEvery: 0 });
    const lb = await b.load();
    expect(lb).toMatchObject({ commands: 0, fromSnapshot: seqA, snapshotsRejected: 0, checkpointsVerified: 2 });
    // (a live host also keeps the expiry times of GTD orders that ended since; a recovered one only those resting)
    expect({ ...stateOf(b), expiries: null }).toEqual({ ...stateOf(a), expiries: null });
    for (let round = 0; round < 3; round++) await submitAll(b, Array.from({ length: 130 }, randomCommand));
    await b.stop();
    const seqB = internals(b).seq;
    expect(seqB - seqA).toBeGreaterThan(350);

    // an asset and a market defined after the last snapshot (the snapshot's balance view has one asset fewer)
    expect((await defineAsset(p1, { code: 'SC.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' })).ok).toBe(true);
    await market(M3, 'SC.1K', [5, 5]);

    // --- 3. a copy of the database, so a host that replays the whole log can be compared command for command
    await p1.end();
    pools.splice(pools.indexOf(p1), 1);
    copyName = `${db.name}_full`;
    await admin((c) => c.query(`CREATE DATABASE "${copyName}" TEMPLATE "${db.name}"`));
    p1 = pool(db.url);
    const p2 = pool(withDatabase(testServerUrl(), copyName!));

    const s = host(p1, { snapshotEvery: SNAPSHOT_EVERY });
    const ls = await s.load();
    const f = host(p2, { restoreSnapshots: false, snapshotEvery: 0 });
    const lf = await f.load();
    expect(ls).toMatchObject({ commands: seqB - seqA, fromSnapshot: seqA, snapshotsRejected: 0 });
    expect(ls.checkpointsVerified).toBeGreaterThanOrEqual(2); // at the snapshot (A's stop) and at B's stop
    expect(lf).toMatchObject({ commands: seqB, fromSnapshot: null });
    expect(stateOf(s)).toEqual(stateOf(f));
    expect(stateOf(s).markets.map((m) => m.id)).toEqual([M1, M2, M3]);
    expect(stateOf(s).expiries.length).toBeGreaterThan(0);

    // trading continues identically: the same commands give the same answers
    const next: HostCommand[] = [
      { kind: 'place', marketId: M1, agentId: AGENTS[1]!, order: { type: 'limit', side: 'buy', price: 1040, lots: 200 } },
      { kind: 'place', marketId: M2, agentId: AGENTS[2]!, order: { type: 'market', side: 'sell', lots: 150 } },
      funds(AGENTS[3]!, 'SC.1K', 500n),
      { kind: 'place', marketId: M3, agentId: AGENTS[3]!, order: { type: 'limit', side: 'sell', price: 1000, lots: 40 } },
      { kind: 'place', marketId: M3, agentId: AGENTS[4]!, order: { type: 'limit', side: 'buy', price: 1001, lots: 25 } },
      { kind: 'cancel_all', agentId: AGENTS[5]! },
    ];
    for (const c of next) {
      const [rs, rf] = [await s.submit(c), await f.submit(c)];
      expect(answer(rs)).toEqual(answer(rf));
      expect(rs.code).toBeNull();
    }
    expect(stateOf(s).markets.some((m) => m.id === M3 && m.seq > 0)).toBe(true);
    expect(stateOf(s)).toEqual(stateOf(f));
    await s.stop(); // its own snapshot at the end
    await f.stop();
    const seqS = internals(s).seq;
    const recovery = { fromSnapshot: ls.ms, full: lf.ms, tail: ls.commands, log: lf.commands };

    // --- 4. a snapshot that does not verify is skipped: the one before, then the whole log
    const snaps = (await p1.query<{ seq: string }>('SELECT command_seq AS seq FROM engine_snapshot ORDER BY command_seq DESC')).rows.map((r) =>
      Number(r.seq),
    );
    expect(snaps).toEqual([seqS, seqA]);
    const restoreErrors: string[] = [];
    const verifier = () => host(p1, { snapshotEvery: 0, onSnapshotError: (e, phase) => restoreErrors.push(`${phase}: ${e.message}`) });
    const h0 = verifier();
    expect(await h0.load()).toMatchObject({ fromSnapshot: seqS, commands: 0 });
    const reference = stateOf(h0);
    expect({ ...reference, expiries: null }).toEqual({ ...stateOf(s), expiries: null });

    // the newest one's stored hash tampered
    await p1.query(`UPDATE engine_snapshot SET state_hashes = jsonb_set(state_hashes, '{${M1}}', '"0000000000000000"') WHERE command_seq = $1`, [
      seqS,
    ]);
    const h1 = verifier();
    expect(await h1.load()).toMatchObject({ fromSnapshot: seqA, commands: seqS - seqA, snapshotsRejected: 1 });
    expect(restoreErrors).toEqual([
      expect.stringMatching(new RegExp(`^restore: snapshot of command ${seqS} not used: market SA.1K/CREDIT restores to state hash`)),
    ]);
    expect(stateOf(h1)).toEqual(reference);

    // and the one before it: an order's size changed in its data (still a well-formed document)
    const prev = (await p1.query<{ state: Buffer }>('SELECT state FROM engine_snapshot WHERE command_seq = $1', [seqA])).rows[0]!.state;
    const doc = JSON.parse(gunzipSync(prev).toString('utf8'));
    doc.markets[0].lots[0] += 1;
    await p1.query('UPDATE engine_snapshot SET state = $2 WHERE command_seq = $1', [seqA, gzipSync(JSON.stringify(doc))]);
    const h2 = verifier();
    expect(await h2.load()).toMatchObject({ fromSnapshot: null, commands: seqS, snapshotsRejected: 2 });
    expect(stateOf(h2)).toEqual(reference);

    // garbage that does not even decompress is skipped the same way; the previous one (repaired) is used
    await p1.query(`UPDATE engine_snapshot SET state = '\\x0102'::bytea WHERE command_seq = $1`, [seqS]);
    await p1.query('UPDATE engine_snapshot SET state = $2 WHERE command_seq = $1', [seqA, prev]);
    restoreErrors.length = 0;
    const h3 = host(p1, { snapshotEvery: SNAPSHOT_EVERY, onSnapshotError: (e, phase) => restoreErrors.push(`${phase}: ${e.message}`) });
    expect(await h3.load()).toMatchObject({ fromSnapshot: seqA, commands: seqS - seqA, snapshotsRejected: 1 });
    expect(restoreErrors).toEqual([expect.stringMatching(/^restore: snapshot of command \d+ not used: /)]);
    expect(stateOf(h3)).toEqual(reference);
    // a host that skipped a snapshot writes a good one at once: the next start uses it
    await h3.stop();
    const h4 = verifier();
    expect(await h4.load()).toMatchObject({ fromSnapshot: seqS, commands: 0, snapshotsRejected: 0 });
    expect(stateOf(h4)).toEqual(reference);
    expect(batchErrors).toEqual([]);

    const last = written.at(-1)!;
    // for the record (the README quotes these): recovery times and the snapshot's size per resting order
    console.log(
      `snapshot recovery: tail ${recovery.tail} commands in ${recovery.fromSnapshot} ms; full replay ${recovery.log} commands in ${recovery.full} ms; ` +
        `last snapshot of host A ${last.bytes} bytes for ${openA} resting orders (${(last.bytes / openA).toFixed(1)} B/order)`,
    );
  });
});
