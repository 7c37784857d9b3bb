import { AGENTS_DEFAULT, AGENTS_MAX } from './limits';

/** A plain, JSON-serialisable copy of a balance view. */
export interface BalancesSnapshot {
  assets: string[];
  agentsMax: number;
  /** per asset: deposits minus withdrawals (what matching must conserve) */
  supply: number[];
  agents: { agent: number; total: number[]; reserved: number[] }[];
}

/**
 * The engine's in-memory view of what each agent holds, fed from the ledger: `deposit` / `withdraw` move
 * funds in and out, `reserve` holds funds for an open order, matching moves totals between agents.
 * Amounts are integers in each asset's minor units, kept in float64 and guarded by Number.isSafeInteger.
 * available = total - reserved >= 0 always. Several engines (markets) may share one view, so CREDIT is shared.
 */
export class BalanceView {
  readonly agentsMax: number;
  readonly assets: readonly string[];
  /** [asset][agent] */
  readonly total: Float64Array[];
  /** [asset][agent] */
  readonly reserved: Float64Array[];
  readonly known: Uint8Array;
  readonly supply: number[];

  constructor(assets: readonly string[], agentsMax: number = AGENTS_DEFAULT) {
    if (!Number.isInteger(agentsMax) || agentsMax < 1 || agentsMax > AGENTS_MAX) throw new Error(`agentsMax must be 1..${AGENTS_MAX}`);
    if (new Set(assets).size !== assets.length || assets.length === 0) throw new Error('assets must be distinct and non-empty');
    this.agentsMax = agentsMax;
    this.assets = [...assets];
    this.total = assets.map(() => new Float64Array(agentsMax));
    this.reserved = assets.map(() => new Float64Array(agentsMax));
    this.known = new Uint8Array(agentsMax);
    this.supply = assets.map(() => 0);
  }

  assetIndex(name: string): number {
    const i = this.assets.indexOf(name);
    if (i < 0) throw new Error(`unknown asset ${name}`);
    return i;
  }

  isKnown(agent: number): boolean {
    return Number.isInteger(agent) && agent >= 0 && agent < this.agentsMax && this.known[agent] === 1;
  }

  /** Opens an account for the agent (idempotent). Returns false if the id is out of range. */
  registerAgent(agent: number): boolean {
    if (!Number.isInteger(agent) || agent < 0 || agent >= this.agentsMax) return false;
    this.known[agent] = 1;
    return true;
  }

  /** Forgets an agent that holds nothing in any asset (undoes a dry run's registration); false if it holds something. */
  unregisterAgent(agent: number): boolean {
    if (!this.isKnown(agent)) return true;
    for (let i = 0; i < this.assets.length; i++) if (this.total[i][agent] !== 0 || this.reserved[i][agent] !== 0) return false;
    this.known[agent] = 0;
    return true;
  }

  /** Adds funds (registers the agent). Returns false (and changes nothing) for a bad agent, asset or amount. */
  deposit(agent: number, asset: number, amount: number): boolean {
    if (!this.validMove(agent, asset, amount)) return false;
    const t = this.total[asset][agent] + amount;
    const s = this.supply[asset] + amount;
    if (!Number.isSafeInteger(t) || !Number.isSafeInteger(s)) return false;
    this.known[agent] = 1;
    this.total[asset][agent] = t;
    this.supply[asset] = s;
    return true;
  }

  /** Removes available funds. Returns false (and changes nothing) if not enough is available. */
  withdraw(agent: number, asset: number, amount: number): boolean {
    if (!this.validMove(agent, asset, amount) || this.known[agent] !== 1) return false;
    if (this.total[asset][agent] - this.reserved[asset][agent] < amount) return false;
    this.total[asset][agent] -= amount;
    this.supply[asset] -= amount;
    return true;
  }

  available(agent: number, asset: number): number {
    return this.total[asset][agent] - this.reserved[asset][agent];
  }
  getTotal(agent: number, asset: number): number {
    return this.total[asset][agent];
  }
  getReserved(agent: number, asset: number): number {
    return this.reserved[asset][agent];
  }

  private validMove(agent: number, asset: number, amount: number): boolean {
    return (
      Number.isInteger(agent) && agent >= 0 && agent < this.agentsMax &&
      Number.isInteger(asset) && asset >= 0 && asset < this.assets.length &&
      Number.isSafeInteger(amount) && amount > 0
    );
  }

  snapshot(): BalancesSnapshot {
    const agents: BalancesSnapshot['agents'] = [];
    for (let a = 0; a < this.agentsMax; a++) {
      if (this.known[a] !== 1) continue;
      agents.push({ agent: a, total: this.total.map((t) => t[a]), reserved: this.reserved.map((r) => r[a]) });
    }
    return { assets: [...this.assets], agentsMax: this.agentsMax, supply: [...this.supply], agents };
  }

  static restore(s: BalancesSnapshot): BalanceView {
    const v = new BalanceView(s.assets, s.agentsMax);
    for (let i = 0; i < s.supply.length; i++) v.supply[i] = s.supply[i];
    for (const row of s.agents) {
      v.known[row.agent] = 1;
      for (let i = 0; i < s.assets.length; i++) {
        v.total[i][row.agent] = row.total[i];
        v.reserved[i][row.agent] = row.reserved[i];
      }
    }
    return v;
  }

  /** 0 <= reserved <= total, all safe integers, and per asset the totals sum to the supply (conservation). */
  assertInvariants(): void {
    for (let i = 0; i < this.assets.length; i++) {
      let sum = 0;
      const t = this.total[i];
      const r = this.reserved[i];
      for (let a = 0; a < this.agentsMax; a++) {
        if (this.known[a] !== 1) {
          if (t[a] !== 0 || r[a] !== 0) throw new Error(`balance of unknown agent ${a}`);
          continue;
        }
        if (!Number.isSafeInteger(t[a]) || !Number.isSafeInteger(r[a])) throw new Error(`unsafe balance agent ${a}`);
        if (r[a] < 0 || r[a] > t[a]) throw new Error(`agent ${a} asset ${this.assets[i]}: reserved ${r[a]} total ${t[a]}`);
        sum += t[a];
      }
      if (sum !== this.supply[i]) throw new Error(`asset ${this.assets[i]}: balances sum ${sum} != supply ${this.supply[i]}`);
    }
  }
}
