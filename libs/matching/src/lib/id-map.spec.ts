import fc from 'fast-check';
import { IdMap } from './id-map';

const SEED = Number(process.env['FC_SEED'] ?? 20261128);

describe(`IdMap against a JS Map (seed ${SEED})`, () => {
  it('agrees on every get, set, delete and size', () => {
    const op = fc.tuple(
      fc.integer({ min: 0, max: 2 }),
      fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
      fc.nat(1000),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const m = new IdMap(16);
        const ref = new Map<number, number>();
        for (const [k, id, v] of ops) {
          if (k === 0) {
            m.set(id, v);
            ref.set(id, v);
          } else if (k === 1 && m.delete(id) !== ref.delete(id)) return false;
          if (m.get(id) !== (ref.get(id) ?? -1) || m.size !== ref.size) return false;
        }
        for (const [id, v] of ref) if (m.get(id) !== v) return false;
        return true;
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('keeps working under book-like churn (many deletes, sequential ids)', () => {
    const m = new IdMap(16);
    const live: number[] = [];
    for (let id = 1; id <= 50_000; id++) {
      m.set(id, id & 1023);
      live.push(id);
      if (live.length > 500) {
        const k = (id * 7919) % live.length;
        if (!m.delete(live[k])) throw new Error(`lost ${live[k]}`);
        live[k] = live[live.length - 1];
        live.pop();
      }
    }
    expect(m.size).toBe(live.length);
    expect(live.filter((id) => m.get(id) !== (id & 1023))).toEqual([]);
  });
});
