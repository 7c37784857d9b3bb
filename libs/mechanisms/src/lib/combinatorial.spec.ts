import fc from 'fast-check';
import loadHighs from 'highs';
import { mulberry32, type Rejection } from '@ate/contracts';
import { bruteForceVcgPayment, bruteForceWelfare, withSellerAsBidder } from '../testing/brute-force';
import { clearCombinatorialVcg, maxPaymentCombinatorial, type CombinatorialAuction, type CombinatorialClearing } from './combinatorial';
import { clearCombinatorial, clearCombinatorialCore } from './core';
import { highsSolver, type MipSolver } from './solver';

// Each property runs a few hundred real solves (the first ones on V8's baseline wasm tier): on a shared 2-core
// machine that is tens of seconds, beyond Jest's default 5 s.
jest.setTimeout(120_000);

// one real HiGHS runtime for the file (the wasm build, as the service will use it)
const solver = highsSolver({ load: () => loadHighs(), timeLimitSeconds: 10 });

async function cleared(a: CombinatorialAuction, payments: 'vcg' | 'core' = 'vcg', s: MipSolver = solver): Promise<CombinatorialClearing> {
  const r = await clearCombinatorial(a, { solver: s, payments });
  if (!r.ok) throw new Error(`rejected: ${(r as Rejection).code} ${JSON.stringify((r as Rejection).details)}`);
  return r;
}
const pays = (r: CombinatorialClearing) => r.awards.map((w) => w.payment);
const bid = (bidder: string, ...bundles: [string[], number][]) => ({ bidder, bundles: bundles.map(([items, v]) => ({ items, value: BigInt(v) })) });
const AB = [{ id: 'A' }, { id: 'B' }];

describe('combinatorial VCG and core payments: textbook scenarios', () => {
  // Weber (Kellogg), "The Vickrey-Clarke-Groves combinatorial auction procedure": 1 wants A (150), 2 wants B (150),
  // 3 wants AB (200). VCG: 1 and 2 win and pay 50 each; revenue 100 is below the core: 3 alone offers 200.
  const weber: CombinatorialAuction = { items: AB, bids: [bid('1', [['A'], 150]), bid('2', [['B'], 150]), bid('3', [['A', 'B'], 200])] };
  it('Weber: VCG pays 50 + 50; the core (Day-Cramton) pays 100 + 100', async () => {
    const v = await cleared(weber);
    expect(v.awards.map((w) => w.bundle)).toEqual([0, 0, null]);
    expect([v.welfare, ...pays(v)]).toEqual([300n, 50n, 50n, 0n]);
    const c = await cleared(weber, 'core');
    expect([c.revenue, c.vcgRevenue, ...pays(c)]).toEqual([200n, 100n, 100n, 100n, 0n]);
  });
  it("Weber's 'political problem': bidder 1 at 160 makes bidder 2 pay only 40; core: 105 + 95 (equal steps above VCG)", async () => {
    const a = { ...weber, bids: [bid('1', [['A'], 160]), weber.bids[1], weber.bids[2]] };
    expect(pays(await cleared(a))).toEqual([50n, 40n, 0n]);
    expect(pays(await cleared(a, 'core'))).toEqual([105n, 95n, 0n]);
  });
  it('VCG revenue can be zero with complementary losers; the core still charges the coalition value', async () => {
    // two single-item bidders at 100 each, a package bidder at 100: VCG charges nothing at all
    const a = { items: AB, bids: [bid('x', [['A'], 100]), bid('y', [['B'], 100]), bid('z', [['A', 'B'], 100])] };
    const v = await cleared(a);
    expect(v.revenue).toBe(0n);
    const c = await cleared(a, 'core');
    expect(pays(c)).toEqual([50n, 50n, 0n]);
  });
  it('Wikipedia (Vickrey auction): two apples, A 5 for one, B 2 for one, C 6 for both: A pays 4, B pays 1', async () => {
    const apples = [{ id: 'apple1' }, { id: 'apple2' }];
    const one = (who: string, v: number) => bid(who, [['apple1'], v], [['apple2'], v]);
    const a = { items: apples, bids: [one('A', 5), one('B', 2), bid('C', [['apple1', 'apple2'], 6])] };
    const v = await cleared(a);
    expect([v.welfare, ...pays(v)]).toEqual([7n, 4n, 1n, 0n]);
    // the core needs pA + pB >= 6; the real-valued nearest point is (4.5, 1.5), in whole units (5, 1)
    const c = await cleared(a, 'core');
    expect([c.revenue, ...pays(c)]).toEqual([6n, 5n, 1n, 0n]);
  });
  it('the same two apples as one item with supply 2 give the same answer', async () => {
    const a = { items: [{ id: 'apple', supply: 2n }], bids: [bid('A', [['apple'], 5]), bid('B', [['apple'], 2]), bid('C', [['apple'], 1])] };
    const v = await cleared(a);
    expect(pays(v)).toEqual([1n, 1n, 0n]); // supply 2, unit demand: both pay the third bid
  });
});

describe('combinatorial: bad input (first failing check answers)', () => {
  it.each([
    ['no items', { items: [], bids: [] }, 'MECHANISM_ZERO_UNITS'],
    ['duplicate item', { items: [{ id: 'A' }, { id: 'A' }], bids: [] }, 'MECHANISM_INVALID_ITEM'],
    ['zero supply', { items: [{ id: 'A', supply: 0n }], bids: [] }, 'MECHANISM_INVALID_ITEM'],
    ['duplicate bidder', { items: AB, bids: [bid('x', [['A'], 1]), bid('x', [['B'], 1])] }, 'MECHANISM_DUPLICATE_BIDDER'],
    ['a bid without bundles', { items: AB, bids: [{ bidder: 'x', bundles: [] }] }, 'MECHANISM_EMPTY_BID'],
    ['an empty bundle', { items: AB, bids: [bid('x', [[], 1])] }, 'MECHANISM_EMPTY_BUNDLE'],
    ['an item twice in a bundle', { items: AB, bids: [bid('x', [['A', 'A'], 1])] }, 'MECHANISM_EMPTY_BUNDLE'],
    ['an unknown item', { items: AB, bids: [bid('x', [['C'], 1])] }, 'MECHANISM_UNKNOWN_ITEM'],
    ['a negative reserve', { items: [{ id: 'A', reserve: -1n }], bids: [] }, 'MECHANISM_INVALID_AMOUNT'],
    ['a reserve above the documented maximum', { items: [{ id: 'A', reserve: 10n ** 13n }], bids: [] }, 'MECHANISM_INVALID_AMOUNT'],
    ['a negative value', { items: AB, bids: [bid('x', [['A'], -1])] }, 'MECHANISM_INVALID_AMOUNT'],
    ['a value above the documented maximum', { items: AB, bids: [bid('x', [['A'], 1e13])] }, 'MECHANISM_INVALID_AMOUNT'],
    ['too many items', { items: Array.from({ length: 65 }, (_, k) => ({ id: `i${k}` })), bids: [] }, 'MECHANISM_TOO_LARGE'],
    ['too many bidders', { items: AB, bids: Array.from({ length: 201 }, (_, i) => bid(`b${i}`, [['A'], 1])) }, 'MECHANISM_TOO_LARGE'],
    [
      'too many bundles for one bidder',
      { items: AB, bids: [bid('x', ...Array.from({ length: 33 }, (): [string[], number] => [['A'], 1]))] },
      'MECHANISM_TOO_LARGE',
    ],
  ] as [string, CombinatorialAuction, string][])('%s', async (_name, a, code) => {
    const r = await clearCombinatorialVcg(a, { solver });
    expect((r as Rejection).code).toBe(code);
  });

  it('a solver that does not prove optimality answers MECHANISM_SOLVER_FAILED, and so does a wrong answer', async () => {
    const limited: MipSolver = { solve: async () => ({ status: 'limit', x: [], objective: NaN }) };
    const weber = { items: AB, bids: [bid('1', [['A'], 150]), bid('2', [['B'], 150])] };
    expect(((await clearCombinatorialVcg(weber, { solver: limited })) as Rejection).code).toBe('MECHANISM_SOLVER_FAILED');
    // a solver claiming both bidders win nothing at an objective of 300: welfare recomputed in bigint disagrees
    const liar: MipSolver = { solve: async (p) => ({ status: 'optimal', x: p.colCost.map(() => 0), objective: 300 }) };
    expect(((await clearCombinatorialVcg(weber, { solver: liar })) as Rejection).code).toBe('MECHANISM_SOLVER_FAILED');
    const fractional: MipSolver = { solve: async (p) => ({ status: 'optimal', x: p.colCost.map(() => 0.5), objective: 150 }) };
    expect(((await clearCombinatorialVcg(weber, { solver: fractional })) as Rejection).code).toBe('MECHANISM_SOLVER_FAILED');
  });

  it('a real time limit: HiGHS stopped after a millisecond answers MECHANISM_SOLVER_FAILED', async () => {
    const rnd = mulberry32(11);
    const items = Array.from({ length: 16 }, (_, k) => ({ id: `m${k}` }));
    const bids = Array.from({ length: 100 }, (_, i) => ({
      bidder: `a${i}`,
      bundles: Array.from({ length: 4 }, () => {
        const chosen = [...new Set(Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => items[Math.floor(rnd() * 16)].id))];
        return { items: chosen, value: BigInt(1_000 + Math.floor(rnd() * 30_000)) };
      }),
    }));
    const hurried = highsSolver({ load: () => loadHighs(), timeLimitSeconds: 0.001 });
    const r = await clearCombinatorialVcg({ items, bids }, { solver: hurried });
    expect((r as Rejection).code).toBe('MECHANISM_SOLVER_FAILED');
    expect(JSON.stringify((r as Rejection).details)).toContain('limit');
  });

  it('the solver replaces its runtime after the documented number of solves', async () => {
    const s = highsSolver({ load: () => loadHighs(), solvesPerRuntime: 2 });
    const a = { items: AB, bids: [bid('1', [['A'], 150]), bid('2', [['B'], 150])] };
    await cleared(a, 'vcg', s); // 3 solves
    expect(s.runtimesLoaded).toBe(2);
  });
});

// small random instances: up to 5 bidders, 4 items, 3 bundles each
const instanceArb = fc
  .record({
    items: fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 1, maxLength: 4 }),
    bids: fc.array(
      fc.array(fc.record({ mask: fc.integer({ min: 1, max: 15 }), value: fc.integer({ min: 0, max: 40 }) }), { minLength: 1, maxLength: 3 }),
      { minLength: 1, maxLength: 5 },
    ),
  })
  .map(({ items, bids }): CombinatorialAuction => {
    const ids = items.map((_, k) => `i${k}`);
    return {
      items: ids.map((id, k) => ({ id, supply: BigInt(items[k]) })),
      bids: bids.map((bundles, i) => ({
        bidder: `b${i}`,
        bundles: bundles.map((b) => {
          const chosen = ids.filter((_, k) => b.mask & (1 << k));
          return { items: chosen.length ? chosen : [ids[0]], value: BigInt(b.value) };
        }),
      })),
    };
  });

/** True when some coalition C could offer more than the revenue: W(C) - sum of C's winners' surplus > revenue. */
function blockedBySomeCoalition(a: CombinatorialAuction, values: bigint[], pay: bigint[]): boolean {
  const revenue = pay.reduce((s, p) => s + p, 0n);
  for (let mask = 1; mask < 1 << a.bids.length; mask++) {
    const outside = new Set(a.bids.map((_, i) => i).filter((i) => !(mask & (1 << i))));
    let bound = bruteForceWelfare(a, outside);
    values.forEach((v, i) => {
      if (mask & (1 << i)) bound -= v - pay[i];
    });
    if (bound > revenue) return true;
  }
  return false;
}

describe('combinatorial: properties against brute force (fast-check, pinned seeds)', () => {
  it('MIP welfare = brute force; VCG payments = brute force; individually rational; items conserved', async () => {
    await fc.assert(
      fc.asyncProperty(instanceArb, async (a) => {
        const r = await cleared(a);
        expect(r.welfare).toBe(bruteForceWelfare(a));
        const used = new Map<string, number>();
        r.awards.forEach((w, i) => {
          expect(w.payment).toBeGreaterThanOrEqual(0n);
          expect(w.payment).toBeLessThanOrEqual(w.value);
          expect(w.payment).toBeLessThanOrEqual(maxPaymentCombinatorial(a.bids[i])); // the hold covers it
          if (w.bundle !== null) expect(w.payment).toBe(bruteForceVcgPayment(a, i, r.welfare, w.value));
          for (const id of w.items) used.set(id, (used.get(id) ?? 0) + 1);
        });
        for (const it of a.items) expect(BigInt(used.get(it.id) ?? 0)).toBeLessThanOrEqual(it.supply ?? 1n);
        expect(r.awards.reduce((s, w) => s + w.value, 0n)).toBe(r.welfare);
      }),
      { seed: 1305, numRuns: 60 },
    );
  });

  it('truthful: no deviation from a grid (scaled, dropped or inflated bundles) does better', async () => {
    // every bundle scaled by num/den, or only bundle `only` (the others kept or dropped to 0)
    const grid: { num: bigint; den: bigint; only?: number; dropOthers?: boolean }[] = [
      { num: 0n, den: 1n },
      { num: 1n, den: 2n },
      { num: 3n, den: 2n },
      { num: 3n, den: 1n },
      { num: 2n, den: 1n, only: 0 },
      { num: 1n, den: 1n, only: 0, dropOthers: true },
      { num: 1n, den: 2n, only: 1, dropOthers: true },
    ];
    await fc.assert(
      fc.asyncProperty(instanceArb, fc.nat(), async (a, pick) => {
        const i = pick % a.bids.length;
        const truth = a.bids[i].bundles;
        const utility = async (x: CombinatorialAuction) => {
          const w = (await cleared(x)).awards[i];
          return w.bundle === null ? 0n : truth[w.bundle].value - w.payment;
        };
        const honest = await utility(a);
        for (const { num, den, only, dropOthers } of grid) {
          const lie = truth.map((b, k) => ({
            items: b.items,
            value: only === undefined || k === only ? (b.value * num) / den : dropOthers ? 0n : b.value,
          }));
          expect(await utility({ ...a, bids: a.bids.map((b, j) => (j === i ? { bidder: b.bidder, bundles: lie } : b)) })).toBeLessThanOrEqual(honest);
        }
      }),
      { seed: 1306, numRuns: 25 },
    );
  });

  it('core payments: between VCG and the bid, and no coalition blocks (checked by brute force)', async () => {
    await fc.assert(
      fc.asyncProperty(instanceArb, async (a) => {
        const r = await clearCombinatorialCore(a, { solver });
        if (!r.ok) throw new Error((r as Rejection).code);
        expect(r.revenue).toBeGreaterThanOrEqual(r.vcgRevenue);
        for (const w of r.awards) {
          expect(w.payment).toBeGreaterThanOrEqual(w.vcgPayment);
          expect(w.payment).toBeLessThanOrEqual(w.value);
        }
        // core: for every coalition C of bidders, revenue >= W(C) - sum over winners in C of their surplus
        expect(
          blockedBySomeCoalition(
            a,
            r.awards.map((x) => x.value),
            r.awards.map((x) => x.payment),
          ),
        ).toBe(false);
        // minimum revenue: lowering any one payment above VCG by one minor unit lets some coalition block
        r.awards.forEach((w, j) => {
          if (w.payment === w.vcgPayment) return;
          const lowered = r.awards.map((x, i) => (i === j ? x.payment - 1n : x.payment));
          expect(
            blockedBySomeCoalition(
              a,
              r.awards.map((x) => x.value),
              lowered,
            ),
          ).toBe(true);
        });
      }),
      { seed: 1307, numRuns: 40 },
    );
  });
});

describe('combinatorial reserve prices: the seller as a bidder valuing what it keeps at the reserves', () => {
  const r = (id: string, reserve: number, supply?: number) => ({ id, reserve: BigInt(reserve), ...(supply ? { supply: BigInt(supply) } : {}) });
  it.each([
    // [name, items, bids, [items won, payment] per bid]
    [
      'one item, reserve 10: a second-price auction with the reserve as a bid (12 vs 5 pays 10)',
      [r('A', 10)],
      [bid('x', [['A'], 12]), bid('y', [['A'], 5])],
      [
        [['A'], 10n],
        [[], 0n],
      ],
    ],
    [
      'one item: a bid above the reserve and a second bid above it too pay the second bid',
      [r('A', 10)],
      [bid('x', [['A'], 12]), bid('y', [['A'], 11])],
      [
        [['A'], 11n],
        [[], 0n],
      ],
    ],
    [
      'every bid below the reserve: nothing is sold',
      [r('A', 10)],
      [bid('x', [['A'], 9]), bid('y', [['A'], 5])],
      [
        [[], 0n],
        [[], 0n],
      ],
    ],
    ['a bid exactly at the reserve wins and pays the reserve', [r('A', 10)], [bid('x', [['A'], 10])], [[['A'], 10n]]],
    [
      'a bundle below the sum of its items reserves is out, alone or not',
      [r('A', 5), r('B', 5)],
      [bid('x', [['A', 'B'], 9]), bid('y', [['A'], 6])],
      [
        [[], 0n],
        [['A'], 5n],
      ],
    ],
    [
      'XOR: a bidder whose large bundle is below its reserve wins its small one',
      [r('A', 5), r('B', 50)],
      [bid('x', [['A', 'B'], 30], [['A'], 8])],
      [[['A'], 5n]],
    ],
    [
      'reserve per unit, supply 2: unit demand, one bid above the reserve, one unit sold at the reserve',
      [r('apple', 3, 2)],
      [bid('a', [['apple'], 5]), bid('b', [['apple'], 2]), bid('c', [['apple'], 1])],
      [
        [['apple'], 3n],
        [[], 0n],
        [[], 0n],
      ],
    ],
  ] as [string, CombinatorialAuction['items'], CombinatorialAuction['bids'], [string[], bigint][]][])('%s', async (_name, items, bids, expected) => {
    const c = await cleared({ items, bids });
    expect(c.awards.map((w) => [w.items, w.payment])).toEqual(expected);
  });

  // Weber's A/B/AB case with a reserve of 60 on A: VCG 50 + 50 becomes 60 + 50 (bidder 1 pays at least A's reserve);
  // the core is computed in surplus over the reserves: p1 + p2 >= 200 - 60 (bidder 3's offer beyond A's reserve)...
  it("Weber with a reserve of 60 on A: VCG pays 60 + 50; the core pays 105 + 95, bidder 3's 200 in all", async () => {
    const a = { items: [r('A', 60), r('B', 0)], bids: [bid('1', [['A'], 150]), bid('2', [['B'], 150]), bid('3', [['A', 'B'], 200])] };
    const v = await cleared(a);
    expect([v.welfare, v.revenue, ...pays(v)]).toEqual([300n, 110n, 60n, 50n, 0n]);
    // reduced: p1' + p2' >= 140, p2' >= 50; nearest to VCG' (0, 50) at revenue 140: (45, 95); plus the reserves (60, 0)
    const c = await cleared(a, 'core');
    expect([c.revenue, c.vcgRevenue, ...pays(c)]).toEqual([200n, 110n, 105n, 95n, 0n]);
  });
  it('Weber with reserves of 60 on A and on B: VCG 60 + 60 (the reserves), the core 100 + 100 (the package bid)', async () => {
    const a = { items: [r('A', 60), r('B', 60)], bids: [bid('1', [['A'], 150]), bid('2', [['B'], 150]), bid('3', [['A', 'B'], 200])] };
    expect(pays(await cleared(a))).toEqual([60n, 60n, 0n]);
    expect(pays(await cleared(a, 'core'))).toEqual([100n, 100n, 0n]);
  });
  it('a hold covers only the bundles that can win', () => {
    const items = [r('A', 5), r('B', 50)];
    expect(maxPaymentCombinatorial(bid('x', [['A', 'B'], 30], [['A'], 8]), items)).toBe(8n);
    expect(maxPaymentCombinatorial(bid('x', [['B'], 30]), items)).toBe(0n);
    expect(maxPaymentCombinatorial(bid('x', [['A', 'B'], 30], [['A'], 8]))).toBe(30n); // no reserves given
  });

  // small random instances with reserves: up to 4 bidders, 3 items (supply 1 or 2, reserve 0-20), 3 bundles each
  const reserveArb = fc
    .record({
      items: fc.array(fc.record({ supply: fc.integer({ min: 1, max: 2 }), reserve: fc.integer({ min: 0, max: 20 }) }), {
        minLength: 1,
        maxLength: 3,
      }),
      bids: fc.array(
        fc.array(fc.record({ mask: fc.integer({ min: 1, max: 7 }), value: fc.integer({ min: 0, max: 40 }) }), { minLength: 1, maxLength: 3 }),
        { minLength: 1, maxLength: 4 },
      ),
    })
    .map(({ items, bids }): CombinatorialAuction => {
      const ids = items.map((_, k) => `i${k}`);
      return {
        items: ids.map((id, k) => ({ id, supply: BigInt(items[k].supply), reserve: BigInt(items[k].reserve) })),
        bids: bids.map((bundles, i) => ({
          bidder: `b${i}`,
          bundles: bundles.map((b) => {
            const chosen = ids.filter((_, k) => b.mask & (1 << k));
            return { items: chosen.length ? chosen : [ids[0]], value: BigInt(b.value) };
          }),
        })),
      };
    });
  const reserveOf = (a: CombinatorialAuction, items: readonly string[]) =>
    items.reduce((s, id) => s + (a.items.find((it) => it.id === id)?.reserve ?? 0n), 0n);

  it('against brute force with the seller as a bidder: welfare with what the seller keeps, every VCG payment, IR, the reserve paid, the hold', async () => {
    await fc.assert(
      fc.asyncProperty(reserveArb, async (a) => {
        const c = await cleared(a);
        const seller = withSellerAsBidder(a);
        const used = new Map<string, bigint>();
        for (const w of c.awards) for (const id of w.items) used.set(id, (used.get(id) ?? 0n) + 1n);
        const kept = a.items.reduce((s, it) => s + (it.reserve ?? 0n) * ((it.supply ?? 1n) - (used.get(it.id) ?? 0n)), 0n);
        const full = bruteForceWelfare(seller);
        expect(c.welfare + kept).toBe(full);
        c.awards.forEach((w, i) => {
          for (const it of a.items) expect(used.get(it.id) ?? 0n).toBeLessThanOrEqual(it.supply ?? 1n);
          if (w.bundle === null) return expect(w.payment).toBe(0n);
          const reserve = reserveOf(a, w.items);
          expect(w.value).toBeGreaterThanOrEqual(reserve); // a bundle below its reserve never wins
          expect(w.payment).toBeGreaterThanOrEqual(reserve);
          expect(w.payment).toBeLessThanOrEqual(w.value);
          expect(w.payment).toBeLessThanOrEqual(maxPaymentCombinatorial(a.bids[i], a.items));
          expect(w.payment).toBe(bruteForceVcgPayment(seller, i, full, w.value));
        });
      }),
      { seed: 1313, numRuns: 60 },
    );
  });

  it('truthful with reserves: no scaled or dropped bid does better', async () => {
    await fc.assert(
      fc.asyncProperty(reserveArb, fc.nat(), async (a, pick) => {
        const i = pick % a.bids.length;
        const truth = a.bids[i].bundles;
        const utility = async (x: CombinatorialAuction) => {
          const w = (await cleared(x)).awards[i];
          return w.bundle === null ? 0n : truth[w.bundle].value - w.payment;
        };
        const honest = await utility(a);
        for (const [num, den] of [
          [0n, 1n],
          [1n, 2n],
          [3n, 2n],
          [3n, 1n],
        ]) {
          const lie = truth.map((b) => ({ items: b.items, value: (b.value * num) / den }));
          expect(await utility({ ...a, bids: a.bids.map((b, j) => (j === i ? { bidder: b.bidder, bundles: lie } : b)) })).toBeLessThanOrEqual(honest);
        }
      }),
      { seed: 1314, numRuns: 20 },
    );
  });

  it('core payments with reserves: between VCG and the bid, at least the reserve, unblocked in surplus over the reserves', async () => {
    await fc.assert(
      fc.asyncProperty(reserveArb, async (a) => {
        const c = await cleared(a, 'core');
        const v = await cleared(a);
        expect(c.awards.map((w) => w.bundle === null)).toEqual(v.awards.map((w) => w.bundle === null));
        expect(c.revenue).toBeGreaterThanOrEqual(c.vcgRevenue);
        // the reduced auction: every bid less its bundle's reserve (bids below it dropped), no reserves
        const reduced: CombinatorialAuction = {
          items: a.items.map((it) => ({ id: it.id, supply: it.supply ?? 1n })),
          bids: a.bids.map((b) => ({
            bidder: b.bidder,
            bundles: b.bundles.map((x) => ({ items: x.items, value: x.value >= reserveOf(a, x.items) ? x.value - reserveOf(a, x.items) : 0n })),
          })),
        };
        const less = c.awards.map((w) => reserveOf(a, w.items));
        for (const w of c.awards) {
          expect(w.payment).toBeGreaterThanOrEqual(w.vcgPayment);
          expect(w.payment).toBeLessThanOrEqual(w.value);
          expect(w.payment).toBeGreaterThanOrEqual(reserveOf(a, w.items));
        }
        expect(
          blockedBySomeCoalition(
            reduced,
            c.awards.map((w, i) => w.value - less[i]),
            c.awards.map((w, i) => w.payment - less[i]),
          ),
        ).toBe(false);
      }),
      { seed: 1315, numRuns: 30 },
    );
  });
});
