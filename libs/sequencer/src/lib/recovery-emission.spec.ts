import { CREDIT } from '@ate/contracts';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { defineAsset } from '@ate/ledger';
import { clearMultiUnit } from '@ate/mechanisms';
import type { AuctionClearing } from './auctions';
import { EngineHost } from './engine-host';
import type { HostCommand, HostResult } from './host-types';
import { testMarketRow } from './market-config';
import type { CommittedCommand } from './outlet';
import { OutletReplica } from './outlet-replica';
import { insertMarket } from './sql';

const ASSET = 'RE.1K';
const MARKET = `${ASSET}/CREDIT`;
const P = 'prn_reemit0001';
const [X, Y, Z, S] = ['agt_reemitx001', 'agt_reemity001', 'agt_reemitz001', 'agt_reemits001'];
const world = { agents: [X, Y, Z, S], markets: [MARKET], assets: [CREDIT, ASSET] };

/**
 * Recovery's re-emission (`load({ emitAfter })`: what committed after a seq, emitted again for a subscriber that
 * missed it when the engine died between COMMIT and publishing) on real Postgres: after a run of principals'
 * transfers and auction commands (bid holds, a withdrawal, a cancellation's releases, a settlement, a posted-price
 * purchase) mixed with trading, a subscriber sees from the recovery exactly what it saw live: every command once,
 * each with the same balance events, so a replica fed the live events up to the crash and the re-emitted ones after
 * it holds what the engine holds.
 */
describe('recovery re-emits the balance events of principal transfers and auction commands (real Postgres)', () => {
  jest.setTimeout(60_000);
  let db: TestDatabase;
  let host: EngineHost;
  const live: CommittedCommand[] = [];

  const submit = async (cmd: HostCommand): Promise<HostResult> => {
    const r = await host.submit(cmd);
    expect({ kind: cmd.kind, code: r.code }).toEqual({ kind: cmd.kind, code: null });
    return r;
  };
  const toAgent = (agentId: string, amount: bigint, id: string, op: 'to_agent' | 'from_agent' = 'to_agent'): HostCommand => ({
    kind: 'principal_funds',
    op,
    principalId: P,
    agentId,
    asset: CREDIT,
    amount,
    transferId: id,
  });

  beforeAll(async () => {
    db = await createTestDatabase('recovery_emission');
    expect((await defineAsset(db.pool, { code: ASSET, scale: 0, model: 'm', provider: 'p', tokenClass: 'out' })).ok).toBe(true);
    expect(await insertMarket(db.pool, testMarketRow(ASSET))).toBe(true);
    await db.pool.query(`INSERT INTO principal (id, name) VALUES ($1, 'p')`, [P]);
    await db.pool.query(`INSERT INTO agent (id, name, principal_id) SELECT unnest($1::text[]), 're', $2`, [[X, Y, Z], P]);
    await db.pool.query(`INSERT INTO agent (id, name) VALUES ($1, 'seller')`, [S]);
    host = new EngineHost(db.pool);
    await host.load();
    host.subscribe((b) => live.push(...b.commands));
  });
  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it('a subscriber sees after recovery the same commands and balance events it saw live', async () => {
    await submit({ kind: 'funds', op: 'deposit', agentId: S, asset: ASSET, amount: 50n, transferId: 's-seed' });
    await submit({ kind: 'funds', op: 'deposit', agentId: S, asset: CREDIT, amount: 10_000n, transferId: 's-seed-c' });
    const crash = host.state!.seq; // what a subscriber got before the engine died; everything after is re-emitted

    const seqs: Record<string, string> = {};
    const step = async (name: string, cmd: HostCommand) => (seqs[name] = (await submit(cmd)).seq as string);
    // a principal funds its agents (and takes some back), partly in one batch
    await step('principal deposit', {
      kind: 'principal_funds',
      op: 'deposit',
      principalId: P,
      asset: CREDIT,
      amount: 1_000_000n,
      transferId: 'p-dep',
    });
    await Promise.all([submit(toAgent(X, 100_000n, 'x')), submit(toAgent(Y, 100_000n, 'y')), submit(toAgent(Z, 100_000n, 'z'))]);
    await step('from agent', toAgent(Z, 5_000n, 'z-back', 'from_agent'));
    // a seller's auction: escrow, three bids held, one withdrawn
    const deadline = Date.now() + 3_000;
    await step('auction create', {
      kind: 'auction_create',
      auctionId: 'a1',
      sellerId: S,
      asset: ASSET,
      units: 3n,
      reservePrice: 100n,
      feeBps: 10,
      deadline,
    });
    const bids = [
      { agentId: X, steps: [{ units: 2n, price: 700n }] },
      { agentId: Y, steps: [{ units: 2n, price: 400n }] },
      {
        agentId: Z,
        steps: [
          { units: 1n, price: 500n },
          { units: 1n, price: 300n },
        ],
      },
    ];
    for (const b of bids) await step(`bid ${b.agentId}`, { kind: 'auction_bid', auctionId: 'a1', ...b });
    await step('withdraw', { kind: 'auction_withdraw', auctionId: 'a1', agentId: Y });
    // a venue's auction, one bid, cancelled: the hold is released
    await step('venue auction', {
      kind: 'auction_create',
      auctionId: 'a2',
      sellerId: null,
      asset: ASSET,
      units: 5n,
      reservePrice: 0n,
      feeBps: 0,
      deadline: Date.now() + 60_000,
    });
    await step('venue bid', { kind: 'auction_bid', auctionId: 'a2', agentId: Y, steps: [{ units: 1n, price: 50n }] });
    await step('cancel', { kind: 'auction_cancel', auctionId: 'a2' });
    // a posted-price pool and a purchase
    await step('pool', {
      kind: 'pool_create',
      poolId: 'p1',
      asset: ASSET,
      mode: 'fixed',
      price: 60n,
      supply: 10n,
      capacityPerEpoch: 0n,
      minPrice: 0n,
      maxPrice: 1_000n,
      epochMs: 0,
    });
    await step('purchase', { kind: 'pool_buy', poolId: 'p1', agentId: X, units: 2n, maxPrice: 60n });
    // trading and a budget command (which moves no balance) in between
    await submit({ kind: 'place', marketId: MARKET, agentId: S, order: { type: 'limit', side: 'sell', price: 1000, lots: 2, tif: 'GTC' } });
    await submit({ kind: 'place', marketId: MARKET, agentId: Z, order: { type: 'limit', side: 'buy', price: 1000, lots: 1, tif: 'IOC' } });
    await step('freeze', { kind: 'budget', op: { op: 'freeze', agentIds: [Y], frozen: true, cancelOrders: true } });
    // the deadline passes: closed, cleared from the sealed bids as libs/mechanisms does, settled in one command
    while (Date.now() <= deadline) await new Promise((r) => setTimeout(r, 50));
    await step('close', { kind: 'auction_close', auctionId: 'a1' });
    const c = clearMultiUnit({ units: 3n, reservePrice: 100n, bids: [bids[0]!, bids[2]!].map((b) => ({ bidder: b.agentId, steps: b.steps })) });
    if ('code' in c) throw new Error(c.code);
    const clearing: AuctionClearing = {
      mechanism: 'vcg_multi_unit',
      awards: c.awards.filter((w) => w.units > 0n).map((w) => ({ bidder: w.bidder, units: w.units, payment: w.payment })),
      unitsSold: c.unitsSold,
      revenue: c.revenue,
    };
    await step('settle', { kind: 'auction_settle', auctionId: 'a1', clearing });
    await host.flush();

    const after = live.filter((x) => x.seq > crash);
    const fresh = new EngineHost(db.pool, undefined, undefined, { snapshotEvery: 0 }); // a reader: writes no snapshot
    const again: CommittedCommand[] = [];
    fresh.subscribe((b) => {
      expect(b.replayed).toBe(true);
      again.push(...b.commands);
    });
    await fresh.load({ emitAfter: crash });
    try {
      // every command once, in order, with what it emitted live
      expect(again.map((x) => x.seq)).toEqual(Array.from({ length: host.state!.seq - crash }, (_, k) => crash + 1 + k));
      expect(again).toEqual(after);

      // what the comparison covers: each of these commands moved balances, and says so (agent, asset) again
      const touched = (name: string) =>
        (again.find((x) => String(x.seq) === seqs[name])?.events ?? []).flatMap((e) => (e.kind === 'balance' ? [`${e.agentId} ${e.asset}`] : []));
      expect(
        Object.fromEntries(
          ['principal deposit', 'from agent', 'auction create', `bid ${X}`, 'withdraw', 'cancel', 'purchase', 'freeze', 'close', 'settle'].map(
            (n) => [n, touched(n)],
          ),
        ),
      ).toEqual({
        'principal deposit': [], // the principal's own account is not an agent balance
        'from agent': [`${Z} CREDIT`],
        'auction create': [`${S} ${ASSET}`],
        [`bid ${X}`]: [`${X} CREDIT`],
        withdraw: [`${Y} CREDIT`],
        cancel: [`${Y} CREDIT`],
        purchase: [`${X} CREDIT`, `${X} ${ASSET}`],
        freeze: [],
        close: [],
        settle: expect.arrayContaining([`${X} CREDIT`, `${Z} CREDIT`, `${X} ${ASSET}`, `${Z} ${ASSET}`, `${S} ${ASSET}`, `${S} CREDIT`]),
      });

      // a replica fed the live events up to the crash and the re-emitted ones after it holds what both hosts hold
      const replica = new OutletReplica();
      for (const x of [...live.filter((l) => l.seq <= crash), ...again]) replica.apply({ seq: x.seq, commands: [x] });
      expect(replica.differences(fresh, world)).toEqual([]);
      expect(replica.differences(host, world)).toEqual([]);
      expect(replica.balances.get(`${Z} CREDIT`)?.total).toBe(host.holdings(Z, CREDIT).total);
    } finally {
      await fresh.stop();
    }
  });
});
