import { reject, type Rejection } from '@ate/contracts';
import { LIMITS } from './limits';

/** A Rejection if `id` is not a usable bidder or item id, else undefined. */
export function checkId(id: unknown, code: 'MECHANISM_INVALID_BIDDER' | 'MECHANISM_INVALID_ITEM', where: string): Rejection | undefined {
  if (typeof id !== 'string' || id.length === 0 || id.length > LIMITS.idLength) {
    return reject(code, { where }, `${where}: ids are non-empty strings of at most ${LIMITS.idLength} characters.`);
  }
  return undefined;
}

/** A Rejection unless `x` is a bigint in [min, max]. */
export function checkAmount(x: unknown, min: bigint, max: bigint, where: string): Rejection | undefined {
  if (typeof x !== 'bigint' || x < min || x > max) {
    return reject(
      'MECHANISM_INVALID_AMOUNT',
      { where, min: min.toString(), max: max.toString() },
      `${where} must be an integer in [${min}, ${max}].`,
    );
  }
  return undefined;
}

export function tooLarge(what: string, limit: number, got: number): Rejection {
  return reject('MECHANISM_TOO_LARGE', { what, limit, got }, `At most ${limit} ${what}; got ${got}.`);
}
