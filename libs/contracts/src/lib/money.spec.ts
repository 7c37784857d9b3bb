import fc from 'fast-check';
import { AMOUNT_MAX, AMOUNT_MIN, formatAmount, parseAmount, parseSafeInt } from './money';
import { AppError } from './errors';

// Seeds are pinned: a failure prints its seed and path; keep a failing one below as a permanent example.
const FC = { seed: 20261128, numRuns: 2000 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e instanceof AppError ? e.code : `threw ${String(e)}`;
  }
}

describe('money: parse and format', () => {
  it.each([
    ['12.500', 3, 12500n],
    ['0', 3, 0n],
    ['0.001', 3, 1n],
    ['7', 0, 7n],
    ['1.5', 3, 1500n],
    ['9223372036854775.807', 3, AMOUNT_MAX],
  ])('parses %s at scale %i', (s, scale, want) => {
    expect(parseAmount(s, scale)).toBe(want);
  });

  it.each([
    [12500n, 3, '12.500'],
    [1n, 3, '0.001'],
    [-1n, 3, '-0.001'],
    [0n, 0, '0'],
    [AMOUNT_MIN, 3, '-9223372036854775.808'],
  ])('formats %s at scale %i', (v, scale, want) => {
    expect(formatAmount(v, scale)).toBe(want);
  });

  // One row per rejection: input, scale, options, the stable code.
  it.each([
    [1.5, 3, {}, 'AMOUNT_INVALID'], // a JSON number: floats never carry money
    [12, 3, {}, 'AMOUNT_INVALID'],
    [null, 3, {}, 'AMOUNT_INVALID'],
    ['1e3', 3, {}, 'AMOUNT_INVALID'],
    ['0x10', 3, {}, 'AMOUNT_INVALID'],
    [' 1', 3, {}, 'AMOUNT_INVALID'],
    ['+1', 3, {}, 'AMOUNT_INVALID'],
    ['01', 3, {}, 'AMOUNT_INVALID'],
    ['1.', 3, {}, 'AMOUNT_INVALID'],
    ['.5', 3, {}, 'AMOUNT_INVALID'],
    ['', 3, {}, 'AMOUNT_INVALID'],
    ['NaN', 3, {}, 'AMOUNT_INVALID'],
    ['Infinity', 3, {}, 'AMOUNT_INVALID'],
    ['-0', 3, { allowNegative: true }, 'AMOUNT_INVALID'],
    ['1'.repeat(65), 3, {}, 'AMOUNT_INVALID'],
    ['1.0001', 3, {}, 'AMOUNT_TOO_MANY_DECIMALS'],
    ['1.5', 0, {}, 'AMOUNT_TOO_MANY_DECIMALS'],
    ['-1', 3, {}, 'AMOUNT_NEGATIVE'],
    ['9223372036854775.808', 3, {}, 'AMOUNT_OUT_OF_RANGE'],
    ['-9223372036854775.809', 3, { allowNegative: true }, 'AMOUNT_OUT_OF_RANGE'],
    ['5', 0, { max: 4n }, 'AMOUNT_OUT_OF_RANGE'],
    ['0', 0, { min: 1n }, 'AMOUNT_OUT_OF_RANGE'],
  ])('rejects %p at scale %i %p with %s', (input, scale, opts, code) => {
    expect(codeOf(() => parseAmount(input, scale, opts))).toBe(code);
  });

  it('refuses an invalid scale as a programming error', () => {
    expect(() => parseAmount('1', 19)).toThrow(RangeError);
    expect(() => formatAmount(1n, -1)).toThrow(RangeError);
    expect(() => formatAmount(0.5, 3)).toThrow(RangeError);
  });

  it('parse(format(x)) == x for every bigint amount and scale', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: AMOUNT_MIN, max: AMOUNT_MAX }), fc.integer({ min: 0, max: 18 }), (x, scale) => {
        expect(parseAmount(formatAmount(x, scale), scale, { allowNegative: true })).toBe(x);
      }),
      FC,
    );
  });

  it('format(parse(s)) == s for canonical strings', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: AMOUNT_MAX }), fc.integer({ min: 0, max: 18 }), (x, scale) => {
        const s = formatAmount(x, scale);
        expect(formatAmount(parseAmount(s, scale), scale)).toBe(s);
      }),
      FC,
    );
  });

  it('parses every shorter fraction by padding, never by float', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.integer({ min: 0, max: 6 }), (whole, decimals) => {
        const frac = decimals === 0 ? '' : '.' + '7'.repeat(decimals);
        const v = parseAmount(`${whole}${frac}`, 6);
        expect(v).toBe(whole * 10n ** 6n + (decimals === 0 ? 0n : BigInt('7'.repeat(decimals).padEnd(6, '0'))));
      }),
      FC,
    );
  });
});

describe('parseSafeInt', () => {
  it('accepts integers as numbers or strings', () => {
    expect(parseSafeInt('42')).toBe(42);
    expect(parseSafeInt(42)).toBe(42);
  });
  it.each([['1.5'], [1.5], ['1e3'], ['9007199254740993'], [-1], [{}]])('rejects %p', (x) => {
    expect(() => parseSafeInt(x)).toThrow(AppError);
  });
});
