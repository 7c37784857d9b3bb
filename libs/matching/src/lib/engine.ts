import type {
  AmendCommand,
  CancelAllCommand,
  CancelByClientIdCommand,
  CancelCommand,
  FundsCommand,
  LimitOrderCommand,
  MarketOrderCommand,
  MarketState,
  MatchingCancelReason,
  MatchingCode,
  MatchingCommand,
  OrderSide,
  StpMode,
} from '@ate/contracts';
import { MATCHING_CANCEL_REASONS } from '@ate/contracts';
import { BalanceView } from './balances';
import { type MarketConfig, STP_MODES, validateMarketConfig } from './config';
import { type EventSink, NullSink } from './events';
import { AgentSlotIndex, OrderSlotIndex } from './slot-index';
import { CLIENT_ORDER_ID_LENGTH_MAX, LEVEL_PAGE_BITS, LEVEL_PAGE_SIZE, MARKET_AGENTS_INITIAL, ORDER_LOTS_MAX, POOL_INITIAL_ORDERS } from './limits';
import { Carve } from './carve';
import { type EngineSnapshot, type SnapshotOrder, StateHasher } from './snapshot';

const BUY = 0;
const SELL = 1;
const NIL = -1;
const OPEN = 0;
const HALTED = 2;
const STP_CT = 0;
const STP_CM = 1;
const STP_CB = 2;
const STP_DC = 3;
const STOP_NONE = 0;
const STOP_BAND = 1;
const STOP_STP = 2;
/** index = internal state: OPEN 0, cancel-only 1, HALTED 2 */
const STATE_NAMES: MarketState[] = ['open', 'cancel_only', 'halted'];
const SIDE_NAMES: OrderSide[] = ['buy', 'sell'];
const PB = LEVEL_PAGE_BITS;
const PMASK = LEVEL_PAGE_SIZE - 1;
/** 32-bit words of level bits per page */
const PWORDS = LEVEL_PAGE_SIZE >>> 5;
// an order's packed word (oPx): price in the low 21 bits (PRICE_TICKS_MAX = 2^20), then side, STP mode, flags
const PX_PRICE = (1 << 21) - 1;
const PX_SIDE = 21;
const PX_STP = 22;
const PX_POST = 1 << 24;
/** the order has an expiry (GTD), kept in `oExp` */
const PX_GTD = 1 << 25;
/** the order has a client order id, kept in `oCoid` */
const PX_COID = 1 << 26;

function stpIndex(m: StpMode | undefined, dflt: number): number {
  if (m === undefined) return dflt;
  switch (m) {
    case 'cancel_taker':
      return STP_CT;
    case 'cancel_maker':
      return STP_CM;
    case 'cancel_both':
      return STP_CB;
    case 'decrement_cancel':
      return STP_DC;
    default:
      return -1;
  }
}

/** Result of a command: null when accepted, else the rejection code (also emitted as a `rejected` event). */
export type CommandResult = MatchingCode | null;

export interface EngineOptions {
  /** A balance view shared with other markets; by default the engine owns one with assets CREDIT and config.baseAsset. */
  balances?: BalanceView;
  /** capacity of the engine's own balance view (agents), when `balances` is not given; default AGENTS_DEFAULT */
  agentsMax?: number;
  sink?: EventSink;
  /** initial capacities (restores pass what the snapshot holds, so that nothing is allocated twice) */
  capacity?: { orders: number; agents: number; pages: number };
}

/**
 * A single-market limit order book: price-time priority, integer ticks and lots, deterministic.
 * Feed it commands with `execute`; it writes events to its sink. No clock, no randomness, no I/O.
 *
 * Layout (no per-order objects; memory grows with use, not with the limits): orders live in typed-array pools
 * indexed by slot, linked FIFO per price level (intrusive prev/next) and per agent (time priority, for cancel-all).
 * Price levels live in pages of LEVEL_PAGE_SIZE ticks, taken from a pool while a level of the page is non-empty
 * and given back when the page empties (an empty page is already clean); a directory maps price >>> PB to the
 * page, and level bits per page plus a summary bit per page find the next non-empty level. Bids and asks share
 * the levels because the book never crosses at rest. Agents with orders here get a local slot (hash by agent id)
 * that keeps their order list and their two balance cells. GTD expiries sit in a binary min-heap keyed by
 * (expiresAt, orderId).
 */
export class MatchingEngine {
  readonly config: MarketConfig;
  readonly balances: BalanceView;
  sink: EventSink;
  /** true when the engine created its balance view (assertInvariants then checks reservations exactly) */
  private ownsBalances: boolean;
  private readonly CR: number;
  private readonly BA: number;
  private readonly maxPrice: number;
  private readonly tickSize: number;
  private readonly lotSize: number;
  private readonly defaultStp: number;

  private mstate = OPEN;
  private seq = 0;
  private lastTs = 0;
  private lastOrderId = 0;
  private refPrice: number;
  private nextPrio = 1;
  private liveOrders = 0;

  // ---- order pool (by slot): 44 bytes a slot ----
  // An order's reservation is not stored: it is always price x tickSize x lots (buy) or lots x lotSize (sell), which
  // assertInvariants checked of the former column after every command (reserveOf). Lists are doubly linked with
  // the head's prev pointing at the tail, so levels and agents need no tail field.
  private cap = 0;
  private oId = new Float64Array(0);
  /** time priority (grows for ever: float64) */
  private oPrio = new Float64Array(0);
  /** open lots (maxOrderLots <= ORDER_LOTS_MAX) */
  private oLots = new Int32Array(0);
  /** price | side << PX_SIDE | stp << PX_STP | PX_POST | PX_GTD | PX_COID */
  private oPx = new Int32Array(0);
  /** local agent slot of the order's owner */
  private oAg = new Int32Array(0);
  private oPrev = new Int32Array(0);
  private oNext = new Int32Array(0);
  private oAPrev = new Int32Array(0);
  private oANext = new Int32Array(0);
  /** expiry by slot, for the orders with PX_GTD only */
  private readonly oExp = new Map<number, number>();
  /** client order id by slot, for the orders with PX_COID only */
  private readonly oCoid = new Map<number, string>();
  private freeHead = NIL;
  private readonly idToSlot: OrderSlotIndex;

  // ---- price levels: page directory (by price >>> PB), page pool (level = page << PB | price & PMASK) ----
  private readonly dir: Int32Array;
  /** bit per page: the page holds a non-empty level */
  private readonly pageBits: Int32Array;
  private pCap = 0;
  private pUsed = 0;
  private pFree = new Int32Array(0);
  private pFreeN = 0;
  /** non-empty levels per page slot */
  private pLevels = new Int32Array(0);
  /** first order of the level (whose oPrev is the last) */
  private lHead = new Int32Array(0);
  private lLots = new Float64Array(0);
  /** PWORDS words of level bits per page slot */
  private lBits = new Int32Array(0);
  private bestBid = 0; // 0 = no bid
  private bestAsk: number; // maxPrice + 1 = no ask
  private bidLevels = 0;
  private askLevels = 0;

  // ---- agents with orders (or order attempts) here, by local slot ----
  private readonly agentIdx: AgentSlotIndex;
  private laN = 0;
  private laAgent = new Int32Array(0);
  /** the agent's first order here in time priority (whose oAPrev is the last) */
  private laHead = new Int32Array(0);
  private laCount = new Int32Array(0);
  /** the agent's CREDIT and base-asset balance cells in the view */
  private laCr = new Int32Array(0);
  private laBa = new Int32Array(0);
  private readonly laClient: (Map<string, number> | undefined)[] = [];

  // ---- GTD heap ----
  private hExp = new Float64Array(0);
  private hId = new Float64Array(0);
  private hSize = 0;

  // ---- taker scratch (one command at a time) ----
  private tRem = 0;
  private tSpend = -1;
  private tReserve = 0;
  private tStop = STOP_NONE;
  /** set while check() runs: validation only, no event, nothing changes */
  private dry = false;
  private simLots = 0;
  private simCost = 0;

  constructor(config: MarketConfig, opts: EngineOptions = {}) {
    validateMarketConfig(config);
    this.config = { ...config };
    this.ownsBalances = opts.balances === undefined;
    this.balances = opts.balances ?? new BalanceView(['CREDIT', config.baseAsset], opts.agentsMax);
    this.CR = this.balances.assetIndex('CREDIT');
    this.BA = this.balances.assetIndex(config.baseAsset);
    this.sink = opts.sink ?? new NullSink();
    this.maxPrice = config.maxPriceTicks;
    this.tickSize = config.tickSize;
    this.lotSize = config.lotSize;
    this.defaultStp = stpIndex(config.defaultStp, STP_CT);
    this.refPrice = config.initialPriceTicks;
    // levels 0 and maxPrice + 1 are the sentinels "no bid" / "no ask" (never non-empty)
    const pages = ((this.maxPrice + 1) >>> PB) + 1;
    const words = (pages + 31) >>> 5;
    const c = new Carve({ i32: pages + words });
    this.dir = c.i32(pages, undefined, NIL);
    this.pageBits = c.i32(words);
    this.bestAsk = this.maxPrice + 1;
    const want = opts.capacity;
    const orders = Math.min(Math.max(POOL_INITIAL_ORDERS, want?.orders ?? 0), config.bookOrdersMax);
    const agents = Math.max(MARKET_AGENTS_INITIAL, want?.agents ?? 0);
    this.idToSlot = new OrderSlotIndex(this.oId, orders * 2); // at most 50% full
    this.agentIdx = new AgentSlotIndex(this.laAgent, agents * 2); // at most 75% full
    this.growPages(Math.max(1, want?.pages ?? 0));
    this.growAgents(agents);
    this.grow(orders);
  }

  // =====================================================================================================
  // public API
  // =====================================================================================================

  /** Handles one command: first expires due GTD orders, then applies the command. */
  execute(c: MatchingCommand): CommandResult {
    const ts = c.ts;
    if (!Number.isSafeInteger(ts) || ts < this.lastTs) {
      return this.reject(0, 0, 'MATCHING_INVALID_TIMESTAMP');
    }
    this.lastTs = ts;
    if (this.hSize > 0 && this.hExp[0] <= ts) this.expireUntil(ts);
    switch (c.type) {
      case 'limit':
        return this.placeLimit(c);
      case 'market':
        return this.placeMarket(c);
      case 'cancel':
        return this.cancel(c);
      case 'cancel_client':
        return this.cancelByClientId(c);
      case 'cancel_all':
        return this.cancelAll(c);
      case 'amend':
        return this.amend(c);
      case 'set_state':
        return this.setState(c.state);
      case 'tick':
        return null;
      case 'deposit':
      case 'withdraw':
        return this.funds(c);
      default:
        return this.reject(0, 0, 'MATCHING_INVALID_COMMAND');
    }
  }

  /**
   * What `execute` would answer for a new order now, changing nothing: every rule up to acceptance (state, fields,
   * ids, band, post-only, funds, capacity, FOK fill-ability), no event, no reservation. GTD orders due by `c.ts`
   * are not expired first (execute would expire them), so a dry run sees them still resting.
   */
  check(c: LimitOrderCommand | MarketOrderCommand): CommandResult {
    if (!Number.isSafeInteger(c.ts) || c.ts < this.lastTs) return 'MATCHING_INVALID_TIMESTAMP';
    this.dry = true;
    try {
      return c.type === 'limit' ? this.placeLimit(c) : this.placeMarket(c);
    } finally {
      this.dry = false;
    }
  }

  get marketState(): MarketState {
    return STATE_NAMES[this.mstate];
  }
  get sequence(): number {
    return this.seq;
  }
  get referencePrice(): number {
    return this.refPrice;
  }
  /** best bid in ticks, or null */
  get bestBidPrice(): number | null {
    return this.bidLevels > 0 ? this.bestBid : null;
  }
  /** best ask in ticks, or null */
  get bestAskPrice(): number | null {
    return this.askLevels > 0 ? this.bestAsk : null;
  }
  get openOrders(): number {
    return this.liveOrders;
  }
  /** lots resting at a price (either side) */
  levelLots(price: number): number {
    return price >= 1 && price <= this.maxPrice ? this.lotsAt(price) : 0;
  }
  /** the open order with this id, or null */
  order(orderId: number): SnapshotOrder | null {
    if (!Number.isSafeInteger(orderId) || orderId <= 0) return null;
    const s = this.idToSlot.get(orderId);
    return s === NIL ? null : this.orderAt(s);
  }
  /** open orders of an agent in time priority */
  ordersOf(agent: number): SnapshotOrder[] {
    const out: SnapshotOrder[] = [];
    if (!this.balances.isKnown(agent)) return out;
    const a = this.agentSlot(agent);
    if (a === NIL) return out;
    for (let s = this.laHead[a]; s !== NIL; s = this.oANext[s]) out.push(this.orderAt(s));
    return out;
  }
  /** top `depth` levels per side, best first: [price, lots] */
  depth(depth: number): { bids: [number, number][]; asks: [number, number][] } {
    const bids: [number, number][] = [];
    const asks: [number, number][] = [];
    if (this.bidLevels > 0) {
      for (let p = this.bestBid; p > 0 && bids.length < depth; p = this.prevSet(p)) bids.push([p, this.lotsAt(p)]);
    }
    if (this.askLevels > 0) {
      for (let p = this.bestAsk; p <= this.maxPrice && asks.length < depth; p = this.nextSet(p)) asks.push([p, this.lotsAt(p)]);
    }
    return { bids, asks };
  }

  // =====================================================================================================
  // new orders
  // =====================================================================================================

  private placeLimit(c: LimitOrderCommand): CommandResult {
    const id = c.orderId;
    const agent = c.agent;
    if (this.mstate !== OPEN) return this.reject(id, agent, this.mstate === HALTED ? 'MATCHING_MARKET_HALTED' : 'MATCHING_MARKET_CANCEL_ONLY');
    // ---- invalid fields ----
    if (!Number.isSafeInteger(id) || id <= 0) return this.reject(id, agent, 'MATCHING_INVALID_ORDER_ID');
    const side = c.side === 'buy' ? BUY : c.side === 'sell' ? SELL : NIL;
    if (side === NIL) return this.reject(id, agent, 'MATCHING_INVALID_SIDE');
    const price = c.price;
    if (!Number.isInteger(price) || price < 1 || price > this.maxPrice) return this.reject(id, agent, 'MATCHING_INVALID_PRICE');
    const lots = c.lots;
    if (!Number.isInteger(lots) || lots < this.config.minOrderLots || lots > this.config.maxOrderLots) {
      return this.reject(id, agent, 'MATCHING_INVALID_SIZE');
    }
    const tif = c.tif;
    const gtd = tif === 'GTD';
    const rests = tif === 'GTC' || gtd;
    if (!rests && tif !== 'IOC' && tif !== 'FOK') return this.reject(id, agent, 'MATCHING_INVALID_TIME_IN_FORCE');
    const expiresAt = c.expiresAt;
    if (gtd ? !Number.isSafeInteger(expiresAt) : expiresAt !== undefined) return this.reject(id, agent, 'MATCHING_INVALID_TIME_IN_FORCE');
    const postOnly = c.postOnly === true;
    if (c.postOnly !== undefined && typeof c.postOnly !== 'boolean') return this.reject(id, agent, 'MATCHING_INVALID_TIME_IN_FORCE');
    if (postOnly && !rests) return this.reject(id, agent, 'MATCHING_INVALID_TIME_IN_FORCE');
    const stp = stpIndex(c.stp, this.defaultStp);
    if (stp < 0) return this.reject(id, agent, 'MATCHING_INVALID_STP_MODE');
    const coid = c.clientOrderId;
    if (coid !== undefined && !this.validClientId(coid)) return this.reject(id, agent, 'MATCHING_INVALID_CLIENT_ORDER_ID');
    // ---- owner, ids, time ----
    if (!this.balances.isKnown(agent)) return this.reject(id, agent, 'MATCHING_UNKNOWN_AGENT');
    if (id <= this.lastOrderId && (c.heldId !== true || this.idToSlot.get(id) !== NIL)) return this.reject(id, agent, 'MATCHING_DUPLICATE_ORDER_ID');
    let a = this.agentSlot(agent);
    if (coid !== undefined && a !== NIL && this.laClient[a]?.has(coid)) return this.reject(id, agent, 'MATCHING_DUPLICATE_CLIENT_ORDER_ID');
    if (gtd && (expiresAt as number) <= c.ts) return this.reject(id, agent, 'MATCHING_ALREADY_EXPIRED');
    // ---- band (fixed at arrival) ----
    if (price > this.bandHi() || price < this.bandLo()) return this.reject(id, agent, 'MATCHING_PRICE_OUTSIDE_BAND');
    // ---- post-only (own orders count) ----
    if (postOnly && (side === BUY ? this.askLevels > 0 && this.bestAsk <= price : this.bidLevels > 0 && this.bestBid >= price)) {
      return this.reject(id, agent, 'MATCHING_POST_ONLY_WOULD_CROSS');
    }
    // ---- funds ----
    // (fees, a later issue, add to `need` here)
    if (a === NIL) a = this.ensureAgent(agent);
    const cell = side === BUY ? this.laCr[a] : this.laBa[a];
    const need = side === BUY ? price * this.tickSize * lots : lots * this.lotSize;
    if (this.balances.ct[cell] - this.balances.cr[cell] < need) {
      return this.reject(id, agent, 'MATCHING_INSUFFICIENT_FUNDS');
    }
    // ---- capacity ----
    if (rests) {
      if (this.laCount[a] >= this.config.ordersPerAgentMax) return this.reject(id, agent, 'MATCHING_TOO_MANY_ORDERS');
      if (this.liveOrders >= this.config.bookOrdersMax) return this.reject(id, agent, 'MATCHING_BOOK_FULL');
    }
    if (tif === 'FOK') {
      this.simulate(side, a, stp, price, lots, -1, this.maxPrice + 1, 0);
      if (this.simLots !== lots) return this.reject(id, agent, 'MATCHING_FOK_NOT_FILLABLE');
    }
    if (this.dry) return null;
    // ---- accepted ----
    if (id > this.lastOrderId) this.lastOrderId = id;
    this.sink.accepted(++this.seq, id, agent, c.side, price, lots, 0);
    this.balances.cr[cell] += need;
    this.tReserve = need;
    this.tRem = lots;
    this.tSpend = -1;
    const perLot = side === BUY ? price * this.tickSize : this.lotSize;
    if (side === BUY) this.takeAsks(id, a, stp, price, this.maxPrice + 1, perLot, perLot);
    else this.takeBids(id, a, stp, price, 0, perLot);
    if (this.tStop === STOP_STP) {
      this.endTaker(id, agent, cell, this.tRem, 'MATCHING_CANCEL_STP');
    } else if (this.tRem === 0) {
      this.endTaker(id, agent, cell, -1, 'MATCHING_CANCEL_UNFILLED');
    } else if (rests) {
      this.rest(id, a, side, price, this.tRem, gtd ? (expiresAt as number) : 0, stp, postOnly, coid ?? null);
    } else {
      this.endTaker(id, agent, cell, this.tRem, 'MATCHING_CANCEL_UNFILLED');
    }
    return null;
  }

  private placeMarket(c: MarketOrderCommand): CommandResult {
    const id = c.orderId;
    const agent = c.agent;
    if (this.mstate !== OPEN) return this.reject(id, agent, this.mstate === HALTED ? 'MATCHING_MARKET_HALTED' : 'MATCHING_MARKET_CANCEL_ONLY');
    if (!Number.isSafeInteger(id) || id <= 0) return this.reject(id, agent, 'MATCHING_INVALID_ORDER_ID');
    const side = c.side === 'buy' ? BUY : c.side === 'sell' ? SELL : NIL;
    if (side === NIL) return this.reject(id, agent, 'MATCHING_INVALID_SIDE');
    const lots = c.lots;
    const spend = c.spend;
    if (lots !== undefined) {
      if (spend !== undefined) return this.reject(id, agent, 'MATCHING_INVALID_SIZE');
      if (!Number.isInteger(lots) || lots < this.config.minOrderLots || lots > this.config.maxOrderLots) {
        return this.reject(id, agent, 'MATCHING_INVALID_SIZE');
      }
    } else if (spend === undefined) {
      return this.reject(id, agent, 'MATCHING_INVALID_SIZE');
    } else if (!Number.isSafeInteger(spend) || spend < 1 || spend > this.config.maxSpendCredits) {
      return this.reject(id, agent, 'MATCHING_INVALID_SPEND');
    }
    const stp = stpIndex(c.stp, this.defaultStp);
    if (stp < 0) return this.reject(id, agent, 'MATCHING_INVALID_STP_MODE');
    const coid = c.clientOrderId;
    if (coid !== undefined && !this.validClientId(coid)) return this.reject(id, agent, 'MATCHING_INVALID_CLIENT_ORDER_ID');
    if (!this.balances.isKnown(agent)) return this.reject(id, agent, 'MATCHING_UNKNOWN_AGENT');
    if (id <= this.lastOrderId && (c.heldId !== true || this.idToSlot.get(id) !== NIL)) return this.reject(id, agent, 'MATCHING_DUPLICATE_ORDER_ID');
    let a = this.agentSlot(agent);
    if (coid !== undefined && a !== NIL && this.laClient[a]?.has(coid)) return this.reject(id, agent, 'MATCHING_DUPLICATE_CLIENT_ORDER_ID');
    if (a === NIL) a = this.ensureAgent(agent);
    // ---- funds: exactly what the order can use on the current book (fees, a later issue, add to `need` here) ----
    const bandHi = this.bandHi();
    const bandLo = this.bandLo();
    const lotsMode = lots !== undefined;
    const tLots = lotsMode ? (lots as number) : Number.MAX_SAFE_INTEGER;
    const tSpend = lotsMode ? -1 : (spend as number);
    let cell: number;
    let need: number;
    if (side === BUY) {
      cell = this.laCr[a];
      if (lotsMode) {
        this.simulate(BUY, a, stp, this.maxPrice, tLots, -1, bandHi, bandLo);
        need = this.simCost;
      } else need = tSpend;
    } else {
      cell = this.laBa[a];
      if (lotsMode) need = tLots * this.lotSize;
      else {
        this.simulate(SELL, a, stp, 1, tLots, tSpend, bandHi, bandLo);
        need = this.simLots * this.lotSize;
      }
    }
    if (this.balances.ct[cell] - this.balances.cr[cell] < need) {
      return this.reject(id, agent, 'MATCHING_INSUFFICIENT_FUNDS');
    }
    if (this.dry) return null;
    if (id > this.lastOrderId) this.lastOrderId = id;
    this.sink.accepted(++this.seq, id, agent, c.side, 0, lotsMode ? tLots : 0, lotsMode ? 0 : tSpend);
    this.balances.cr[cell] += need;
    this.tReserve = need;
    this.tRem = tLots;
    this.tSpend = tSpend;
    if (side === BUY) this.takeAsks(id, a, stp, this.maxPrice, bandHi, 0, 0);
    else this.takeBids(id, a, stp, 1, bandLo, lotsMode ? this.lotSize : 0);
    const remLots = lotsMode ? this.tRem : 0;
    if (this.tStop === STOP_STP) this.endTaker(id, agent, cell, remLots, 'MATCHING_CANCEL_STP');
    else if (lotsMode ? this.tRem === 0 : this.tSpend === 0) this.endTaker(id, agent, cell, -1, 'MATCHING_CANCEL_UNFILLED');
    else this.endTaker(id, agent, cell, remLots, this.tStop === STOP_BAND ? 'MATCHING_CANCEL_PRICE_BAND' : 'MATCHING_CANCEL_UNFILLED');
    return null;
  }

  /** Releases what the taker still holds; emits `cancelled` unless lots < 0 (fully done). */
  private endTaker(id: number, agent: number, cell: number, lots: number, reason: MatchingCancelReason): void {
    if (this.tReserve !== 0) {
      this.balances.cr[cell] -= this.tReserve;
      this.tReserve = 0;
    }
    if (lots >= 0) this.sink.cancelled(++this.seq, id, agent, lots, reason);
  }

  /**
   * A buy taker walks the asks. `limit`: highest price it may pay; `bandHi`: a market order stops beyond it;
   * `limitPerLot`: credits reserved per lot by a limit buy (0 for market buys: they reserved the exact notional);
   * `decPerLot`: what a decrement-and-cancel releases per lot.
   */
  private takeAsks(id: number, a: number, stp: number, limit: number, bandHi: number, limitPerLot: number, decPerLot: number): void {
    this.tStop = STOP_NONE;
    const ts = this.tickSize;
    const agent = this.laAgent[a];
    // cells never move; ct / cr are only replaced when a cell is added, which cannot happen while taking
    const ct = this.balances.ct;
    const cr = this.balances.cr;
    const tCr = this.laCr[a];
    const tBa = this.laBa[a];
    const ls = this.lotSize;
    while (this.tRem > 0 && this.tSpend !== 0 && this.askLevels > 0) {
      const p = this.bestAsk;
      if (p > limit) break;
      if (p > bandHi) {
        this.tStop = STOP_BAND;
        break;
      }
      const unit = p * ts;
      let m = this.lHead[this.lvl(p)];
      while (m !== NIL) {
        const next = this.oNext[m];
        const mLots = this.oLots[m];
        let q = this.tRem < mLots ? this.tRem : mLots;
        if (this.tSpend >= 0) {
          const afford = Math.floor(this.tSpend / unit);
          if (afford === 0) return; // stop: one more lot does not fit
          if (afford < q) q = afford;
        }
        const ma = this.oAg[m];
        if (ma === a) {
          if (stp === STP_CM || stp === STP_CB) {
            this.cancelMaker(m, 'MATCHING_CANCEL_STP');
            if (stp === STP_CB) {
              this.tStop = STOP_STP;
              return;
            }
            m = next;
            continue;
          }
          if (stp === STP_CT) {
            this.tStop = STOP_STP;
            return;
          }
          // decrement-and-cancel: both shrink by q, no trade
          this.reduceMaker(m, q);
          if (this.tSpend >= 0) {
            const zero = q === Math.floor(this.tSpend / unit);
            this.tSpend -= q * unit;
            this.sink.reduced(++this.seq, id, agent, q, 0);
            if (zero) {
              this.tStop = STOP_STP;
              return;
            }
          } else {
            this.tRem -= q;
            if (decPerLot !== 0) {
              cr[tCr] -= decPerLot * q;
              this.tReserve -= decPerLot * q;
            }
            this.sink.reduced(++this.seq, id, agent, q, this.tRem);
            if (this.tRem === 0) {
              this.tStop = STOP_STP;
              return;
            }
          }
          if (q === mLots) {
            m = next;
            continue;
          }
          return; // unreachable: one of the two reached zero
        }
        // ---- trade at the maker's price ----
        const notional = unit * q;
        const use = limitPerLot !== 0 ? limitPerLot * q : notional;
        ct[tCr] -= notional;
        cr[tCr] -= use;
        this.tReserve -= use;
        ct[this.laCr[ma]] += notional;
        const baseAmt = q * ls;
        const mBa = this.laBa[ma];
        ct[mBa] -= baseAmt;
        cr[mBa] -= baseAmt;
        ct[tBa] += baseAmt;
        if (this.tSpend >= 0) this.tSpend -= notional;
        else this.tRem -= q;
        this.refPrice = p;
        this.sink.trade(++this.seq, this.oId[m], id, this.laAgent[ma], agent, 'buy', p, q, notional);
        this.fillMaker(m, p, q, 'sell');
        if (this.tRem === 0 || this.tSpend === 0) return;
        if (q < mLots) return; // spend exhausted at this price
        m = next;
      }
    }
  }

  /** A sell taker walks the bids. `limit`: lowest price it accepts; `bandLo`: a market order stops below it. */
  private takeBids(id: number, a: number, stp: number, limit: number, bandLo: number, decPerLot: number): void {
    this.tStop = STOP_NONE;
    const ts = this.tickSize;
    const agent = this.laAgent[a];
    const ct = this.balances.ct;
    const cr = this.balances.cr;
    const tCr = this.laCr[a];
    const tBa = this.laBa[a];
    const ls = this.lotSize;
    while (this.tRem > 0 && this.tSpend !== 0 && this.bidLevels > 0) {
      const p = this.bestBid;
      if (p < limit) break;
      if (p < bandLo) {
        this.tStop = STOP_BAND;
        break;
      }
      const unit = p * ts;
      let m = this.lHead[this.lvl(p)];
      while (m !== NIL) {
        const next = this.oNext[m];
        const mLots = this.oLots[m];
        let q = this.tRem < mLots ? this.tRem : mLots;
        if (this.tSpend >= 0) {
          const afford = Math.floor(this.tSpend / unit);
          if (afford === 0) return;
          if (afford < q) q = afford;
        }
        const ma = this.oAg[m];
        if (ma === a) {
          if (stp === STP_CM || stp === STP_CB) {
            this.cancelMaker(m, 'MATCHING_CANCEL_STP');
            if (stp === STP_CB) {
              this.tStop = STOP_STP;
              return;
            }
            m = next;
            continue;
          }
          if (stp === STP_CT) {
            this.tStop = STOP_STP;
            return;
          }
          this.reduceMaker(m, q);
          if (this.tSpend >= 0) {
            const zero = q === Math.floor(this.tSpend / unit);
            this.tSpend -= q * unit;
            this.sink.reduced(++this.seq, id, agent, q, 0);
            if (zero) {
              this.tStop = STOP_STP;
              return;
            }
          } else {
            this.tRem -= q;
            if (decPerLot !== 0) {
              cr[tBa] -= decPerLot * q;
              this.tReserve -= decPerLot * q;
            }
            this.sink.reduced(++this.seq, id, agent, q, this.tRem);
            if (this.tRem === 0) {
              this.tStop = STOP_STP;
              return;
            }
          }
          if (q === mLots) {
            m = next;
            continue;
          }
          return;
        }
        const notional = unit * q;
        const baseAmt = q * ls;
        // maker buys: its reservation is at its own price, which is the trade price
        const mCr = this.laCr[ma];
        ct[mCr] -= notional;
        cr[mCr] -= notional;
        ct[tCr] += notional;
        ct[tBa] -= baseAmt;
        cr[tBa] -= baseAmt;
        this.tReserve -= baseAmt;
        ct[this.laBa[ma]] += baseAmt;
        if (this.tSpend >= 0) this.tSpend -= notional;
        else this.tRem -= q;
        this.refPrice = p;
        this.sink.trade(++this.seq, this.oId[m], id, this.laAgent[ma], agent, 'sell', p, q, notional);
        this.fillMaker(m, p, q, 'buy');
        if (this.tRem === 0 || this.tSpend === 0) return;
        if (q < mLots) return;
        m = next;
      }
    }
  }

  /**
   * Dry run of a taker on the current book with the same rules as takeAsks/takeBids, changing nothing.
   * Sets simLots (lots that would trade) and simCost (their notional).
   */
  private simulate(side: number, a: number, stp: number, limit: number, lots: number, spend: number, bandHi: number, bandLo: number): void {
    let tRem = lots;
    let tSpend = spend;
    let sLots = 0;
    let sCost = 0;
    const ts = this.tickSize;
    outer: if (side === BUY ? this.askLevels > 0 : this.bidLevels > 0) {
      let p = side === BUY ? this.bestAsk : this.bestBid;
      while (side === BUY ? p <= this.maxPrice : p > 0) {
        if (side === BUY ? p > limit || p > bandHi : p < limit || p < bandLo) break;
        const unit = p * ts;
        for (let m = this.lHead[this.lvl(p)]; m !== NIL; m = this.oNext[m]) {
          const mLots = this.oLots[m];
          let q = tRem < mLots ? tRem : mLots;
          if (tSpend >= 0) {
            const afford = Math.floor(tSpend / unit);
            if (afford === 0) break outer;
            if (afford < q) q = afford;
          }
          if (this.oAg[m] === a) {
            if (stp === STP_CM) continue;
            if (stp !== STP_DC) break outer;
            if (tSpend >= 0) {
              if (q === Math.floor(tSpend / unit)) break outer;
              tSpend -= q * unit;
            } else {
              tRem -= q;
              if (tRem === 0) break outer;
            }
            continue;
          }
          sLots += q;
          sCost += unit * q;
          if (tSpend >= 0) tSpend -= unit * q;
          else tRem -= q;
          if (tRem === 0 || tSpend === 0 || q < mLots) break outer;
        }
        p = side === BUY ? this.nextSet(p) : this.prevSet(p);
      }
    }
    this.simLots = sLots;
    this.simCost = sCost;
  }

  // =====================================================================================================
  // cancels, amends, state, funds
  // =====================================================================================================

  private cancel(c: CancelCommand): CommandResult {
    const id = c.orderId;
    const agent = c.agent;
    if (this.mstate === HALTED) return this.reject(id, agent, 'MATCHING_MARKET_HALTED');
    if (!Number.isSafeInteger(id) || id <= 0) return this.reject(id, agent, 'MATCHING_INVALID_ORDER_ID');
    if (!this.balances.isKnown(agent)) return this.reject(id, agent, 'MATCHING_UNKNOWN_AGENT');
    const s = this.idToSlot.get(id);
    if (s === NIL || this.laAgent[this.oAg[s]] !== agent) return this.reject(id, agent, 'MATCHING_UNKNOWN_ORDER');
    this.cancelMaker(s, 'MATCHING_CANCEL_BY_OWNER');
    return null;
  }

  private cancelByClientId(c: CancelByClientIdCommand): CommandResult {
    const agent = c.agent;
    if (this.mstate === HALTED) return this.reject(0, agent, 'MATCHING_MARKET_HALTED');
    if (!this.validClientId(c.clientOrderId)) return this.reject(0, agent, 'MATCHING_INVALID_CLIENT_ORDER_ID');
    if (!this.balances.isKnown(agent)) return this.reject(0, agent, 'MATCHING_UNKNOWN_AGENT');
    const a = this.agentSlot(agent);
    const s = a === NIL ? undefined : this.laClient[a]?.get(c.clientOrderId);
    if (s === undefined) return this.reject(0, agent, 'MATCHING_UNKNOWN_ORDER');
    this.cancelMaker(s, 'MATCHING_CANCEL_BY_OWNER');
    return null;
  }

  private cancelAll(c: CancelAllCommand): CommandResult {
    const agent = c.agent;
    if (this.mstate === HALTED) return this.reject(0, agent, 'MATCHING_MARKET_HALTED');
    if (!this.balances.isKnown(agent)) return this.reject(0, agent, 'MATCHING_UNKNOWN_AGENT');
    const reason = c.reason ?? 'MATCHING_CANCEL_ALL';
    if (!Object.prototype.hasOwnProperty.call(MATCHING_CANCEL_REASONS, reason)) return this.reject(0, agent, 'MATCHING_INVALID_COMMAND');
    const a = this.agentSlot(agent);
    if (a !== NIL) while (this.laHead[a] !== NIL) this.cancelMaker(this.laHead[a], reason);
    return null;
  }

  private amend(c: AmendCommand): CommandResult {
    const id = c.orderId;
    const agent = c.agent;
    if (this.mstate !== OPEN) return this.reject(id, agent, this.mstate === HALTED ? 'MATCHING_MARKET_HALTED' : 'MATCHING_MARKET_CANCEL_ONLY');
    if (!Number.isSafeInteger(id) || id <= 0) return this.reject(id, agent, 'MATCHING_INVALID_ORDER_ID');
    const price = c.price;
    if (!Number.isInteger(price) || price < 1 || price > this.maxPrice) return this.reject(id, agent, 'MATCHING_INVALID_PRICE');
    const lots = c.lots;
    if (!Number.isInteger(lots) || lots < 1 || lots > this.config.maxOrderLots) return this.reject(id, agent, 'MATCHING_INVALID_SIZE');
    if (!this.balances.isKnown(agent)) return this.reject(id, agent, 'MATCHING_UNKNOWN_AGENT');
    const s = this.idToSlot.get(id);
    if (s === NIL || this.laAgent[this.oAg[s]] !== agent) return this.reject(id, agent, 'MATCHING_UNKNOWN_ORDER');
    const px = this.oPx[s];
    const oldPrice = px & PX_PRICE;
    const oldLots = this.oLots[s];
    const side = (px >>> PX_SIDE) & 1;
    if (price !== oldPrice && (price > this.bandHi() || price < this.bandLo())) return this.reject(id, agent, 'MATCHING_PRICE_OUTSIDE_BAND');
    if (side === BUY ? this.askLevels > 0 && price >= this.bestAsk : this.bidLevels > 0 && price <= this.bestBid) {
      return this.reject(id, agent, 'MATCHING_AMEND_WOULD_CROSS');
    }
    const cell = side === BUY ? this.laCr[this.oAg[s]] : this.laBa[this.oAg[s]];
    const newReserve = side === BUY ? price * this.tickSize * lots : lots * this.lotSize;
    const delta = newReserve - this.reserveOf(s);
    if (delta > 0 && this.balances.ct[cell] - this.balances.cr[cell] < delta) {
      return this.reject(id, agent, 'MATCHING_INSUFFICIENT_FUNDS');
    }
    this.balances.cr[cell] += delta;
    const sideName = SIDE_NAMES[side];
    if (price === oldPrice && lots <= oldLots) {
      this.oLots[s] = lots;
      this.lLots[this.lvl(price)] -= oldLots - lots;
      this.sink.amended(++this.seq, id, agent, price, lots, true);
      if (lots !== oldLots) this.sink.book(++this.seq, sideName, price, this.lotsAt(price));
      return null;
    }
    this.sink.amended(++this.seq, id, agent, price, lots, false);
    this.unlinkLevel(s);
    this.sink.book(++this.seq, sideName, oldPrice, this.lotsAt(oldPrice));
    this.unlinkAgent(s);
    this.oPx[s] = (px & ~PX_PRICE) | price;
    this.oLots[s] = lots;
    this.oPrio[s] = this.nextPrio++;
    this.linkLevel(s);
    this.linkAgent(s);
    this.sink.book(++this.seq, sideName, price, this.lotsAt(price));
    return null;
  }

  private setState(state: MarketState): CommandResult {
    const i = STATE_NAMES.indexOf(state);
    if (i < 0) return this.reject(0, 0, 'MATCHING_INVALID_COMMAND');
    this.mstate = i;
    this.sink.state(++this.seq, state);
    return null;
  }

  /** Ledger feed: accepted in every market state (moving funds is not trading). */
  private funds(c: FundsCommand): CommandResult {
    const asset = c.asset === 'credit' ? this.CR : c.asset === 'base' ? this.BA : NIL;
    if (asset === NIL || !Number.isSafeInteger(c.amount) || c.amount <= 0) return this.reject(0, c.agent, 'MATCHING_INVALID_COMMAND');
    if (c.type === 'deposit') {
      if (!this.balances.deposit(c.agent, asset, c.amount)) return this.reject(0, c.agent, 'MATCHING_INVALID_COMMAND');
      this.sink.funds(++this.seq, c.agent, c.asset, c.amount);
    } else {
      if (!this.balances.isKnown(c.agent)) return this.reject(0, c.agent, 'MATCHING_UNKNOWN_AGENT');
      if (!this.balances.withdraw(c.agent, asset, c.amount)) return this.reject(0, c.agent, 'MATCHING_INSUFFICIENT_BALANCE');
      this.sink.funds(++this.seq, c.agent, c.asset, -c.amount);
    }
    return null;
  }

  private expireUntil(ts: number): void {
    while (this.hSize > 0 && this.hExp[0] <= ts) {
      const id = this.hId[0];
      this.heapPop();
      const s = this.idToSlot.get(id);
      if (s === NIL) continue; // ended earlier (lazy deletion)
      const agent = this.laAgent[this.oAg[s]];
      const px = this.oPx[s];
      const price = px & PX_PRICE;
      const side = (px >>> PX_SIDE) & 1;
      this.sink.expired(++this.seq, id, agent, this.oLots[s]);
      this.removeOrder(s);
      this.sink.book(++this.seq, SIDE_NAMES[side], price, this.lotsAt(price));
    }
  }

  // =====================================================================================================
  // book mechanics
  // =====================================================================================================

  private reject(orderId: number, agent: number, code: MatchingCode): MatchingCode {
    if (!this.dry) this.sink.rejected(++this.seq, orderId, agent, code);
    return code;
  }

  private validClientId(x: unknown): boolean {
    return typeof x === 'string' && x.length > 0 && x.length <= CLIENT_ORDER_ID_LENGTH_MAX;
  }

  private bandHi(): number {
    return Math.floor((this.refPrice * (10_000 + this.config.priceBandBps)) / 10_000);
  }
  private bandLo(): number {
    return Math.ceil((this.refPrice * (10_000 - this.config.priceBandBps)) / 10_000);
  }

  /** Cancels a resting order: `cancelled`, then the level's book delta. */
  private cancelMaker(s: number, reason: MatchingCancelReason): void {
    const px = this.oPx[s];
    const price = px & PX_PRICE;
    const side = (px >>> PX_SIDE) & 1;
    this.sink.cancelled(++this.seq, this.oId[s], this.laAgent[this.oAg[s]], this.oLots[s], reason);
    this.removeOrder(s);
    this.sink.book(++this.seq, SIDE_NAMES[side], price, this.lotsAt(price));
  }

  /** Decrement-and-cancel on a maker: `reduced`, `cancelled` if it reached zero, then the book delta. */
  private reduceMaker(s: number, q: number): void {
    const px = this.oPx[s];
    const price = px & PX_PRICE;
    const side = (px >>> PX_SIDE) & 1;
    const left = this.oLots[s] - q;
    const a = this.oAg[s];
    this.sink.reduced(++this.seq, this.oId[s], this.laAgent[a], q, left);
    const rel = side === BUY ? price * this.tickSize * q : q * this.lotSize;
    this.balances.cr[side === BUY ? this.laCr[a] : this.laBa[a]] -= rel;
    this.oLots[s] = left;
    this.lLots[this.lvl(price)] -= q;
    if (left === 0) {
      this.sink.cancelled(++this.seq, this.oId[s], this.laAgent[a], 0, 'MATCHING_CANCEL_STP');
      this.removeOrder(s);
    }
    this.sink.book(++this.seq, SIDE_NAMES[side], price, this.lotsAt(price));
  }

  private fillMaker(m: number, p: number, q: number, makerSide: OrderSide): void {
    const left = this.oLots[m] - q;
    this.oLots[m] = left;
    const L = this.lvl(p);
    const lots = this.lLots[L] - q;
    this.lLots[L] = lots;
    if (left === 0) this.removeOrder(m);
    this.sink.book(++this.seq, makerSide, p, lots);
  }

  private rest(
    id: number,
    a: number,
    side: number,
    price: number,
    lots: number,
    expiresAt: number,
    stp: number,
    postOnly: boolean,
    coid: string | null,
  ): void {
    if (this.freeHead === NIL) this.grow(this.cap * 2); // doubling: growth by 1.5x measured 10-25% slower on commands over many markets (more pool growths, more full collections)
    const s = this.freeHead;
    this.freeHead = this.oNext[s];
    this.oId[s] = id;
    this.oAg[s] = a;
    let px = price | (side << PX_SIDE) | (stp << PX_STP);
    if (postOnly) px |= PX_POST;
    if (expiresAt !== 0) {
      px |= PX_GTD;
      this.oExp.set(s, expiresAt);
    }
    if (coid !== null) {
      px |= PX_COID;
      this.oCoid.set(s, coid);
      let m = this.laClient[a];
      if (m === undefined) this.laClient[a] = m = new Map();
      m.set(coid, s);
    }
    this.oPx[s] = px;
    this.oLots[s] = lots;
    this.oPrio[s] = this.nextPrio++;
    this.tReserve = 0; // the order holds it now (reserveOf)
    this.idToSlot.add(s);
    this.liveOrders++;
    this.linkLevel(s);
    this.linkAgent(s);
    this.laCount[a]++;
    if (expiresAt !== 0) this.heapPush(expiresAt, id);
    this.sink.book(++this.seq, SIDE_NAMES[side], price, this.lotsAt(price));
  }

  /** what a resting order holds: credits for a buy (price x tickSize x lots), base units for a sell */
  private reserveOf(s: number): number {
    const px = this.oPx[s];
    return ((px >>> PX_SIDE) & 1) === BUY ? (px & PX_PRICE) * this.tickSize * this.oLots[s] : this.oLots[s] * this.lotSize;
  }

  /** Takes a resting order out of every structure and releases what it still holds. */
  private removeOrder(s: number): void {
    const a = this.oAg[s];
    const px = this.oPx[s];
    this.unlinkLevel(s);
    this.unlinkAgent(s);
    this.laCount[a]--;
    this.idToSlot.remove(s);
    if ((px & (PX_GTD | PX_COID)) !== 0) {
      if ((px & PX_GTD) !== 0) this.oExp.delete(s);
      if ((px & PX_COID) !== 0) {
        this.laClient[a]?.delete(this.oCoid.get(s) as string);
        this.oCoid.delete(s);
      }
    }
    const lots = this.oLots[s];
    if (lots !== 0) {
      if (((px >>> PX_SIDE) & 1) === BUY) this.balances.cr[this.laCr[a]] -= (px & PX_PRICE) * this.tickSize * lots;
      else this.balances.cr[this.laBa[a]] -= lots * this.lotSize;
    }
    this.liveOrders--;
    this.oNext[s] = this.freeHead;
    this.freeHead = s;
  }

  // ---- price levels ----

  /** the level index of a price whose page is present (a price with orders, or the best bid / ask) */
  private lvl(p: number): number {
    return (this.dir[p >>> PB] << PB) | (p & PMASK);
  }

  /** lots resting at a price (0 where no page is) */
  private lotsAt(p: number): number {
    const k = this.dir[p >>> PB];
    return k === NIL ? 0 : this.lLots[(k << PB) | (p & PMASK)];
  }

  private linkLevel(s: number): void {
    const px = this.oPx[s];
    const p = px & PX_PRICE;
    const pg = p >>> PB;
    let k = this.dir[pg];
    if (k === NIL) k = this.takePage(pg);
    const L = (k << PB) | (p & PMASK);
    const head = this.lHead[L];
    this.oNext[s] = NIL;
    if (head === NIL) {
      this.lHead[L] = s;
      this.oPrev[s] = s;
      this.lBits[k * PWORDS + ((p & PMASK) >>> 5)] |= 1 << (p & 31);
      if (this.pLevels[k]++ === 0) this.pageBits[pg >>> 5] |= 1 << (pg & 31);
      if (((px >>> PX_SIDE) & 1) === BUY) {
        this.bidLevels++;
        if (p > this.bestBid) this.bestBid = p;
      } else {
        this.askLevels++;
        if (p < this.bestAsk) this.bestAsk = p;
      }
    } else {
      const tail = this.oPrev[head];
      this.oNext[tail] = s;
      this.oPrev[s] = tail;
      this.oPrev[head] = s;
    }
    this.lLots[L] += this.oLots[s];
  }

  private unlinkLevel(s: number): void {
    const px = this.oPx[s];
    const p = px & PX_PRICE;
    const pg = p >>> PB;
    const k = this.dir[pg];
    const L = (k << PB) | (p & PMASK);
    const prev = this.oPrev[s];
    const next = this.oNext[s];
    this.lLots[L] -= this.oLots[s];
    const head = this.lHead[L];
    if (s !== head) {
      this.oNext[prev] = next;
      if (next === NIL) this.oPrev[head] = prev;
      else this.oPrev[next] = prev;
      return;
    }
    if (next !== NIL) {
      this.lHead[L] = next;
      this.oPrev[next] = prev; // the tail
      return;
    }
    // the level is empty (head NIL, lots 0): a page whose levels are all empty is clean, so it goes back as is
    this.lHead[L] = NIL;
    this.lLots[L] = 0;
    this.lBits[k * PWORDS + ((p & PMASK) >>> 5)] &= ~(1 << (p & 31));
    if (--this.pLevels[k] === 0) {
      this.pageBits[pg >>> 5] &= ~(1 << (pg & 31));
      this.dir[pg] = NIL;
      this.pFree[this.pFreeN++] = k;
    }
    if (((px >>> PX_SIDE) & 1) === BUY) {
      if (--this.bidLevels === 0) this.bestBid = 0;
      else if (p === this.bestBid) this.bestBid = this.prevSet(p);
    } else {
      if (--this.askLevels === 0) this.bestAsk = this.maxPrice + 1;
      else if (p === this.bestAsk) this.bestAsk = this.nextSet(p);
    }
  }

  /** a clean page slot for page number pg */
  private takePage(pg: number): number {
    if (this.pFreeN === 0) {
      if (this.pUsed === this.pCap) this.growPages(this.pCap * 2);
      this.pFree[this.pFreeN++] = this.pUsed++;
    }
    const k = this.pFree[--this.pFreeN];
    this.dir[pg] = k;
    return k;
  }

  private growPages(n: number): void {
    // one buffer: per page slot LEVEL_PAGE_SIZE x (lots, head), PWORDS bit words, the level count, a free-list entry
    const levels = n << PB;
    const c = new Carve({ f64: levels, i32: levels + n * PWORDS + 2 * n });
    this.lLots = c.f64(levels, this.lLots);
    this.lHead = c.i32(levels, this.lHead, NIL);
    this.lBits = c.i32(n * PWORDS, this.lBits);
    this.pLevels = c.i32(n, this.pLevels);
    this.pFree = c.i32(n, this.pFree);
    this.pCap = n;
  }

  /** highest set bit of page slot k at an offset <= off, or -1 */
  private pageHigh(k: number, off: number): number {
    const base = k * PWORDS;
    let w = off >>> 5;
    const b = off & 31;
    let word = this.lBits[base + w] & (b === 31 ? -1 : (1 << (b + 1)) - 1);
    for (;;) {
      if (word !== 0) return (w << 5) + 31 - Math.clz32(word);
      if (--w < 0) return -1;
      word = this.lBits[base + w];
    }
  }

  /** lowest set bit of page slot k at an offset >= off (off < LEVEL_PAGE_SIZE), or -1 */
  private pageLow(k: number, off: number): number {
    const base = k * PWORDS;
    let w = off >>> 5;
    let word = this.lBits[base + w] & (-1 << (off & 31));
    for (;;) {
      if (word !== 0) return (w << 5) + 31 - Math.clz32(word & -word);
      if (++w >= PWORDS) return -1;
      word = this.lBits[base + w];
    }
  }

  /** highest non-empty level below p, or 0 */
  private prevSet(p: number): number {
    const i = p - 1;
    if (i < 0) return 0;
    let pg = i >>> PB;
    const k = this.dir[pg];
    if (k !== NIL) {
      const r = this.pageHigh(k, i & PMASK);
      if (r >= 0) return (pg << PB) | r;
    }
    // the highest non-empty page below pg
    if (--pg < 0) return 0;
    let w = pg >>> 5;
    const b = pg & 31;
    let word = this.pageBits[w] & (b === 31 ? -1 : (1 << (b + 1)) - 1);
    for (;;) {
      if (word !== 0) {
        const q = (w << 5) + 31 - Math.clz32(word);
        return (q << PB) | this.pageHigh(this.dir[q], PMASK);
      }
      if (--w < 0) return 0;
      word = this.pageBits[w];
    }
  }

  /** lowest non-empty level above p, or maxPrice + 1 */
  private nextSet(p: number): number {
    const i = p + 1;
    const none = this.maxPrice + 1;
    if (i > none) return none;
    let pg = i >>> PB;
    const k = this.dir[pg];
    if (k !== NIL) {
      const r = this.pageLow(k, i & PMASK);
      if (r >= 0) return (pg << PB) | r;
    }
    // the lowest non-empty page above pg
    pg++;
    let w = pg >>> 5;
    const words = this.pageBits.length;
    if (w >= words) return none;
    let word = this.pageBits[w] & (-1 << (pg & 31));
    for (;;) {
      if (word !== 0) {
        const q = (w << 5) + 31 - Math.clz32(word & -word);
        return (q << PB) | this.pageLow(this.dir[q], 0);
      }
      if (++w >= words) return none;
      word = this.pageBits[w];
    }
  }

  // ---- agents ----

  /** the agent's local slot, or NIL */
  private agentSlot(agent: number): number {
    return this.agentIdx.get(agent);
  }

  /** the agent's local slot, created with its two balance cells (the agent is known). May replace the view's ct / cr. */
  private ensureAgent(agent: number): number {
    const found = this.agentIdx.get(agent);
    if (found !== NIL) return found;
    if (this.laN === this.laAgent.length) this.growAgents(this.laN * 2);
    const a = this.laN++;
    this.laAgent[a] = agent;
    this.laHead[a] = NIL;
    this.laCount[a] = 0;
    this.laCr[a] = this.balances.cell(agent, this.CR);
    this.laBa[a] = this.balances.cell(agent, this.BA);
    this.laClient.push(undefined);
    this.agentIdx.add(a);
    return a;
  }

  private growAgents(n: number): void {
    const c = new Carve({ i32: 5 * n });
    this.laAgent = c.i32(n, this.laAgent);
    this.laHead = c.i32(n, this.laHead);
    this.laCount = c.i32(n, this.laCount);
    this.laCr = c.i32(n, this.laCr);
    this.laBa = c.i32(n, this.laBa);
    if (this.agentIdx !== undefined) this.agentIdx.keys = this.laAgent;
  }

  private linkAgent(s: number): void {
    const a = this.oAg[s];
    const head = this.laHead[a];
    this.oANext[s] = NIL;
    if (head === NIL) {
      this.laHead[a] = s;
      this.oAPrev[s] = s;
    } else {
      const tail = this.oAPrev[head];
      this.oANext[tail] = s;
      this.oAPrev[s] = tail;
      this.oAPrev[head] = s;
    }
  }

  private unlinkAgent(s: number): void {
    const a = this.oAg[s];
    const prev = this.oAPrev[s];
    const next = this.oANext[s];
    const head = this.laHead[a];
    if (s !== head) {
      this.oANext[prev] = next;
      if (next === NIL) this.oAPrev[head] = prev;
      else this.oAPrev[next] = prev;
    } else {
      this.laHead[a] = next;
      if (next !== NIL) this.oAPrev[next] = prev; // the tail
    }
  }

  private grow(n: number): void {
    const cap = Math.min(Math.max(n, 1), this.config.bookOrdersMax);
    if (cap <= this.cap) throw new Error('order pool exhausted (bookOrdersMax is checked before resting)');
    // the pool's columns in one buffer (8-byte columns first, then the 4-byte ones: all aligned)
    const c = new Carve({ f64: 2 * cap, i32: 7 * cap });
    this.oId = c.f64(cap, this.oId);
    this.oPrio = c.f64(cap, this.oPrio);
    this.oLots = c.i32(cap, this.oLots);
    this.oPx = c.i32(cap, this.oPx);
    this.oAg = c.i32(cap, this.oAg);
    this.oPrev = c.i32(cap, this.oPrev);
    this.oNext = c.i32(cap, this.oNext);
    this.oAPrev = c.i32(cap, this.oAPrev);
    this.oANext = c.i32(cap, this.oANext);
    if (this.idToSlot !== undefined) this.idToSlot.keys = this.oId;
    // new slots go on the free list in ascending order
    for (let s = cap - 1; s >= this.cap; s--) {
      this.oNext[s] = this.freeHead;
      this.freeHead = s;
    }
    this.cap = cap;
  }

  // ---- GTD min-heap on (expiresAt, orderId) ----
  private heapLess(i: number, j: number): boolean {
    return this.hExp[i] < this.hExp[j] || (this.hExp[i] === this.hExp[j] && this.hId[i] < this.hId[j]);
  }
  private heapSwap(i: number, j: number): void {
    const e = this.hExp[i];
    this.hExp[i] = this.hExp[j];
    this.hExp[j] = e;
    const d = this.hId[i];
    this.hId[i] = this.hId[j];
    this.hId[j] = d;
  }
  private heapPush(exp: number, id: number): void {
    // entries of orders that ended early are dropped lazily; compact before growing so the heap stays
    // bounded by about twice the open GTD orders
    if (this.hSize === this.hExp.length) {
      this.heapCompact();
      if (this.hSize * 2 > this.hExp.length || this.hExp.length === 0) {
        const n = Math.max(64, this.hExp.length * 2);
        const c = new Carve({ f64: 2 * n });
        this.hExp = c.f64(n, this.hExp);
        this.hId = c.f64(n, this.hId);
      }
    }
    let i = this.hSize++;
    this.hExp[i] = exp;
    this.hId[i] = id;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.heapLess(i, parent)) break;
      this.heapSwap(i, parent);
      i = parent;
    }
  }
  private heapPop(): void {
    const last = --this.hSize;
    this.hExp[0] = this.hExp[last];
    this.hId[0] = this.hId[last];
    this.siftDown(0);
  }
  private heapCompact(): void {
    let n = 0;
    for (let i = 0; i < this.hSize; i++) {
      if (this.idToSlot.get(this.hId[i]) === NIL) continue;
      this.hExp[n] = this.hExp[i];
      this.hId[n] = this.hId[i];
      n++;
    }
    this.hSize = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }
  private siftDown(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.hSize && this.heapLess(l, m)) m = l;
      if (r < this.hSize && this.heapLess(r, m)) m = r;
      if (m === i) break;
      this.heapSwap(i, m);
      i = m;
    }
  }

  // =====================================================================================================
  // snapshot, hash, invariants
  // =====================================================================================================

  private orderAt(s: number): SnapshotOrder {
    const px = this.oPx[s];
    return {
      orderId: this.oId[s],
      agent: this.laAgent[this.oAg[s]],
      side: SIDE_NAMES[(px >>> PX_SIDE) & 1],
      price: px & PX_PRICE,
      lots: this.oLots[s],
      expiresAt: this.expiryOf(s),
      stp: STP_MODES[(px >>> PX_STP) & 3],
      postOnly: (px & PX_POST) !== 0,
      clientOrderId: this.clientIdOf(s),
      prio: this.oPrio[s],
      reserved: this.reserveOf(s),
    };
  }

  /** the order's expiry, 0 for none */
  private expiryOf(s: number): number {
    return (this.oPx[s] & PX_GTD) !== 0 ? (this.oExp.get(s) as number) : 0;
  }

  private clientIdOf(s: number): string | null {
    return (this.oPx[s] & PX_COID) !== 0 ? (this.oCoid.get(s) as string) : null;
  }

  /** visits resting orders in canonical order: price ascending, FIFO within a level */
  private forEachOrder(f: (s: number) => void): void {
    if (this.liveOrders === 0) return;
    for (let p = this.nextSet(0); p <= this.maxPrice; p = this.nextSet(p)) {
      for (let s = this.lHead[this.lvl(p)]; s !== NIL; s = this.oNext[s]) f(s);
    }
  }

  /**
   * A plain, JSON-serialisable copy of the whole state, balances included unless `opts.balances` is false (a
   * view shared by many markets is better captured once: MarketSet does that); then `balances` is empty.
   */
  snapshot(opts: { balances?: boolean } = {}): EngineSnapshot {
    const orders: SnapshotOrder[] = [];
    this.forEachOrder((s) => orders.push(this.orderAt(s)));
    return {
      version: 1,
      config: { ...this.config },
      state: STATE_NAMES[this.mstate],
      seq: this.seq,
      lastTs: this.lastTs,
      lastOrderId: this.lastOrderId,
      refPrice: this.refPrice,
      nextPrio: this.nextPrio,
      orders,
      balances: opts.balances === false ? { assets: [], agentsMax: 0, supply: [], agents: [] } : this.balances.snapshot(),
    };
  }

  /**
   * Rebuilds an engine from a snapshot: orders are re-inserted in time-priority order, which rebuilds every
   * FIFO, agent list and the expiry heap exactly. With `opts.balances` (a shared view) the snapshot's
   * balances are not restored: the caller restores the shared view once.
   */
  static restore(snap: EngineSnapshot, opts: EngineOptions = {}): MatchingEngine {
    if (snap.version !== 1) throw new Error(`unknown snapshot version ${snap.version}`);
    const balances = opts.balances ?? BalanceView.restore(snap.balances);
    // sized once for what the snapshot holds (no doubling on the way, no garbage: at 10,000 markets it adds up)
    const agents = new Set<number>();
    const pages = new Set<number>();
    for (const o of snap.orders) {
      agents.add(o.agent);
      pages.add(o.price >>> PB);
    }
    const capacity = { orders: snap.orders.length, agents: agents.size, pages: pages.size };
    const e = new MatchingEngine(snap.config, { balances, sink: opts.sink, capacity });
    e.ownsBalances = opts.balances === undefined;
    e.mstate = STATE_NAMES.indexOf(snap.state);
    e.seq = snap.seq;
    e.lastTs = snap.lastTs;
    e.lastOrderId = snap.lastOrderId;
    e.refPrice = snap.refPrice;
    const byPrio = [...snap.orders].sort((a, b) => a.prio - b.prio);
    for (const o of byPrio) e.restoreOrder(o);
    e.nextPrio = snap.nextPrio;
    return e;
  }

  /**
   * Re-inserts a snapshot's order. The layout holds what every valid snapshot holds (lots within ORDER_LOTS_MAX,
   * the reservation equal to price x tickSize x lots or lots x lotSize), so an order it cannot hold exactly is
   * refused rather than changed.
   */
  private restoreOrder(o: SnapshotOrder): void {
    const side = o.side === 'buy' ? BUY : o.side === 'sell' ? SELL : NIL;
    const stp = stpIndex(o.stp, 0);
    const bad = (what: string): never => {
      throw new Error(`snapshot order ${o.orderId} of ${this.config.marketId}: ${what}`);
    };
    if (!Number.isSafeInteger(o.orderId) || o.orderId <= 0 || this.idToSlot.get(o.orderId) !== NIL) bad('id missing or repeated');
    if (side === NIL || stp < 0) bad('side or STP mode');
    if (!Number.isInteger(o.price) || o.price < 1 || o.price > this.maxPrice) bad(`price ${o.price}`);
    if (!Number.isInteger(o.lots) || o.lots < 1 || o.lots > ORDER_LOTS_MAX) bad(`lots ${o.lots}`);
    if (!Number.isSafeInteger(o.expiresAt) || o.expiresAt < 0) bad(`expiry ${o.expiresAt}`);
    const reserve = side === BUY ? o.price * this.tickSize * o.lots : o.lots * this.lotSize;
    if (o.reserved !== reserve) bad(`reserves ${o.reserved}, its price and size ${reserve}`);
    if (this.freeHead === NIL) this.grow(this.cap * 2);
    const s = this.freeHead;
    this.freeHead = this.oNext[s];
    const a = this.ensureAgent(o.agent);
    this.oId[s] = o.orderId;
    this.oAg[s] = a;
    let px = o.price | (side << PX_SIDE) | (stp << PX_STP);
    if (o.postOnly) px |= PX_POST;
    if (o.expiresAt !== 0) {
      px |= PX_GTD;
      this.oExp.set(s, o.expiresAt);
    }
    if (o.clientOrderId !== null) {
      px |= PX_COID;
      this.oCoid.set(s, o.clientOrderId);
      let m = this.laClient[a];
      if (m === undefined) this.laClient[a] = m = new Map();
      m.set(o.clientOrderId, s);
    }
    this.oPx[s] = px;
    this.oLots[s] = o.lots;
    this.oPrio[s] = o.prio;
    this.idToSlot.add(s);
    this.liveOrders++;
    this.linkLevel(s);
    this.linkAgent(s);
    this.laCount[a]++;
    if (o.expiresAt !== 0) this.heapPush(o.expiresAt, o.orderId);
  }

  private hashBook(h: StateHasher): void {
    h.head(STATE_NAMES[this.mstate], this.refPrice, this.lastOrderId, this.nextPrio);
    this.forEachOrder((s) => {
      const px = this.oPx[s];
      h.order(
        this.oId[s],
        this.laAgent[this.oAg[s]],
        ((px >>> PX_SIDE) & 1) === BUY,
        px & PX_PRICE,
        this.oLots[s],
        this.expiryOf(s),
        (px >>> PX_STP) & 3,
        (px & PX_POST) !== 0,
        this.clientIdOf(s),
        this.oPrio[s],
        this.reserveOf(s),
      );
    });
  }

  /**
   * A cheap, stable digest of book and balances (not of seq or time). Equal to hashSnapshot(this.snapshot()).
   * Its balance part visits every known agent x every asset of the view (that is the hash's definition), so
   * with many agents and assets prefer bookHash() per market plus the view's sparse hash().
   */
  stateHash(): string {
    const h = new StateHasher();
    this.hashBook(h);
    h.view(this.balances);
    return h.digest();
  }

  /**
   * The digest of the book alone (stateHash without the balances; state hash v2's book part): cost grows with
   * the orders only, and nothing when the book has not changed since the last call (every change of the book
   * emits an event, so the event sequence says whether it has).
   */
  bookHash(): string {
    if (this.bookHashSeq === this.seq) return this.bookHashValue;
    const h = new StateHasher();
    this.hashBook(h);
    this.bookHashSeq = this.seq;
    return (this.bookHashValue = h.digest());
  }
  private bookHashSeq = -1;
  private bookHashValue = '';

  /** Checks every structural and accounting invariant; throws on the first broken one (a bug). */
  assertInvariants(): void {
    const fail = (m: string): never => {
      throw new Error(`matching invariant broken: ${m}`);
    };
    const t: BookTally = {
      count: 0,
      bidLevels: 0,
      askLevels: 0,
      maxBid: 0,
      minAsk: this.maxPrice + 1,
      perAgentCount: new Map(),
      perAgentReserve: new Map(),
    };
    let pages = 0;
    for (let pg = 0; pg < this.dir.length; pg++) {
      const k = this.dir[pg];
      const marked = ((this.pageBits[pg >>> 5] >>> (pg & 31)) & 1) === 1;
      if (k === NIL) {
        if (marked) fail(`page ${pg} marked but absent`);
        continue;
      }
      pages++;
      if (!marked) fail(`page ${pg} present but not marked`);
      const levels = this.checkPage(pg, k, t, fail);
      if (levels === 0 || levels !== this.pLevels[k]) fail(`page ${pg}: ${levels} non-empty levels, counted ${this.pLevels[k]}`);
    }
    if (pages + this.pFreeN !== this.pUsed) fail(`page pool: ${pages} in use + ${this.pFreeN} free != ${this.pUsed}`);
    for (let i = 0; i < this.pFreeN; i++) {
      const k = this.pFree[i];
      if (this.pLevels[k] !== 0) fail(`free page ${k} has levels`);
      for (let off = 0; off < LEVEL_PAGE_SIZE; off++) {
        const L = (k << PB) | off;
        if (this.lHead[L] !== NIL || this.lLots[L] !== 0) fail(`free page ${k} is not clean`);
      }
      for (let w = 0; w < PWORDS; w++) if (this.lBits[k * PWORDS + w] !== 0) fail(`free page ${k} has level bits`);
    }
    const { count, bidLevels, askLevels, maxBid, minAsk } = t;
    if (count !== this.liveOrders || count !== this.idToSlot.size) fail(`order count ${count} ${this.liveOrders} ${this.idToSlot.size}`);
    if (bidLevels !== this.bidLevels || askLevels !== this.askLevels) fail('level counts');
    if (this.bidLevels > 0 ? this.bestBid !== maxBid : this.bestBid !== 0) fail(`best bid ${this.bestBid} != ${maxBid}`);
    if (this.askLevels > 0 ? this.bestAsk !== minAsk : this.bestAsk !== this.maxPrice + 1) fail(`best ask ${this.bestAsk} != ${minAsk}`);
    if (maxBid !== 0 && minAsk <= this.maxPrice && maxBid >= minAsk) fail(`crossed book ${maxBid} >= ${minAsk}`);
    if (this.liveOrders > this.config.bookOrdersMax) fail('book beyond bookOrdersMax');
    this.checkAgents(t, fail);
    this.checkHeap(fail);
    if (this.tReserve !== 0) fail('taker scratch reserve left over');
    this.balances.assertInvariants();
  }

  /** checks the levels of one page, adds them to the tally; returns its non-empty levels */
  private checkPage(pg: number, k: number, t: BookTally, fail: (m: string) => never): number {
    let levels = 0;
    for (let off = 0; off < LEVEL_PAGE_SIZE; off++) {
      const p = (pg << PB) | off;
      const L = (k << PB) | off;
      const bit = (this.lBits[k * PWORDS + (off >>> 5)] >>> (off & 31)) & 1;
      const head = this.lHead[L];
      if ((head !== NIL) !== (bit === 1)) fail(`bitmap at ${p}`);
      if (head === NIL) {
        if (this.lLots[L] !== 0) fail(`empty level ${p} has lots`);
        continue;
      }
      levels++;
      if (p < 1 || p > this.maxPrice) fail(`level out of range ${p}`);
      const side = (this.oPx[head] >>> PX_SIDE) & 1;
      if (side === BUY) {
        t.bidLevels++;
        t.maxBid = p;
      } else {
        t.askLevels++;
        if (t.minAsk > this.maxPrice) t.minAsk = p;
      }
      let sum = 0;
      let prev = NIL;
      let lastPrio = 0;
      for (let s = head; s !== NIL; s = this.oNext[s]) {
        if (s !== head && this.oPrev[s] !== prev) fail(`prev link at ${p}`);
        const px = this.oPx[s];
        if ((px & PX_PRICE) !== p || ((px >>> PX_SIDE) & 1) !== side) fail(`order ${this.oId[s]} on wrong level`);
        if (px >>> 27 !== 0) fail(`order ${this.oId[s]} flags ${px >>> 21}`);
        if (((px & PX_GTD) !== 0) !== this.oExp.has(s) || ((px & PX_COID) !== 0) !== this.oCoid.has(s))
          fail(`order ${this.oId[s]} expiry or client id`);
        if (!(this.oLots[s] > 0) || !Number.isSafeInteger(this.oLots[s])) fail(`order ${this.oId[s]} lots ${this.oLots[s]}`);
        if (this.oPrio[s] <= lastPrio) fail(`FIFO order at ${p}`);
        lastPrio = this.oPrio[s];
        if (this.idToSlot.get(this.oId[s]) !== s) fail(`id map for ${this.oId[s]}`);
        const need = side === BUY ? p * this.tickSize * this.oLots[s] : this.oLots[s] * this.lotSize;
        const la = this.oAg[s];
        if (la < 0 || la >= this.laN) fail(`order ${this.oId[s]} has no agent slot`);
        const a = this.laAgent[la];
        t.perAgentCount.set(a, (t.perAgentCount.get(a) ?? 0) + 1);
        const r = t.perAgentReserve.get(a) ?? [0, 0];
        r[side] += need;
        t.perAgentReserve.set(a, r);
        const exp = this.expiryOf(s);
        if (exp !== 0 && exp <= this.lastTs) fail(`order ${this.oId[s]} should have expired`);
        const coid = this.clientIdOf(s);
        if (coid !== null && this.laClient[la]?.get(coid) !== s) fail(`client id map for ${this.oId[s]}`);
        sum += this.oLots[s];
        t.count++;
        prev = s;
      }
      if (this.oPrev[head] !== prev) fail(`tail at ${p}`);
      if (sum !== this.lLots[L]) fail(`level ${p} total ${this.lLots[L]} != sum ${sum}`);
    }
    return levels;
  }

  private checkAgents(t: BookTally, fail: (m: string) => never): void {
    if (this.agentIdx.size !== this.laN) fail(`agent index holds ${this.agentIdx.size} of ${this.laN} slots`);
    for (let la = 0; la < this.laN; la++) {
      const a = this.laAgent[la];
      if (this.agentIdx.get(a) !== la) fail(`agent index for ${a}`);
      if (!this.balances.isKnown(a)) fail(`agent slot of unknown agent ${a}`);
      if (this.laCr[la] !== this.balances.findCell(a, this.CR) || this.laBa[la] !== this.balances.findCell(a, this.BA)) fail(`balance cells of ${a}`);
      const n = t.perAgentCount.get(a) ?? 0;
      if (this.laCount[la] !== n) fail(`agent ${a} count ${this.laCount[la]} != ${n}`);
      if (n > this.config.ordersPerAgentMax) fail(`agent ${a} has ${n} open orders, beyond ordersPerAgentMax`);
      let k = 0;
      let last = 0;
      let prev = NIL;
      const head = this.laHead[la];
      for (let s = head; s !== NIL; s = this.oANext[s]) {
        if (this.oAg[s] !== la) fail(`agent list of ${a}`);
        if (s !== head && this.oAPrev[s] !== prev) fail(`agent list links of ${a}`);
        prev = s;
        if (this.oPrio[s] <= last) fail(`agent list of ${a} not in time priority`);
        last = this.oPrio[s];
        k++;
      }
      if (k !== n) fail(`agent list length ${a}`);
      if (head !== NIL && this.oAPrev[head] !== prev) fail(`agent list tail of ${a}`);
      if ((this.laClient[la]?.size ?? 0) > n) fail(`client ids of ${a}`);
    }
    if (!this.ownsBalances) return;
    this.balances.forEachKnown((a) => {
      const r = t.perAgentReserve.get(a) ?? [0, 0];
      const crR = this.balances.getReserved(a, this.CR);
      const baR = this.balances.getReserved(a, this.BA);
      if (crR !== r[BUY]) fail(`agent ${a} reserved credits ${crR} != ${r[BUY]}`);
      if (baR !== r[SELL]) fail(`agent ${a} reserved base ${baR} != ${r[SELL]}`);
    });
  }

  private checkHeap(fail: (m: string) => never): void {
    let gtdOpen = 0;
    for (let i = 0; i < this.hSize; i++) {
      const l = 2 * i + 1;
      if ((l < this.hSize && this.heapLess(l, i)) || (l + 1 < this.hSize && this.heapLess(l + 1, i))) fail(`expiry heap order at ${i}`);
      const s = this.idToSlot.get(this.hId[i]);
      if (s !== NIL && this.expiryOf(s) === this.hExp[i]) gtdOpen++;
    }
    let gtd = 0;
    this.forEachOrder((s) => {
      if (this.expiryOf(s) !== 0) gtd++;
    });
    if (gtd !== gtdOpen) fail(`${gtd} open GTD orders but ${gtdOpen} in the expiry heap`);
  }

  /** Bytes held by this market's typed arrays (order pool, id index, price pages, agent slots, expiry heap). */
  get typedArrayBytes(): number {
    const m = this.memoryBreakdown();
    return m.pool + m.idIndex + m.directory + m.pages + m.agents + m.heap;
  }

  /**
   * typedArrayBytes by part, and the capacities behind them: where a market's memory goes. The expiries of GTD
   * orders and the client order ids (`oExp`, `oCoid`, a Map entry per such order, plus the strings) are heap, not
   * counted here; an order with neither costs nothing there.
   */
  memoryBreakdown(): {
    pool: number;
    poolSlots: number;
    idIndex: number;
    directory: number;
    pages: number;
    pageSlots: number;
    agents: number;
    agentSlots: number;
    heap: number;
  } {
    const sum = (arrays: ArrayBufferView[]) => arrays.reduce((n, a) => n + a.byteLength, 0);
    return {
      pool: sum([this.oId, this.oPrio, this.oLots, this.oPx, this.oAg, this.oPrev, this.oNext, this.oAPrev, this.oANext]),
      poolSlots: this.cap,
      idIndex: this.idToSlot.bytes,
      directory: sum([this.dir, this.pageBits]),
      pages: sum([this.pFree, this.pLevels, this.lHead, this.lLots, this.lBits]),
      pageSlots: this.pCap,
      agents: sum([this.laAgent, this.laHead, this.laCount, this.laCr, this.laBa]) + this.agentIdx.bytes,
      agentSlots: this.laAgent.length,
      heap: sum([this.hExp, this.hId]),
    };
  }
}

interface BookTally {
  count: number;
  bidLevels: number;
  askLevels: number;
  maxBid: number;
  minAsk: number;
  perAgentCount: Map<number, number>;
  perAgentReserve: Map<number, [number, number]>;
}
