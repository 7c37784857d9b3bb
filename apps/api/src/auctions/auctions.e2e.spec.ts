import { AteClient } from '@ate/client';
import { clearMultiUnit } from '@ate/mechanisms';
import { CREDIT_SCALE, parseAmount } from '@ate/contracts';
import { AUCTION_ASSET as ASSET, auctionWorld as world, AuctionWorld as World, balanceOf as bal, refusal, waitFor } from '../testing/auction-world';
import { dropRedisKeys, TEST_REDIS_URL, testRedisPrefix } from '../testing/redis';
import { startTestApp, testConfig } from '../testing/test-app';
import { AuctionsService } from './auctions.service';

const M = `${ASSET}/CREDIT`;

/** The results once the auction is settled (they are readable from its clearing on; the balances move at settlement). */
const settled = <T>(c: AteClient, id: string, ms?: number) =>
  waitFor(
    `the settlement of ${id}`,
    async () => {
      const r = await c.get<T & { auction: { status: string } }>(`/v1/auctions/${id}/results`);
      return r.auction.status === 'settled' ? r : undefined;
    },
    ms,
  );

/** Sealed-bid auctions and posted prices end to end: signed REST, the sequencer, real Postgres, Redis and BullMQ. */
describe('auctions end to end (real Postgres, Redis, BullMQ, real HTTP)', () => {
  const REDIS_PREFIX = testRedisPrefix('auc');
  let w: World;
  let seller: AteClient, alice: AteClient, bob: AteClient, carol: AteClient, dave: AteClient;

  beforeAll(async () => {
    w = await world('auctions', { REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX }, ['seller', 'alice', 'bob', 'carol', 'dave']);
    ({
      seller: { c: seller },
      alice: { c: alice },
      bob: { c: bob },
      carol: { c: carol },
      dave: { c: dave },
    } = w.agents);
    await w.admin.deposit({ id: 's-u', agentId: w.agents['seller']!.id, asset: ASSET, amount: '100' });
    for (const n of ['alice', 'bob', 'carol', 'dave'])
      await w.admin.deposit({ id: `${n}-c`, agentId: w.agents[n]!.id, asset: 'CREDIT', amount: n === 'alice' ? '10' : '100' });
  });
  afterAll(async () => {
    await w?.app.close();
    await w?.db.drop();
    await dropRedisKeys(REDIS_PREFIX);
  });

  it('a multi-unit VCG auction: sealed bids hold funds, close at the deadline (BullMQ), settle once, pay the Clarke price', async () => {
    const deadline = Date.now() + 2500;
    const a = await seller.post<{ id: string; status: string }>('/v1/auctions', { asset: ASSET, units: '2', reservePrice: '1', deadline });
    expect(a.status).toBe('open');
    // the seller's units are escrowed: 2 of 100 used
    expect(await bal(seller, ASSET)).toEqual({ free: '98', used: '2', total: '100' });

    const aliceBid = await alice.post<{ hold: string }>(`/v1/auctions/${a.id}/bids`, { steps: [{ units: '1', price: '10' }] });
    expect(aliceBid.hold).toBe('10.000');
    await bob.post(`/v1/auctions/${a.id}/bids`, { steps: [{ units: '1', price: '8' }] });
    await carol.post(`/v1/auctions/${a.id}/bids`, { steps: [{ units: '2', price: '5' }] });
    // the hold is the engine's: alice's 10 credits cannot also rest on the book
    expect(await bal(alice, 'CREDIT')).toEqual({ free: '0.000', used: '10.000', total: '10.000' });
    expect(await refusal(alice.placeOrder({ market: M, side: 'buy', type: 'limit', price: '1.000', quantity: '1' }))).toEqual({
      status: 422,
      code: 'MATCHING_INSUFFICIENT_FUNDS',
    });
    // withdraw before the deadline releases the hold
    await dave.post(`/v1/auctions/${a.id}/bids`, { steps: [{ units: '1', price: '50' }] });
    expect((await bal(dave, 'CREDIT')).used).toBe('50.000');
    expect((await dave.delete<{ status: string }>(`/v1/auctions/${a.id}/bids/mine`)).status).toBe('withdrawn');
    expect(await bal(dave, 'CREDIT')).toEqual({ free: '100.000', used: '0.000', total: '100.000' });
    // sealed: an agent sees its own bid, nobody's else; no results before the clearing
    expect((await bob.get<{ agentId: string }>(`/v1/auctions/${a.id}/bids/mine`)).agentId).toBe(w.agents['bob']!.id);
    expect(await refusal(seller.get(`/v1/auctions/${a.id}/bids/mine`))).toEqual({ status: 404, code: 'AUCTION_BID_NOT_FOUND' });
    expect(await refusal(bob.get(`/v1/auctions/${a.id}/results`))).toEqual({ status: 409, code: 'AUCTION_NOT_CLEARED' });

    type Results = {
      allocation: { agentId: string; units: string; payment: string }[];
      revenue: string;
      fees: string;
      inputs: { units: string; reservePrice: string; bids: { agentId: string; steps: { units: string; price: string }[] }[] };
    };
    const r = await settled<Results>(bob, a.id);
    expect(await refusal(dave.post(`/v1/auctions/${a.id}/bids`, { steps: [{ units: '1', price: '1' }] }))).toEqual({
      status: 409,
      code: 'AUCTION_CLOSED',
    });
    const id = (n: string) => w.agents[n]!.id;
    // alice and bob win one unit each and pay the best rejected unit (carol's 5); carol loses
    expect(r.allocation).toEqual([
      { agentId: id('alice'), units: '1', value: '10.000', payment: '5.000' },
      { agentId: id('bob'), units: '1', value: '8.000', payment: '5.000' },
      { agentId: id('carol'), units: '0', value: '0.000', payment: '0.000' },
    ]);
    expect(r.revenue).toBe('10.000');
    expect(r.fees).toBe('0.010'); // 10 bps of each payment, rounded up
    // an auditor recomputes the clearing from the published inputs
    const audit = clearMultiUnit({
      units: BigInt(r.inputs.units),
      reservePrice: parseAmount(r.inputs.reservePrice, CREDIT_SCALE),
      bids: r.inputs.bids.map((b) => ({
        bidder: b.agentId,
        steps: b.steps.map((s) => ({ units: BigInt(s.units), price: parseAmount(s.price, CREDIT_SCALE) })),
      })),
    });
    if ('code' in audit) throw new Error(audit.code);
    expect(audit.awards.map((x) => [x.bidder, x.units.toString(), x.payment.toString()])).toEqual(
      r.allocation.map((x) => [x.agentId, x.units, parseAmount(x.payment, CREDIT_SCALE).toString()]),
    );

    expect(await bal(alice, 'CREDIT')).toEqual({ free: '5.000', used: '0.000', total: '5.000' });
    expect((await bal(alice, ASSET)).total).toBe('1');
    expect(await bal(bob, 'CREDIT')).toEqual({ free: '95.000', used: '0.000', total: '95.000' });
    expect(await bal(carol, 'CREDIT')).toEqual({ free: '100.000', used: '0.000', total: '100.000' });
    expect(await bal(seller, ASSET)).toEqual({ free: '98', used: '0', total: '98' });
    expect((await bal(seller, 'CREDIT')).total).toBe('9.990');

    // exactly once: settling again (a job run twice, concurrently) does nothing
    const svc = w.app.get(AuctionsService);
    expect(await Promise.all([svc.settle(a.id), svc.settle(a.id)])).toEqual(['already', 'already']);
    // one clearing and one settlement in the log
    const steps = await w.db.pool.query(
      `SELECT command->'op'->>'op' AS op, count(*)::int AS n FROM engine_command
        WHERE command->>'t' = 'a' AND command->'op'->>'op' IN ('clear', 'settle', 'settle_cleared') AND command->'op'->>'id' = $1 GROUP BY 1 ORDER BY 1`,
      [a.id],
    );
    expect(steps.rows).toEqual([
      { op: 'clear', n: 1 },
      { op: 'settle_cleared', n: 1 },
    ]);
    expect((await w.admin.reconciliation()).ok).toBe(true);
  });

  it('refuses bad input with a stable 4xx code and leaves no hold behind', async () => {
    const deadline = Date.now() + 60_000;
    const a = await seller.post<{ id: string }>('/v1/auctions', { asset: ASSET, units: '5', reservePrice: '0', deadline });
    const bid = (c: AteClient, steps: unknown, id = a.id) => c.post(`/v1/auctions/${id}/bids`, { steps });
    await dave.post(`/v1/auctions/${a.id}/bids`, { steps: [{ units: '1', price: '1' }] });
    const before = await Promise.all([bal(dave, 'CREDIT'), bal(carol, 'CREDIT'), bal(seller, ASSET)]);
    const cases: [string, () => Promise<unknown>, number, string][] = [
      ['bid above the available balance', () => bid(carol, [{ units: '5', price: '1000' }]), 422, 'AUCTION_INSUFFICIENT_BALANCE'],
      ['empty bid', () => bid(carol, []), 400, 'MECHANISM_EMPTY_BID'],
      [
        'increasing marginal schedule',
        () =>
          bid(carol, [
            { units: '1', price: '1' },
            { units: '1', price: '2' },
          ]),
        400,
        'MECHANISM_INCREASING_SCHEDULE',
      ],
      [
        'more steps than the limit',
        () =>
          bid(
            carol,
            Array.from({ length: 1001 }, () => ({ units: '1', price: '1' })),
          ),
        413,
        'MECHANISM_TOO_LARGE',
      ],
      ['zero units in a step', () => bid(carol, [{ units: '0', price: '1' }]), 400, 'MECHANISM_ZERO_UNITS'],
      ['malformed price', () => bid(carol, [{ units: '1', price: 'ten' }]), 400, 'AMOUNT_INVALID'],
      ['a second bid of one agent', () => bid(dave, [{ units: '1', price: '1' }]), 409, 'MECHANISM_DUPLICATE_BIDDER'],
      ['unknown auction', () => bid(carol, [{ units: '1', price: '1' }], 'nope'), 404, 'AUCTION_NOT_FOUND'],
      ['withdraw without a bid', () => carol.delete(`/v1/auctions/${a.id}/bids/mine`), 404, 'AUCTION_BID_NOT_FOUND'],
      ['zero-unit auction', () => seller.post('/v1/auctions', { asset: ASSET, units: '0', deadline }), 400, 'MECHANISM_ZERO_UNITS'],
      [
        'deadline in the past',
        () => seller.post('/v1/auctions', { asset: ASSET, units: '1', deadline: Date.now() - 1 }),
        400,
        'AUCTION_INVALID_DEADLINE',
      ],
      ['unknown asset', () => seller.post('/v1/auctions', { asset: 'NOPE', units: '1', deadline }), 400, 'AUCTION_UNKNOWN_ASSET'],
      [
        'selling units one does not hold',
        () => seller.post('/v1/auctions', { asset: ASSET, units: '1000', deadline }),
        422,
        'AUCTION_INSUFFICIENT_BALANCE',
      ],
      ['selling credits', () => seller.post('/v1/auctions', { asset: 'CREDIT', units: '1', deadline }), 400, 'AUCTION_UNKNOWN_ASSET'],
      ['an unknown field', () => seller.post('/v1/auctions', { asset: ASSET, units: '1', deadline, x: 1 }), 400, 'VALIDATION_FAILED'],
    ];
    const got = [];
    for (const [name, f] of cases) got.push([name, await refusal(f())]);
    expect(got).toEqual(cases.map(([name, , status, code]) => [name, { status, code }]));
    expect(await Promise.all([bal(dave, 'CREDIT'), bal(carol, 'CREDIT'), bal(seller, ASSET)])).toEqual(before);

    // an operator cancels: every hold and the escrow are released; a cancelled auction takes no bid
    await w.admin.post(`/v1/admin/auctions/${a.id}/cancel`);
    expect(await bal(dave, 'CREDIT')).toEqual({ ...before[0], free: before[0].total, used: '0.000' });
    expect((await bal(seller, ASSET)).used).toBe('0');
    expect(await refusal(bid(carol, [{ units: '1', price: '1' }]))).toEqual({ status: 409, code: 'AUCTION_CLOSED' });
    expect(await refusal(w.admin.post(`/v1/admin/auctions/${a.id}/cancel`))).toEqual({ status: 409, code: 'AUCTION_ALREADY_SETTLED' });
    expect((await w.admin.reconciliation()).ok).toBe(true);
  });

  it('posted prices: a fixed price with a supply cap, and a congestion pool priced per epoch by the EIP-1559 rule (BullMQ ticks)', async () => {
    await w.admin.post('/v1/admin/pools', { id: 'fixed-1', asset: ASSET, mode: 'fixed', price: '2', supply: '5' });
    const p = await bob.post<{ units: string; price: string; cost: string }>('/v1/pools/fixed-1/purchases', { units: '3', maxPrice: '2' });
    expect(p).toMatchObject({ units: '3', price: '2.000', cost: '6.000' });
    expect(await refusal(bob.post('/v1/pools/fixed-1/purchases', { units: '3', maxPrice: '2' }))).toEqual({
      status: 422,
      code: 'MECHANISM_SUPPLY_EXHAUSTED',
    });
    expect(await refusal(bob.post('/v1/pools/fixed-1/purchases', { units: '1', maxPrice: '1.999' }))).toEqual({
      status: 422,
      code: 'MECHANISM_PRICE_ABOVE_MAX',
    });
    expect(await refusal(bob.post('/v1/pools/nope/purchases', { units: '1', maxPrice: '9' }))).toEqual({
      status: 404,
      code: 'AUCTION_POOL_NOT_FOUND',
    });
    expect(await refusal(carol.post('/v1/pools/fixed-1/purchases', { units: '1', maxPrice: '999999' }))).toBeNull();
    expect(await bal(carol, 'CREDIT')).toMatchObject({ total: '98.000' });
    expect((await bob.get<{ remaining: string }>('/v1/pools/fixed-1')).remaining).toBe('1');

    await w.admin.post('/v1/admin/pools', {
      id: 'cong-1',
      asset: ASSET,
      mode: 'congestion',
      price: '1',
      capacityPerEpoch: '10',
      minPrice: '0.008',
      epochMs: 1500,
    });
    expect(await bob.post('/v1/pools/cong-1/purchases', { units: '10', maxPrice: '1' })).toMatchObject({ price: '1.000', cost: '10.000', epoch: 0 });
    expect(await refusal(bob.post('/v1/pools/cong-1/purchases', { units: '1', maxPrice: '5' }))).toEqual({
      status: 422,
      code: 'MECHANISM_SUPPLY_EXHAUSTED',
    });
    // the epoch ends full: the price rises by 1/8 (used 10 = 2 x target 5)
    type Pool = { price: string; history: { epoch: number; price: string; used: string; nextPrice: string }[] };
    const pool = await waitFor('the epoch tick', async () => {
      const v = await bob.get<Pool>('/v1/pools/cong-1');
      return v.history.length > 0 ? v : undefined;
    });
    expect(pool.history.at(-1)).toEqual({ epoch: 0, price: '1.000', used: '10', nextPrice: '1.125' });
    expect((await w.admin.reconciliation()).ok).toBe(true);
  });

  it("combinatorial auctions: bundles with XOR, cleared on HiGHS off the sequencer, VCG and core payments (Weber's A/B/AB)", async () => {
    const deadline = Date.now() + 3000;
    const items = [
      { id: 'A', asset: ASSET, units: '1' },
      { id: 'B', asset: ASSET, units: '2' },
    ];
    const vcg = await seller.post<{ id: string }>('/v1/auctions', { mechanism: 'vcg_combinatorial', items, reservePrice: '0', deadline });
    const core = await seller.post<{ id: string }>('/v1/auctions', { mechanism: 'core_combinatorial', items, reservePrice: '0', deadline });
    expect((await bal(seller, ASSET)).used).toBe('6');
    for (const a of [vcg, core]) {
      await carol.post(`/v1/auctions/${a.id}/bids`, { bundles: [{ items: ['A'], value: '15' }] });
      await dave.post(`/v1/auctions/${a.id}/bids`, { bundles: [{ items: ['B'], value: '15' }] });
      await bob.post(`/v1/auctions/${a.id}/bids`, {
        bundles: [
          { items: ['A', 'B'], value: '20' },
          { items: ['A'], value: '1' },
        ],
      });
    }
    const bid = (steps: unknown) => alice.post(`/v1/auctions/${vcg.id}/bids`, steps);
    const cases: [string, unknown, number, string][] = [
      ['an unknown item', { bundles: [{ items: ['C'], value: '1' }] }, 400, 'MECHANISM_UNKNOWN_ITEM'],
      ['an empty bundle', { bundles: [{ items: [], value: '1' }] }, 400, 'MECHANISM_EMPTY_BUNDLE'],
      ['an item twice in a bundle', { bundles: [{ items: ['A', 'A'], value: '1' }] }, 400, 'MECHANISM_EMPTY_BUNDLE'],
      ['no bundles', { bundles: [] }, 400, 'MECHANISM_EMPTY_BID'],
      ['more bundles than the limit', { bundles: Array.from({ length: 33 }, () => ({ items: ['A'], value: '1' })) }, 413, 'MECHANISM_TOO_LARGE'],
      ['steps on a combinatorial auction', { steps: [{ units: '1', price: '1' }] }, 400, 'VALIDATION_FAILED'],
      ['a bundle above the available balance', { bundles: [{ items: ['A'], value: '50' }] }, 422, 'AUCTION_INSUFFICIENT_BALANCE'],
    ];
    const got = [];
    for (const [name, body] of cases) got.push([name, await refusal(bid(body))]);
    expect(got).toEqual(cases.map(([name, , status, code]) => [name, { status, code }]));
    expect(
      await refusal(
        seller.post('/v1/auctions', {
          mechanism: 'vcg_combinatorial',
          items: [
            { id: 'A', asset: ASSET, units: '1' },
            { id: 'A', asset: ASSET, units: '1' },
          ],
          deadline,
        }),
      ),
    ).toEqual({ status: 400, code: 'MECHANISM_INVALID_ITEM' });
    expect(await refusal(seller.post('/v1/auctions', { mechanism: 'vcg_combinatorial', items: [], deadline }))).toEqual({
      status: 400,
      code: 'MECHANISM_ZERO_UNITS',
    });
    expect((await bal(alice, 'CREDIT')).used).toBe('0.000');

    type Results = {
      allocation: { agentId: string; items: string[]; vcgPayment: string; payment: string }[];
      revenue: string;
      itemsUnsold: string[];
    };
    const rv = await settled<Results>(carol, vcg.id, 60_000);
    const rc = await settled<Results>(carol, core.id, 60_000);
    const id = (n: string) => w.agents[n]!.id;
    // VCG: the single-item bidders win and pay 5 each (revenue 10, below the losing package bid of 20: not in the core)
    expect(rv.allocation.map((x) => [x.agentId, x.items, x.payment])).toEqual([
      [id('carol'), ['A'], '5.000'],
      [id('dave'), ['B'], '5.000'],
    ]);
    // core-selecting: the same winners pay 10 each, the least revenue no coalition can block
    expect(rc.allocation.map((x) => [x.agentId, x.items, x.vcgPayment, x.payment])).toEqual([
      [id('carol'), ['A'], '5.000', '10.000'],
      [id('dave'), ['B'], '5.000', '10.000'],
    ]);
    expect([rv.revenue, rc.revenue, rv.itemsUnsold]).toEqual(['10.000', '20.000', []]);
    expect((await bal(bob, 'CREDIT')).used).toBe('0.000');
    expect(await bal(dave, ASSET)).toMatchObject({ total: '4' });
    expect((await bal(seller, ASSET)).used).toBe('0');
    expect((await w.admin.reconciliation()).ok).toBe(true);
  }, 120_000); // HiGHS's first solves in a process run on V8's baseline wasm tier: slow on a loaded machine
});

/** Without Redis the closing is a timer; a venue auction mints the units sold and its proceeds go to the fees account. */
describe('auctions without Redis (timer)', () => {
  let w: World;
  beforeAll(async () => {
    w = await world('auctions_timer', {}, ['x', 'y']);
    await w.admin.deposit({ id: 'x-c', agentId: w.agents['x']!.id, asset: 'CREDIT', amount: '100' });
    await w.admin.deposit({ id: 'y-c', agentId: w.agents['y']!.id, asset: 'CREDIT', amount: '100' });
  });
  afterAll(async () => {
    await w?.app.close();
    await w?.db.drop();
  });

  it('an operator auction of newly issued units settles at its deadline; a restart replays it to the same balances', async () => {
    const { x, y } = w.agents as Record<string, { id: string; c: AteClient; keys: { keyId: string; secret: string } }>;
    const a = await w.admin.post<{ id: string }>('/v1/admin/auctions', { asset: ASSET, units: '3', reservePrice: '2', deadline: Date.now() + 1500 });
    await x!.c.post(`/v1/auctions/${a.id}/bids`, {
      steps: [
        { units: '2', price: '7' },
        { units: '1', price: '3' },
      ],
    });
    await y!.c.post(`/v1/auctions/${a.id}/bids`, { steps: [{ units: '2', price: '4' }] });
    const r = await settled<{ allocation: { units: string; payment: string }[]; unitsUnsold: string }>(x!.c, a.id);
    // 3 units: x's two at 7 and y's first at 4 (it beats x's third at 3); x pays the best rejected unit of the others
    // (y's second, 4) and the reserve (2) for its second unit; y pays x's rejected unit (3)
    expect(r.allocation.map((z) => [z.units, z.payment])).toEqual([
      ['2', '6.000'],
      ['1', '3.000'],
    ]);
    expect(r.unitsUnsold).toBe('0');
    expect(await bal(x!.c, ASSET)).toMatchObject({ total: '2' });
    expect(await bal(y!.c, 'CREDIT')).toEqual({ free: '97.000', used: '0.000', total: '97.000' });
    expect((await w.admin.reconciliation()).ok).toBe(true);

    // a restart replays the log (auction commands included) to the same balances; the auction stays settled once
    const before = await Promise.all([x!.c.balances(), y!.c.balances()]);
    await w.app.close();
    const again = await startTestApp(testConfig(w.db));
    w.app = again.app;
    const [x2, y2] = [x!, y!].map((z) => new AteClient({ baseUrl: again.url, ...z.keys }));
    expect(await Promise.all([x2!.balances(), y2!.balances()])).toEqual(before);
    expect((await x2!.get<{ auction: { status: string } }>(`/v1/auctions/${a.id}/results`)).auction.status).toBe('settled');
    expect((await again.admin.reconciliation()).ok).toBe(true);
  });
});
