import { Carve } from './carve';
import { AGENTS_MAX, BOOK_ORDERS_MAX } from './limits';

const NIL = -1;

/**
 * Home cell of a key: blocks of 16 consecutive keys share one scattered 16-cell block, so the recent,
 * near-sequential ids of a busy book stay together in cache while blocks spread over the table (as `IdMap`).
 */
function home(key: number, mask: number): number {
  const block = Math.floor(key / 16);
  const h = Math.imul((block | 0) ^ ((block / 4294967296) | 0), 0x9e3779b1) >>> 0;
  return ((h << 4) | (key & 15)) & mask;
}

function table(cells: number): Int32Array<ArrayBuffer> {
  let cap = 16;
  while (cap < cells) cap *= 2;
  return new Carve({ i32: cap }).i32(cap, undefined, NIL);
}

/**
 * A table of slots only, 4 bytes a cell: the key of a cell is read from the owner's own column (`keys[slot]`: the
 * order pool's ids, a market's agent ids), which already holds it, instead of a second copy in the table (`IdMap`
 * keeps float64 keys: 12 bytes a cell). A cell holds the slot in its low `slotBits` bits and, above them, how far
 * the cell is from the key's home (capped: the cap means "that far or more; ask the key"). The distance does the
 * work of a stored key where the table itself can answer: a probe skips a cell whose distance differs from its
 * own without reading the key, and a backward shift moves cells without reading theirs, so a lookup reads the
 * owner's column about once (for the key it finds) and a removal not at all. Linear probing, backward-shift
 * deletion (no tombstones under churn). `keys` must be replaced by the owner whenever its column is (growth).
 */
export function slotTable<K extends Float64Array | Int32Array>(slotBits: number, maxLoad: number) {
  const slotMask = (1 << slotBits) - 1;
  const distMax = (1 << (31 - slotBits)) - 1;
  // a class per kind of table (made by this function, not shared by inheritance), so that each one's methods see
  // a single receiver and key-column type: their property loads stay monomorphic on the hot path
  return class SlotTable {
    keys: K;
    /** cells: slot | distance << slotBits, or -1 */
    vals: Int32Array;
    mask: number;
    size = 0;

    constructor(keys: K, capacity: number) {
      this.keys = keys;
      this.vals = table(capacity);
      this.mask = this.vals.length - 1;
    }

    get bytes(): number {
      return this.vals.byteLength;
    }

    /** the slot under this key, or -1 */
    get(key: number): number {
      const vals = this.vals;
      const mask = this.mask;
      let i = home(key, mask);
      for (let d = 0; ; d++) {
        const v = vals[i];
        if (v === NIL) return NIL;
        if (v >>> slotBits === (d < distMax ? d : distMax)) {
          const s = v & slotMask;
          if (this.keys[s] === key) return s;
        }
        i = (i + 1) & mask;
      }
    }

    /** Adds slot `s`, whose key (`keys[s]`) is not in the table yet. */
    add(s: number): void {
      if ((this.size + 1) * 100 > (this.mask + 1) * maxLoad) this.grow();
      this.place(s);
      this.size++;
    }

    place(s: number): void {
      const vals = this.vals;
      const mask = this.mask;
      let i = home(this.keys[s], mask);
      let d = 0;
      while (vals[i] !== NIL) {
        i = (i + 1) & mask;
        d++;
      }
      vals[i] = s | ((d < distMax ? d : distMax) << slotBits);
    }

    /** Removes slot `s` (which is in the table, under the key `keys[s]`). */
    remove(s: number): void {
      const vals = this.vals;
      const mask = this.mask;
      let i = home(this.keys[s], mask);
      while (vals[i] === NIL || (vals[i] & slotMask) !== s) i = (i + 1) & mask;
      // backward shift: move later members of the probe run into the hole when their home allows it
      let j = i;
      for (;;) {
        j = (j + 1) & mask;
        const v = vals[j];
        if (v === NIL) break;
        let d = v >>> slotBits;
        if (d === distMax) d = (j - home(this.keys[v & slotMask], mask)) & mask;
        const gap = (j - i) & mask;
        if (d >= gap) {
          const nd = d - gap;
          vals[i] = (v & slotMask) | ((nd < distMax ? nd : distMax) << slotBits);
          i = j;
        }
      }
      vals[i] = NIL;
      this.size--;
    }

    grow(): void {
      const old = this.vals;
      this.vals = table(old.length * 2);
      this.mask = this.vals.length - 1;
      for (let i = 0; i < old.length; i++) if (old[i] !== NIL) this.place(old[i] & slotMask);
    }
  };
}

/** Order id -> pool slot; keys: the pool's id column. At most 50% full (the book's insert/remove churn keeps runs short). */
export const OrderSlotIndex = slotTable<Float64Array>(Math.log2(BOOK_ORDERS_MAX), 50);
export type OrderSlotIndex = InstanceType<typeof OrderSlotIndex>;

/**
 * Agent id -> the market's local agent slot; keys: the market's agent column. Agents are only ever added (a
 * market keeps an agent's slot), so the table may fill to 75%.
 */
export const AgentSlotIndex = slotTable<Int32Array>(Math.log2(AGENTS_MAX), 75);
export type AgentSlotIndex = InstanceType<typeof AgentSlotIndex>;
