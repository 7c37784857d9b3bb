import { Carve, CARVE_MAX_BYTES } from './carve';

/** Columns carved from one buffer (small pools) or given a buffer each (big ones) behave as separate arrays. */
describe('Carve', () => {
  it.each([
    ['one buffer', 100],
    ['a buffer per column', Math.ceil(CARVE_MAX_BYTES / 8)],
  ])('%s: columns are disjoint, copy what they grow from, and fill', (_, n) => {
    const old = Float64Array.from({ length: 10 }, (_, i) => i + 0.5);
    const oldI = Int32Array.from({ length: 10 }, (_, i) => -i);
    const c = new Carve({ f64: 2 * n, i32: 2 * n, u8: n });
    const [a, b] = [c.f64(n, old), c.f64(n)];
    const [x, y] = [c.i32(n, oldI, -1), c.i32(n, undefined, 7)];
    const u = c.u8(n);
    a.fill(1.25);
    b.fill(2.5);
    y.fill(9);
    u.fill(255);
    expect([a.length, b.length, x.length, y.length, u.length]).toEqual([n, n, n, n, n]);
    expect([a[n - 1], b[0], b[n - 1], y[0], u[n - 1]]).toEqual([1.25, 2.5, 2.5, 9, 255]);
    expect([...x.subarray(0, 12)]).toEqual([0, -1, -2, -3, -4, -5, -6, -7, -8, -9, -1, -1]);
    expect(x[n - 1]).toBe(-1);
    const shared = a.buffer === u.buffer;
    expect(shared).toBe(8 * 2 * n + 4 * 2 * n + n <= CARVE_MAX_BYTES);
  });

  it('copies only what fits when the new columns are shorter', () => {
    const c = new Carve({ f64: 4, i32: 4 });
    expect([...c.f64(4, Float64Array.from([1, 2, 3, 4, 5, 6]))]).toEqual([1, 2, 3, 4]);
    expect([...c.i32(4, Int32Array.from([9, 8, 7, 6, 5]))]).toEqual([9, 8, 7, 6]);
  });
});
