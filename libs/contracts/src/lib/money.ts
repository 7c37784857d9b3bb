import { AppError } from './errors';

/**
 * Amounts are integers in minor units (bigint here). JSON carries them as decimal strings with at most
 * `scale` decimals: "12.500" at scale 3 is 12500n. No floats, exponents, signs other than a leading '-',
 * spaces, or leading '+' are accepted.
 */

/** Postgres bigint range: every stored amount must fit. */
export const AMOUNT_MIN = -(2n ** 63n);
export const AMOUNT_MAX = 2n ** 63n - 1n;

/** Largest number of decimals an asset may have (18 covers any token-like unit). */
export const SCALE_MAX = 18;

const DECIMAL = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

export interface ParseAmountOptions {
  /** Allow a leading '-' (default false: amounts are non-negative unless the caller says otherwise). */
  allowNegative?: boolean;
  min?: bigint;
  max?: bigint;
}

function checkScale(scale: number): void {
  if (!Number.isSafeInteger(scale) || scale < 0 || scale > SCALE_MAX) {
    throw new RangeError(`scale must be an integer in [0, ${SCALE_MAX}], got ${scale}`);
  }
}

/** Parses a decimal string to integer minor units, or throws AppError with an AMOUNT_* code. */
export function parseAmount(input: unknown, scale: number, opts: ParseAmountOptions = {}): bigint {
  checkScale(scale);
  if (typeof input !== 'string') {
    throw new AppError('AMOUNT_INVALID', 'Amounts are decimal strings, e.g. "12.500".', { got: typeof input });
  }
  if (input.length > 64) throw new AppError('AMOUNT_INVALID', 'The amount string is too long.');
  const m = DECIMAL.exec(input);
  if (!m) throw new AppError('AMOUNT_INVALID', `"${input}" is not a plain decimal string.`);
  const [, sign, whole, frac = ''] = m;
  if (frac.length > scale) {
    throw new AppError('AMOUNT_TOO_MANY_DECIMALS', `At most ${scale} decimals.`, { scale, got: frac.length });
  }
  const negative = sign === '-';
  const magnitude = BigInt(whole + frac.padEnd(scale, '0'));
  const value = negative ? -magnitude : magnitude;
  if (negative && magnitude !== 0n && !opts.allowNegative) {
    throw new AppError('AMOUNT_NEGATIVE', 'The amount must not be negative.');
  }
  if (negative && magnitude === 0n) throw new AppError('AMOUNT_INVALID', '"-0" is not a valid amount.');
  const min = opts.min ?? (opts.allowNegative ? AMOUNT_MIN : 0n);
  const max = opts.max ?? AMOUNT_MAX;
  if (value < min || value > max) {
    throw new AppError('AMOUNT_OUT_OF_RANGE', 'The amount is beyond the allowed range.', {
      min: formatAmount(min, scale),
      max: formatAmount(max, scale),
    });
  }
  return value;
}

/** Formats integer minor units as a decimal string with exactly `scale` decimals (12500n, 3 -> "12.500"). */
export function formatAmount(value: bigint | number, scale: number): string {
  checkScale(scale);
  let v: bigint;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`);
    v = BigInt(value);
  } else {
    v = value;
  }
  const negative = v < 0n;
  const digits = (negative ? -v : v).toString();
  if (scale === 0) return (negative ? '-' : '') + digits;
  const padded = digits.padStart(scale + 1, '0');
  const whole = padded.slice(0, padded.length - scale);
  const frac = padded.slice(padded.length - scale);
  return `${negative ? '-' : ''}${whole}.${frac}`;
}

/** Parses a non-negative integer string ("42") to a safe JS integer: ticks, lots, ids. */
export function parseSafeInt(input: unknown, opts: { min?: number; max?: number } = {}): number {
  const min = opts.min ?? 0;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  let n: number;
  if (typeof input === 'number') n = input;
  else if (typeof input === 'string' && /^-?(0|[1-9][0-9]{0,15})$/.test(input)) n = Number(input);
  else throw new AppError('AMOUNT_INVALID', 'Expected an integer.', { got: typeof input });
  if (!Number.isSafeInteger(n)) throw new AppError('AMOUNT_INVALID', 'Expected an integer.');
  if (n < min || n > max) throw new AppError('AMOUNT_OUT_OF_RANGE', `Expected an integer in [${min}, ${max}].`, { min, max });
  return n;
}
