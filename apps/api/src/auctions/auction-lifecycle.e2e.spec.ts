import {
  AUCTION_ASSET as ASSET,
  auctionWorld,
  AuctionWorld,
  balanceOf as bal,
  refusal,
  restartWorld,
  sleep,
  waitFor,
} from '../testing/auction-world';
import { dropRedisKeys, TEST_REDIS_URL, testRedisPrefix } from '../testing/redis';
import { AuctionsService } from './auctions.service';

type Purchase = {
  poolId: string;
  seq: string;
  units: string;
  cost: string;
  clientPurchaseId: string | null;
  maxPrice: string | null;
  replayed: boolean;
};
type Bid = { agentId: string; hold: string; status: string; seq: string; clientBidId: string | null; replayed?: boolean; payment: string | null };
type AuctionView = { id: string; status: string; closedSeq: string | null; clearedSeq: string | null; settledSeq: string | null };

/** Counts of an auction's logged commands by op (the log is the truth: what was done, and how often). */
async function opsOf(w: AuctionWorld, id: string): Promise<Record<string, number>> {
  const r = await w.db.pool.query<{ op: string; n: number }>(
    `SELECT command->'op'->>'op' AS op, count(*)::int AS n FROM engine_command WHERE command->>'t' = 'a' AND command->'op'->>'id' = $1 GROUP BY 1`,
    [id],
  );
  return Object.fromEntries(r.rows.map((x) => [x.op, x.n]));
}

/**
 * What the auction service promises beyond a run to settlement: client ids that make a retried purchase or bid safe
 * (concurrently, and across a restart), the cleared state between the clearing and the settlement, and reserve
 * prices on combinatorial auctions. Signed REST, the sequencer, real Postgres, Redis and BullMQ.
 */
describe('auctions: client ids, the cleared state, combinatorial reserves (real Postgres, Redis, BullMQ, HTTP)', () => {
  const REDIS_PREFIX = testRedisPrefix('auclife');
  const env = { REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX };
  let w: AuctionWorld;
  const c = (n: string) => w.agents[n]!.c;
  const id = (n: string) => w.agents[n]!.id;

  beforeAll(async () => {
    w = await auctionWorld('auction_life', env, ['seller', 'ann', 'ben', 'cat', 'dan']);
    await w.admin.deposit({ id: 'l-s', agentId: id('seller'), asset: ASSET, amount: '100' });
    for (const n of ['ann', 'ben', 'cat', 'dan']) await w.admin.deposit({ id: `l-${n}`, agentId: id(n), asset: 'CREDIT', amount: '1000' });
  });
  afterAll(async () => {
    await w?.app.close();
    await w?.db.drop();
    await dropRedisKeys(REDIS_PREFIX);
  });

  it('a purchase with a clientPurchaseId buys once: the same request twice at once, and again after a restart', async () => {
    await w.admin.post('/v1/admin/pools', { id: 'idem-fixed', asset: ASSET, mode: 'fixed', price: '2', supply: '100' });
    const body = { units: '3', maxPrice: '2.500', clientPurchaseId: 'buy-1' };
    // two signed requests with the same body, in flight together (a client retrying before the first answer came)
    const [p1, p2] = await Promise.all([
      c('ann').post<Purchase>('/v1/pools/idem-fixed/purchases', body),
      c('ann').post<Purchase>('/v1/pools/idem-fixed/purchases', body),
    ]);
    expect([p1.seq, p1.units, p1.cost, p1.clientPurchaseId, p1.maxPrice]).toEqual([p2.seq, '3', '6.000', 'buy-1', '2.500']);
    expect([p1.replayed, p2.replayed].sort()).toEqual([false, true]);
    expect(await bal(c('ann'), 'CREDIT')).toMatchObject({ total: '994.000' });
    expect(await bal(c('ann'), ASSET)).toMatchObject({ total: '3' });

    // a different body under the same id is a conflict (stable code), and buys nothing
    const conflicts: [string, unknown, string][] = [
      ['other units', { ...body, units: '4' }, 'idem-fixed'],
      ['another max price', { ...body, maxPrice: '3' }, 'idem-fixed'],
      ['another pool', body, 'idem-fixed-2'],
    ];
    await w.admin.post('/v1/admin/pools', { id: 'idem-fixed-2', asset: ASSET, mode: 'fixed', price: '2', supply: '100' });
    const got = [];
    for (const [name, b, pool] of conflicts) got.push([name, await refusal(c('ann').post(`/v1/pools/${pool}/purchases`, b))]);
    expect(got).toEqual(conflicts.map(([name]) => [name, { status: 409, code: 'AUCTION_CLIENT_ID_CONFLICT' }]));
    // another agent may use the same id: ids are per agent
    expect((await c('ben').post<Purchase>('/v1/pools/idem-fixed/purchases', body)).replayed).toBe(false);
    expect(await refusal(c('ann').post('/v1/pools/idem-fixed/purchases', { ...body, clientPurchaseId: 'bad id!' }))).toEqual({
      status: 400,
      code: 'VALIDATION_FAILED',
    });

    // a restart: the in-memory ids are gone, the committed purchase is in the database; the retry buys nothing
    await restartWorld(w, env);
    const p3 = await c('ann').post<Purchase>('/v1/pools/idem-fixed/purchases', body);
    expect([p3.seq, p3.cost, p3.replayed]).toEqual([p1.seq, '6.000', true]);
    expect(await bal(c('ann'), 'CREDIT')).toMatchObject({ total: '994.000' });
    expect((await c('ann').get<{ sold: string }>('/v1/pools/idem-fixed')).sold).toBe('6'); // ann's 3 and ben's 3
    const rows = await w.db.pool.query(`SELECT count(*)::int AS n FROM price_pool_purchase WHERE agent_id = $1`, [id('ann')]);
    expect(rows.rows[0].n).toBe(1);
    // without a client id every request is a purchase of its own
    await c('ann').post('/v1/pools/idem-fixed/purchases', { units: '1', maxPrice: '2' });
    await c('ann').post('/v1/pools/idem-fixed/purchases', { units: '1', maxPrice: '2' });
    expect(await bal(c('ann'), ASSET)).toMatchObject({ total: '5' });
    expect((await w.admin.reconciliation()).ok).toBe(true);
  });

  it('a bid with a clientBidId bids once: twice at once, and again after a restart; another body is a conflict', async () => {
    const a = await c('seller').post<AuctionView>('/v1/auctions', { asset: ASSET, units: '2', reservePrice: '1', deadline: Date.now() + 120_000 });
    const body = { steps: [{ units: '2', price: '10' }], clientBidId: 'bid-1' };
    const [b1, b2] = await Promise.all([
      c('cat').post<Bid>(`/v1/auctions/${a.id}/bids`, body),
      c('cat').post<Bid>(`/v1/auctions/${a.id}/bids`, body),
    ]);
    expect([b1.seq, b1.hold, b1.clientBidId]).toEqual([b2.seq, '20.000', 'bid-1']);
    expect([b1.replayed ?? false, b2.replayed ?? false].sort()).toEqual([false, true]);
    expect((await bal(c('cat'), 'CREDIT')).used).toBe('20.000');
    // the same id with another body, or on another auction
    const other = await c('seller').post<AuctionView>('/v1/auctions', { asset: ASSET, units: '1', deadline: Date.now() + 120_000 });
    expect(await refusal(c('cat').post(`/v1/auctions/${a.id}/bids`, { ...body, steps: [{ units: '2', price: '11' }] }))).toEqual({
      status: 409,
      code: 'AUCTION_CLIENT_ID_CONFLICT',
    });
    expect(await refusal(c('cat').post(`/v1/auctions/${other.id}/bids`, body))).toEqual({ status: 409, code: 'AUCTION_CLIENT_ID_CONFLICT' });
    // a second bid without the id is still one bid too many
    expect(await refusal(c('cat').post(`/v1/auctions/${a.id}/bids`, { steps: [{ units: '1', price: '1' }] }))).toEqual({
      status: 409,
      code: 'MECHANISM_DUPLICATE_BIDDER',
    });

    await restartWorld(w, env);
    const b3 = await c('cat').post<Bid>(`/v1/auctions/${a.id}/bids`, body);
    expect([b3.seq, b3.replayed]).toEqual([b1.seq, true]);
    // withdrawn, the same id stays the first bid's: a late retry does not bid again
    await c('cat').delete(`/v1/auctions/${a.id}/bids/mine`);
    const b4 = await c('cat').post<Bid>(`/v1/auctions/${a.id}/bids`, body);
    expect([b4.status, b4.replayed]).toEqual(['withdrawn', true]);
    expect((await bal(c('cat'), 'CREDIT')).used).toBe('0.000');
    expect(await opsOf(w, a.id)).toEqual({ create: 1, bid: 1, withdraw: 1 });
    await w.admin.post(`/v1/admin/auctions/${a.id}/cancel`);
    await w.admin.post(`/v1/admin/auctions/${other.id}/cancel`);
  });

  it('cleared comes between the clearing and the settlement: results readable, every hold still in place', async () => {
    const svc = w.app.get(AuctionsService);
    // this auction is driven by hand: its deadline is not scheduled, so nothing settles it behind the test's back
    const scheduling = svc.scheduling;
    svc.scheduling = undefined;
    let a: AuctionView;
    try {
      a = await c('seller').post<AuctionView>('/v1/auctions', { asset: ASSET, units: '2', reservePrice: '1', deadline: Date.now() + 1500 });
    } finally {
      svc.scheduling = scheduling;
    }
    await c('ann').post(`/v1/auctions/${a.id}/bids`, { steps: [{ units: '1', price: '10' }] });
    await c('ben').post(`/v1/auctions/${a.id}/bids`, { steps: [{ units: '1', price: '8' }] });
    await c('dan').post(`/v1/auctions/${a.id}/bids`, { steps: [{ units: '1', price: '5' }] });
    const before = await Promise.all(['ann', 'ben', 'dan', 'seller'].map((n) => c(n).balances()));
    expect(await svc.clear(a.id)).toBe('not_due');
    await sleep(Math.max(0, new Date((await c('ann').get<{ deadline: string }>(`/v1/auctions/${a.id}`)).deadline).getTime() - Date.now() + 50));

    expect(await svc.clear(a.id)).toBe('cleared');
    const cleared = await c('ann').get<AuctionView>(`/v1/auctions/${a.id}`);
    expect(cleared.status).toBe('cleared');
    expect(cleared.closedSeq !== null && cleared.clearedSeq !== null && cleared.settledSeq === null).toBe(true);
    // the results are there: ann and ben win one unit each at dan's 5
    const r = await c('dan').get<{ auction: AuctionView; allocation: { agentId: string; units: string; payment: string }[] }>(
      `/v1/auctions/${a.id}/results`,
    );
    expect(r.auction.status).toBe('cleared');
    expect(r.allocation.map((x) => [x.agentId, x.units, x.payment])).toEqual([
      [id('ann'), '1', '5.000'],
      [id('ben'), '1', '5.000'],
      [id('dan'), '0', '0.000'],
    ]);
    expect((await c('ann').get<Bid>(`/v1/auctions/${a.id}/bids/mine`)).status).toBe('won');
    // nothing has moved yet: holds, escrow and totals as at the close
    expect(await Promise.all(['ann', 'ben', 'dan', 'seller'].map((n) => c(n).balances()))).toEqual(before);
    expect(await refusal(c('cat').post(`/v1/auctions/${a.id}/bids`, { steps: [{ units: '1', price: '50' }] }))).toEqual({
      status: 409,
      code: 'AUCTION_CLOSED',
    });
    // clearing again is a no-op; the settlement moves the clearing the auction holds, once
    expect(await svc.clear(a.id)).toBe('cleared');
    expect(await Promise.all([svc.settle(a.id), svc.settle(a.id)])).toEqual(expect.arrayContaining(['settled', 'already']));
    const settled = await c('ann').get<AuctionView>(`/v1/auctions/${a.id}`);
    expect([settled.status, Number(settled.settledSeq) > Number(settled.clearedSeq)]).toEqual(['settled', true]);
    const unitsBefore = (n: number) => Number(before[n]!.balances[ASSET]?.total ?? '0');
    expect([(await bal(c('ann'), ASSET)).total, (await bal(c('ben'), ASSET)).total]).toEqual([
      String(unitsBefore(0) + 1),
      String(unitsBefore(1) + 1),
    ]);
    expect(await bal(c('ann'), 'CREDIT')).toMatchObject({ total: String(Number(before[0]!.balances['CREDIT']!.total) - 5) + '.000', used: '0.000' });
    expect((await bal(c('dan'), 'CREDIT')).used).toBe('0.000');
    expect((await c('ann').get<{ auction: AuctionView }>(`/v1/auctions/${a.id}/results`)).auction.status).toBe('settled');
    expect(await opsOf(w, a.id)).toEqual({ create: 1, bid: 3, close: 1, clear: 1, settle_cleared: 1 });
    expect((await w.admin.reconciliation()).ok).toBe(true);
  });

  it('combinatorial reserves: per unit of each item, or an item its own; a bundle below its reserves never wins; VCG and core', async () => {
    const deadline = Date.now() + 3000;
    // A: 2 units at 30 a unit = 60; B: its own reserve of 0 (reservePrice per unit would make it 30)
    const items = [
      { id: 'A', asset: ASSET, units: '2' },
      { id: 'B', asset: ASSET, units: '1', reservePrice: '0' },
    ];
    const vcg = await c('seller').post<{ id: string; items: { id: string; reservePrice: string }[] }>('/v1/auctions', {
      mechanism: 'vcg_combinatorial',
      items,
      reservePrice: '30',
      deadline,
    });
    const core = await c('seller').post<{ id: string }>('/v1/auctions', { mechanism: 'core_combinatorial', items, reservePrice: '30', deadline });
    expect(vcg.items.map((it) => [it.id, it.reservePrice])).toEqual([
      ['A', '60.000'],
      ['B', '0.000'],
    ]);
    // Weber's case with A's reserve at 60; dan's package below A+B's reserve (60) is out and holds nothing
    for (const a of [vcg, core]) {
      await c('ann').post(`/v1/auctions/${a.id}/bids`, { bundles: [{ items: ['A'], value: '150' }] });
      await c('ben').post(`/v1/auctions/${a.id}/bids`, { bundles: [{ items: ['B'], value: '150' }] });
      await c('cat').post(`/v1/auctions/${a.id}/bids`, { bundles: [{ items: ['A', 'B'], value: '200' }] });
      expect((await c('dan').post<Bid>(`/v1/auctions/${a.id}/bids`, { bundles: [{ items: ['A', 'B'], value: '59.999' }] })).hold).toBe('0.000');
    }
    const cases: [string, unknown, number, string][] = [
      [
        'a malformed item reserve',
        { mechanism: 'vcg_combinatorial', items: [{ id: 'A', asset: ASSET, units: '1', reservePrice: 'x' }], deadline },
        400,
        'AMOUNT_INVALID',
      ],
      [
        'an item reserve beyond the largest bundle value',
        { mechanism: 'vcg_combinatorial', items: [{ id: 'A', asset: ASSET, units: '1', reservePrice: '1000000000000' }], deadline },
        400,
        'MECHANISM_INVALID_AMOUNT',
      ],
    ];
    const got = [];
    for (const [name, body] of cases) got.push([name, await refusal(c('seller').post('/v1/auctions', body))]);
    expect(got).toEqual(cases.map(([name, , status, code]) => [name, { status, code }]));

    type Results = {
      allocation: { agentId: string; items: string[]; vcgPayment: string; payment: string }[];
      inputs: { items: { id: string; reservePrice: string }[] };
      revenue: string;
    };
    const rv = await waitFor('the VCG settlement', () => c('ann').get<Results>(`/v1/auctions/${vcg.id}/results`), 60_000);
    const rc = await waitFor('the core settlement', () => c('ann').get<Results>(`/v1/auctions/${core.id}/results`), 60_000);
    // VCG: ann pays A's reserve (60, above the externality of 50), ben pays 50; core: 105 + 95, cat's 200 in all
    expect(rv.allocation.map((x) => [x.agentId, x.items, x.payment])).toEqual([
      [id('ann'), ['A'], '60.000'],
      [id('ben'), ['B'], '50.000'],
    ]);
    expect(rc.allocation.map((x) => [x.agentId, x.vcgPayment, x.payment])).toEqual([
      [id('ann'), '60.000', '105.000'],
      [id('ben'), '50.000', '95.000'],
    ]);
    expect([rv.revenue, rc.revenue]).toEqual(['110.000', '200.000']);
    expect(rv.inputs.items.map((it) => it.reservePrice)).toEqual(['60.000', '0.000']);
    await waitFor('both settled', async () =>
      (await c('ann').get<AuctionView>(`/v1/auctions/${core.id}`)).status === 'settled' &&
      (await c('ann').get<AuctionView>(`/v1/auctions/${vcg.id}`)).status === 'settled'
        ? true
        : undefined,
    );
    for (const n of ['ann', 'ben', 'cat', 'dan']) expect([n, (await bal(c(n), 'CREDIT')).used]).toEqual([n, '0.000']);
    expect((await w.admin.reconciliation()).ok).toBe(true);
  }, 120_000);
});
