import fc from 'fast-check';
import { isErrorCode, mulberry32, type Rejection } from '@ate/contracts';
import { clearMultiUnit, maxPaymentMultiUnit, stepsFromMarginalValues, type MultiUnitAuction, type MultiUnitClearing, type Step } from './multi-unit';

/**
 * The naive twin: expand every schedule to single units, find welfare by sorting unit values, and compute each
 * Clarke payment literally as W(others, K) - (W(all, K) - v_i), the seller valuing every unit at the reserve.
 */
function unitValues(steps: readonly Step[]): bigint[] {
  return steps.flatMap((s) => Array.from({ length: Number(s.units) }, () => s.price));
}
function naiveWelfare(values: bigint[], k: number, reserve: bigint): bigint {
  const sorted = values.filter((v) => v >= reserve && v > 0n).sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
  let w = 0n;
  for (let j = 0; j < k; j++) w += j < sorted.length ? sorted[j] : reserve;
  return w;
}
function naive(a: MultiUnitAuction): { units: bigint; payment: bigint; value: bigint }[] {
  const k = Number(a.units);
  const r = a.reservePrice ?? 0n;
  // allocate unit by unit in the documented tie order: price desc, bid order, step order
  const all = a.bids.flatMap((b, i) => unitValues(b.steps).map((v, j) => ({ i, j, v })));
  const eligible = all.filter((u) => u.v >= r && u.v > 0n);
  eligible.sort((x, y) => (x.v > y.v ? -1 : x.v < y.v ? 1 : x.i - y.i || x.j - y.j));
  const won = a.bids.map(() => ({ units: 0n, value: 0n }));
  for (const u of eligible.slice(0, k)) {
    won[u.i].units += 1n;
    won[u.i].value += u.v;
  }
  const wAll = naiveWelfare(
    all.map((u) => u.v),
    k,
    r,
  );
  return won.map((w, i) => {
    const others = all.filter((u) => u.i !== i).map((u) => u.v);
    const payment = w.units === 0n ? 0n : naiveWelfare(others, k, r) - (wAll - w.value);
    return { ...w, payment };
  });
}

function cleared(a: MultiUnitAuction): MultiUnitClearing {
  const r = clearMultiUnit(a);
  if (!r.ok) throw new Error(`rejected: ${(r as Rejection).code}`);
  return r;
}

const mv = (...v: number[]) => stepsFromMarginalValues(v.map(BigInt));

describe('multi-unit VCG: scenarios with known answers', () => {
  it.each([
    // [name, auction, expected [units, payment] per bid]
    [
      'single unit: a second-price auction',
      {
        units: 1n,
        bids: [
          { bidder: 'a', steps: mv(10) },
          { bidder: 'b', steps: mv(7) },
          { bidder: 'c', steps: mv(3) },
        ],
      },
      [
        [1n, 7n],
        [0n, 0n],
        [0n, 0n],
      ],
    ],
    [
      // two units; A: (10, 8), B: (9), C: (6). Allocation: A 10, B 9. A pays the best rejected other unit
      // (8 is its own): C's 6. B pays 8 (A's second unit). Revenue 14 < welfare 19.
      'two units, demand for two',
      {
        units: 2n,
        bids: [
          { bidder: 'A', steps: mv(10, 8) },
          { bidder: 'B', steps: mv(9) },
          { bidder: 'C', steps: mv(6) },
        ],
      },
      [
        [1n, 6n],
        [1n, 8n],
        [0n, 0n],
      ],
    ],
    [
      // A bidder winning two units pays the two best rejected units of the others: 5 + 4 = 9.
      'one winner of two units',
      {
        units: 2n,
        bids: [
          { bidder: 'A', steps: mv(10, 9) },
          { bidder: 'B', steps: mv(5, 4) },
        ],
      },
      [
        [2n, 9n],
        [0n, 0n],
      ],
    ],
    [
      'reserve: units below it stay unsold, a lone winner pays the reserve',
      {
        units: 3n,
        reservePrice: 4n,
        bids: [
          { bidder: 'A', steps: mv(10, 9, 3) },
          { bidder: 'B', steps: mv(2) },
        ],
      },
      [
        [2n, 8n],
        [0n, 0n],
      ],
    ],
    [
      'reserve below the competition: the competition sets the price',
      {
        units: 1n,
        reservePrice: 4n,
        bids: [
          { bidder: 'A', steps: mv(10) },
          { bidder: 'B', steps: mv(6) },
        ],
      },
      [
        [1n, 6n],
        [0n, 0n],
      ],
    ],
    [
      'tie: the earlier bid wins the tied unit and pays the tied price',
      {
        units: 1n,
        bids: [
          { bidder: 'late-id-but-first', steps: mv(5) },
          { bidder: 'a', steps: mv(5) },
        ],
      },
      [
        [1n, 5n],
        [0n, 0n],
      ],
    ],
    [
      'a partial step: the marginal step is cut, its remainder prices the others',
      {
        units: 5n,
        bids: [
          { bidder: 'A', steps: [{ units: 3n, price: 10n }] },
          { bidder: 'B', steps: [{ units: 4n, price: 7n }] },
        ],
      },
      [
        [3n, 14n],
        [2n, 0n],
      ],
    ],
    ['zero-priced steps never win', { units: 2n, bids: [{ bidder: 'A', steps: mv(3, 0) }] }, [[1n, 0n]]],
  ] as [string, MultiUnitAuction, [bigint, bigint][]][])('%s', (_name, auction, expected) => {
    const r = cleared(auction);
    expect(r.awards.map((a) => [a.units, a.payment])).toEqual(expected);
    expect(r.awards.map((a) => ({ units: a.units, payment: a.payment, value: a.value }))).toEqual(naive(auction));
  });

  it('the partial-step case in full: A pays for 3 units 2 x 7 (B rejected) + 1 x 0 (no reserve); B pays 0', () => {
    const r = cleared({
      units: 5n,
      bids: [
        { bidder: 'A', steps: [{ units: 3n, price: 10n }] },
        { bidder: 'B', steps: [{ units: 4n, price: 7n }] },
      ],
    });
    expect(r.awards[0]).toEqual({ bidder: 'A', units: 3n, value: 30n, payment: 14n });
    expect(r.awards[1]).toEqual({ bidder: 'B', units: 2n, value: 14n, payment: 0n });
    expect([r.unitsSold, r.unitsUnsold, r.revenue, r.welfare]).toEqual([5n, 0n, 14n, 44n]);
  });
});

describe('multi-unit VCG: the most a bid can pay (the hold)', () => {
  it.each([
    ['all units within the offer', { units: 5n }, mv(10, 8), 18n],
    ['capped at the units offered', { units: 1n }, mv(10, 8), 10n],
    ['steps below the reserve cannot win', { units: 5n, reservePrice: 9n }, mv(10, 8), 10n],
    [
      'a partial step',
      { units: 3n },
      [
        { units: 2n, price: 7n },
        { units: 5n, price: 3n },
      ],
      17n,
    ],
  ] as [string, { units: bigint; reservePrice?: bigint }, Step[], bigint][])('%s', (_n, a, steps, want) => {
    expect(maxPaymentMultiUnit(a, { bidder: 'x', steps })).toBe(want);
  });
});

describe('multi-unit VCG: bad input (first failing check answers)', () => {
  const ok = [{ bidder: 'a', steps: mv(5) }];
  it.each([
    ['zero units', { units: 0n, bids: ok }, 'MECHANISM_ZERO_UNITS'],
    ['units not a bigint', { units: 2 as unknown as bigint, bids: ok }, 'MECHANISM_INVALID_AMOUNT'],
    ['negative reserve', { units: 1n, reservePrice: -1n, bids: ok }, 'MECHANISM_INVALID_AMOUNT'],
    ['empty bidder id', { units: 1n, bids: [{ bidder: '', steps: mv(5) }] }, 'MECHANISM_INVALID_BIDDER'],
    ['duplicate bidder', { units: 1n, bids: [...ok, ...ok] }, 'MECHANISM_DUPLICATE_BIDDER'],
    ['no steps', { units: 1n, bids: [{ bidder: 'a', steps: [] }] }, 'MECHANISM_EMPTY_BID'],
    ['a zero-unit step', { units: 1n, bids: [{ bidder: 'a', steps: [{ units: 0n, price: 5n }] }] }, 'MECHANISM_INVALID_AMOUNT'],
    ['a negative price', { units: 1n, bids: [{ bidder: 'a', steps: [{ units: 1n, price: -5n }] }] }, 'MECHANISM_INVALID_AMOUNT'],
    ['increasing marginal prices', { units: 2n, bids: [{ bidder: 'a', steps: mv(3, 4) }] }, 'MECHANISM_INCREASING_SCHEDULE'],
    [
      'too many steps for one bidder',
      { units: 1n, bids: [{ bidder: 'a', steps: Array.from({ length: 10_001 }, () => ({ units: 1n, price: 1n })) }] },
      'MECHANISM_TOO_LARGE',
    ],
  ] as [string, MultiUnitAuction, string][])('%s', (_name, auction, code) => {
    const r = clearMultiUnit(auction);
    expect(r.ok).toBe(false);
    expect((r as Rejection).code).toBe(code);
    expect(isErrorCode(code)).toBe(true);
  });
});

const scheduleArb = fc
  .array(fc.record({ units: fc.integer({ min: 1, max: 3 }), price: fc.integer({ min: 0, max: 20 }) }), { minLength: 1, maxLength: 3 })
  .map((steps) => steps.sort((a, b) => b.price - a.price).map((s) => ({ units: BigInt(s.units), price: BigInt(s.price) })));
const auctionArb = fc.record({
  units: fc.integer({ min: 1, max: 8 }).map(BigInt),
  reservePrice: fc.integer({ min: 0, max: 6 }).map(BigInt),
  schedules: fc.array(scheduleArb, { minLength: 1, maxLength: 5 }),
});
const toAuction = (x: { units: bigint; reservePrice: bigint; schedules: Step[][] }): MultiUnitAuction => ({
  units: x.units,
  reservePrice: x.reservePrice,
  bids: x.schedules.map((steps, i) => ({ bidder: `b${i}`, steps })),
});
/** True utility of bidder i under `a` when it really values units as `truth`. */
function utility(a: MultiUnitAuction, i: number, truth: readonly Step[]): bigint {
  const award = cleared(a).awards[i];
  const values = unitValues(truth).slice(0, Number(award.units));
  return values.reduce((s, v) => s + v, 0n) - award.payment;
}

describe('multi-unit VCG: properties (fast-check, pinned seeds)', () => {
  it('equals the naive twin; units conserved; individually rational; payments at least the reserve', () => {
    fc.assert(
      fc.property(auctionArb, (x) => {
        const a = toAuction(x);
        const r = cleared(a);
        expect(r.awards.map((w) => ({ units: w.units, payment: w.payment, value: w.value }))).toEqual(naive(a));
        const sold = r.awards.reduce((s, w) => s + w.units, 0n);
        expect(sold).toBe(r.unitsSold);
        expect(r.unitsSold + r.unitsUnsold).toBe(a.units);
        r.awards.forEach((w, i) => expect(w.payment).toBeLessThanOrEqual(maxPaymentMultiUnit(a, a.bids[i]))); // the hold covers it
        for (const w of r.awards) {
          expect(w.payment).toBeLessThanOrEqual(w.value);
          expect(w.payment).toBeGreaterThanOrEqual(w.units * x.reservePrice);
        }
      }),
      { seed: 1301, numRuns: 400 },
    );
  });

  it('truthful: no deviation from a grid of schedules does better than the true one', () => {
    const grid: Step[][] = [];
    for (const p1 of [0, 2, 5, 9, 14, 20]) for (const p2 of [0, 3, 8, 20]) if (p2 <= p1) grid.push(mv(p1, p2), mv(p1));
    fc.assert(
      fc.property(auctionArb, fc.nat(), (x, pick) => {
        const a = toAuction(x);
        const i = pick % a.bids.length;
        const truth = a.bids[i].steps;
        const honest = utility(a, i, truth);
        for (const lie of grid) {
          const bids = a.bids.map((b, j) => (j === i ? { bidder: b.bidder, steps: lie } : b));
          expect(utility({ ...a, bids }, i, truth)).toBeLessThanOrEqual(honest);
        }
      }),
      { seed: 1302, numRuns: 150 },
    );
  });

  it('100 bidders x 10,000 steps clear well under a second', () => {
    const next = mulberry32(7);
    const bids = Array.from({ length: 100 }, (_, i) => {
      let price = 1_000_000 + Math.floor(next() * 1_000_000);
      const steps = Array.from({ length: 100 }, () => ({
        units: BigInt(1 + Math.floor(next() * 50)),
        price: BigInt((price -= Math.floor(next() * 9_000))),
      }));
      return { bidder: `agent-${i}`, steps };
    });
    // CPU time of this process, not wall clock: the machine running the suite may be shared
    const c0 = process.cpuUsage();
    const r = cleared({ units: 100_000n, reservePrice: 10n, bids });
    const c = process.cpuUsage(c0);
    expect(r.unitsSold).toBe(100_000n);
    expect((c.user + c.system) / 1000).toBeLessThan(1000);
  });
});
