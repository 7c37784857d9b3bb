/**
 * The naive twin (exchange-core's OrderBookNaiveImpl): the same contract as MatchingEngine, written as plainly
 * as possible: one array of order objects, linear scans for the best maker, reservations derived from the open
 * orders instead of tracked, dry runs done by running a deep copy. Slow on purpose; used only by tests.
 */
import type { MarketState, MatchingCancelReason, MatchingCode, MatchingCommand, MatchingEvent, OrderSide, StpMode } from '@ate/contracts';
import { MATCHING_CANCEL_REASONS } from '@ate/contracts';
import type { MarketConfig } from '../lib/config';
import { CLIENT_ORDER_ID_LENGTH_MAX } from '../lib/limits';
import type { EngineSnapshot, SnapshotOrder } from '../lib/snapshot';

interface RefOrder {
  orderId: number;
  agent: number;
  side: OrderSide;
  price: number;
  lots: number;
  expiresAt: number;
  stp: StpMode;
  postOnly: boolean;
  clientOrderId: string | null;
  prio: number;
}

interface Account {
  credit: number;
  base: number;
}

const STPS: StpMode[] = ['cancel_taker', 'cancel_maker', 'cancel_both', 'decrement_cancel'];

export class ReferenceBook {
  events: MatchingEvent[] = [];
  state: MarketState = 'open';
  seq = 0;
  lastTs = 0;
  lastOrderId = 0;
  refPrice: number;
  nextPrio = 1;
  orders: RefOrder[] = [];
  accounts = new Map<number, Account>();
  supply = { credit: 0, base: 0 };
  /** dry runs: emit nothing */
  private quiet = false;

  constructor(
    readonly config: MarketConfig,
    readonly agentsMax: number,
  ) {
    this.refPrice = config.initialPriceTicks;
  }

  private emit(e: Record<string, unknown>): void {
    this.seq++;
    if (!this.quiet) this.events.push({ ...e, seq: this.seq } as unknown as MatchingEvent);
  }
  private rej(orderId: number, agent: number, code: MatchingCode): MatchingCode {
    this.emit({ kind: 'rejected', orderId, agent, code });
    return code;
  }

  // ---- derived views ----
  need(o: RefOrder): number {
    return o.side === 'buy' ? o.price * this.config.tickSize * o.lots : o.lots * this.config.lotSize;
  }
  reserved(agent: number, asset: 'credit' | 'base'): number {
    let r = 0;
    for (const o of this.orders) if (o.agent === agent && (o.side === 'buy') === (asset === 'credit')) r += this.need(o);
    return r;
  }
  available(agent: number, asset: 'credit' | 'base'): number {
    const a = this.accounts.get(agent);
    return a ? a[asset] - this.reserved(agent, asset) : 0;
  }
  level(side: OrderSide, price: number): number {
    return this.orders.filter((o) => o.side === side && o.price === price).reduce((s, o) => s + o.lots, 0);
  }
  /** best resting order a taker of `takerSide` would meet */
  bestMaker(takerSide: OrderSide): RefOrder | undefined {
    let best: RefOrder | undefined;
    for (const o of this.orders) {
      if (o.side === takerSide) continue;
      if (!best) best = o;
      else if (
        takerSide === 'buy'
          ? o.price < best.price || (o.price === best.price && o.prio < best.prio)
          : o.price > best.price || (o.price === best.price && o.prio < best.prio)
      )
        best = o;
    }
    return best;
  }
  bestPrice(side: OrderSide): number | null {
    const ps = this.orders.filter((o) => o.side === side).map((o) => o.price);
    if (ps.length === 0) return null;
    return side === 'buy' ? Math.max(...ps) : Math.min(...ps);
  }
  known(agent: number): boolean {
    return Number.isInteger(agent) && agent >= 0 && agent < this.agentsMax && this.accounts.has(agent);
  }
  bandHi(): number {
    return Math.floor((this.refPrice * (10000 + this.config.priceBandBps)) / 10000);
  }
  bandLo(): number {
    return Math.ceil((this.refPrice * (10000 - this.config.priceBandBps)) / 10000);
  }
  private remove(o: RefOrder): void {
    this.orders.splice(this.orders.indexOf(o), 1);
  }
  private cancelOrder(o: RefOrder, reason: MatchingCancelReason): void {
    this.emit({ kind: 'cancelled', orderId: o.orderId, agent: o.agent, lots: o.lots, reason });
    this.remove(o);
    this.emit({ kind: 'book', side: o.side, price: o.price, lots: this.level(o.side, o.price) });
  }

  clone(): ReferenceBook {
    const r = new ReferenceBook(this.config, this.agentsMax);
    Object.assign(r, {
      state: this.state,
      seq: this.seq,
      lastTs: this.lastTs,
      lastOrderId: this.lastOrderId,
      refPrice: this.refPrice,
      nextPrio: this.nextPrio,
      orders: this.orders.map((o) => ({ ...o })),
      accounts: new Map([...this.accounts].map(([k, v]) => [k, { ...v }])),
      supply: { ...this.supply },
    });
    return r;
  }

  // ---- commands ----
  execute(c: MatchingCommand): MatchingCode | null {
    if (!Number.isSafeInteger(c.ts) || c.ts < this.lastTs) return this.rej(0, 0, 'MATCHING_INVALID_TIMESTAMP');
    this.lastTs = c.ts;
    for (;;) {
      const due = this.orders.filter((o) => o.expiresAt !== 0 && o.expiresAt <= c.ts);
      if (due.length === 0) break;
      due.sort((a, b) => a.expiresAt - b.expiresAt || a.orderId - b.orderId);
      const o = due[0];
      this.emit({ kind: 'expired', orderId: o.orderId, agent: o.agent, lots: o.lots });
      this.remove(o);
      this.emit({ kind: 'book', side: o.side, price: o.price, lots: this.level(o.side, o.price) });
    }
    switch (c.type) {
      case 'limit':
      case 'market':
        return this.place(c);
      case 'cancel':
      case 'cancel_client': {
        const agent = c.agent;
        const id = c.type === 'cancel' ? c.orderId : 0;
        if (this.state === 'halted') return this.rej(id, agent, 'MATCHING_MARKET_HALTED');
        if (c.type === 'cancel' && !(Number.isSafeInteger(id) && id > 0)) return this.rej(id, agent, 'MATCHING_INVALID_ORDER_ID');
        if (c.type === 'cancel_client' && !this.validCoid(c.clientOrderId)) return this.rej(0, agent, 'MATCHING_INVALID_CLIENT_ORDER_ID');
        if (!this.known(agent)) return this.rej(id, agent, 'MATCHING_UNKNOWN_AGENT');
        const o = this.orders.find((x) => x.agent === agent && (c.type === 'cancel' ? x.orderId === id : x.clientOrderId === c.clientOrderId));
        if (!o) return this.rej(id, agent, 'MATCHING_UNKNOWN_ORDER');
        this.cancelOrder(o, 'MATCHING_CANCEL_BY_OWNER');
        return null;
      }
      case 'cancel_all': {
        if (this.state === 'halted') return this.rej(0, c.agent, 'MATCHING_MARKET_HALTED');
        if (!this.known(c.agent)) return this.rej(0, c.agent, 'MATCHING_UNKNOWN_AGENT');
        const reason = c.reason ?? 'MATCHING_CANCEL_ALL';
        if (!Object.prototype.hasOwnProperty.call(MATCHING_CANCEL_REASONS, reason)) return this.rej(0, c.agent, 'MATCHING_INVALID_COMMAND');
        const mine = this.orders.filter((o) => o.agent === c.agent).sort((a, b) => a.prio - b.prio);
        for (const o of mine) this.cancelOrder(o, reason);
        return null;
      }
      case 'amend':
        return this.amend(c);
      case 'set_state':
        if (!['open', 'cancel_only', 'halted'].includes(c.state)) return this.rej(0, 0, 'MATCHING_INVALID_COMMAND');
        this.state = c.state;
        this.emit({ kind: 'state', state: c.state });
        return null;
      case 'tick':
        return null;
      case 'deposit':
      case 'withdraw': {
        const asset = c.asset;
        if ((asset !== 'credit' && asset !== 'base') || !Number.isSafeInteger(c.amount) || c.amount <= 0)
          return this.rej(0, c.agent, 'MATCHING_INVALID_COMMAND');
        if (c.type === 'deposit') {
          if (!Number.isInteger(c.agent) || c.agent < 0 || c.agent >= this.agentsMax) return this.rej(0, c.agent, 'MATCHING_INVALID_COMMAND');
          const a = this.accounts.get(c.agent) ?? { credit: 0, base: 0 };
          if (!Number.isSafeInteger(a[asset] + c.amount) || !Number.isSafeInteger(this.supply[asset] + c.amount))
            return this.rej(0, c.agent, 'MATCHING_INVALID_COMMAND');
          a[asset] += c.amount;
          this.accounts.set(c.agent, a);
          this.supply[asset] += c.amount;
          this.emit({ kind: 'funds', agent: c.agent, asset, amount: c.amount });
        } else {
          if (!this.known(c.agent)) return this.rej(0, c.agent, 'MATCHING_UNKNOWN_AGENT');
          if (this.available(c.agent, asset) < c.amount) return this.rej(0, c.agent, 'MATCHING_INSUFFICIENT_BALANCE');
          (this.accounts.get(c.agent) as Account)[asset] -= c.amount;
          this.supply[asset] -= c.amount;
          this.emit({ kind: 'funds', agent: c.agent, asset, amount: -c.amount });
        }
        return null;
      }
      default:
        return this.rej(0, 0, 'MATCHING_INVALID_COMMAND');
    }
  }

  private validCoid(x: unknown): boolean {
    return typeof x === 'string' && x.length > 0 && x.length <= CLIENT_ORDER_ID_LENGTH_MAX;
  }

  private place(c: Extract<MatchingCommand, { type: 'limit' | 'market' }>): MatchingCode | null {
    const cfg = this.config;
    const { orderId: id, agent } = c;
    if (this.state === 'halted') return this.rej(id, agent, 'MATCHING_MARKET_HALTED');
    if (this.state === 'cancel_only') return this.rej(id, agent, 'MATCHING_MARKET_CANCEL_ONLY');
    if (!(Number.isSafeInteger(id) && id > 0)) return this.rej(id, agent, 'MATCHING_INVALID_ORDER_ID');
    if (c.side !== 'buy' && c.side !== 'sell') return this.rej(id, agent, 'MATCHING_INVALID_SIDE');
    const side = c.side;
    const sizeOk = (n: unknown) => Number.isInteger(n) && (n as number) >= cfg.minOrderLots && (n as number) <= cfg.maxOrderLots;
    let price = 0;
    let lots = 0;
    let spend = -1;
    let tif = 'IOC' as string;
    let expiresAt = 0;
    let postOnly = false;
    if (c.type === 'limit') {
      price = c.price;
      if (!Number.isInteger(price) || price < 1 || price > cfg.maxPriceTicks) return this.rej(id, agent, 'MATCHING_INVALID_PRICE');
      if (!sizeOk(c.lots)) return this.rej(id, agent, 'MATCHING_INVALID_SIZE');
      lots = c.lots;
      tif = c.tif;
      if (!['GTC', 'GTD', 'IOC', 'FOK'].includes(tif)) return this.rej(id, agent, 'MATCHING_INVALID_TIME_IN_FORCE');
      if (tif === 'GTD' ? !Number.isSafeInteger(c.expiresAt) : c.expiresAt !== undefined)
        return this.rej(id, agent, 'MATCHING_INVALID_TIME_IN_FORCE');
      if (c.postOnly !== undefined && typeof c.postOnly !== 'boolean') return this.rej(id, agent, 'MATCHING_INVALID_TIME_IN_FORCE');
      postOnly = c.postOnly === true;
      if (postOnly && (tif === 'IOC' || tif === 'FOK')) return this.rej(id, agent, 'MATCHING_INVALID_TIME_IN_FORCE');
      expiresAt = tif === 'GTD' ? (c.expiresAt as number) : 0;
    } else {
      if (c.lots !== undefined) {
        if (c.spend !== undefined || !sizeOk(c.lots)) return this.rej(id, agent, 'MATCHING_INVALID_SIZE');
        lots = c.lots;
      } else if (c.spend === undefined) return this.rej(id, agent, 'MATCHING_INVALID_SIZE');
      else if (!Number.isSafeInteger(c.spend) || c.spend < 1 || c.spend > cfg.maxSpendCredits) return this.rej(id, agent, 'MATCHING_INVALID_SPEND');
      else spend = c.spend;
    }
    const stp = c.stp ?? cfg.defaultStp;
    if (!STPS.includes(stp)) return this.rej(id, agent, 'MATCHING_INVALID_STP_MODE');
    const coid = c.clientOrderId;
    if (coid !== undefined && !this.validCoid(coid)) return this.rej(id, agent, 'MATCHING_INVALID_CLIENT_ORDER_ID');
    if (!this.known(agent)) return this.rej(id, agent, 'MATCHING_UNKNOWN_AGENT');
    if (id <= this.lastOrderId && (c.heldId !== true || this.orders.some((o) => o.orderId === id)))
      return this.rej(id, agent, 'MATCHING_DUPLICATE_ORDER_ID');
    if (coid !== undefined && this.orders.some((o) => o.agent === agent && o.clientOrderId === coid))
      return this.rej(id, agent, 'MATCHING_DUPLICATE_CLIENT_ORDER_ID');
    const isLimit = c.type === 'limit';
    if (isLimit && tif === 'GTD' && expiresAt <= c.ts) return this.rej(id, agent, 'MATCHING_ALREADY_EXPIRED');
    const bandHi = this.bandHi();
    const bandLo = this.bandLo();
    if (isLimit && (price > bandHi || price < bandLo)) return this.rej(id, agent, 'MATCHING_PRICE_OUTSIDE_BAND');
    if (postOnly) {
      const opp = this.bestPrice(side === 'buy' ? 'sell' : 'buy');
      if (opp !== null && (side === 'buy' ? opp <= price : opp >= price)) return this.rej(id, agent, 'MATCHING_POST_ONLY_WOULD_CROSS');
    }
    const limit = isLimit ? price : side === 'buy' ? cfg.maxPriceTicks : 1;
    const hi = isLimit ? Infinity : bandHi;
    const lo = isLimit ? -Infinity : bandLo;
    const lotsMode = spend < 0;
    let need: number;
    if (isLimit) need = side === 'buy' ? price * cfg.tickSize * lots : lots * cfg.lotSize;
    else if (side === 'buy') need = lotsMode ? this.dryRun(id, agent, side, limit, lots, spend, stp, hi, lo).cost : spend;
    else need = (lotsMode ? lots : this.dryRun(id, agent, side, limit, lots, spend, stp, hi, lo).lots) * cfg.lotSize;
    if (this.available(agent, side === 'buy' ? 'credit' : 'base') < need) return this.rej(id, agent, 'MATCHING_INSUFFICIENT_FUNDS');
    const rests = tif === 'GTC' || tif === 'GTD';
    if (rests && this.orders.filter((o) => o.agent === agent).length >= cfg.ordersPerAgentMax) return this.rej(id, agent, 'MATCHING_TOO_MANY_ORDERS');
    if (rests && this.orders.length >= cfg.bookOrdersMax) return this.rej(id, agent, 'MATCHING_BOOK_FULL');
    if (tif === 'FOK' && this.dryRun(id, agent, side, limit, lots, spend, stp, hi, lo).lots !== lots)
      return this.rej(id, agent, 'MATCHING_FOK_NOT_FILLABLE');

    if (id > this.lastOrderId) this.lastOrderId = id;
    this.emit({ kind: 'accepted', orderId: id, agent, side, price, lots, spend: lotsMode ? 0 : spend });
    const r = this.take(id, agent, side, limit, lotsMode ? lots : Number.MAX_SAFE_INTEGER, spend, stp, hi, lo);
    const remLots = lotsMode ? r.rem : 0;
    if (r.stop === 'stp') this.emit({ kind: 'cancelled', orderId: id, agent, lots: remLots, reason: 'MATCHING_CANCEL_STP' });
    else if (lotsMode ? r.rem === 0 : r.spend === 0) {
      /* filled */
    } else if (rests) {
      const o: RefOrder = {
        orderId: id,
        agent,
        side,
        price,
        lots: r.rem,
        expiresAt,
        stp,
        postOnly,
        clientOrderId: coid ?? null,
        prio: this.nextPrio++,
      };
      this.orders.push(o);
      this.emit({ kind: 'book', side, price, lots: this.level(side, price) });
    } else {
      this.emit({
        kind: 'cancelled',
        orderId: id,
        agent,
        lots: remLots,
        reason: r.stop === 'band' ? 'MATCHING_CANCEL_PRICE_BAND' : 'MATCHING_CANCEL_UNFILLED',
      });
    }
    return null;
  }

  /** runs the taker on a copy with ample funds; returns what it traded */
  private dryRun(id: number, agent: number, side: OrderSide, limit: number, lots: number, spend: number, stp: StpMode, hi: number, lo: number) {
    const copy = this.clone();
    copy.quiet = true;
    const acc = copy.accounts.get(agent) as Account;
    acc.credit += 1e15;
    acc.base += 1e15;
    return copy.take(id, agent, side, limit, spend >= 0 ? Number.MAX_SAFE_INTEGER : lots, spend, stp, hi, lo);
  }

  private take(id: number, agent: number, side: OrderSide, limit: number, rem: number, spend: number, stp: StpMode, hi: number, lo: number) {
    const cfg = this.config;
    let stop: 'none' | 'band' | 'stp' = 'none';
    let tradedLots = 0;
    let cost = 0;
    const makerSide: OrderSide = side === 'buy' ? 'sell' : 'buy';
    for (;;) {
      if (rem === 0 || spend === 0) break;
      const m = this.bestMaker(side);
      if (!m) break;
      if (side === 'buy' ? m.price > limit : m.price < limit) break;
      if (side === 'buy' ? m.price > hi : m.price < lo) {
        stop = 'band';
        break;
      }
      const unit = m.price * cfg.tickSize;
      let q = Math.min(rem, m.lots);
      let afford = Infinity;
      if (spend >= 0) {
        afford = Math.floor(spend / unit);
        if (afford === 0) break;
        q = Math.min(q, afford);
      }
      if (m.agent === agent) {
        if (stp === 'cancel_taker') {
          stop = 'stp';
          break;
        }
        if (stp === 'cancel_maker' || stp === 'cancel_both') {
          this.cancelOrder(m, 'MATCHING_CANCEL_STP');
          if (stp === 'cancel_both') {
            stop = 'stp';
            break;
          }
          continue;
        }
        // decrement and cancel
        m.lots -= q;
        this.emit({ kind: 'reduced', orderId: m.orderId, agent, byLots: q, lots: m.lots });
        if (m.lots === 0) {
          this.emit({ kind: 'cancelled', orderId: m.orderId, agent, lots: 0, reason: 'MATCHING_CANCEL_STP' });
          this.remove(m);
        }
        this.emit({ kind: 'book', side: makerSide, price: m.price, lots: this.level(makerSide, m.price) });
        if (spend >= 0) {
          spend -= q * unit;
          this.emit({ kind: 'reduced', orderId: id, agent, byLots: q, lots: 0 });
          if (q === afford) {
            stop = 'stp';
            break;
          }
        } else {
          rem -= q;
          this.emit({ kind: 'reduced', orderId: id, agent, byLots: q, lots: rem });
          if (rem === 0) {
            stop = 'stp';
            break;
          }
        }
        continue;
      }
      const notional = unit * q;
      const buyer = side === 'buy' ? agent : m.agent;
      const seller = side === 'buy' ? m.agent : agent;
      const b = this.accounts.get(buyer) as Account;
      const s = this.accounts.get(seller) as Account;
      b.credit -= notional;
      s.credit += notional;
      s.base -= q * cfg.lotSize;
      b.base += q * cfg.lotSize;
      m.lots -= q;
      if (m.lots === 0) this.remove(m);
      if (spend >= 0) spend -= notional;
      else rem -= q;
      tradedLots += q;
      cost += notional;
      this.refPrice = m.price;
      this.emit({
        kind: 'trade',
        makerOrderId: m.orderId,
        takerOrderId: id,
        makerAgent: m.agent,
        takerAgent: agent,
        takerSide: side,
        price: m.price,
        lots: q,
        notional,
      });
      this.emit({ kind: 'book', side: makerSide, price: m.price, lots: this.level(makerSide, m.price) });
    }
    return { rem, spend, stop, lots: tradedLots, cost };
  }

  private amend(c: Extract<MatchingCommand, { type: 'amend' }>): MatchingCode | null {
    const cfg = this.config;
    const { orderId: id, agent, price, lots } = c;
    if (this.state !== 'open') return this.rej(id, agent, this.state === 'halted' ? 'MATCHING_MARKET_HALTED' : 'MATCHING_MARKET_CANCEL_ONLY');
    if (!(Number.isSafeInteger(id) && id > 0)) return this.rej(id, agent, 'MATCHING_INVALID_ORDER_ID');
    if (!Number.isInteger(price) || price < 1 || price > cfg.maxPriceTicks) return this.rej(id, agent, 'MATCHING_INVALID_PRICE');
    if (!Number.isInteger(lots) || lots < 1 || lots > cfg.maxOrderLots) return this.rej(id, agent, 'MATCHING_INVALID_SIZE');
    if (!this.known(agent)) return this.rej(id, agent, 'MATCHING_UNKNOWN_AGENT');
    const o = this.orders.find((x) => x.orderId === id && x.agent === agent);
    if (!o) return this.rej(id, agent, 'MATCHING_UNKNOWN_ORDER');
    if (price !== o.price && (price > this.bandHi() || price < this.bandLo())) return this.rej(id, agent, 'MATCHING_PRICE_OUTSIDE_BAND');
    const opp = this.bestPrice(o.side === 'buy' ? 'sell' : 'buy');
    if (opp !== null && (o.side === 'buy' ? price >= opp : price <= opp)) return this.rej(id, agent, 'MATCHING_AMEND_WOULD_CROSS');
    const delta = this.need({ ...o, price, lots }) - this.need(o);
    if (delta > 0 && this.available(agent, o.side === 'buy' ? 'credit' : 'base') < delta) return this.rej(id, agent, 'MATCHING_INSUFFICIENT_FUNDS');
    if (price === o.price && lots <= o.lots) {
      const changed = lots !== o.lots;
      o.lots = lots;
      this.emit({ kind: 'amended', orderId: id, agent, price, lots, keptPriority: true });
      if (changed) this.emit({ kind: 'book', side: o.side, price, lots: this.level(o.side, price) });
      return null;
    }
    this.emit({ kind: 'amended', orderId: id, agent, price, lots, keptPriority: false });
    const oldPrice = o.price;
    this.remove(o);
    this.emit({ kind: 'book', side: o.side, price: oldPrice, lots: this.level(o.side, oldPrice) });
    this.orders.push({ ...o, price, lots, prio: this.nextPrio++ });
    this.emit({ kind: 'book', side: o.side, price, lots: this.level(o.side, price) });
    return null;
  }

  snapshot(): EngineSnapshot {
    const orders: SnapshotOrder[] = [...this.orders]
      .sort((a, b) => a.price - b.price || a.prio - b.prio)
      .map((o) => ({ ...o, reserved: this.need(o) }));
    const agents = [...this.accounts.keys()]
      .sort((a, b) => a - b)
      .map((a) => {
        const acc = this.accounts.get(a) as Account;
        return { agent: a, total: [acc.credit, acc.base], reserved: [this.reserved(a, 'credit'), this.reserved(a, 'base')] };
      });
    return {
      version: 1,
      config: { ...this.config },
      state: this.state,
      seq: this.seq,
      lastTs: this.lastTs,
      lastOrderId: this.lastOrderId,
      refPrice: this.refPrice,
      nextPrio: this.nextPrio,
      orders,
      balances: { assets: ['CREDIT', this.config.baseAsset], agentsMax: this.agentsMax, supply: [this.supply.credit, this.supply.base], agents },
    };
  }
}
