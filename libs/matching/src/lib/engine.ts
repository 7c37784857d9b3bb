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
import { BalanceView } from './balances';
import { type MarketConfig, STP_MODES, validateMarketConfig } from './config';
import { type EventSink, NullSink } from './events';
import { IdMap } from './id-map';
import { CLIENT_ORDER_ID_LENGTH_MAX, POOL_INITIAL_ORDERS } from './limits';
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
}

/**
 * A single-market limit order book: price-time priority, integer ticks and lots, deterministic.
 * Feed it commands with `execute`; it writes events to its sink. No clock, no randomness, no I/O.
 *
 * Layout (no per-order objects): orders live in typed-array pools indexed by slot, linked FIFO per price level
 * (intrusive prev/next) and per agent (time priority, for cancel-all). Price levels are arrays indexed by the
 * price in ticks, with a bitmap to find the next non-empty level. Bids and asks share the level arrays because
 * the book never crosses at rest. GTD expiries sit in a binary min-heap keyed by (expiresAt, orderId).
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

  // ---- order pool (by slot) ----
  private cap = 0;
  private oId = new Float64Array(0);
  private oAgent = new Int32Array(0);
  private oSide = new Uint8Array(0);
  private oStp = new Uint8Array(0);
  private oPost = new Uint8Array(0);
  private oPrice = new Int32Array(0);
  private oLots = new Float64Array(0);
  private oReserve = new Float64Array(0);
  private oExpiry = new Float64Array(0);
  private oPrio = new Float64Array(0);
  private oPrev = new Int32Array(0);
  private oNext = new Int32Array(0);
  private oAPrev = new Int32Array(0);
  private oANext = new Int32Array(0);
  private oClient: (string | null)[] = [];
  private freeHead = NIL;
  private readonly idToSlot = new IdMap(POOL_INITIAL_ORDERS * 2);

  // ---- price levels (by price in ticks) ----
  private readonly lHead: Int32Array;
  private readonly lTail: Int32Array;
  private readonly lLots: Float64Array;
  private readonly bits: Int32Array;
  private readonly nWords: number;
  private bestBid = 0; // 0 = no bid
  private bestAsk: number; // maxPrice + 1 = no ask
  private bidLevels = 0;
  private askLevels = 0;

  // ---- agents ----
  private readonly aHead: Int32Array;
  private readonly aTail: Int32Array;
  private readonly aCount: Int32Array;
  private readonly aClient: (Map<string, number> | undefined)[] = [];

  // ---- GTD heap ----
  private hExp = new Float64Array(64);
  private hId = new Float64Array(64);
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
    const levels = this.maxPrice + 2;
    this.lHead = new Int32Array(levels).fill(NIL);
    this.lTail = new Int32Array(levels).fill(NIL);
    this.lLots = new Float64Array(levels);
    this.nWords = (levels + 31) >>> 5;
    this.bits = new Int32Array(this.nWords);
    this.bestAsk = this.maxPrice + 1;
    const n = this.balances.agentsMax;
    this.aHead = new Int32Array(n).fill(NIL);
    this.aTail = new Int32Array(n).fill(NIL);
    this.aCount = new Int32Array(n);
    this.grow(Math.min(POOL_INITIAL_ORDERS, config.bookOrdersMax));
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
    return price >= 1 && price <= this.maxPrice ? this.lLots[price] : 0;
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
    for (let s = this.aHead[agent]; s !== NIL; s = this.oANext[s]) out.push(this.orderAt(s));
    return out;
  }
  /** top `depth` levels per side, best first: [price, lots] */
  depth(depth: number): { bids: [number, number][]; asks: [number, number][] } {
    const bids: [number, number][] = [];
    const asks: [number, number][] = [];
    if (this.bidLevels > 0) {
      for (let p = this.bestBid; p > 0 && bids.length < depth; p = this.prevSet(p)) bids.push([p, this.lLots[p]]);
    }
    if (this.askLevels > 0) {
      for (let p = this.bestAsk; p <= this.maxPrice && asks.length < depth; p = this.nextSet(p)) asks.push([p, this.lLots[p]]);
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
    if (id <= this.lastOrderId) return this.reject(id, agent, 'MATCHING_DUPLICATE_ORDER_ID');
    if (coid !== undefined && this.aClient[agent]?.has(coid)) return this.reject(id, agent, 'MATCHING_DUPLICATE_CLIENT_ORDER_ID');
    if (gtd && (expiresAt as number) <= c.ts) return this.reject(id, agent, 'MATCHING_ALREADY_EXPIRED');
    // ---- band (fixed at arrival) ----
    if (price > this.bandHi() || price < this.bandLo()) return this.reject(id, agent, 'MATCHING_PRICE_OUTSIDE_BAND');
    // ---- post-only (own orders count) ----
    if (postOnly && (side === BUY ? this.askLevels > 0 && this.bestAsk <= price : this.bidLevels > 0 && this.bestBid >= price)) {
      return this.reject(id, agent, 'MATCHING_POST_ONLY_WOULD_CROSS');
    }
    // ---- funds ----
    // (fees, a later issue, add to `need` here)
    const asset = side === BUY ? this.CR : this.BA;
    const need = side === BUY ? price * this.tickSize * lots : lots * this.lotSize;
    if (this.balances.total[asset][agent] - this.balances.reserved[asset][agent] < need) {
      return this.reject(id, agent, 'MATCHING_INSUFFICIENT_FUNDS');
    }
    // ---- capacity ----
    if (rests) {
      if (this.aCount[agent] >= this.config.ordersPerAgentMax) return this.reject(id, agent, 'MATCHING_TOO_MANY_ORDERS');
      if (this.liveOrders >= this.config.bookOrdersMax) return this.reject(id, agent, 'MATCHING_BOOK_FULL');
    }
    if (tif === 'FOK') {
      this.simulate(side, agent, stp, price, lots, -1, this.maxPrice + 1, 0);
      if (this.simLots !== lots) return this.reject(id, agent, 'MATCHING_FOK_NOT_FILLABLE');
    }
    if (this.dry) return null;
    // ---- accepted ----
    this.lastOrderId = id;
    this.sink.accepted(++this.seq, id, agent, c.side, price, lots, 0);
    this.balances.reserved[asset][agent] += need;
    this.tReserve = need;
    this.tRem = lots;
    this.tSpend = -1;
    const perLot = side === BUY ? price * this.tickSize : this.lotSize;
    if (side === BUY) this.takeAsks(id, agent, stp, price, this.maxPrice + 1, perLot, perLot);
    else this.takeBids(id, agent, stp, price, 0, perLot);
    if (this.tStop === STOP_STP) {
      this.endTaker(id, agent, asset, this.tRem, 'MATCHING_CANCEL_STP');
    } else if (this.tRem === 0) {
      this.endTaker(id, agent, asset, -1, 'MATCHING_CANCEL_UNFILLED');
    } else if (rests) {
      this.rest(id, agent, side, price, this.tRem, this.tReserve, gtd ? (expiresAt as number) : 0, stp, postOnly, coid ?? null);
    } else {
      this.endTaker(id, agent, asset, this.tRem, 'MATCHING_CANCEL_UNFILLED');
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
    if (id <= this.lastOrderId) return this.reject(id, agent, 'MATCHING_DUPLICATE_ORDER_ID');
    if (coid !== undefined && this.aClient[agent]?.has(coid)) return this.reject(id, agent, 'MATCHING_DUPLICATE_CLIENT_ORDER_ID');
    // ---- funds: exactly what the order can use on the current book (fees, a later issue, add to `need` here) ----
    const bandHi = this.bandHi();
    const bandLo = this.bandLo();
    const lotsMode = lots !== undefined;
    const tLots = lotsMode ? (lots as number) : Number.MAX_SAFE_INTEGER;
    const tSpend = lotsMode ? -1 : (spend as number);
    let asset: number;
    let need: number;
    if (side === BUY) {
      asset = this.CR;
      if (lotsMode) {
        this.simulate(BUY, agent, stp, this.maxPrice, tLots, -1, bandHi, bandLo);
        need = this.simCost;
      } else need = tSpend;
    } else {
      asset = this.BA;
      if (lotsMode) need = tLots * this.lotSize;
      else {
        this.simulate(SELL, agent, stp, 1, tLots, tSpend, bandHi, bandLo);
        need = this.simLots * this.lotSize;
      }
    }
    if (this.balances.total[asset][agent] - this.balances.reserved[asset][agent] < need) {
      return this.reject(id, agent, 'MATCHING_INSUFFICIENT_FUNDS');
    }
    if (this.dry) return null;
    this.lastOrderId = id;
    this.sink.accepted(++this.seq, id, agent, c.side, 0, lotsMode ? tLots : 0, lotsMode ? 0 : tSpend);
    this.balances.reserved[asset][agent] += need;
    this.tReserve = need;
    this.tRem = tLots;
    this.tSpend = tSpend;
    if (side === BUY) this.takeAsks(id, agent, stp, this.maxPrice, bandHi, 0, 0);
    else this.takeBids(id, agent, stp, 1, bandLo, lotsMode ? this.lotSize : 0);
    const remLots = lotsMode ? this.tRem : 0;
    if (this.tStop === STOP_STP) this.endTaker(id, agent, asset, remLots, 'MATCHING_CANCEL_STP');
    else if (lotsMode ? this.tRem === 0 : this.tSpend === 0) this.endTaker(id, agent, asset, -1, 'MATCHING_CANCEL_UNFILLED');
    else this.endTaker(id, agent, asset, remLots, this.tStop === STOP_BAND ? 'MATCHING_CANCEL_PRICE_BAND' : 'MATCHING_CANCEL_UNFILLED');
    return null;
  }

  /** Releases what the taker still holds; emits `cancelled` unless lots < 0 (fully done). */
  private endTaker(id: number, agent: number, asset: number, lots: number, reason: MatchingCancelReason): void {
    if (this.tReserve !== 0) {
      this.balances.reserved[asset][agent] -= this.tReserve;
      this.tReserve = 0;
    }
    if (lots >= 0) this.sink.cancelled(++this.seq, id, agent, lots, reason);
  }

  /**
   * A buy taker walks the asks. `limit`: highest price it may pay; `bandHi`: a market order stops beyond it;
   * `limitPerLot`: credits reserved per lot by a limit buy (0 for market buys: they reserved the exact notional);
   * `decPerLot`: what a decrement-and-cancel releases per lot.
   */
  private takeAsks(id: number, agent: number, stp: number, limit: number, bandHi: number, limitPerLot: number, decPerLot: number): void {
    this.tStop = STOP_NONE;
    const ts = this.tickSize;
    const bal = this.balances;
    const crT = bal.total[this.CR];
    const crR = bal.reserved[this.CR];
    const baT = bal.total[this.BA];
    const baR = bal.reserved[this.BA];
    const ls = this.lotSize;
    while (this.tRem > 0 && this.tSpend !== 0 && this.askLevels > 0) {
      const p = this.bestAsk;
      if (p > limit) break;
      if (p > bandHi) {
        this.tStop = STOP_BAND;
        break;
      }
      const unit = p * ts;
      let m = this.lHead[p];
      while (m !== NIL) {
        const next = this.oNext[m];
        const mLots = this.oLots[m];
        let q = this.tRem < mLots ? this.tRem : mLots;
        if (this.tSpend >= 0) {
          const afford = Math.floor(this.tSpend / unit);
          if (afford === 0) return; // stop: one more lot does not fit
          if (afford < q) q = afford;
        }
        const mAgent = this.oAgent[m];
        if (mAgent === agent) {
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
              crR[agent] -= decPerLot * q;
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
        crT[agent] -= notional;
        crR[agent] -= use;
        this.tReserve -= use;
        crT[mAgent] += notional;
        const baseAmt = q * ls;
        baT[mAgent] -= baseAmt;
        baR[mAgent] -= baseAmt;
        this.oReserve[m] -= baseAmt;
        baT[agent] += baseAmt;
        if (this.tSpend >= 0) this.tSpend -= notional;
        else this.tRem -= q;
        this.refPrice = p;
        this.sink.trade(++this.seq, this.oId[m], id, mAgent, agent, 'buy', p, q, notional);
        this.fillMaker(m, p, q, 'sell');
        if (this.tRem === 0 || this.tSpend === 0) return;
        if (q < mLots) return; // spend exhausted at this price
        m = next;
      }
    }
  }

  /** A sell taker walks the bids. `limit`: lowest price it accepts; `bandLo`: a market order stops below it. */
  private takeBids(id: number, agent: number, stp: number, limit: number, bandLo: number, decPerLot: number): void {
    this.tStop = STOP_NONE;
    const ts = this.tickSize;
    const bal = this.balances;
    const crT = bal.total[this.CR];
    const crR = bal.reserved[this.CR];
    const baT = bal.total[this.BA];
    const baR = bal.reserved[this.BA];
    const ls = this.lotSize;
    while (this.tRem > 0 && this.tSpend !== 0 && this.bidLevels > 0) {
      const p = this.bestBid;
      if (p < limit) break;
      if (p < bandLo) {
        this.tStop = STOP_BAND;
        break;
      }
      const unit = p * ts;
      let m = this.lHead[p];
      while (m !== NIL) {
        const next = this.oNext[m];
        const mLots = this.oLots[m];
        let q = this.tRem < mLots ? this.tRem : mLots;
        if (this.tSpend >= 0) {
          const afford = Math.floor(this.tSpend / unit);
          if (afford === 0) return;
          if (afford < q) q = afford;
        }
        const mAgent = this.oAgent[m];
        if (mAgent === agent) {
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
              baR[agent] -= decPerLot * q;
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
        crT[mAgent] -= notional;
        crR[mAgent] -= notional;
        this.oReserve[m] -= notional;
        crT[agent] += notional;
        baT[agent] -= baseAmt;
        baR[agent] -= baseAmt;
        this.tReserve -= baseAmt;
        baT[mAgent] += baseAmt;
        if (this.tSpend >= 0) this.tSpend -= notional;
        else this.tRem -= q;
        this.refPrice = p;
        this.sink.trade(++this.seq, this.oId[m], id, mAgent, agent, 'sell', p, q, notional);
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
  private simulate(side: number, agent: number, stp: number, limit: number, lots: number, spend: number, bandHi: number, bandLo: number): void {
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
        for (let m = this.lHead[p]; m !== NIL; m = this.oNext[m]) {
          const mLots = this.oLots[m];
          let q = tRem < mLots ? tRem : mLots;
          if (tSpend >= 0) {
            const afford = Math.floor(tSpend / unit);
            if (afford === 0) break outer;
            if (afford < q) q = afford;
          }
          if (this.oAgent[m] === agent) {
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
    if (s === NIL || this.oAgent[s] !== agent) return this.reject(id, agent, 'MATCHING_UNKNOWN_ORDER');
    this.cancelMaker(s, 'MATCHING_CANCEL_BY_OWNER');
    return null;
  }

  private cancelByClientId(c: CancelByClientIdCommand): CommandResult {
    const agent = c.agent;
    if (this.mstate === HALTED) return this.reject(0, agent, 'MATCHING_MARKET_HALTED');
    if (!this.validClientId(c.clientOrderId)) return this.reject(0, agent, 'MATCHING_INVALID_CLIENT_ORDER_ID');
    if (!this.balances.isKnown(agent)) return this.reject(0, agent, 'MATCHING_UNKNOWN_AGENT');
    const s = this.aClient[agent]?.get(c.clientOrderId);
    if (s === undefined) return this.reject(0, agent, 'MATCHING_UNKNOWN_ORDER');
    this.cancelMaker(s, 'MATCHING_CANCEL_BY_OWNER');
    return null;
  }

  private cancelAll(c: CancelAllCommand): CommandResult {
    const agent = c.agent;
    if (this.mstate === HALTED) return this.reject(0, agent, 'MATCHING_MARKET_HALTED');
    if (!this.balances.isKnown(agent)) return this.reject(0, agent, 'MATCHING_UNKNOWN_AGENT');
    while (this.aHead[agent] !== NIL) this.cancelMaker(this.aHead[agent], 'MATCHING_CANCEL_ALL');
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
    if (s === NIL || this.oAgent[s] !== agent) return this.reject(id, agent, 'MATCHING_UNKNOWN_ORDER');
    const oldPrice = this.oPrice[s];
    const oldLots = this.oLots[s];
    const side = this.oSide[s];
    if (price !== oldPrice && (price > this.bandHi() || price < this.bandLo())) return this.reject(id, agent, 'MATCHING_PRICE_OUTSIDE_BAND');
    if (side === BUY ? this.askLevels > 0 && price >= this.bestAsk : this.bidLevels > 0 && price <= this.bestBid) {
      return this.reject(id, agent, 'MATCHING_AMEND_WOULD_CROSS');
    }
    const asset = side === BUY ? this.CR : this.BA;
    const newReserve = side === BUY ? price * this.tickSize * lots : lots * this.lotSize;
    const delta = newReserve - this.oReserve[s];
    if (delta > 0 && this.balances.total[asset][agent] - this.balances.reserved[asset][agent] < delta) {
      return this.reject(id, agent, 'MATCHING_INSUFFICIENT_FUNDS');
    }
    this.balances.reserved[asset][agent] += delta;
    this.oReserve[s] = newReserve;
    const sideName = SIDE_NAMES[side];
    if (price === oldPrice && lots <= oldLots) {
      this.oLots[s] = lots;
      this.lLots[price] -= oldLots - lots;
      this.sink.amended(++this.seq, id, agent, price, lots, true);
      if (lots !== oldLots) this.sink.book(++this.seq, sideName, price, this.lLots[price]);
      return null;
    }
    this.sink.amended(++this.seq, id, agent, price, lots, false);
    this.unlinkLevel(s);
    this.sink.book(++this.seq, sideName, oldPrice, this.lLots[oldPrice]);
    this.unlinkAgent(s);
    this.oPrice[s] = price;
    this.oLots[s] = lots;
    this.oPrio[s] = this.nextPrio++;
    this.linkLevel(s);
    this.linkAgent(s);
    this.sink.book(++this.seq, sideName, price, this.lLots[price]);
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
      const agent = this.oAgent[s];
      const price = this.oPrice[s];
      const side = this.oSide[s];
      this.sink.expired(++this.seq, id, agent, this.oLots[s]);
      this.removeOrder(s);
      this.sink.book(++this.seq, SIDE_NAMES[side], price, this.lLots[price]);
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
    const price = this.oPrice[s];
    const side = this.oSide[s];
    this.sink.cancelled(++this.seq, this.oId[s], this.oAgent[s], this.oLots[s], reason);
    this.removeOrder(s);
    this.sink.book(++this.seq, SIDE_NAMES[side], price, this.lLots[price]);
  }

  /** Decrement-and-cancel on a maker: `reduced`, `cancelled` if it reached zero, then the book delta. */
  private reduceMaker(s: number, q: number): void {
    const price = this.oPrice[s];
    const side = this.oSide[s];
    const left = this.oLots[s] - q;
    this.sink.reduced(++this.seq, this.oId[s], this.oAgent[s], q, left);
    const rel = side === BUY ? price * this.tickSize * q : q * this.lotSize;
    this.oReserve[s] -= rel;
    this.balances.reserved[side === BUY ? this.CR : this.BA][this.oAgent[s]] -= rel;
    this.oLots[s] = left;
    this.lLots[price] -= q;
    if (left === 0) {
      this.sink.cancelled(++this.seq, this.oId[s], this.oAgent[s], 0, 'MATCHING_CANCEL_STP');
      this.removeOrder(s);
    }
    this.sink.book(++this.seq, SIDE_NAMES[side], price, this.lLots[price]);
  }

  private fillMaker(m: number, p: number, q: number, makerSide: OrderSide): void {
    const left = this.oLots[m] - q;
    this.oLots[m] = left;
    this.lLots[p] -= q;
    if (left === 0) this.removeOrder(m);
    this.sink.book(++this.seq, makerSide, p, this.lLots[p]);
  }

  private rest(
    id: number,
    agent: number,
    side: number,
    price: number,
    lots: number,
    reserve: number,
    expiresAt: number,
    stp: number,
    postOnly: boolean,
    coid: string | null,
  ): void {
    if (this.freeHead === NIL) this.grow(this.cap * 2);
    const s = this.freeHead;
    this.freeHead = this.oNext[s];
    this.oId[s] = id;
    this.oAgent[s] = agent;
    this.oSide[s] = side;
    this.oStp[s] = stp;
    this.oPost[s] = postOnly ? 1 : 0;
    this.oPrice[s] = price;
    this.oLots[s] = lots;
    this.oReserve[s] = reserve;
    this.oExpiry[s] = expiresAt;
    this.oPrio[s] = this.nextPrio++;
    this.oClient[s] = coid;
    this.tReserve = 0;
    this.idToSlot.set(id, s);
    this.liveOrders++;
    this.linkLevel(s);
    this.linkAgent(s);
    this.aCount[agent]++;
    if (coid !== null) {
      let m = this.aClient[agent];
      if (m === undefined) this.aClient[agent] = m = new Map();
      m.set(coid, s);
    }
    if (expiresAt !== 0) this.heapPush(expiresAt, id);
    this.sink.book(++this.seq, SIDE_NAMES[side], price, this.lLots[price]);
  }

  /** Takes a resting order out of every structure and releases what it still holds. */
  private removeOrder(s: number): void {
    const agent = this.oAgent[s];
    this.unlinkLevel(s);
    this.unlinkAgent(s);
    this.aCount[agent]--;
    this.idToSlot.delete(this.oId[s]);
    const coid = this.oClient[s];
    if (coid !== null) {
      this.aClient[agent]?.delete(coid);
      this.oClient[s] = null;
    }
    const r = this.oReserve[s];
    if (r !== 0) {
      this.balances.reserved[this.oSide[s] === BUY ? this.CR : this.BA][agent] -= r;
      this.oReserve[s] = 0;
    }
    this.liveOrders--;
    this.oNext[s] = this.freeHead;
    this.freeHead = s;
  }

  private linkLevel(s: number): void {
    const p = this.oPrice[s];
    const tail = this.lTail[p];
    this.oPrev[s] = tail;
    this.oNext[s] = NIL;
    if (tail === NIL) {
      this.lHead[p] = s;
      this.bits[p >>> 5] |= 1 << (p & 31);
      if (this.oSide[s] === BUY) {
        this.bidLevels++;
        if (p > this.bestBid) this.bestBid = p;
      } else {
        this.askLevels++;
        if (p < this.bestAsk) this.bestAsk = p;
      }
    } else this.oNext[tail] = s;
    this.lTail[p] = s;
    this.lLots[p] += this.oLots[s];
  }

  private unlinkLevel(s: number): void {
    const p = this.oPrice[s];
    const prev = this.oPrev[s];
    const next = this.oNext[s];
    if (prev === NIL) this.lHead[p] = next;
    else this.oNext[prev] = next;
    if (next === NIL) this.lTail[p] = prev;
    else this.oPrev[next] = prev;
    this.lLots[p] -= this.oLots[s];
    if (this.lHead[p] === NIL) {
      this.lLots[p] = 0;
      this.bits[p >>> 5] &= ~(1 << (p & 31));
      if (this.oSide[s] === BUY) {
        if (--this.bidLevels === 0) this.bestBid = 0;
        else if (p === this.bestBid) this.bestBid = this.prevSet(p);
      } else {
        if (--this.askLevels === 0) this.bestAsk = this.maxPrice + 1;
        else if (p === this.bestAsk) this.bestAsk = this.nextSet(p);
      }
    }
  }

  private linkAgent(s: number): void {
    const a = this.oAgent[s];
    const tail = this.aTail[a];
    this.oAPrev[s] = tail;
    this.oANext[s] = NIL;
    if (tail === NIL) this.aHead[a] = s;
    else this.oANext[tail] = s;
    this.aTail[a] = s;
  }

  private unlinkAgent(s: number): void {
    const a = this.oAgent[s];
    const prev = this.oAPrev[s];
    const next = this.oANext[s];
    if (prev === NIL) this.aHead[a] = next;
    else this.oANext[prev] = next;
    if (next === NIL) this.aTail[a] = prev;
    else this.oAPrev[next] = prev;
  }

  /** highest non-empty level below p, or 0 */
  private prevSet(p: number): number {
    const i = p - 1;
    if (i < 0) return 0;
    let w = i >>> 5;
    const b = i & 31;
    let word = this.bits[w] & (b === 31 ? -1 : (1 << (b + 1)) - 1);
    for (;;) {
      if (word !== 0) return (w << 5) + 31 - Math.clz32(word);
      if (--w < 0) return 0;
      word = this.bits[w];
    }
  }

  /** lowest non-empty level above p, or maxPrice + 1 */
  private nextSet(p: number): number {
    const i = p + 1;
    let w = i >>> 5;
    if (w >= this.nWords) return this.maxPrice + 1;
    let word = this.bits[w] & (-1 << (i & 31));
    for (;;) {
      if (word !== 0) {
        const r = (w << 5) + 31 - Math.clz32(word & -word);
        return r > this.maxPrice ? this.maxPrice + 1 : r;
      }
      if (++w >= this.nWords) return this.maxPrice + 1;
      word = this.bits[w];
    }
  }

  private grow(n: number): void {
    const cap = Math.min(Math.max(n, 1), this.config.bookOrdersMax);
    if (cap <= this.cap) throw new Error('order pool exhausted (bookOrdersMax is checked before resting)');
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    const u8 = (a: Uint8Array) => {
      const b = new Uint8Array(cap);
      b.set(a);
      return b;
    };
    this.oId = f64(this.oId);
    this.oAgent = i32(this.oAgent);
    this.oSide = u8(this.oSide);
    this.oStp = u8(this.oStp);
    this.oPost = u8(this.oPost);
    this.oPrice = i32(this.oPrice);
    this.oLots = f64(this.oLots);
    this.oReserve = f64(this.oReserve);
    this.oExpiry = f64(this.oExpiry);
    this.oPrio = f64(this.oPrio);
    this.oPrev = i32(this.oPrev);
    this.oNext = i32(this.oNext);
    this.oAPrev = i32(this.oAPrev);
    this.oANext = i32(this.oANext);
    for (let s = this.cap; s < cap; s++) this.oClient.push(null);
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
      if (this.hSize * 2 > this.hExp.length) {
        const e = new Float64Array(this.hExp.length * 2);
        e.set(this.hExp);
        this.hExp = e;
        const d = new Float64Array(this.hExp.length);
        d.set(this.hId);
        this.hId = d;
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
    return {
      orderId: this.oId[s],
      agent: this.oAgent[s],
      side: SIDE_NAMES[this.oSide[s]],
      price: this.oPrice[s],
      lots: this.oLots[s],
      expiresAt: this.oExpiry[s],
      stp: STP_MODES[this.oStp[s]],
      postOnly: this.oPost[s] === 1,
      clientOrderId: this.oClient[s],
      prio: this.oPrio[s],
      reserved: this.oReserve[s],
    };
  }

  /** visits resting orders in canonical order: price ascending, FIFO within a level */
  private forEachOrder(f: (s: number) => void): void {
    if (this.liveOrders === 0) return;
    for (let p = this.nextSet(0); p <= this.maxPrice; p = this.nextSet(p)) {
      for (let s = this.lHead[p]; s !== NIL; s = this.oNext[s]) f(s);
    }
  }

  /** A plain, JSON-serialisable copy of the whole state (balances included). */
  snapshot(): EngineSnapshot {
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
      balances: this.balances.snapshot(),
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
    const e = new MatchingEngine(snap.config, { balances, sink: opts.sink });
    e.ownsBalances = opts.balances === undefined;
    e.mstate = STATE_NAMES.indexOf(snap.state);
    e.seq = snap.seq;
    e.lastTs = snap.lastTs;
    e.lastOrderId = snap.lastOrderId;
    e.refPrice = snap.refPrice;
    const byPrio = [...snap.orders].sort((a, b) => a.prio - b.prio);
    for (const o of byPrio) {
      if (e.freeHead === NIL) e.grow(e.cap * 2);
      const s = e.freeHead;
      e.freeHead = e.oNext[s];
      e.oId[s] = o.orderId;
      e.oAgent[s] = o.agent;
      e.oSide[s] = o.side === 'buy' ? BUY : SELL;
      e.oStp[s] = stpIndex(o.stp, 0);
      e.oPost[s] = o.postOnly ? 1 : 0;
      e.oPrice[s] = o.price;
      e.oLots[s] = o.lots;
      e.oReserve[s] = o.reserved;
      e.oExpiry[s] = o.expiresAt;
      e.oPrio[s] = o.prio;
      e.oClient[s] = o.clientOrderId;
      e.idToSlot.set(o.orderId, s);
      e.liveOrders++;
      e.linkLevel(s);
      e.linkAgent(s);
      e.aCount[o.agent]++;
      if (o.clientOrderId !== null) {
        let m = e.aClient[o.agent];
        if (m === undefined) e.aClient[o.agent] = m = new Map();
        m.set(o.clientOrderId, s);
      }
      if (o.expiresAt !== 0) e.heapPush(o.expiresAt, o.orderId);
    }
    e.nextPrio = snap.nextPrio;
    return e;
  }

  /** A cheap, stable digest of book and balances (not of seq or time). Equal to hashSnapshot(this.snapshot()). */
  stateHash(): string {
    const h = new StateHasher();
    h.head(STATE_NAMES[this.mstate], this.refPrice, this.lastOrderId, this.nextPrio);
    this.forEachOrder((s) =>
      h.order(
        this.oId[s],
        this.oAgent[s],
        this.oSide[s] === BUY,
        this.oPrice[s],
        this.oLots[s],
        this.oExpiry[s],
        this.oStp[s],
        this.oPost[s] === 1,
        this.oClient[s],
        this.oPrio[s],
        this.oReserve[s],
      ),
    );
    h.balances(this.balances.snapshot());
    return h.digest();
  }

  /** Checks every structural and accounting invariant; throws on the first broken one (a bug). */
  assertInvariants(): void {
    const fail = (m: string): never => {
      throw new Error(`matching invariant broken: ${m}`);
    };
    const perAgentCount = new Map<number, number>();
    const perAgentReserve = new Map<number, [number, number]>();
    let count = 0;
    let bidLevels = 0;
    let askLevels = 0;
    let maxBid = 0;
    let minAsk = this.maxPrice + 1;
    let lastPrio = 0;
    for (let p = 0; p < this.maxPrice + 2; p++) {
      const bit = (this.bits[p >>> 5] >>> (p & 31)) & 1;
      const head = this.lHead[p];
      if ((head !== NIL) !== (bit === 1)) fail(`bitmap at ${p}`);
      if (head === NIL) {
        if (this.lLots[p] !== 0 || this.lTail[p] !== NIL) fail(`empty level ${p} has lots or tail`);
        continue;
      }
      if (p < 1 || p > this.maxPrice) fail(`level out of range ${p}`);
      const side = this.oSide[head];
      if (side === BUY) {
        bidLevels++;
        maxBid = p;
      } else {
        askLevels++;
        if (minAsk > this.maxPrice) minAsk = p;
      }
      let sum = 0;
      let prev = NIL;
      lastPrio = 0;
      for (let s = head; s !== NIL; s = this.oNext[s]) {
        if (this.oPrev[s] !== prev) fail(`prev link at ${p}`);
        if (this.oPrice[s] !== p || this.oSide[s] !== side) fail(`order ${this.oId[s]} on wrong level`);
        if (!(this.oLots[s] > 0) || !Number.isSafeInteger(this.oLots[s])) fail(`order ${this.oId[s]} lots ${this.oLots[s]}`);
        if (this.oPrio[s] <= lastPrio) fail(`FIFO order at ${p}`);
        lastPrio = this.oPrio[s];
        if (this.idToSlot.get(this.oId[s]) !== s) fail(`id map for ${this.oId[s]}`);
        const need = side === BUY ? p * this.tickSize * this.oLots[s] : this.oLots[s] * this.lotSize;
        if (this.oReserve[s] !== need) fail(`order ${this.oId[s]} reserves ${this.oReserve[s]} needs ${need}`);
        const a = this.oAgent[s];
        perAgentCount.set(a, (perAgentCount.get(a) ?? 0) + 1);
        const r = perAgentReserve.get(a) ?? [0, 0];
        r[side] += need;
        perAgentReserve.set(a, r);
        if (this.oExpiry[s] !== 0 && this.oExpiry[s] <= this.lastTs) fail(`order ${this.oId[s]} should have expired`);
        const coid = this.oClient[s];
        if (coid !== null && this.aClient[a]?.get(coid) !== s) fail(`client id map for ${this.oId[s]}`);
        sum += this.oLots[s];
        count++;
        prev = s;
      }
      if (this.lTail[p] !== prev) fail(`tail at ${p}`);
      if (sum !== this.lLots[p]) fail(`level ${p} total ${this.lLots[p]} != sum ${sum}`);
    }
    if (count !== this.liveOrders || count !== this.idToSlot.size) fail(`order count ${count} ${this.liveOrders} ${this.idToSlot.size}`);
    if (bidLevels !== this.bidLevels || askLevels !== this.askLevels) fail('level counts');
    if (this.bidLevels > 0 ? this.bestBid !== maxBid : this.bestBid !== 0) fail(`best bid ${this.bestBid} != ${maxBid}`);
    if (this.askLevels > 0 ? this.bestAsk !== minAsk : this.bestAsk !== this.maxPrice + 1) fail(`best ask ${this.bestAsk} != ${minAsk}`);
    if (maxBid !== 0 && minAsk <= this.maxPrice && maxBid >= minAsk) fail(`crossed book ${maxBid} >= ${minAsk}`);
    if (this.liveOrders > this.config.bookOrdersMax) fail('book beyond bookOrdersMax');
    for (let a = 0; a < this.balances.agentsMax; a++) {
      const n = perAgentCount.get(a) ?? 0;
      if (this.aCount[a] !== n) fail(`agent ${a} count ${this.aCount[a]} != ${n}`);
      if (n > this.config.ordersPerAgentMax) fail(`agent ${a} has ${n} open orders, beyond ordersPerAgentMax`);
      let k = 0;
      let last = 0;
      for (let s = this.aHead[a]; s !== NIL; s = this.oANext[s]) {
        if (this.oAgent[s] !== a) fail(`agent list of ${a}`);
        if (this.oPrio[s] <= last) fail(`agent list of ${a} not in time priority`);
        last = this.oPrio[s];
        k++;
      }
      if (k !== n) fail(`agent list length ${a}`);
      if ((this.aClient[a]?.size ?? 0) > n) fail(`client ids of ${a}`);
      if (this.ownsBalances) {
        const r = perAgentReserve.get(a) ?? [0, 0];
        if (this.balances.reserved[this.CR][a] !== r[BUY]) fail(`agent ${a} reserved credits ${this.balances.reserved[this.CR][a]} != ${r[BUY]}`);
        if (this.balances.reserved[this.BA][a] !== r[SELL]) fail(`agent ${a} reserved base ${this.balances.reserved[this.BA][a]} != ${r[SELL]}`);
      }
    }
    let gtdOpen = 0;
    for (let i = 0; i < this.hSize; i++) {
      const l = 2 * i + 1;
      if ((l < this.hSize && this.heapLess(l, i)) || (l + 1 < this.hSize && this.heapLess(l + 1, i))) fail(`expiry heap order at ${i}`);
      const s = this.idToSlot.get(this.hId[i]);
      if (s !== NIL && this.oExpiry[s] === this.hExp[i]) gtdOpen++;
    }
    let gtd = 0;
    this.forEachOrder((s) => {
      if (this.oExpiry[s] !== 0) gtd++;
    });
    if (gtd !== gtdOpen) fail(`${gtd} open GTD orders but ${gtdOpen} in the expiry heap`);
    if (this.tReserve !== 0) fail('taker scratch reserve left over');
    this.balances.assertInvariants();
  }
}
