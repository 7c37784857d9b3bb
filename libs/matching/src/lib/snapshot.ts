import type { MarketState, OrderSide, StpMode } from '@ate/contracts';
import type { BalancesSnapshot, BalanceView } from './balances';
import type { MarketConfig } from './config';

export interface SnapshotOrder {
  orderId: number;
  agent: number;
  side: OrderSide;
  price: number;
  lots: number;
  /** 0 for GTC */
  expiresAt: number;
  stp: StpMode;
  postOnly: boolean;
  clientOrderId: string | null;
  /** time priority: a larger number came later (kept per market, reassigned when an amend loses priority) */
  prio: number;
  /** what the order holds: credits for a buy (price x tickSize x lots), base units for a sell */
  reserved: number;
}

/** A plain, JSON-serialisable engine state. Orders are in canonical order: price ascending, then FIFO. */
export interface EngineSnapshot {
  version: 1;
  config: MarketConfig;
  state: MarketState;
  seq: number;
  lastTs: number;
  lastOrderId: number;
  refPrice: number;
  nextPrio: number;
  orders: SnapshotOrder[];
  balances: BalancesSnapshot;
}

const STATES: Record<MarketState, number> = { open: 0, cancel_only: 1, halted: 2 };
const STPS: Record<StpMode, number> = { cancel_taker: 0, cancel_maker: 1, cancel_both: 2, decrement_cancel: 3 };

/**
 * A streaming 64-bit (two 32-bit FNV-1a lanes) digest of the book and balances. The engine feeds it from its
 * arrays without building a snapshot; hashSnapshot feeds it from a snapshot: both give the same value.
 * The event sequence number and the last timestamp are not part of it (a rejected command changes neither book nor hash).
 */
export class StateHasher {
  private a = 0x811c9dc5 | 0;
  private b = 0x050c5d1f | 0;
  num(x: number): void {
    const lo = x >>> 0;
    const hi = Math.floor(x / 4294967296) >>> 0;
    this.a = Math.imul(this.a ^ lo, 16777619);
    this.a = Math.imul(this.a ^ hi, 16777619);
    this.b = Math.imul(this.b ^ lo, 2246822519);
    this.b = Math.imul(this.b ^ (this.b >>> 15) ^ hi, 3266489917);
  }
  str(s: string | null): void {
    if (s === null) {
      this.num(0);
      return;
    }
    this.num(s.length + 1);
    for (let i = 0; i < s.length; i++) this.num(s.charCodeAt(i));
  }
  head(state: MarketState, refPrice: number, lastOrderId: number, nextPrio: number): void {
    this.num(STATES[state]);
    this.num(refPrice);
    this.num(lastOrderId);
    this.num(nextPrio);
  }
  order(
    orderId: number,
    agent: number,
    sideBuy: boolean,
    price: number,
    lots: number,
    expiresAt: number,
    stp: number,
    postOnly: boolean,
    clientOrderId: string | null,
    prio: number,
    reserved: number,
  ): void {
    this.num(orderId);
    this.num(agent);
    this.num(sideBuy ? 1 : 2);
    this.num(price);
    this.num(lots);
    this.num(expiresAt);
    this.num(stp);
    this.num(postOnly ? 1 : 0);
    this.str(clientOrderId);
    this.num(prio);
    this.num(reserved);
  }
  balances(b: BalancesSnapshot): void {
    this.num(0xbabe);
    for (const s of b.supply) this.num(s);
    for (const row of b.agents) {
      this.num(row.agent);
      for (let i = 0; i < row.total.length; i++) {
        this.num(row.total[i]);
        this.num(row.reserved[i]);
      }
    }
  }
  /** The same as balances(v.snapshot()) without building it: every known agent ascending, every asset. */
  view(v: BalanceView): void {
    this.num(0xbabe);
    for (const s of v.supply) this.num(s);
    const n = v.assets.length;
    const total = new Float64Array(n);
    const reserved = new Float64Array(n);
    v.forEachKnown((agent) => {
      this.num(agent);
      v.row(agent, total, reserved);
      for (let i = 0; i < n; i++) {
        this.num(total[i]);
        this.num(reserved[i]);
      }
    });
  }
  digest(): string {
    return (this.a >>> 0).toString(16).padStart(8, '0') + (this.b >>> 0).toString(16).padStart(8, '0');
  }
}

function hashBookOf(h: StateHasher, s: Pick<EngineSnapshot, 'state' | 'refPrice' | 'lastOrderId' | 'nextPrio' | 'orders'>): void {
  h.head(s.state, s.refPrice, s.lastOrderId, s.nextPrio);
  for (const o of s.orders) {
    h.order(o.orderId, o.agent, o.side === 'buy', o.price, o.lots, o.expiresAt, STPS[o.stp], o.postOnly, o.clientOrderId, o.prio, o.reserved);
  }
}

/** stateHash() of the engine the snapshot restores to. */
export function hashSnapshot(s: EngineSnapshot): string {
  const h = new StateHasher();
  hashBookOf(h, s);
  h.balances(s.balances);
  return h.digest();
}

/** bookHash() of the engine the snapshot restores to (orders in canonical order, as snapshot() gives them). */
export function bookHashOf(s: Pick<EngineSnapshot, 'state' | 'refPrice' | 'lastOrderId' | 'nextPrio' | 'orders'>): string {
  const h = new StateHasher();
  hashBookOf(h, s);
  return h.digest();
}
