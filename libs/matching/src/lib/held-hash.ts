import type { BalancesSnapshot, SparseBalancesSnapshot } from './balances';
import { StateHasher } from './snapshot';

/**
 * The digest of what a balance view holds (state hash v2's balance part): cost grows with the balances held, not
 * with agents x assets. Terms: each asset's supply when not zero, each non-zero word of the known-agents bitmap,
 * each balance (agent, asset) whose total or reservation is not zero. Each term is mixed into two 32-bit lanes
 * (FNV-1a words, then the murmur3 finaliser) and the lanes are summed, so the digest does not depend on the order
 * the terms come in: a view walks its cells in creation order, a snapshot in (agent, asset) order, and both agree.
 * Assets enter by a hash of their code, not by their index, so an asset defined later (and empty) changes nothing.
 */
export class HeldHasher {
  private a = 0;
  private b = 0;
  private n = 0;
  // the term being mixed
  private ta = 0;
  private tb = 0;

  private begin(tag: number): void {
    this.ta = 0x811c9dc5 ^ tag;
    this.tb = 0x050c5d1f ^ Math.imul(tag, 0x9e3779b1);
  }
  private word(x: number): void {
    this.ta = Math.imul(this.ta ^ x, 16777619);
    this.tb = Math.imul(this.tb ^ x, 2246822519);
    this.tb ^= this.tb >>> 15;
  }
  private num(x: number): void {
    this.word(x >>> 0);
    this.word(Math.floor(x / 4294967296) >>> 0);
  }
  private end(): void {
    this.a = (this.a + fmix(this.ta)) | 0;
    this.b = (this.b + fmix(this.tb ^ 0x5bd1e995)) | 0;
    this.n++;
  }

  supply(assetKeyA: number, assetKeyB: number, amount: number): void {
    this.begin(1);
    this.word(assetKeyA);
    this.word(assetKeyB);
    this.num(amount);
    this.end();
  }
  /** a non-zero word of the known-agents bitmap: agents 32w .. 32w + 31 */
  knownWord(w: number, bits: number): void {
    this.begin(2);
    this.word(w);
    this.word(bits);
    this.end();
  }
  cell(agent: number, assetKeyA: number, assetKeyB: number, total: number, reserved: number): void {
    this.begin(3);
    this.word(agent);
    this.word(assetKeyA);
    this.word(assetKeyB);
    this.num(total);
    this.num(reserved);
    this.end();
  }

  digest(): string {
    const h = new StateHasher();
    h.num(0x4e1d);
    h.num(this.n);
    h.num(this.a >>> 0);
    h.num(this.b >>> 0);
    return h.digest();
  }
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** Two 32-bit keys per asset code, [a0, b0, a1, b1, ...] in the given order. */
export function assetKeys(assets: readonly string[]): Int32Array {
  const keys = new Int32Array(assets.length * 2);
  assets.forEach((code, i) => {
    const h = new StateHasher();
    h.str(code);
    const d = h.digest();
    keys[2 * i] = parseInt(d.slice(0, 8), 16) | 0;
    keys[2 * i + 1] = parseInt(d.slice(8), 16) | 0;
  });
  return keys;
}

function supplyTerms(h: HeldHasher, keys: Int32Array, supply: readonly number[]): void {
  for (let i = 0; i < supply.length; i++) if (supply[i] !== 0) h.supply(keys[2 * i], keys[2 * i + 1], supply[i] as number);
}

function knownTerms(h: HeldHasher, agents: Iterable<number>): void {
  const words = new Map<number, number>();
  for (const a of agents) words.set(a >>> 5, (words.get(a >>> 5) ?? 0) | (1 << (a & 31)));
  for (const [w, bits] of words) h.knownWord(w, bits);
}

/** heldHash() of the view a dense snapshot restores to (BalanceView.restore(s).heldHash()). */
export function heldHashOf(s: BalancesSnapshot): string {
  const h = new HeldHasher();
  const keys = assetKeys(s.assets);
  supplyTerms(h, keys, s.supply);
  knownTerms(
    h,
    s.agents.map((r) => r.agent),
  );
  for (const r of s.agents)
    for (let i = 0; i < s.assets.length; i++) {
      const t = r.total[i] as number;
      const v = r.reserved[i] as number;
      if (t !== 0 || v !== 0) h.cell(r.agent, keys[2 * i], keys[2 * i + 1], t, v);
    }
  return h.digest();
}

/** heldHash() of the view a sparse snapshot restores to. */
export function heldHashOfSparse(s: SparseBalancesSnapshot): string {
  const h = new HeldHasher();
  const keys = assetKeys(s.assets);
  supplyTerms(h, keys, s.supply);
  knownTerms(h, s.known);
  const c = s.cells;
  for (let i = 0; i < c.agent.length; i++) {
    const t = c.total[i] as number;
    const v = c.reserved[i] as number;
    const k = 2 * (c.asset[i] as number);
    if (t !== 0 || v !== 0) h.cell(c.agent[i] as number, keys[k], keys[k + 1], t, v);
  }
  return h.digest();
}
