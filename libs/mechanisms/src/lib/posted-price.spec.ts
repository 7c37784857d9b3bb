import fc from 'fast-check';
import type { Rejection } from '@ate/contracts';
import {
  advancePool,
  buyFixedPrice,
  buyFromPool,
  nextPoolPrice,
  openPool,
  type FixedPriceSale,
  type PoolConfig,
  type PoolState,
} from './posted-price';

const code = (r: unknown) => (r as Rejection).code;

describe('fixed-price sale', () => {
  const sale: FixedPriceSale = { price: 100n, supply: 10n, sold: 7n };
  it.each([
    // [name, purchase, expected code or cost]
    ['within supply and max price', { units: 3n, maxPrice: 100n }, 300n],
    ['max price above the price: pays the posted price', { units: 1n, maxPrice: 1_000n }, 100n],
    ['max price below the price', { units: 1n, maxPrice: 99n }, 'MECHANISM_PRICE_ABOVE_MAX'],
    ['more than the supply left', { units: 4n, maxPrice: 100n }, 'MECHANISM_SUPPLY_EXHAUSTED'],
    ['zero units', { units: 0n, maxPrice: 100n }, 'MECHANISM_INVALID_AMOUNT'],
    ['a negative max price', { units: 1n, maxPrice: -1n }, 'MECHANISM_INVALID_AMOUNT'],
  ] as [string, { units: bigint; maxPrice: bigint }, bigint | string][])('%s', (_n, p, want) => {
    const r = buyFixedPrice(sale, p);
    if (typeof want === 'string') expect(code(r)).toBe(want);
    else {
      if ('code' in r) throw new Error(r.code);
      expect(r.fill.cost).toBe(want);
      expect(r.sale.sold).toBe(sale.sold + p.units);
    }
  });
  it('refuses a sale with no supply, or sold beyond supply', () => {
    expect(code(buyFixedPrice({ price: 1n, supply: 0n, sold: 0n }, { units: 1n, maxPrice: 1n }))).toBe('MECHANISM_ZERO_UNITS');
    expect(code(buyFixedPrice({ price: 1n, supply: 1n, sold: 2n }, { units: 1n, maxPrice: 1n }))).toBe('MECHANISM_INVALID_CONFIG');
  });
});

describe('congestion-priced pool: the EIP-1559 integer rule', () => {
  const c: PoolConfig = { capacityPerEpoch: 1_000n, minPrice: 1n };
  it.each([
    // [price, used in the epoch, next price] with target 500
    [1_000n, 500n, 1_000n], // at target: unchanged
    [1_000n, 1_000n, 1_125n], // full: +1/8
    [1_000n, 0n, 875n], // empty: -1/8
    [1_000n, 750n, 1_062n], // +1000*250/500/8 = 62.5, rounded down
    [1_000n, 250n, 938n], // -62 (62.5 rounded down)
    [5n, 501n, 6n], // the rise is at least 1 above the target
    [5n, 1_000n, 6n], // 5/8 rounds to 0, so +1
    [5n, 0n, 5n], // 5/8 rounds to 0: a small price does not fall
    [1n, 0n, 1n], // the floor
  ])('price %s, used %s -> %s', (price, used, next) => {
    expect(nextPoolPrice(c, price, used)).toBe(next);
  });
  it('an odd capacity counts at most twice the target, so the move stays within 1/8', () => {
    expect(nextPoolPrice({ capacityPerEpoch: 5n, minPrice: 1n }, 800n, 5n)).toBe(900n); // target 2, use counted as 4
  });
  it('the ceiling and the floor hold', () => {
    expect(nextPoolPrice({ capacityPerEpoch: 10n, minPrice: 50n, maxPrice: 60n }, 60n, 10n)).toBe(60n);
    expect(nextPoolPrice({ capacityPerEpoch: 10n, minPrice: 50n }, 51n, 0n)).toBe(50n);
  });
  it('bad configurations are refused', () => {
    expect(code(openPool({ capacityPerEpoch: 1n, minPrice: 1n }, 10n))).toBe('MECHANISM_INVALID_AMOUNT');
    expect(code(openPool({ capacityPerEpoch: 10n, minPrice: 0n }, 10n))).toBe('MECHANISM_INVALID_AMOUNT');
    expect(code(openPool({ capacityPerEpoch: 10n, minPrice: 5n, maxPrice: 4n }, 10n))).toBe('MECHANISM_INVALID_AMOUNT');
  });
});

describe('congestion-priced pool: purchases and epochs', () => {
  const c: PoolConfig = { capacityPerEpoch: 10n, minPrice: 8n };
  const open = openPool(c, 100n) as PoolState;
  it('sells up to the capacity at the epoch price, refuses beyond it and above the max price', () => {
    const a = buyFromPool(c, open, { units: 6n, maxPrice: 100n });
    if ('code' in a) throw new Error(a.code);
    expect(a.fill).toEqual({ ok: true, units: 6n, price: 100n, cost: 600n });
    expect(code(buyFromPool(c, a.state, { units: 5n, maxPrice: 100n }))).toBe('MECHANISM_SUPPLY_EXHAUSTED');
    expect(code(buyFromPool(c, a.state, { units: 1n, maxPrice: 99n }))).toBe('MECHANISM_PRICE_ABOVE_MAX');
    const next = advancePool(c, a.state, 1);
    if ('code' in next) throw new Error(next.code);
    expect(next.ended).toEqual([{ epoch: 0, price: 100n, used: 6n, nextPrice: 102n }]); // 100*1/5/8 = 2
    expect(next.state).toEqual({ epoch: 1, price: 102n, used: 0n });
  });
  it('skipped epochs count as empty and the price decays to its floor, however many were skipped', () => {
    const r = advancePool(c, open, 1_000_000_000);
    if ('code' in r) throw new Error(r.code);
    expect(r.state).toEqual({ epoch: 1_000_000_000, price: 8n, used: 0n });
    expect(r.ended.length).toBeLessThanOrEqual(64);
  });
  it('refuses to go back in time', () => {
    expect(code(advancePool(c, { epoch: 5, price: 100n, used: 0n }, 4))).toBe('MECHANISM_INVALID_CONFIG');
  });

  it('properties: buyers never pay above their max, capacity holds, each move is within max(price/8, 1)', () => {
    const op = fc.record({ units: fc.integer({ min: 1, max: 12 }), maxPrice: fc.integer({ min: 0, max: 300 }), endEpoch: fc.boolean() });
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 300 }), fc.array(op, { maxLength: 60 }), (start, ops) => {
        let s = openPool(c, BigInt(start)) as PoolState;
        for (const o of ops) {
          if (o.endEpoch) {
            const r = advancePool(c, s, s.epoch + 1);
            if ('code' in r) throw new Error(r.code);
            const { price, nextPrice } = r.ended[0];
            const limit = price / 8n > 1n ? price / 8n : 1n;
            expect(nextPrice - price <= limit && price - nextPrice <= limit).toBe(true);
            expect(nextPrice).toBeGreaterThanOrEqual(c.minPrice);
            s = r.state;
            continue;
          }
          const r = buyFromPool(c, s, { units: BigInt(o.units), maxPrice: BigInt(o.maxPrice) });
          if ('code' in r) {
            expect(['MECHANISM_PRICE_ABOVE_MAX', 'MECHANISM_SUPPLY_EXHAUSTED']).toContain(r.code);
            continue;
          }
          expect(r.fill.price).toBeLessThanOrEqual(BigInt(o.maxPrice));
          expect(r.fill.cost).toBe(r.fill.units * r.fill.price);
          expect(r.state.used).toBeLessThanOrEqual(c.capacityPerEpoch);
          expect(r.state.used).toBe(s.used + r.fill.units);
          s = r.state;
        }
      }),
      { seed: 1304, numRuns: 300 },
    );
  });
});
