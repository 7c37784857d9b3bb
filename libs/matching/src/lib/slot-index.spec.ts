import fc from 'fast-check';
import { AgentSlotIndex, OrderSlotIndex, slotTable } from './slot-index';

const SEED = Number(process.env['FC_SEED'] ?? 20261202);

/**
 * The indexes keep slots only and read a cell's key from the owner's column, as the engine's pool (ids by slot)
 * and agent table (agent ids by slot) hold them. Against a JS Map, through adds, removals, lookups of absent keys
 * and growth (the column is replaced, as when the pool grows).
 */
/** the same table with 28 slot bits leaves 3 for the distance (capped at 7): long runs then take the key's path */
const NarrowIndex = slotTable<Float64Array>(28, 75);

describe.each([
  ['OrderSlotIndex', (ids: Float64Array) => new OrderSlotIndex(ids, 16)],
  ['a table whose distances are capped at 7, 75% full', (ids: Float64Array) => new NarrowIndex(ids, 16)],
])(`%s against a JS Map (seed ${SEED})`, (_name, make) => {
  it('agrees on every get, add, remove and size, across growth of table and column', () => {
    const op = fc.tuple(
      fc.integer({ min: 0, max: 2 }),
      fc.oneof(fc.integer({ min: 1, max: 96 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        let ids = new Float64Array(4);
        const free: number[] = [3, 2, 1, 0];
        const idx = make(ids);
        const ref = new Map<number, number>();
        for (const [k, id] of ops) {
          if (k === 0 && !ref.has(id)) {
            if (free.length === 0) {
              const bigger = new Float64Array(ids.length * 2);
              bigger.set(ids);
              for (let s = bigger.length - 1; s >= ids.length; s--) free.push(s);
              ids = bigger;
              idx.keys = ids;
            }
            const s = free.pop() as number;
            ids[s] = id;
            idx.add(s);
            ref.set(id, s);
          } else if (k === 1 && ref.has(id)) {
            const s = ref.get(id) as number;
            idx.remove(s);
            ref.delete(id);
            free.push(s);
          }
          if (idx.get(id) !== (ref.get(id) ?? -1) || idx.size !== ref.size) return false;
        }
        for (const [id, s] of ref) if (idx.get(id) !== s) return false;
        return true;
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('keeps working under book-like churn (sequential ids, many removals, slots reused)', () => {
    const ids = new Float64Array(1024);
    const idx = make(ids);
    const live: number[] = []; // slots
    const free = Array.from({ length: 1024 }, (_, i) => 1023 - i);
    for (let id = 1; id <= 50_000; id++) {
      const s = free.pop() as number;
      ids[s] = id;
      idx.add(s);
      live.push(s);
      if (live.length > 500) {
        const k = (id * 7919) % live.length;
        idx.remove(live[k]);
        free.push(live[k]);
        live[k] = live[live.length - 1];
        live.pop();
      }
    }
    expect(idx.size).toBe(live.length);
    expect(live.filter((s) => idx.get(ids[s]) !== s)).toEqual([]);
    expect(idx.get(50_001)).toBe(-1);
  });
});

describe(`AgentSlotIndex against a JS Map (seed ${SEED})`, () => {
  it('agrees on every get and add, up to 75% full, across growth', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 ** 24 - 1 }), { maxLength: 300 }),
        fc.array(fc.integer({ min: 0, max: 2 ** 24 - 1 })),
        (adds, probes) => {
          let agents = new Int32Array(2);
          const idx = new AgentSlotIndex(agents, 4);
          const ref = new Map<number, number>();
          for (const a of adds) {
            if (ref.has(a)) continue;
            const slot = ref.size;
            if (slot === agents.length) {
              const bigger = new Int32Array(agents.length * 2);
              bigger.set(agents);
              agents = bigger;
              idx.keys = agents;
            }
            agents[slot] = a;
            idx.add(slot);
            ref.set(a, slot);
            if (idx.bytes / 4 < (ref.size * 4) / 3) return false;
          }
          return [...adds, ...probes].every((a) => idx.get(a) === (ref.get(a) ?? -1)) && idx.size === ref.size;
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });
});
