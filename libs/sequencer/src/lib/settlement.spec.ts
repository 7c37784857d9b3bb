import fc from 'fast-check';
import { feeIncrement } from './settlement';

const SEED = 20261201;
const ceilFee = (amount: number, bps: number) => Number((BigInt(amount) * BigInt(bps) + 9_999n) / 10_000n);

/** A running total split into fills: the fees each fill pays under a rounding rule. */
function feesOfFills(rounding: 'up' | 'down', bps: number, fills: number[]): number {
  let before = 0;
  let paid = 0;
  for (const f of fills) {
    paid += feeIncrement(rounding, bps, before, f);
    before += f;
  }
  return paid;
}

describe('fee rounding (settlement)', () => {
  it.each([
    // rounding, bps, fills, fees in all: the cases first
    ['down', 10, [999, 1, 1, 1, 1, 1], 0], // per fill rounded down: nothing at all (the dodge)
    ['up', 10, [999, 1, 1, 1, 1, 1], 2], // ceil(1004 x 10 / 10000) = 2, however it was split
    ['up', 10, [1004], 2],
    ['up', 10, [1], 1],
    ['up', 0, [5, 7], 0],
    ['up', 1000, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 1], // 10% of 10 units, paid by the first fill
    ['up', 1000, [10], 1],
  ] as const)('%s at %i bps, fills %j: %i', (rounding, bps, fills, fee) => {
    expect(feesOfFills(rounding, bps, [...fills])).toBe(fee);
  });

  it('rounding up: an order pays ceil(total x rate) however it is filled, and splitting it into orders never pays less', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 40 }),
        (bps, fills, orders) => {
          const total = fills.reduce((a, b) => a + b, 0);
          const unsplit = ceilFee(total, bps);
          // one order, any fills
          expect(feesOfFills('up', bps, fills)).toBe(unsplit);
          // the same fills as several orders (each its own running total)
          const groups: number[][] = Array.from({ length: Math.min(orders, fills.length) }, () => []);
          fills.forEach((f, i) => (groups[i % groups.length] as number[]).push(f));
          const split = groups.reduce((s, g) => s + feesOfFills('up', bps, g), 0);
          expect(split).toBeGreaterThanOrEqual(unsplit);
          // and never more than what each side receives
          for (const f of fills) expect(feeIncrement('up', bps, 0, f)).toBeLessThanOrEqual(f);
        },
      ),
      { seed: SEED, numRuns: 2000 },
    );
  });
});
