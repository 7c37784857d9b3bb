import { Carve } from './carve';
import { IdMap } from './id-map';
import { assetKeys, HeldHasher } from './held-hash';
import { StateHasher } from './snapshot';
import { AGENTS_DEFAULT, AGENTS_MAX, BALANCE_CELLS_INITIAL } from './limits';

/** A plain, JSON-serialisable copy of a balance view: one row per known agent, dense over the assets. */
export interface BalancesSnapshot {
  assets: string[];
  agentsMax: number;
  /** per asset: deposits minus withdrawals (what matching must conserve) */
  supply: number[];
  agents: { agent: number; total: number[]; reserved: number[] }[];
}

/**
 * The same content as BalancesSnapshot, sparse: known agents ascending, then one entry per non-zero balance
 * (agent, asset) in (agent, asset) order, columns side by side. Its size grows with what is held, not with agents x assets.
 */
export interface SparseBalancesSnapshot {
  assets: string[];
  agentsMax: number;
  supply: number[];
  known: number[];
  cells: { agent: number[]; asset: number[]; total: number[]; reserved: number[] };
}

const NIL = -1;

/**
 * The engine's in-memory view of what each agent holds, fed from the ledger: `deposit` / `withdraw` move
 * funds in and out, `reserve` holds funds for an open order, matching moves totals between agents.
 * Amounts are integers in each asset's minor units, kept in float64 and guarded by Number.isSafeInteger.
 * available = total - reserved >= 0 always. Several engines (markets) may share one view, so CREDIT is shared.
 *
 * Layout (memory grows with what is held, not with agents x assets): a balance is a *cell*, created the first
 * time an agent holds (or reserves, or is about to trade) an asset and never moved or freed afterwards, so an
 * engine may keep cell numbers. `ct` / `cr` hold total / reserved by cell; an open-addressing table maps
 * (agent, asset) to the cell; each agent's cells are chained (for snapshots). Known agents are a bitmap.
 */
export class BalanceView {
  readonly agentsMax: number;
  readonly assets: readonly string[];
  readonly supply: number[];
  /** total by cell (replaced when the cells grow: read it afresh, do not keep it across calls that may add cells) */
  ct: Float64Array;
  /** reserved by cell (same rule as ct) */
  cr: Float64Array;
  private cAgent: Int32Array;
  private cAsset: Int32Array;
  /** next cell of the same agent, or NIL */
  private cNext: Int32Array;
  private nCells = 0;
  /** key asset x agentsMax + agent + 1 -> cell (an asset's cells of consecutive agents share home blocks) */
  private readonly cellOf: IdMap;
  /** key agent + 1 -> first cell of the agent */
  private readonly firstCell: IdMap;
  private readonly knownBits: Int32Array;
  private nKnown = 0;
  private readonly nAssets: number;
  private readonly assetIdx: Map<string, number>;

  constructor(assets: readonly string[], agentsMax: number = AGENTS_DEFAULT) {
    if (!Number.isInteger(agentsMax) || agentsMax < 1 || agentsMax > AGENTS_MAX) throw new Error(`agentsMax must be 1..${AGENTS_MAX}`);
    if (new Set(assets).size !== assets.length || assets.length === 0) throw new Error('assets must be distinct and non-empty');
    if (!Number.isSafeInteger(assets.length * agentsMax + 1)) throw new Error('assets x agentsMax must be a safe integer (cell keys)');
    this.agentsMax = agentsMax;
    this.assets = [...assets];
    this.nAssets = assets.length;
    this.assetIdx = new Map(assets.map((a, i) => [a, i]));
    this.supply = assets.map(() => 0);
    const n = BALANCE_CELLS_INITIAL;
    this.ct = new Float64Array(n);
    this.cr = new Float64Array(n);
    this.cAgent = new Int32Array(n);
    this.cAsset = new Int32Array(n);
    this.cNext = new Int32Array(n);
    this.cellOf = new IdMap(n * 2, 75);
    this.firstCell = new IdMap(n, 75);
    this.knownBits = new Int32Array((agentsMax + 31) >>> 5);
  }

  assetIndex(name: string): number {
    const i = this.assetIdx.get(name);
    if (i === undefined) throw new Error(`unknown asset ${name}`);
    return i;
  }

  isKnown(agent: number): boolean {
    return Number.isInteger(agent) && agent >= 0 && agent < this.agentsMax && ((this.knownBits[agent >>> 5] >>> (agent & 31)) & 1) === 1;
  }

  /** agents known to the view */
  get knownAgents(): number {
    return this.nKnown;
  }

  /** balance cells in use (each an (agent, asset) pair that holds or has held something) */
  get cells(): number {
    return this.nCells;
  }

  /** bytes held by the view's typed arrays (cells, their indexes, the known-agents bitmap) */
  get typedArrayBytes(): number {
    const arrays = [this.ct, this.cr, this.cAgent, this.cAsset, this.cNext, this.knownBits];
    return arrays.reduce((n, a) => n + a.byteLength, 0) + this.cellOf.bytes + this.firstCell.bytes;
  }

  /** Opens an account for the agent (idempotent). Returns false if the id is out of range. */
  registerAgent(agent: number): boolean {
    if (!Number.isInteger(agent) || agent < 0 || agent >= this.agentsMax) return false;
    const w = agent >>> 5;
    const bit = 1 << (agent & 31);
    if ((this.knownBits[w] & bit) === 0) {
      this.knownBits[w] |= bit;
      this.nKnown++;
    }
    return true;
  }

  /**
   * Forgets an agent that has no balance cell at all (undoes a dry run's registration of an agent never funded);
   * false, and nothing changes, if it holds or has held something.
   */
  unregisterAgent(agent: number): boolean {
    if (!this.isKnown(agent)) return true;
    for (let a = 0; a < this.nAssets; a++) if (this.findCell(agent, a) !== NIL) return false;
    this.knownBits[agent >>> 5] &= ~(1 << (agent & 31));
    this.nKnown--;
    return true;
  }

  /** Adds funds (registers the agent). Returns false (and changes nothing) for a bad agent, asset or amount. */
  deposit(agent: number, asset: number, amount: number): boolean {
    if (!this.validMove(agent, asset, amount)) return false;
    const c0 = this.findCell(agent, asset);
    const t = (c0 === NIL ? 0 : this.ct[c0]) + amount;
    const s = this.supply[asset] + amount;
    if (!Number.isSafeInteger(t) || !Number.isSafeInteger(s)) return false;
    this.registerAgent(agent);
    const c = c0 === NIL ? this.cell(agent, asset) : c0; // before reading this.ct: a new cell may replace it
    this.ct[c] = t;
    this.supply[asset] = s;
    return true;
  }

  /** Removes available funds. Returns false (and changes nothing) if not enough is available. */
  withdraw(agent: number, asset: number, amount: number): boolean {
    if (!this.validMove(agent, asset, amount) || !this.isKnown(agent)) return false;
    const c = this.findCell(agent, asset);
    if (c === NIL || this.ct[c] - this.cr[c] < amount) return false;
    this.ct[c] -= amount;
    this.supply[asset] -= amount;
    return true;
  }

  available(agent: number, asset: number): number {
    const c = this.findCell(agent, asset);
    return c === NIL ? 0 : this.ct[c] - this.cr[c];
  }
  getTotal(agent: number, asset: number): number {
    const c = this.findCell(agent, asset);
    return c === NIL ? 0 : this.ct[c];
  }
  getReserved(agent: number, asset: number): number {
    const c = this.findCell(agent, asset);
    return c === NIL ? 0 : this.cr[c];
  }

  /**
   * Sets one balance as a snapshot holds it (registers the agent; supply is not touched: set it from the
   * snapshot). For restoring into an existing view; assertInvariants checks the result.
   */
  setBalance(agent: number, asset: number, total: number, reserved: number): void {
    if (!this.registerAgent(agent) || !Number.isInteger(asset) || asset < 0 || asset >= this.nAssets)
      throw new Error(`bad balance ${agent}/${asset}`);
    const c0 = this.findCell(agent, asset);
    if (c0 === NIL && total === 0 && reserved === 0) return;
    const c = c0 === NIL ? this.cell(agent, asset) : c0;
    this.ct[c] = total;
    this.cr[c] = reserved;
  }

  /** the cell of (agent, asset), or NIL (-1) */
  findCell(agent: number, asset: number): number {
    return this.cellOf.get(asset * this.agentsMax + agent + 1);
  }

  /** the cell of (agent, asset), created (zero) if missing; the agent must be in range. May replace ct / cr. */
  cell(agent: number, asset: number): number {
    const key = asset * this.agentsMax + agent + 1;
    const found = this.cellOf.get(key);
    if (found !== NIL) return found;
    if (this.nCells === this.ct.length) this.growCells();
    const c = this.nCells++;
    this.cAgent[c] = agent;
    this.cAsset[c] = asset;
    const first = this.firstCell.get(agent + 1);
    this.cNext[c] = first;
    this.firstCell.set(agent + 1, c);
    this.cellOf.set(key, c);
    return c;
  }

  /** Makes room for `n` cells in all (restores know their count: no doubling and rehashing on the way). */
  reserveCells(n: number, agents: number): void {
    this.cellOf.reserve(n);
    this.firstCell.reserve(agents);
    while (this.ct.length < n) this.growCells();
  }

  private growCells(): void {
    const n = this.ct.length * 2;
    const c = new Carve({ f64: 2 * n, i32: 3 * n });
    this.ct = c.f64(n, this.ct);
    this.cr = c.f64(n, this.cr);
    this.cAgent = c.i32(n, this.cAgent);
    this.cAsset = c.i32(n, this.cAsset);
    this.cNext = c.i32(n, this.cNext);
  }

  private validMove(agent: number, asset: number, amount: number): boolean {
    return (
      Number.isInteger(agent) &&
      agent >= 0 &&
      agent < this.agentsMax &&
      Number.isInteger(asset) &&
      asset >= 0 &&
      asset < this.nAssets &&
      Number.isSafeInteger(amount) &&
      amount > 0
    );
  }

  /** Calls f for every known agent, ascending. */
  forEachKnown(f: (agent: number) => void): void {
    const bits = this.knownBits;
    for (let w = 0; w < bits.length; w++) {
      let word = bits[w];
      while (word !== 0) {
        const low = word & -word;
        f((w << 5) + 31 - Math.clz32(low));
        word ^= low;
      }
    }
  }

  /** Fills `total` / `reserved` (length = assets, zeroed first) with the agent's balances. */
  row(agent: number, total: number[] | Float64Array, reserved: number[] | Float64Array): void {
    total.fill(0);
    reserved.fill(0);
    for (let c = this.firstCell.get(agent + 1); c !== NIL; c = this.cNext[c]) {
      total[this.cAsset[c]] = this.ct[c];
      reserved[this.cAsset[c]] = this.cr[c];
    }
  }

  snapshot(): BalancesSnapshot {
    const agents: BalancesSnapshot['agents'] = [];
    this.forEachKnown((agent) => {
      const total = new Array<number>(this.nAssets);
      const reserved = new Array<number>(this.nAssets);
      this.row(agent, total, reserved);
      agents.push({ agent, total, reserved });
    });
    return { assets: [...this.assets], agentsMax: this.agentsMax, supply: [...this.supply], agents };
  }

  static restore(s: BalancesSnapshot): BalanceView {
    const v = new BalanceView(s.assets, s.agentsMax);
    for (let i = 0; i < s.supply.length; i++) v.supply[i] = s.supply[i];
    for (const row of s.agents) {
      v.registerAgent(row.agent);
      for (let i = 0; i < s.assets.length; i++) v.setBalance(row.agent, i, row.total[i], row.reserved[i]);
    }
    return v;
  }

  /** The sparse form: non-zero cells in (agent, asset) order, so equal balances give equal snapshots. */
  snapshotSparse(): SparseBalancesSnapshot {
    const known: number[] = [];
    const cells: SparseBalancesSnapshot['cells'] = { agent: [], asset: [], total: [], reserved: [] };
    const mine: number[] = [];
    this.forEachKnown((agent) => {
      known.push(agent);
      mine.length = 0;
      for (let c = this.firstCell.get(agent + 1); c !== NIL; c = this.cNext[c]) if (this.ct[c] !== 0 || this.cr[c] !== 0) mine.push(c);
      if (mine.length > 1) mine.sort((x, y) => this.cAsset[x] - this.cAsset[y]);
      for (const c of mine) {
        cells.agent.push(agent);
        cells.asset.push(this.cAsset[c]);
        cells.total.push(this.ct[c]);
        cells.reserved.push(this.cr[c]);
      }
    });
    return { assets: [...this.assets], agentsMax: this.agentsMax, supply: [...this.supply], known, cells };
  }

  static restoreSparse(s: SparseBalancesSnapshot): BalanceView {
    const v = new BalanceView(s.assets, s.agentsMax);
    for (let i = 0; i < s.supply.length; i++) v.supply[i] = s.supply[i];
    for (const a of s.known) v.registerAgent(a);
    const c = s.cells;
    v.reserveCells(c.agent.length, s.known.length);
    for (let i = 0; i < c.agent.length; i++) {
      if (!v.isKnown(c.agent[i])) throw new Error(`balance of unknown agent ${c.agent[i]}`);
      v.setBalance(c.agent[i], c.asset[i], c.total[i], c.reserved[i]);
    }
    return v;
  }

  /**
   * A digest of the sparse form (supply, known agents, non-zero balances): cost grows with what is held. Not the
   * balance part of MatchingEngine.stateHash (that one digests dense rows); for a scheme that hashes the view once.
   */
  digest(): string {
    const s = this.snapshotSparse();
    const h = new StateHasher();
    h.num(0x5ba1);
    for (const x of s.supply) h.num(x);
    h.num(s.known.length);
    for (const a of s.known) h.num(a);
    for (let i = 0; i < s.cells.agent.length; i++) {
      h.num(s.cells.agent[i]);
      h.num(s.cells.asset[i]);
      h.num(s.cells.total[i]);
      h.num(s.cells.reserved[i]);
    }
    return h.digest();
  }

  /**
   * The digest of what the view holds (state hash v2's balance part, see HeldHasher): supply, known agents and
   * every non-zero balance, in one pass over the cells (O(cells + agentsMax / 32)); independent of the order the
   * cells were created in and of empty assets. Equal to heldHashOf(this.snapshot()).
   */
  heldHash(): string {
    const h = new HeldHasher();
    const keys = (this.keys ??= assetKeys(this.assets));
    for (let i = 0; i < this.nAssets; i++) if (this.supply[i] !== 0) h.supply(keys[2 * i], keys[2 * i + 1], this.supply[i]);
    const bits = this.knownBits;
    for (let w = 0; w < bits.length; w++) if (bits[w] !== 0) h.knownWord(w, bits[w]);
    const ct = this.ct;
    const cr = this.cr;
    for (let c = 0; c < this.nCells; c++) {
      const t = ct[c];
      const r = cr[c];
      if (t === 0 && r === 0) continue;
      const k = 2 * this.cAsset[c];
      h.cell(this.cAgent[c], keys[k], keys[k + 1], t, r);
    }
    return h.digest();
  }
  private keys?: Int32Array;

  /** 0 <= reserved <= total, all safe integers, and per asset the totals sum to the supply (conservation). */
  assertInvariants(): void {
    const sums = this.assets.map(() => 0);
    for (let c = 0; c < this.nCells; c++) {
      const a = this.cAgent[c];
      const i = this.cAsset[c];
      const t = this.ct[c];
      const r = this.cr[c];
      if (this.findCell(a, i) !== c) throw new Error(`cell index of agent ${a} asset ${i}`);
      if (!this.isKnown(a)) {
        if (t !== 0 || r !== 0) throw new Error(`balance of unknown agent ${a}`);
        continue;
      }
      if (!Number.isSafeInteger(t) || !Number.isSafeInteger(r)) throw new Error(`unsafe balance agent ${a}`);
      if (r < 0 || r > t) throw new Error(`agent ${a} asset ${this.assets[i]}: reserved ${r} total ${t}`);
      sums[i] += t;
    }
    for (let i = 0; i < this.nAssets; i++) {
      if (sums[i] !== this.supply[i]) throw new Error(`asset ${this.assets[i]}: balances sum ${sums[i]} != supply ${this.supply[i]}`);
    }
  }

  /**
   * @deprecated The former dense arrays, [asset][agent], as views over the cells (reads and writes; slow, no
   * hot path). Only libs/sequencer/src/lib/engine-snapshot.ts (restoreBalancesInto) still uses them; it should
   * call registerAgent and setBalance instead, and then these go.
   */
  get total(): Record<number, number>[] {
    return (this.legacyTotal ??= this.assets.map((_, i) => this.legacyColumn(i, 'total')));
  }
  /** @deprecated see `total` */
  get reserved(): Record<number, number>[] {
    return (this.legacyReserved ??= this.assets.map((_, i) => this.legacyColumn(i, 'reserved')));
  }
  /** @deprecated see `total`: 1 for a known agent; writing 1 registers the agent */
  get known(): Record<number, number> {
    return (this.legacyKnown ??= new Proxy({} as Record<number, number>, {
      get: (_t, k) => (this.isKnown(Number(k)) ? 1 : 0),
      set: (_t, k, v) => (v === 1 ? this.registerAgent(Number(k)) : !this.isKnown(Number(k))),
    }));
  }
  private legacyTotal?: Record<number, number>[];
  private legacyReserved?: Record<number, number>[];
  private legacyKnown?: Record<number, number>;

  private legacyColumn(asset: number, which: 'total' | 'reserved'): Record<number, number> {
    return new Proxy({} as Record<number, number>, {
      get: (_t, k) => (which === 'total' ? this.getTotal(Number(k), asset) : this.getReserved(Number(k), asset)),
      set: (_t, k, v: number) => {
        const agent = Number(k);
        if (!Number.isInteger(agent) || agent < 0 || agent >= this.agentsMax) return false;
        const c = this.cell(agent, asset);
        if (which === 'total') this.ct[c] = v;
        else this.cr[c] = v;
        return true;
      },
    });
  }
}
