import { AppError, ERROR_CODES, isErrorCode, reject } from './errors';

describe('error codes', () => {
  it('every code maps to a 4xx or 5xx status and a message', () => {
    for (const [code, def] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(def.status).toBeGreaterThanOrEqual(400);
      expect(def.status).toBeLessThan(600);
      expect(def.message.length).toBeGreaterThan(0);
    }
  });
  it('AppError carries the shape of the API', () => {
    const e = new AppError('AMOUNT_NEGATIVE', undefined, { field: 'price' });
    expect(e.status).toBe(400);
    expect(e.toBody()).toEqual({
      error: { code: 'AMOUNT_NEGATIVE', message: ERROR_CODES.AMOUNT_NEGATIVE.message, details: { field: 'price' } },
    });
  });
  it('rejections are values', () => {
    expect(reject('NOT_FOUND')).toEqual({ ok: false, code: 'NOT_FOUND' });
    expect(isErrorCode('NOT_FOUND')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
  });
});
