import { reject, type Rejection } from '@ate/contracts';
import { LIMITS } from './limits';
import { checkAmount } from './validate';

/**
 * Posted prices: a fixed-price sale with a supply cap, and a congestion-priced pool whose price follows the
 * EIP-1559 integer rule from one epoch to the next. Pure state transitions: the caller keeps the state (the
 * sequencer, so a replay reproduces every price), passes it in, and stores what comes out. A purchase is all or
 * nothing and never costs more than `units * maxPrice`.
 */

export interface Purchase {
  units: bigint;
  /** The most the buyer pays per unit; the purchase is refused when the posted price is above it. */
  maxPrice: bigint;
}

export interface Fill {
  ok: true;
  units: bigint;
  /** The posted price paid per unit (<= maxPrice). */
  price: bigint;
  /** units * price. */
  cost: bigint;
}

function checkPurchase(p: Purchase): Rejection | undefined {
  return checkAmount(p?.units, 1n, LIMITS.amountMax, 'units') ?? checkAmount(p.maxPrice, 0n, LIMITS.amountMax, 'maxPrice');
}

// --- fixed-price sale ---------------------------------------------------------------------------------------

export interface FixedPriceSale {
  price: bigint;
  /** Units for sale in all. */
  supply: bigint;
  /** Units sold so far (sold <= supply). */
  sold: bigint;
}

export function validateFixedPriceSale(s: FixedPriceSale): Rejection | undefined {
  const e = checkAmount(s?.price, 1n, LIMITS.amountMax, 'price') ?? checkAmount(s.supply, 0n, LIMITS.amountMax, 'supply');
  if (e) return e;
  if (s.supply === 0n) return reject('MECHANISM_ZERO_UNITS');
  if (typeof s.sold !== 'bigint' || s.sold < 0n || s.sold > s.supply) return reject('MECHANISM_INVALID_CONFIG', { field: 'sold' });
  return undefined;
}

/** Buys at the fixed price: the fill and the sale's next state, or a Rejection (state unchanged). */
export function buyFixedPrice(sale: FixedPriceSale, p: Purchase): { fill: Fill; sale: FixedPriceSale } | Rejection {
  const bad = validateFixedPriceSale(sale) ?? checkPurchase(p);
  if (bad) return bad;
  if (sale.price > p.maxPrice) return reject('MECHANISM_PRICE_ABOVE_MAX', { price: sale.price.toString(), maxPrice: p.maxPrice.toString() });
  const left = sale.supply - sale.sold;
  if (p.units > left) return reject('MECHANISM_SUPPLY_EXHAUSTED', { available: left.toString(), units: p.units.toString() });
  return {
    fill: { ok: true, units: p.units, price: sale.price, cost: p.units * sale.price },
    sale: { ...sale, sold: sale.sold + p.units },
  };
}

// --- congestion-priced pool (EIP-1559) ----------------------------------------------------------------------

export interface PoolConfig {
  /** Units sold at most per epoch, >= 2. The target is half of it (rounded down). */
  capacityPerEpoch: bigint;
  /** The price never falls below this floor, >= 1 (a price of 0 could never rise by a fraction). */
  minPrice: bigint;
  /** The price never rises above this ceiling (default: the ledger's maximum amount). */
  maxPrice?: bigint;
}

export interface PoolState {
  /** The current epoch's number; the caller's clock decides when an epoch ends. */
  epoch: number;
  /** Price per unit during this epoch. */
  price: bigint;
  /** Units sold during this epoch. */
  used: bigint;
}

/** What one epoch ended with: the record for the price history. */
export interface EpochRecord {
  epoch: number;
  price: bigint;
  used: bigint;
  nextPrice: bigint;
}

/** EIP-1559's BASE_FEE_MAX_CHANGE_DENOMINATOR: the price moves by at most 1/8 per epoch. */
export const POOL_CHANGE_DENOMINATOR = 8n;

export function validatePool(c: PoolConfig, s?: PoolState): Rejection | undefined {
  const e =
    checkAmount(c?.capacityPerEpoch, 2n, LIMITS.amountMax, 'capacityPerEpoch') ??
    checkAmount(c.minPrice, 1n, LIMITS.amountMax, 'minPrice') ??
    checkAmount(c.maxPrice ?? LIMITS.amountMax, c.minPrice, LIMITS.amountMax, 'maxPrice');
  if (e) return e;
  if (!s) return undefined;
  if (!Number.isSafeInteger(s.epoch) || s.epoch < 0) return reject('MECHANISM_INVALID_CONFIG', { field: 'epoch' });
  return checkAmount(s.price, c.minPrice, c.maxPrice ?? LIMITS.amountMax, 'price') ?? checkAmount(s.used, 0n, c.capacityPerEpoch, 'used');
}

/** The first epoch's state at a starting price (clamped into [minPrice, maxPrice]). */
export function openPool(c: PoolConfig, startPrice: bigint, epoch = 0): PoolState | Rejection {
  const bad = validatePool(c) ?? checkAmount(startPrice, 0n, LIMITS.amountMax, 'startPrice');
  if (bad) return bad;
  return { epoch, price: clamp(startPrice, c), used: 0n };
}

function clamp(price: bigint, c: PoolConfig): bigint {
  const max = c.maxPrice ?? LIMITS.amountMax;
  return price < c.minPrice ? c.minPrice : price > max ? max : price;
}

/**
 * The EIP-1559 integer update: target = capacity / 2; above the target the price rises by
 * max(price * (used - target) / target / 8, 1); below it falls by price * (target - used) / target / 8 (integer
 * divisions, rounding down); at the target it stays. `used` counts at most 2 * target, so an odd capacity cannot
 * move the price by more than 1/8. The result is clamped into [minPrice, maxPrice].
 */
export function nextPoolPrice(c: PoolConfig, price: bigint, used: bigint): bigint {
  const target = c.capacityPerEpoch / 2n;
  const u = used > 2n * target ? 2n * target : used;
  if (u === target) return clamp(price, c);
  if (u > target) {
    const delta = (price * (u - target)) / target / POOL_CHANGE_DENOMINATOR;
    return clamp(price + (delta > 1n ? delta : 1n), c);
  }
  return clamp(price - (price * (target - u)) / target / POOL_CHANGE_DENOMINATOR, c);
}

/**
 * Ends epochs until `toEpoch`: the epoch in progress is priced by its use, every skipped epoch by zero use.
 * Returns the records of the ended epochs (at most `maxRecords`, the latest; the price is exact either way since
 * a run of empty epochs stops once the price sits at its floor).
 */
export function advancePool(c: PoolConfig, s: PoolState, toEpoch: number, maxRecords = 64): { state: PoolState; ended: EpochRecord[] } | Rejection {
  const bad = validatePool(c, s);
  if (bad) return bad;
  if (!Number.isSafeInteger(toEpoch) || toEpoch < s.epoch) return reject('MECHANISM_INVALID_CONFIG', { field: 'toEpoch' });
  const ended: EpochRecord[] = [];
  let { epoch, price, used } = s;
  while (epoch < toEpoch) {
    const next = nextPoolPrice(c, price, used);
    ended.push({ epoch, price, used, nextPrice: next });
    if (ended.length > maxRecords) ended.shift();
    epoch += 1;
    const idle = used === 0n && next === price;
    price = next;
    used = 0n;
    if (idle) break; // empty epochs at the floor change nothing: jump to the end
  }
  return { state: { epoch: toEpoch, price, used: 0n }, ended };
}

/** Buys from the pool at this epoch's price: the fill and the next state, or a Rejection (state unchanged). */
export function buyFromPool(c: PoolConfig, s: PoolState, p: Purchase): { fill: Fill; state: PoolState } | Rejection {
  const bad = validatePool(c, s) ?? checkPurchase(p);
  if (bad) return bad;
  if (s.price > p.maxPrice) return reject('MECHANISM_PRICE_ABOVE_MAX', { price: s.price.toString(), maxPrice: p.maxPrice.toString() });
  const left = c.capacityPerEpoch - s.used;
  if (p.units > left) return reject('MECHANISM_SUPPLY_EXHAUSTED', { available: left.toString(), units: p.units.toString(), epoch: s.epoch });
  return {
    fill: { ok: true, units: p.units, price: s.price, cost: p.units * s.price },
    state: { ...s, used: s.used + p.units },
  };
}
