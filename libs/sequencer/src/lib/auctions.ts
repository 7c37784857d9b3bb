import { AppError, CREDIT, ErrorCode, Rejection } from '@ate/contracts';
import type { LedgerRequest } from '@ate/ledger';
import { mintOrBurnRequest } from '@ate/ledger';
import type { BalanceView } from '@ate/matching';
import {
  advancePool,
  buildWdp,
  maxPaymentCombinatorial,
  buyFixedPrice,
  buyFromPool,
  clearMultiUnit,
  LIMITS,
  maxPaymentMultiUnit,
  MultiUnitBid,
  openPool,
  PoolConfig,
  validateFixedPriceSale,
  validateMultiUnit,
  validatePool,
} from '@ate/mechanisms';
import { auctionEvents, bidsBefore } from './auction-events';
import { bidKey, CLIENT_ID, purchaseKey } from './auction-ids';
import type { Batch } from './batch';
import type { AuctionBudgetHooks } from './budgets-mechanisms';
import type { CommandHandler, PrepareContext } from './handlers';
import type { HostResult } from './host-types';

/**
 * Auctions and posted-price pools in the sequencer. Funds pass through here like orders: a bid holds its maximum
 * payment in the shared BalanceView (so the same credits cannot also rest on a book), a seller's units are escrowed
 * there, a settlement moves credits and units in one sequenced command carrying the clearing computed outside the
 * batch (libs/mechanisms), and a purchase at a posted price debits and mints at once. `AuctionState` is the
 * deterministic part (one field of EngineCore, one optional field of the snapshot); every accepted command is logged
 * as `{ t: 'a', ts, op }` and replayed through the same `apply`, so a replay takes exactly the same decisions.
 *
 * Bids (`auction_bid`) and purchases (`pool_buy`) pass the agents' budget policies through `budget`
 * (budgets-mechanisms.ts): a bid reserves its maximum payment against the spend caps, a settlement spends the payments.
 */

/** Bids per auction at most (each bid is a schedule of at most LIMITS.multiUnitStepsPerBidder steps). */
export const AUCTION_BIDS_MAX = 1_000;
/** Steps in all per auction at most (keeps a clearing well under the batch's budget). */
export const AUCTION_STEPS_MAX = 20_000;
/** Steps in one bid at most. */
export const AUCTION_BID_STEPS_MAX = 1_000;
/** Largest fee rate of an auction, basis points. */
export const AUCTION_FEE_BPS_MAX = 1_000;

export interface StepInput {
  units: bigint;
  price: bigint;
}

/** The clearing a settle command carries (computed by libs/mechanisms from the sealed bids, outside the batch). */
export type AuctionClearing =
  | { mechanism: 'vcg_multi_unit'; awards: { bidder: string; units: bigint; payment: bigint }[]; unitsSold: bigint; revenue: bigint }
  | {
      mechanism: 'vcg_combinatorial' | 'core_combinatorial';
      /** winners only: the bundle (index in the bidder's bid) won, the payment and the VCG payment */
      awards: { bidder: string; bundle: number; payment: bigint; vcgPayment: bigint }[];
      revenue: bigint;
      /** the solver's welfare and the inputs' digest, kept with the results for the auditor */
      welfare: bigint;
    };

export type Mechanism = 'vcg_multi_unit' | 'vcg_combinatorial' | 'core_combinatorial';

/** An item of a combinatorial auction: a lot of `units` of an allowance asset (one of it for sale). */
export interface AuctionItem {
  id: string;
  asset: string;
  units: bigint;
  /** the item's reserve (credits, for the whole lot); absent: the auction's reserve per unit times `units` */
  reservePrice?: bigint;
}

/** An item as the auction's state holds it: its reserve resolved (0: none). */
export interface ItemRec {
  id: string;
  asset: string;
  units: bigint;
  reserve: bigint;
}

export interface BundleInput {
  items: string[];
  value: bigint;
}

/** Combinatorial auctions: bids per auction (each one more solve), items, bundles (the IP's size is bounded). */
export const COMBINATORIAL_BIDS_MAX = LIMITS.combinatorialBidders;
export const COMBINATORIAL_ITEMS_MAX = LIMITS.combinatorialItems;
export const COMBINATORIAL_BUNDLES_MAX = LIMITS.combinatorialBundles;

export type AuctionCommand =
  | {
      kind: 'auction_create';
      auctionId: string;
      /** the agent whose units are escrowed; null for an operator's sale (units minted to winners, proceeds to fees) */
      sellerId: string | null;
      asset: string;
      units: bigint;
      reservePrice: bigint;
      feeBps: number;
      /** epoch ms: bids are taken while the batch's time is before it */
      deadline: number;
      /** default vcg_multi_unit (asset and units); combinatorial auctions sell `items` (asset '' and units 0) */
      mechanism?: Mechanism;
      items?: AuctionItem[];
    }
  | {
      kind: 'auction_bid';
      auctionId: string;
      agentId: string;
      steps: StepInput[];
      bundles?: BundleInput[];
      /** the client's id of this bid (unique per agent, forever): a retry is answered with the first, never bids twice */
      clientBidId?: string;
    }
  | { kind: 'auction_withdraw'; auctionId: string; agentId: string }
  | { kind: 'auction_close'; auctionId: string }
  /** fixes the clearing (checked as a settlement is): the auction is `cleared`, its results readable, holds unchanged */
  | { kind: 'auction_clear'; auctionId: string; clearing: AuctionClearing }
  /** moves funds and units: of the clearing a cleared auction holds (no `clearing`), or of the one carried (clear and settle at once) */
  | { kind: 'auction_settle'; auctionId: string; clearing?: AuctionClearing }
  | { kind: 'auction_cancel'; auctionId: string }
  | {
      kind: 'pool_create';
      poolId: string;
      asset: string;
      mode: 'fixed' | 'congestion';
      /** fixed: the price; congestion: the first epoch's price */
      price: bigint;
      /** fixed: units for sale in all */
      supply: bigint;
      /** congestion: units per epoch, its floor and ceiling */
      capacityPerEpoch: bigint;
      minPrice: bigint;
      maxPrice: bigint;
      /** congestion: epoch length, ms */
      epochMs: number;
    }
  | {
      kind: 'pool_buy';
      poolId: string;
      agentId: string;
      units: bigint;
      maxPrice: bigint;
      /** the client's id of this purchase (unique per agent, forever): a retry is answered with the first, never buys twice */
      clientPurchaseId?: string;
    }
  | { kind: 'pool_epoch'; poolId: string };

/** created (sequenced) -> open -> closed -> cleared -> settled, or cancelled from any state before settled */
export type AuctionStatus = 'open' | 'closed' | 'cleared' | 'settled' | 'cancelled';

interface BidState {
  agent: number;
  steps: StepInput[];
  /** combinatorial: the XOR bundles */
  bundles?: BundleInput[];
  hold: number;
}

interface AuctionRec {
  id: string;
  seller: number | null;
  asset: string;
  units: bigint;
  reservePrice: bigint;
  feeBps: number;
  deadline: number;
  status: AuctionStatus;
  /** open bids by agent number, in sequence order (the tie rule's priority) */
  bids: Map<number, BidState>;
  steps: number;
  mechanism: Mechanism;
  /** combinatorial: the items for sale */
  items: ItemRec[];
  /** cleared: the clearing it will settle (checked when it was cleared) */
  cleared?: SettleOp;
}

interface PoolRec {
  id: string;
  asset: string;
  mode: 'fixed' | 'congestion';
  price: bigint;
  supply: bigint;
  sold: bigint;
  config: PoolConfig;
  epochMs: number;
  start: number;
  epoch: number;
  used: bigint;
}

/** One accepted command as the log holds it: agents by number, amounts as decimal strings (JSON). */
export type AuctionOp =
  | {
      op: 'create';
      id: string;
      seller: number | null;
      asset: string;
      units: string;
      reserve: string;
      feeBps: number;
      deadline: number;
      mech?: Mechanism;
      /** [id, asset, units] or, with a reserve (the whole item's, credits), [id, asset, units, reserve] */
      items?: ItemTuple[];
    }
  | { op: 'bid'; id: string; agent: number; steps: [string, string][]; bundles?: [string[], string][] }
  | { op: 'settle_c'; id: string; awards: [number, number, string, string][]; revenue: string; welfare: string }
  /** a clearing fixed (a settle or settle_c op, not yet applied); `settle_cleared` applies it */
  | { op: 'clear'; id: string; c: SettleOp }
  | { op: 'settle_cleared'; id: string }
  | { op: 'withdraw'; id: string; agent: number }
  | { op: 'close'; id: string }
  | { op: 'settle'; id: string; awards: [number, string, string][]; unitsSold: string; revenue: string }
  | { op: 'cancel'; id: string }
  | {
      op: 'pool_create';
      id: string;
      asset: string;
      mode: 'fixed' | 'congestion';
      price: string;
      supply: string;
      capacity: string;
      minPrice: string;
      maxPrice: string;
      epochMs: number;
    }
  | { op: 'pool_buy'; id: string; agent: number; units: string; maxPrice: string }
  | { op: 'pool_epoch'; id: string };

export type ItemTuple = [string, string, string] | [string, string, string, string];
/** The ops that carry a clearing: multi-unit (settle) and combinatorial (settle_c). */
export type SettleOp = Extract<AuctionOp, { op: 'settle' | 'settle_c' }>;

const itemOf = ([id, asset, u, r]: ItemTuple): ItemRec => ({ id, asset, units: BigInt(u), reserve: BigInt(r ?? '0') });
const tupleOf = (it: ItemRec): ItemTuple =>
  it.reserve > 0n ? [it.id, it.asset, it.units.toString(), it.reserve.toString()] : [it.id, it.asset, it.units.toString()];

/** What an accepted op did, for the batch: balance moves to put in the ledger, and projection rows. */
export interface AuctionEffects {
  /** credits and units moved at settlement or purchase, per agent (null = the venue: fees / issuance) */
  moves: { kind: 'settle' | 'purchase'; winner: number; seller: number | null; asset: string; units: bigint; payment: bigint; fee: bigint }[];
  /** balances that changed (agent, asset), for the outlet */
  touched: [number, string][];
  /** what the projections need */
  row: Record<string, unknown>;
}

type Refused = { refused: ErrorCode; details?: Record<string, unknown> };

const big = (s: string): bigint => BigInt(s);
const refuse = (code: ErrorCode, details?: Record<string, unknown>): Refused => ({ refused: code, ...(details ? { details } : {}) });
const fromRejection = (r: Rejection): Refused => refuse(r.code, r.details);
const ceilFee = (amount: bigint, bps: number): bigint => (amount * BigInt(bps) + 9_999n) / 10_000n;

/** Holds `amount` of an agent's available asset (false, nothing held, if not enough is available). */
export function holdFunds(b: BalanceView, agent: number, asset: string, amount: number): boolean {
  if (amount === 0) return true;
  const a = b.assetIndex(asset);
  if (!b.isKnown(agent) || b.available(agent, a) < amount) return false;
  const c = b.cell(agent, a);
  b.cr[c] = (b.cr[c] as number) + amount;
  return true;
}

/** Releases what holdFunds held (a broken invariant if it is not held). */
export function releaseFunds(b: BalanceView, agent: number, asset: string, amount: number): void {
  if (amount === 0) return;
  const c = b.findCell(agent, b.assetIndex(asset));
  if (c < 0 || (b.cr[c] as number) < amount) throw new Error(`auction release of ${amount} ${asset} for agent ${agent}: not held`);
  b.cr[c] = (b.cr[c] as number) - amount;
}

function must(ok: boolean, what: string): void {
  if (!ok) throw new Error(`auction settlement broke an invariant: ${what}`);
}

/** What a seller escrows: per asset, the units for sale (multi-unit: `units` of `asset`; combinatorial: its items). */
function escrowOf(mech: Mechanism, asset: string, units: bigint, items: readonly ItemRec[]): Map<string, number> {
  const out = new Map<string, number>();
  if (mech === 'vcg_multi_unit') out.set(asset, Number(units));
  else for (const it of items) out.set(it.asset, (out.get(it.asset) ?? 0) + Number(it.units));
  return out;
}

/** A combinatorial bid checked against the auction's items (libs/mechanisms' rules, each with its code). */
function validateCombinatorialBid(a: { items: readonly ItemRec[] }, bid: { bidder: string; bundles: BundleInput[] }): Refused | undefined {
  const w = buildWdp({ items: a.items.map((it) => ({ id: it.id })), bids: [bid] });
  return 'code' in w ? fromRejection(w) : undefined;
}

/** The sealed bids of an auction as libs/mechanisms takes them (sequence order), bidders by agent id. */
export function multiUnitBids(bids: Iterable<{ agentId: string; steps: StepInput[] }>): MultiUnitBid[] {
  return [...bids].map((b) => ({ bidder: b.agentId, steps: b.steps }));
}

/**
 * The deterministic state of every auction and pool (held by EngineCore). `apply` is the one way it changes:
 * live batches and the replay call it with the same op and time.
 */
export class AuctionState {
  readonly auctions = new Map<string, AuctionRec>();
  readonly pools = new Map<string, PoolRec>();
  /** the agents' budget policies on bids and purchases (budgets-mechanisms.ts; set by EngineCore) */
  budget?: AuctionBudgetHooks;

  constructor(
    private readonly balances: BalanceView,
    private readonly agentIdOf: (num: number) => string,
  ) {}

  auction(id: string): AuctionRec | undefined {
    return this.auctions.get(id);
  }

  pool(id: string): PoolRec | undefined {
    return this.pools.get(id);
  }

  /** Applies an op at time `ts`: its effects, or why it was refused (nothing changed). */
  apply(o: AuctionOp, ts: number): AuctionEffects | Refused {
    const b = this.balances;
    switch (o.op) {
      case 'create': {
        if (this.auctions.has(o.id) || this.pools.has(o.id)) return refuse('AUCTION_EXISTS', { auctionId: o.id });
        const units = big(o.units);
        if (units > BigInt(Number.MAX_SAFE_INTEGER)) return refuse('AMOUNT_OUT_OF_RANGE', { units: o.units });
        if (o.deadline <= ts) return refuse('AUCTION_INVALID_DEADLINE', { deadline: o.deadline });
        const items = (o.items ?? []).map(itemOf);
        const escrow = escrowOf(o.mech ?? 'vcg_multi_unit', o.asset, units, items);
        if (o.seller !== null) {
          const refusedSeller = this.budget?.sell(o.seller, [...escrow.keys()], ts);
          if (refusedSeller) return refusedSeller;
          b.registerAgent(o.seller);
          const held: [string, number][] = [];
          for (const [asset, n] of escrow) {
            if (!holdFunds(b, o.seller, asset, n)) {
              for (const [a2, n2] of held) releaseFunds(b, o.seller, a2, n2);
              return refuse('AUCTION_INSUFFICIENT_BALANCE', { asset, units: String(n) });
            }
            held.push([asset, n]);
          }
        }
        this.auctions.set(o.id, {
          id: o.id,
          seller: o.seller,
          asset: o.asset,
          units,
          reservePrice: big(o.reserve),
          feeBps: o.feeBps,
          deadline: o.deadline,
          status: 'open',
          bids: new Map(),
          steps: 0,
          mechanism: o.mech ?? 'vcg_multi_unit',
          items,
        });
        return {
          moves: [],
          touched: o.seller !== null ? [...escrow.keys()].map((asset) => [o.seller as number, asset] as [number, string]) : [],
          row: {},
        };
      }
      case 'bid': {
        const a = this.auctions.get(o.id);
        if (!a) return refuse('AUCTION_NOT_FOUND', { auctionId: o.id });
        if (a.status !== 'open' || ts >= a.deadline) return refuse('AUCTION_CLOSED', { auctionId: o.id, status: a.status, deadline: a.deadline });
        if (a.bids.has(o.agent)) return refuse('MECHANISM_DUPLICATE_BIDDER', { auctionId: o.id });
        if (a.seller === o.agent) return refuse('CONFLICT', { auctionId: o.id, reason: 'the seller may not bid' });
        if (a.bids.size >= AUCTION_BIDS_MAX) return refuse('MECHANISM_TOO_LARGE', { limit: AUCTION_BIDS_MAX, what: 'bids per auction' });
        if (a.steps + o.steps.length > AUCTION_STEPS_MAX)
          return refuse('MECHANISM_TOO_LARGE', { limit: AUCTION_STEPS_MAX, what: 'steps per auction' });
        let hold: bigint;
        const steps = o.steps.map(([u, p]) => ({ units: big(u), price: big(p) }));
        let bundles: BundleInput[] | undefined;
        if (a.mechanism === 'vcg_multi_unit') {
          const bid = { bidder: this.agentIdOf(o.agent), steps };
          const bad = validateMultiUnit({ units: a.units, reservePrice: a.reservePrice, bids: [bid] });
          if (bad) return fromRejection(bad);
          hold = maxPaymentMultiUnit({ units: a.units, reservePrice: a.reservePrice }, bid);
        } else {
          bundles = (o.bundles ?? []).map(([items, v]) => ({ items, value: big(v) }));
          const bid = { bidder: String(o.agent), bundles };
          const bad = validateCombinatorialBid(a, bid);
          if (bad) return bad;
          if (a.bids.size >= COMBINATORIAL_BIDS_MAX)
            return refuse('MECHANISM_TOO_LARGE', { limit: COMBINATORIAL_BIDS_MAX, what: 'bids per auction' });
          if (a.steps + bundles.length > COMBINATORIAL_BUNDLES_MAX)
            return refuse('MECHANISM_TOO_LARGE', { limit: COMBINATORIAL_BUNDLES_MAX, what: 'bundles per auction' });
          hold = maxPaymentCombinatorial(bid, a.items);
        }
        if (hold > BigInt(Number.MAX_SAFE_INTEGER)) return refuse('AUCTION_INSUFFICIENT_BALANCE', { hold: hold.toString() });
        const overBudget = this.budget?.bid(a, o.agent, Number(hold), steps, ts);
        if (overBudget) return overBudget;
        b.registerAgent(o.agent);
        if (!holdFunds(b, o.agent, CREDIT, Number(hold))) {
          this.budget?.unbid(o.id, o.agent);
          return refuse('AUCTION_INSUFFICIENT_BALANCE', { hold: hold.toString() });
        }
        a.bids.set(o.agent, { agent: o.agent, steps, ...(bundles ? { bundles } : {}), hold: Number(hold) });
        a.steps += bundles ? bundles.length : steps.length;
        return { moves: [], touched: [[o.agent, CREDIT]], row: { hold: hold.toString() } };
      }
      case 'withdraw': {
        const a = this.auctions.get(o.id);
        if (!a) return refuse('AUCTION_NOT_FOUND', { auctionId: o.id });
        if (a.status !== 'open' || ts >= a.deadline) return refuse('AUCTION_CLOSED', { auctionId: o.id, status: a.status, deadline: a.deadline });
        const bid = a.bids.get(o.agent);
        if (!bid) return refuse('AUCTION_BID_NOT_FOUND', { auctionId: o.id });
        releaseFunds(b, o.agent, CREDIT, bid.hold);
        this.budget?.unbid(o.id, o.agent);
        a.bids.delete(o.agent);
        a.steps -= bid.bundles ? bid.bundles.length : bid.steps.length;
        return { moves: [], touched: [[o.agent, CREDIT]], row: { released: String(bid.hold) } };
      }
      case 'close': {
        const a = this.auctions.get(o.id);
        if (!a) return refuse('AUCTION_NOT_FOUND', { auctionId: o.id });
        if (a.status !== 'open') return refuse('AUCTION_CLOSED', { auctionId: o.id, status: a.status });
        if (ts < a.deadline) return refuse('AUCTION_NOT_CLOSED', { auctionId: o.id, deadline: a.deadline });
        a.status = 'closed';
        return { moves: [], touched: [], row: {} };
      }
      case 'settle':
      case 'settle_c': {
        // clear and settle at once (logs written before the cleared state, and a settle that carries its clearing)
        const v = this.verify(o, ts);
        if ('refused' in v) return v;
        return { ...this.deliver(v.a, o, ts), row: { clearing: v.row } };
      }
      case 'clear': {
        const v = this.verify(o.c, ts);
        if ('refused' in v) return v;
        v.a.status = 'cleared';
        v.a.cleared = o.c;
        return { moves: [], touched: [], row: { clearing: v.row } };
      }
      case 'settle_cleared': {
        const a = this.auctions.get(o.id);
        if (!a) return refuse('AUCTION_NOT_FOUND', { auctionId: o.id });
        if (a.status === 'settled' || a.status === 'cancelled') return refuse('AUCTION_ALREADY_SETTLED', { auctionId: o.id, status: a.status });
        if (a.status !== 'cleared' || !a.cleared) return refuse('AUCTION_NOT_CLEARED', { auctionId: o.id, status: a.status });
        return this.deliver(a, a.cleared, ts);
      }
      case 'cancel': {
        const a = this.auctions.get(o.id);
        if (!a) return refuse('AUCTION_NOT_FOUND', { auctionId: o.id });
        if (a.status === 'settled' || a.status === 'cancelled') return refuse('AUCTION_ALREADY_SETTLED', { auctionId: o.id, status: a.status });
        const touched: [number, string][] = [];
        for (const bid of a.bids.values()) {
          releaseFunds(b, bid.agent, CREDIT, bid.hold);
          touched.push([bid.agent, CREDIT]);
        }
        if (a.seller !== null) {
          for (const [asset, n] of escrowOf(a.mechanism, a.asset, a.units, a.items)) {
            releaseFunds(b, a.seller, asset, n);
            touched.push([a.seller, asset]);
          }
        }
        this.budget?.ended(a.id, a.bids.keys(), [], ts);
        a.status = 'cancelled';
        a.bids.clear();
        delete a.cleared;
        return { moves: [], touched, row: {} };
      }
      case 'pool_create': {
        if (this.auctions.has(o.id) || this.pools.has(o.id)) return refuse('AUCTION_EXISTS', { poolId: o.id });
        const config: PoolConfig = { capacityPerEpoch: big(o.capacity), minPrice: big(o.minPrice), maxPrice: big(o.maxPrice) };
        if (o.mode === 'fixed') {
          const bad = validateFixedPriceSale({ price: big(o.price), supply: big(o.supply), sold: 0n });
          if (bad) return fromRejection(bad);
        } else {
          const opened = openPool(config, big(o.price), 0);
          if ('code' in opened) return fromRejection(opened);
        }
        this.pools.set(o.id, {
          id: o.id,
          asset: o.asset,
          mode: o.mode,
          price: big(o.price),
          supply: big(o.supply),
          sold: 0n,
          config,
          epochMs: o.epochMs,
          start: ts,
          epoch: 0,
          used: 0n,
        });
        return { moves: [], touched: [], row: { start: ts } };
      }
      case 'pool_epoch': {
        const p = this.pools.get(o.id);
        if (!p) return refuse('AUCTION_POOL_NOT_FOUND', { poolId: o.id });
        return { moves: [], touched: [], row: { ended: this.advance(p, ts) } };
      }
      case 'pool_buy': {
        const p = this.pools.get(o.id);
        if (!p) return refuse('AUCTION_POOL_NOT_FOUND', { poolId: o.id });
        const purchase = { units: big(o.units), maxPrice: big(o.maxPrice) };
        // tried on the pool as it is at ts (epochs that ended are closed first); nothing changes if refused
        const r =
          p.mode === 'fixed'
            ? buyFixedPrice({ price: p.price, supply: p.supply, sold: p.sold }, purchase)
            : buyFromPool(p.config, this.peekAdvance(p, ts), purchase);
        if ('code' in r) return fromRejection(r);
        const { price, cost } = r.fill;
        if (cost > BigInt(Number.MAX_SAFE_INTEGER) || purchase.units > BigInt(Number.MAX_SAFE_INTEGER))
          return refuse('AMOUNT_OUT_OF_RANGE', { cost: cost.toString() });
        const overBudget = this.budget?.purchase(o.agent, p.asset, purchase.units, purchase.maxPrice, ts);
        if (overBudget) return overBudget;
        b.registerAgent(o.agent);
        const cr = b.assetIndex(CREDIT);
        if (b.available(o.agent, cr) < Number(cost)) return refuse('AUCTION_INSUFFICIENT_BALANCE', { cost: cost.toString() });
        if (cost > 0n) must(b.withdraw(o.agent, cr, Number(cost)), 'purchase debit');
        must(b.deposit(o.agent, b.assetIndex(p.asset), Number(purchase.units)), 'purchase units');
        this.budget?.purchased(o.agent, cost, ts);
        const ended = this.advance(p, ts);
        if ('sale' in r) p.sold = r.sale.sold;
        else {
          p.epoch = r.state.epoch;
          p.price = r.state.price;
          p.used = r.state.used;
        }
        return {
          moves: [{ kind: 'purchase', winner: o.agent, seller: null, asset: p.asset, units: purchase.units, payment: cost, fee: cost }],
          touched: [
            [o.agent, CREDIT],
            [o.agent, p.asset],
          ],
          row: { price: price.toString(), cost: cost.toString(), ended, epoch: p.epoch },
        };
      }
    }
  }

  /** The epoch a pool is in at time ts (epochs count from its creation). */
  private epochAt(p: PoolRec, ts: number): number {
    return p.epochMs > 0 ? Math.max(p.epoch, Math.floor((ts - p.start) / p.epochMs)) : p.epoch;
  }

  /** The pool's state moved to the epoch of ts, without changing it. */
  private peekAdvance(p: PoolRec, ts: number): { epoch: number; price: bigint; used: bigint } {
    const to = this.epochAt(p, ts);
    const cur = { epoch: p.epoch, price: p.price, used: p.used };
    if (to === p.epoch) return cur;
    const r = advancePool(p.config, cur, to, 0);
    if ('code' in r) throw new Error(`pool ${p.id}: ${r.code}`);
    return r.state;
  }

  /** Moves a congestion pool to the epoch of ts; the epochs that ended (at most 64 listed). */
  private advance(p: PoolRec, ts: number): { epoch: number; price: string; used: string; nextPrice: string }[] {
    if (p.mode !== 'congestion') return [];
    const to = this.epochAt(p, ts);
    if (to === p.epoch) return [];
    const r = advancePool(p.config, { epoch: p.epoch, price: p.price, used: p.used }, to);
    if ('code' in r) throw new Error(`pool ${p.id}: ${r.code}`);
    p.epoch = r.state.epoch;
    p.price = r.state.price;
    p.used = r.state.used;
    return r.ended.map((e) => ({ epoch: e.epoch, price: e.price.toString(), used: e.used.toString(), nextPrice: e.nextPrice.toString() }));
  }

  /**
   * Checks a clearing against the auction as sequenced; the clearing as the projections and the results show it,
   * or why it does not hold (nothing changes either way). Multi-unit: recomputed here (O(S log S)) and compared.
   * Combinatorial: re-solving would put a solver on the sequencer's thread, so the handler checks what it can check
   * exactly: every award names an open bid and one of its bundles, no item is sold twice, the bundle's reserve <=
   * VCG payment <= payment <= the bundle's value (equal under VCG), the revenue and the welfare add up. Optimality
   * is the solver's (libs/mechanisms checks its answer: integrality, feasibility, bigint welfare); the results
   * publish every input so an auditor can re-solve.
   */
  private verify(o: SettleOp, ts: number): { a: AuctionRec; row: Record<string, unknown> } | Refused {
    const a = this.auctions.get(o.id);
    if (!a) return refuse('AUCTION_NOT_FOUND', { auctionId: o.id });
    if (a.status === 'settled' || a.status === 'cancelled') return refuse('AUCTION_ALREADY_SETTLED', { auctionId: o.id, status: a.status });
    if (a.status === 'cleared') return refuse('AUCTION_ALREADY_CLEARED', { auctionId: o.id });
    if (a.status === 'open' && ts < a.deadline) return refuse('AUCTION_NOT_CLOSED', { auctionId: o.id, deadline: a.deadline });
    const feeOf = (payment: bigint) => (a.seller === null ? 0n : ceilFee(payment, a.feeBps));
    if (o.op === 'settle') {
      if (a.mechanism !== 'vcg_multi_unit') return refuse('AUCTION_CLEARING_MISMATCH', { auctionId: o.id, mechanism: a.mechanism });
      const c = clearMultiUnit({
        units: a.units,
        reservePrice: a.reservePrice,
        bids: [...a.bids.values()].map((x) => ({ bidder: String(x.agent), steps: x.steps })),
      });
      if ('code' in c) return fromRejection(c);
      const expected = c.awards.filter((w) => w.units > 0n).map((w) => [Number(w.bidder), w.units.toString(), w.payment.toString()].join('|'));
      const carried = o.awards.map((w) => w.join('|'));
      if (expected.join(',') !== carried.join(',') || c.unitsSold.toString() !== o.unitsSold || c.revenue.toString() !== o.revenue)
        return refuse('AUCTION_CLEARING_MISMATCH', { auctionId: o.id });
      return {
        a,
        row: {
          mechanism: 'vcg_multi_unit',
          awards: c.awards.map((w) => ({
            agentId: this.agentIdOf(Number(w.bidder)),
            units: w.units.toString(),
            value: w.value.toString(),
            payment: w.payment.toString(),
          })),
          unitsSold: c.unitsSold.toString(),
          unitsUnsold: c.unitsUnsold.toString(),
          revenue: c.revenue.toString(),
          welfare: c.welfare.toString(),
          fees: o.awards.reduce((s, [, , pay]) => s + feeOf(big(pay)), 0n).toString(),
        },
      };
    }
    const mismatch = (why: string) => refuse('AUCTION_CLEARING_MISMATCH', { auctionId: o.id, why });
    if (a.mechanism === 'vcg_multi_unit') return mismatch('not a combinatorial auction');
    const reserveOf = new Map(a.items.map((it) => [it.id, it.reserve]));
    const sold = new Set<string>();
    const winners = new Set<number>();
    const awards: Record<string, unknown>[] = [];
    let revenue = 0n;
    let welfare = 0n;
    let fees = 0n;
    for (const [agent, k, pay, vcg] of o.awards) {
      const bid = a.bids.get(agent);
      const bundle = bid?.bundles?.[k];
      if (!bid || !bundle || winners.has(agent)) return mismatch('an award names no open bid or bundle');
      winners.add(agent);
      const payment = big(pay);
      const vcgPayment = big(vcg);
      const reserve = bundle.items.reduce((sum, it) => sum + (reserveOf.get(it) ?? 0n), 0n);
      if (vcgPayment < reserve || payment < vcgPayment || payment > bundle.value) return mismatch('a payment outside [reserve, bid]');
      if (a.mechanism === 'vcg_combinatorial' && payment !== vcgPayment) return mismatch('a VCG auction pays the VCG payment');
      for (const it of bundle.items) {
        if (sold.has(it)) return mismatch(`item ${it} sold twice`);
        sold.add(it);
      }
      revenue += payment;
      welfare += bundle.value;
      fees += feeOf(payment);
      awards.push({ agentId: this.agentIdOf(agent), bundle: k, items: bundle.items, value: bundle.value.toString(), vcgPayment: vcg, payment: pay });
    }
    if (revenue.toString() !== o.revenue || welfare.toString() !== o.welfare) return mismatch('revenue or welfare do not add up');
    return {
      a,
      row: {
        mechanism: a.mechanism,
        awards,
        itemsSold: [...sold],
        itemsUnsold: a.items.filter((it) => !sold.has(it.id)).map((it) => it.id),
        revenue: o.revenue,
        welfare: o.welfare,
        fees: fees.toString(),
      },
    };
  }

  /**
   * Settles an auction with a clearing `verify` accepted: releases every hold and the seller's escrow, then moves
   * payments and units (multi-unit: units of the asset; combinatorial: item by item). The auction is settled.
   */
  private deliver(a: AuctionRec, o: SettleOp, ts: number): AuctionEffects {
    const b = this.balances;
    const touched: [number, string][] = [];
    for (const bid of a.bids.values()) {
      releaseFunds(b, bid.agent, CREDIT, bid.hold);
      touched.push([bid.agent, CREDIT]);
    }
    if (a.seller !== null) {
      for (const [asset, n] of escrowOf(a.mechanism, a.asset, a.units, a.items)) {
        releaseFunds(b, a.seller, asset, n);
        touched.push([a.seller, asset]);
      }
      touched.push([a.seller, CREDIT]);
    }
    const cr = b.assetIndex(CREDIT);
    const moves: AuctionEffects['moves'] = [];
    const pay = (agent: number, payment: bigint): bigint => {
      const fee = a.seller === null ? payment : ceilFee(payment, a.feeBps);
      if (payment > 0n) must(b.withdraw(agent, cr, Number(payment)), `winner ${agent} pays ${payment}`);
      if (a.seller !== null && payment - fee > 0n) must(b.deposit(a.seller, cr, Number(payment - fee)), 'seller proceeds');
      return fee;
    };
    const give = (agent: number, asset: string, units: bigint, what: string) => {
      const ai = b.assetIndex(asset);
      if (a.seller !== null) must(b.withdraw(a.seller, ai, Number(units)), `seller delivers ${what}`);
      must(b.deposit(agent, ai, Number(units)), `winner ${agent} receives ${what}`);
      touched.push([agent, asset]);
    };
    if (o.op === 'settle') {
      for (const [agent, u, p] of o.awards) {
        const units = big(u);
        const payment = big(p);
        const fee = pay(agent, payment);
        give(agent, a.asset, units, `${units}`);
        moves.push({ kind: 'settle', winner: agent, seller: a.seller, asset: a.asset, units, payment, fee });
      }
    } else {
      const byId = new Map(a.items.map((it) => [it.id, it]));
      for (const [agent, k, p] of o.awards) {
        const bundle = (a.bids.get(agent) as BidState).bundles?.[k] as BundleInput;
        const payment = big(p);
        const fee = pay(agent, payment);
        bundle.items.forEach((id, j) => {
          const it = byId.get(id) as ItemRec;
          give(agent, it.asset, it.units, id);
          moves.push({
            kind: 'settle',
            winner: agent,
            seller: a.seller,
            asset: it.asset,
            units: it.units,
            payment: j === 0 ? payment : 0n,
            fee: j === 0 ? fee : 0n,
          });
        });
      }
    }
    // the agents' budgets: the payments become spend, the bids' reservations end (budgets-mechanisms.ts)
    this.budget?.ended(a.id, a.bids.keys(), moves, ts);
    a.status = 'settled';
    a.bids.clear();
    a.steps = 0;
    delete a.cleared;
    return { moves, touched, row: {} };
  }

  /** The state as a JSON document (the snapshot's `auctions` field). */
  toJSON(): AuctionSnapshot {
    return {
      auctions: [...this.auctions.values()].map((a) => ({
        id: a.id,
        seller: a.seller,
        asset: a.asset,
        units: a.units.toString(),
        reserve: a.reservePrice.toString(),
        feeBps: a.feeBps,
        deadline: a.deadline,
        status: a.status,
        ...(a.mechanism !== 'vcg_multi_unit' ? { mech: a.mechanism, items: a.items.map(tupleOf) } : {}),
        ...(a.cleared ? { cleared: a.cleared } : {}),
        bids: [...a.bids.values()].map((x) => ({
          agent: x.agent,
          hold: x.hold,
          steps: x.steps.map((s) => [s.units.toString(), s.price.toString()] as [string, string]),
          ...(x.bundles ? { bundles: x.bundles.map((bu) => [bu.items, bu.value.toString()] as [string[], string]) } : {}),
        })),
      })),
      pools: [...this.pools.values()].map((p) => ({
        id: p.id,
        asset: p.asset,
        mode: p.mode,
        price: p.price.toString(),
        supply: p.supply.toString(),
        sold: p.sold.toString(),
        capacity: p.config.capacityPerEpoch.toString(),
        minPrice: p.config.minPrice.toString(),
        maxPrice: (p.config.maxPrice ?? 0n).toString(),
        epochMs: p.epochMs,
        start: p.start,
        epoch: p.epoch,
        used: p.used.toString(),
      })),
    };
  }

  /** Restores what toJSON wrote (absent: nothing; snapshots written before auctions existed). */
  restore(s: AuctionSnapshot | undefined): void {
    this.auctions.clear();
    this.pools.clear();
    if (!s) return;
    for (const a of s.auctions) {
      const bids = new Map<number, BidState>();
      let steps = 0;
      for (const x of a.bids) {
        const bundles = x.bundles?.map(([items, v]) => ({ items, value: big(v) }));
        bids.set(x.agent, {
          agent: x.agent,
          hold: x.hold,
          steps: x.steps.map(([u, p]) => ({ units: big(u), price: big(p) })),
          ...(bundles ? { bundles } : {}),
        });
        steps += bundles ? bundles.length : x.steps.length;
      }
      this.auctions.set(a.id, {
        id: a.id,
        seller: a.seller,
        asset: a.asset,
        units: big(a.units),
        reservePrice: big(a.reserve),
        feeBps: a.feeBps,
        deadline: a.deadline,
        status: a.status,
        bids,
        steps,
        mechanism: a.mech ?? 'vcg_multi_unit',
        items: (a.items ?? []).map(itemOf),
        ...(a.cleared ? { cleared: a.cleared } : {}),
      });
    }
    for (const p of s.pools) {
      this.pools.set(p.id, {
        id: p.id,
        asset: p.asset,
        mode: p.mode,
        price: big(p.price),
        supply: big(p.supply),
        sold: big(p.sold),
        config: { capacityPerEpoch: big(p.capacity), minPrice: big(p.minPrice), maxPrice: big(p.maxPrice) },
        epochMs: p.epochMs,
        start: p.start,
        epoch: p.epoch,
        used: big(p.used),
      });
    }
  }
}

export interface AuctionSnapshot {
  auctions: {
    id: string;
    seller: number | null;
    asset: string;
    units: string;
    reserve: string;
    feeBps: number;
    deadline: number;
    status: AuctionStatus;
    mech?: Mechanism;
    items?: ItemTuple[];
    /** a cleared auction: the clearing it will settle (absent otherwise, and in snapshots written before it) */
    cleared?: SettleOp;
    bids: { agent: number; hold: number; steps: [string, string][]; bundles?: [string[], string][] }[];
  }[];
  pools: {
    id: string;
    asset: string;
    mode: 'fixed' | 'congestion';
    price: string;
    supply: string;
    sold: string;
    capacity: string;
    minPrice: string;
    maxPrice: string;
    epochMs: number;
    start: number;
    epoch: number;
    used: string;
  }[];
}

// --- the handlers ----------------------------------------------------------------------------------------------

type Of<K extends AuctionCommand['kind']> = Extract<AuctionCommand, { kind: K }>;

/** Projection statements of one accepted op (written in the batch's transaction). */
export interface BatchStatement {
  text: string;
  values: unknown[];
  /** a later statement with the same key replaces this one (a row's last state is all that matters) */
  key?: string;
  /** rows of a bulk statement: statements of the same text are merged, their rows passed as $1 (a JSON array) */
  rows?: Record<string, unknown>[];
}

/** The statements of a batch as they are run: keyed ones deduplicated (the last wins), bulk ones merged into one. */
export function compactStatements(list: readonly BatchStatement[]): { text: string; values: unknown[] }[] {
  const lastOf = new Map<string, number>();
  list.forEach((s, i) => s.key !== undefined && lastOf.set(s.key, i));
  const out: { text: string; values: unknown[] }[] = [];
  const bulk = new Map<string, Record<string, unknown>[]>();
  list.forEach((s, i) => {
    if (s.key !== undefined && lastOf.get(s.key) !== i) return;
    if (!s.rows) return void out.push({ text: s.text, values: s.values });
    const rows = bulk.get(s.text);
    if (rows) rows.push(...s.rows);
    else {
      const mine = [...s.rows];
      bulk.set(s.text, mine);
      out.push({ text: s.text, values: [mine] });
    }
  });
  return out.map((q) =>
    Array.isArray(q.values[0]) && bulk.get(q.text) === q.values[0] ? { text: q.text, values: [JSON.stringify(q.values[0])] } : q,
  );
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function checkId(id: string, what: string): void {
  if (!ID.test(id)) throw new AppError('VALIDATION_FAILED', `Not a valid ${what} id.`, { [what]: id });
}

function clientId(id: string | undefined, field: string): void {
  if (id !== undefined && (typeof id !== 'string' || !CLIENT_ID.test(id)))
    throw new AppError('VALIDATION_FAILED', `${field}: 1-64 letters, digits or _.:-`, { field });
}

function asset(ctx: PrepareContext, code: string): void {
  if (code === CREDIT || !ctx.core.balances.assets.includes(code)) throw new AppError('AUCTION_UNKNOWN_ASSET', undefined, { asset: code });
}

function amount(x: bigint, min: bigint, field: string): void {
  if (typeof x !== 'bigint' || x < min || x > BigInt(Number.MAX_SAFE_INTEGER))
    throw new AppError('MECHANISM_INVALID_AMOUNT', undefined, { field, min: min.toString(), max: String(Number.MAX_SAFE_INTEGER) });
}

function auctionOf(ctx: PrepareContext, id: string): AuctionRec {
  const a = ctx.core.auctions.auction(id);
  if (!a) throw new AppError('AUCTION_NOT_FOUND', undefined, { auctionId: id });
  return a;
}

/** Runs an op in the batch: refused (nothing logged) or applied, logged, with its ledger transfers and projections. */
function run(b: Batch, op: AuctionOp, ts: number, project: (seq: number, e: AuctionEffects) => BatchStatement[]): HostResult {
  const before = bidsBefore(b.core.auctions, op);
  const r = b.core.auctions.apply(op, ts);
  if ('refused' in r) return { seq: null, code: r.refused, events: [], ...(r.details ? { details: r.details } : {}) };
  return b.other(
    ts,
    JSON.stringify({ t: 'a', ts, op }),
    (seq) => ({
      ledger: ledgerOf(b, op.id, seq, r),
      sql: project(seq, r),
      touched: r.touched.map(([agent, assetCode]) => ({ agentId: b.directory.idOf(agent), agent, asset: assetCode })),
      details: r.row,
    }),
    () => auctionEvents(b.core.auctions, op, before, r, (n) => b.directory.idOf(n)),
  );
}

/** The ledger transfers of a settlement or a purchase: one per winner (a transfer has at most 16 legs). */
function ledgerOf(b: Batch, id: string, seq: number, e: AuctionEffects): LedgerRequest[] {
  const out: LedgerRequest[] = [];
  const d = b.directory;
  e.moves.forEach((m, k) => {
    const winner = d.idOf(m.winner);
    const ref = { kind: 'auction' as const, id: `${m.kind === 'settle' ? 'auction' : 'pool'}:${id}` };
    if (m.seller === null) {
      if (m.payment > 0n)
        out.push({
          kind: 'transfer',
          type: 'settlement',
          id: `auction:${seq}:${k}:pay`,
          ref,
          legs: [
            { accountId: d.agent(winner, CREDIT), side: 'debit', amount: m.payment },
            { accountId: d.system('fees', CREDIT), side: 'credit', amount: m.payment },
          ],
        });
      out.push({
        ...mintOrBurnRequest(
          'mint',
          `auction:${seq}:${k}:mint`,
          { agent: d.agent(winner, m.asset), issuance: d.system('issuance', m.asset) },
          m.units,
        ),
        ref,
      } as LedgerRequest);
    } else {
      const seller = d.idOf(m.seller);
      const legs = [
        { accountId: d.agent(winner, CREDIT), side: 'debit' as const, amount: m.payment },
        { accountId: d.agent(seller, CREDIT), side: 'credit' as const, amount: m.payment - m.fee },
        { accountId: d.system('fees', CREDIT), side: 'credit' as const, amount: m.fee },
        { accountId: d.agent(seller, m.asset), side: 'debit' as const, amount: m.units },
        { accountId: d.agent(winner, m.asset), side: 'credit' as const, amount: m.units },
      ];
      out.push({ kind: 'transfer', type: 'settlement', id: `auction:${seq}:${k}`, ref, legs: legs.filter((l) => l.amount > 0n) });
    }
  });
  return out;
}

const now = (ts: number) => new Date(ts).toISOString();

/**
 * The items of a combinatorial auction with their reserves resolved: an item's own reservePrice (for the whole lot),
 * else the auction's reserve per unit times the item's units.
 */
function itemsOf(c: Of<'auction_create'>): ItemRec[] {
  return (c.items ?? []).map((it) => ({ id: it.id, asset: it.asset, units: it.units, reserve: it.reservePrice ?? c.reservePrice * it.units }));
}

const auctionCreate: CommandHandler<Of<'auction_create'>> = {
  async prepare(ctx, c) {
    checkId(c.auctionId, 'auction');
    const mech = c.mechanism ?? 'vcg_multi_unit';
    const assets = mech === 'vcg_multi_unit' ? [c.asset] : [...new Set((c.items ?? []).map((it) => it.asset))];
    if (mech === 'vcg_multi_unit') {
      asset(ctx, c.asset);
      amount(c.units, 1n, 'units');
    } else {
      const items = c.items ?? [];
      if (items.length === 0) throw new AppError('MECHANISM_ZERO_UNITS', 'A combinatorial auction sells at least one item.');
      if (items.length > COMBINATORIAL_ITEMS_MAX)
        throw new AppError('MECHANISM_TOO_LARGE', undefined, { limit: COMBINATORIAL_ITEMS_MAX, what: 'items' });
      for (const it of items) {
        asset(ctx, it.asset);
        amount(it.units, 1n, 'items.units');
        if (it.reservePrice !== undefined) amount(it.reservePrice, 0n, 'items.reservePrice');
      }
      amount(c.reservePrice, 0n, 'reservePrice');
      // the reserves within the mechanism's limits (a bundle value's): MECHANISM_INVALID_AMOUNT
      const w = buildWdp({ items: itemsOf(c).map((it) => ({ id: it.id, reserve: it.reserve })), bids: [] });
      if ('code' in w) throw new AppError(w.code, undefined, w.details);
    }
    amount(c.reservePrice, 0n, 'reservePrice');
    if (!Number.isInteger(c.feeBps) || c.feeBps < 0 || c.feeBps > AUCTION_FEE_BPS_MAX)
      throw new AppError('MECHANISM_INVALID_CONFIG', undefined, { field: 'feeBps', max: AUCTION_FEE_BPS_MAX });
    if (c.sellerId !== null) {
      await ctx.directory.resolve(c.sellerId);
      await ctx.directory.ensureAccount(c.sellerId, CREDIT);
      for (const a of assets) await ctx.directory.ensureAccount(c.sellerId, a);
    }
    await ctx.directory.ensureSystem('fees', CREDIT);
    for (const a of assets) await ctx.directory.ensureSystem('issuance', a);
  },
  execute(b, c, ts) {
    const seller = c.sellerId === null ? null : (b.directory.numOf(c.sellerId) as number);
    const op: AuctionOp = {
      op: 'create',
      id: c.auctionId,
      seller,
      asset: c.asset,
      units: c.units.toString(),
      reserve: c.reservePrice.toString(),
      feeBps: c.feeBps,
      deadline: c.deadline,
      ...(c.mechanism && c.mechanism !== 'vcg_multi_unit' ? { mech: c.mechanism, items: itemsOf(c).map(tupleOf) } : {}),
    };
    const items = c.items
      ? JSON.stringify(itemsOf(c).map((it) => ({ id: it.id, asset: it.asset, units: it.units.toString(), reservePrice: it.reserve.toString() })))
      : null;
    return run(b, op, ts, (seq) => [
      {
        text: `INSERT INTO auction (id, mechanism, seller_agent_id, asset, units, reserve_price, fee_bps, deadline, status, created_seq, created_at, updated_at, items)
               VALUES ($1, $10, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $9, $11)`,
        values: [
          c.auctionId,
          c.sellerId,
          c.asset,
          c.units.toString(),
          c.reservePrice.toString(),
          c.feeBps,
          new Date(c.deadline),
          seq,
          now(ts),
          c.mechanism ?? 'vcg_multi_unit',
          items,
        ],
      },
    ]);
  },
};

const auctionBid: CommandHandler<Of<'auction_bid'>> = {
  async prepare(ctx, c) {
    clientId(c.clientBidId, 'clientBidId');
    await ctx.directory.resolve(c.agentId);
    const a = auctionOf(ctx, c.auctionId);
    if (a.mechanism === 'vcg_multi_unit') {
      if (c.bundles !== undefined) throw new AppError('VALIDATION_FAILED', 'A multi-unit auction takes steps, not bundles.');
      if (!Array.isArray(c.steps) || c.steps.length === 0) throw new AppError('MECHANISM_EMPTY_BID');
      if (c.steps.length > AUCTION_BID_STEPS_MAX)
        throw new AppError('MECHANISM_TOO_LARGE', undefined, { limit: AUCTION_BID_STEPS_MAX, what: 'steps per bid' });
      for (const s of c.steps) {
        amount(s.units, 1n, 'units');
        amount(s.price, 0n, 'price');
      }
      const bad = validateMultiUnit({ units: a.units, reservePrice: a.reservePrice, bids: [{ bidder: c.agentId, steps: c.steps }] });
      if (bad) throw new AppError(bad.code, undefined, bad.details);
    } else {
      if (c.steps.length > 0) throw new AppError('VALIDATION_FAILED', 'A combinatorial auction takes bundles, not steps.');
      const bad = validateCombinatorialBid(a, { bidder: c.agentId, bundles: c.bundles ?? [] });
      if (bad) throw new AppError(bad.refused, undefined, bad.details);
      if (maxPaymentCombinatorial({ bidder: c.agentId, bundles: c.bundles ?? [] }, a.items) > BigInt(Number.MAX_SAFE_INTEGER))
        throw new AppError('MECHANISM_INVALID_AMOUNT');
    }
    await ctx.directory.ensureAccount(c.agentId, CREDIT);
    for (const asset of a.mechanism === 'vcg_multi_unit' ? [a.asset] : new Set(a.items.map((it) => it.asset)))
      await ctx.directory.ensureAccount(c.agentId, asset);
  },
  execute(b, c, ts) {
    // a client id accepted before (committed, or in a batch in flight): nothing again; the api answers the first
    const key = c.clientBidId ? bidKey(c.agentId, c.clientBidId) : null;
    if (key && b.ids.seen(key) !== undefined) return { seq: null, code: null, events: [], duplicateTransfer: true };
    const agent = b.directory.numOf(c.agentId) as number;
    const steps = c.steps.map((s) => [s.units.toString(), s.price.toString()] as [string, string]);
    const bundles = c.bundles?.map((bu) => [bu.items, bu.value.toString()] as [string[], string]);
    const bidJson = JSON.stringify(bundles ? c.bundles?.map((bu) => ({ items: bu.items, value: bu.value.toString() })) : steps);
    return run(b, { op: 'bid', id: c.auctionId, agent, steps, ...(bundles ? { bundles } : {}) }, ts, (seq, e) => {
      const out: BatchStatement[] = [
        {
          text: `INSERT INTO auction_bid (auction_id, agent_id, steps, hold, status, seq, created_at, updated_at, client_bid_id)
                 VALUES ($1, $2, $3, $4, 'open', $5, $6, $6, $7)
                 ON CONFLICT (auction_id, agent_id) DO UPDATE SET steps = $3, hold = $4, status = 'open', seq = $5, units_won = NULL, payment = NULL, updated_at = $6, client_bid_id = $7`,
          values: [c.auctionId, c.agentId, bidJson, e.row['hold'], seq, now(ts), c.clientBidId ?? null],
        },
      ];
      if (key) {
        b.ids.remember(key, 0);
        out.push({
          text: `INSERT INTO auction_bid_request (agent_id, client_bid_id, auction_id, seq, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
          values: [c.agentId, c.clientBidId, c.auctionId, seq, bidJson, now(ts)],
        });
      }
      return out;
    });
  },
};

const auctionWithdraw: CommandHandler<Of<'auction_withdraw'>> = {
  async prepare(ctx, c) {
    await ctx.directory.resolve(c.agentId);
    auctionOf(ctx, c.auctionId);
  },
  execute(b, c, ts) {
    const agent = b.directory.numOf(c.agentId) as number;
    return run(b, { op: 'withdraw', id: c.auctionId, agent }, ts, (seq) => [
      {
        text: `UPDATE auction_bid SET status = 'withdrawn', seq = $3, updated_at = $4 WHERE auction_id = $1 AND agent_id = $2`,
        values: [c.auctionId, c.agentId, seq, now(ts)],
      },
    ]);
  },
};

const auctionClose: CommandHandler<Of<'auction_close'>> = {
  prepare: async (ctx, c) => void auctionOf(ctx, c.auctionId),
  execute: (b, c, ts) =>
    run(b, { op: 'close', id: c.auctionId }, ts, (seq) => [
      { text: `UPDATE auction SET status = 'closed', closed_seq = $2, updated_at = $3 WHERE id = $1`, values: [c.auctionId, seq, now(ts)] },
    ]),
};

/** Opens what the winners of a clearing receive into (before sequencing). */
async function prepareClearing(ctx: PrepareContext, c: { auctionId: string; clearing?: AuctionClearing }): Promise<void> {
  const a = auctionOf(ctx, c.auctionId);
  for (const w of c.clearing?.awards ?? []) {
    await ctx.directory.resolve(w.bidder);
    for (const asset of a.mechanism === 'vcg_multi_unit' ? [a.asset] : new Set(a.items.map((it) => it.asset)))
      await ctx.directory.ensureAccount(w.bidder, asset);
    await ctx.directory.ensureAccount(w.bidder, CREDIT);
  }
}

/** A clearing as the log holds it: winners by number, amounts as strings. */
function settleOpOf(b: Batch, auctionId: string, clearing: AuctionClearing): SettleOp {
  if (clearing.mechanism === 'vcg_multi_unit')
    return {
      op: 'settle',
      id: auctionId,
      awards: clearing.awards
        .filter((w) => w.units > 0n)
        .map((w) => [b.directory.numOf(w.bidder) as number, w.units.toString(), w.payment.toString()] as [number, string, string]),
      unitsSold: clearing.unitsSold.toString(),
      revenue: clearing.revenue.toString(),
    };
  return {
    op: 'settle_c',
    id: auctionId,
    awards: clearing.awards.map(
      (w) => [b.directory.numOf(w.bidder) as number, w.bundle, w.payment.toString(), w.vcgPayment.toString()] as [number, number, string, string],
    ),
    revenue: clearing.revenue.toString(),
    welfare: clearing.welfare.toString(),
  };
}

/** The projection of a clearing fixed at `seq`: the auction's clearing, each bid won or lost with what it pays. */
function clearedRows(auctionId: string, mechanism: Mechanism, seq: number, ts: number, e: AuctionEffects): BatchStatement[] {
  const clearing = e.row['clearing'] as { awards: { agentId: string; units?: string; items?: string[]; payment: string }[] };
  const awards =
    mechanism === 'vcg_multi_unit'
      ? clearing.awards.map((w) => ({ agentId: w.agentId, n: w.units as string, payment: w.payment }))
      : clearing.awards.map((w) => ({ agentId: w.agentId, n: String(w.items?.length ?? 0), payment: w.payment }));
  return [
    {
      text: `UPDATE auction SET status = 'cleared', cleared_seq = $2, clearing = $3, updated_at = $4, closed_seq = COALESCE(closed_seq, $2) WHERE id = $1`,
      values: [auctionId, seq, JSON.stringify(clearing), now(ts)],
    },
    {
      text: `UPDATE auction_bid AS b SET status = CASE WHEN w.n > 0 THEN 'won' ELSE 'lost' END, units_won = w.n, payment = w.payment, updated_at = $2
             FROM jsonb_to_recordset($3::jsonb) AS w("agentId" text, n bigint, payment bigint)
             WHERE b.auction_id = $1 AND b.agent_id = w."agentId" AND b.status = 'open'`,
      values: [auctionId, now(ts), JSON.stringify(awards)],
    },
    {
      text: `UPDATE auction_bid SET status = 'lost', units_won = 0, payment = 0, updated_at = $2 WHERE auction_id = $1 AND status = 'open'`,
      values: [auctionId, now(ts)],
    },
  ];
}

const settledRow = (auctionId: string, seq: number, ts: number): BatchStatement => ({
  text: `UPDATE auction SET status = 'settled', settled_seq = $2, updated_at = $3 WHERE id = $1`,
  values: [auctionId, seq, now(ts)],
});

const auctionClear: CommandHandler<Of<'auction_clear'>> = {
  prepare: prepareClearing,
  execute(b, c, ts) {
    const a = b.core.auctions.auction(c.auctionId);
    const mechanism = a?.mechanism ?? 'vcg_multi_unit';
    return run(b, { op: 'clear', id: c.auctionId, c: settleOpOf(b, c.auctionId, c.clearing) }, ts, (seq, e) =>
      clearedRows(c.auctionId, mechanism, seq, ts, e),
    );
  },
};

const auctionSettle: CommandHandler<Of<'auction_settle'>> = {
  prepare: prepareClearing,
  execute(b, c, ts) {
    // the usual way: the clearing the auction holds since it was cleared
    if (!c.clearing) return run(b, { op: 'settle_cleared', id: c.auctionId }, ts, (seq) => [settledRow(c.auctionId, seq, ts)]);
    // clear and settle in one command
    const a = b.core.auctions.auction(c.auctionId);
    const mechanism = a?.mechanism ?? 'vcg_multi_unit';
    return run(b, settleOpOf(b, c.auctionId, c.clearing), ts, (seq, e) => [
      ...clearedRows(c.auctionId, mechanism, seq, ts, e),
      settledRow(c.auctionId, seq, ts),
    ]);
  },
};

const auctionCancel: CommandHandler<Of<'auction_cancel'>> = {
  prepare: async (ctx, c) => void auctionOf(ctx, c.auctionId),
  execute: (b, c, ts) =>
    run(b, { op: 'cancel', id: c.auctionId }, ts, (seq) => [
      { text: `UPDATE auction SET status = 'cancelled', settled_seq = $2, updated_at = $3 WHERE id = $1`, values: [c.auctionId, seq, now(ts)] },
      {
        // open bids, and those a clearing had decided (won or lost) when the auction is cancelled before settling
        text: `UPDATE auction_bid SET status = 'released', units_won = NULL, payment = NULL, updated_at = $2 WHERE auction_id = $1 AND status IN ('open', 'won', 'lost')`,
        values: [c.auctionId, now(ts)],
      },
    ]),
};

const poolCreate: CommandHandler<Of<'pool_create'>> = {
  async prepare(ctx, c) {
    checkId(c.poolId, 'pool');
    asset(ctx, c.asset);
    amount(c.price, 1n, 'price');
    if (c.mode === 'fixed') amount(c.supply, 1n, 'supply');
    else {
      const bad = validatePool({ capacityPerEpoch: c.capacityPerEpoch, minPrice: c.minPrice, maxPrice: c.maxPrice });
      if (bad) throw new AppError(bad.code, undefined, bad.details);
      amount(c.maxPrice, 1n, 'maxPrice');
      if (!Number.isInteger(c.epochMs) || c.epochMs < 100 || c.epochMs > 86_400_000)
        throw new AppError('MECHANISM_INVALID_CONFIG', undefined, { field: 'epochMs', min: 100, max: 86_400_000 });
    }
    await ctx.directory.ensureSystem('fees', CREDIT);
    await ctx.directory.ensureSystem('issuance', c.asset);
  },
  execute(b, c, ts) {
    const op: AuctionOp = {
      op: 'pool_create',
      id: c.poolId,
      asset: c.asset,
      mode: c.mode,
      price: c.price.toString(),
      supply: c.supply.toString(),
      capacity: c.capacityPerEpoch.toString(),
      minPrice: c.minPrice.toString(),
      maxPrice: c.maxPrice.toString(),
      epochMs: c.mode === 'fixed' ? 0 : c.epochMs,
    };
    return run(b, op, ts, (seq) => [
      {
        text: `INSERT INTO price_pool (id, mode, asset, price, supply, sold, capacity_per_epoch, min_price, max_price, epoch_ms, epoch, used, started_at, created_seq, updated_at)
               VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, 0, 0, $10, $11, $10)`,
        values: [
          c.poolId,
          c.mode,
          c.asset,
          op.price,
          c.mode === 'fixed' ? op.supply : null,
          c.mode === 'fixed' ? null : op.capacity,
          c.mode === 'fixed' ? null : op.minPrice,
          c.mode === 'fixed' ? null : op.maxPrice,
          op.epochMs,
          now(ts),
          seq,
        ],
      },
    ]);
  },
};

function poolRows(b: Batch, poolId: string, ts: number, e: AuctionEffects): BatchStatement[] {
  const p = b.core.auctions.pool(poolId) as PoolRec;
  const ended = (e.row['ended'] ?? []) as { epoch: number; price: string; used: string; nextPrice: string }[];
  const out: BatchStatement[] = [
    {
      text: `UPDATE price_pool SET price = $2, sold = $3, epoch = $4, used = $5, updated_at = $6 WHERE id = $1`,
      values: [poolId, p.price.toString(), p.sold.toString(), p.epoch, p.used.toString(), now(ts)],
      key: `pool|${poolId}`,
    },
  ];
  if (ended.length > 0)
    out.push({
      text: `INSERT INTO price_pool_epoch (pool_id, epoch, price, used, next_price)
             SELECT $1, e.epoch, e.price, e.used, e."nextPrice" FROM jsonb_to_recordset($2::jsonb) AS e(epoch int, price bigint, used bigint, "nextPrice" bigint)
             ON CONFLICT DO NOTHING`,
      values: [poolId, JSON.stringify(ended)],
    });
  return out;
}

const poolEpoch: CommandHandler<Of<'pool_epoch'>> = {
  async prepare(ctx, c) {
    if (!ctx.core.auctions.pool(c.poolId)) throw new AppError('AUCTION_POOL_NOT_FOUND', undefined, { poolId: c.poolId });
  },
  execute(b, c, ts) {
    const p = b.core.auctions.pool(c.poolId);
    // nothing to log while the epoch runs (a tick that changes nothing is not sequenced)
    if (p && (p.mode !== 'congestion' || Math.floor((ts - p.start) / p.epochMs) <= p.epoch)) return { seq: null, code: null, events: [] };
    return run(b, { op: 'pool_epoch', id: c.poolId }, ts, (_seq, e) => poolRows(b, c.poolId, ts, e));
  },
};

const poolBuy: CommandHandler<Of<'pool_buy'>> = {
  async prepare(ctx, c) {
    clientId(c.clientPurchaseId, 'clientPurchaseId');
    await ctx.directory.resolve(c.agentId);
    const p = ctx.core.auctions.pool(c.poolId);
    if (!p) throw new AppError('AUCTION_POOL_NOT_FOUND', undefined, { poolId: c.poolId });
    amount(c.units, 1n, 'units');
    amount(c.maxPrice, 0n, 'maxPrice');
    if (c.units > LIMITS.amountMax) throw new AppError('MECHANISM_INVALID_AMOUNT');
    await ctx.directory.ensureAccount(c.agentId, CREDIT);
    await ctx.directory.ensureAccount(c.agentId, p.asset);
  },
  execute(b, c, ts) {
    // a client id accepted before (committed, or in a batch in flight): nothing is bought again; the api answers the first
    const key = c.clientPurchaseId ? purchaseKey(c.agentId, c.clientPurchaseId) : null;
    if (key && b.ids.seen(key) !== undefined) return { seq: null, code: null, events: [], duplicateTransfer: true };
    const agent = b.directory.numOf(c.agentId) as number;
    const op: AuctionOp = { op: 'pool_buy', id: c.poolId, agent, units: c.units.toString(), maxPrice: c.maxPrice.toString() };
    return run(b, op, ts, (seq, e) => {
      if (key) b.ids.remember(key, 0);
      return [
        ...poolRows(b, c.poolId, ts, e),
        {
          text: `INSERT INTO price_pool_purchase (pool_id, seq, agent_id, units, price, cost, epoch, created_at, client_purchase_id, max_price)
                 SELECT p.pool_id, p.seq, p.agent_id, p.units, p.price, p.cost, p.epoch, p.created_at, p.client_purchase_id, p.max_price
                 FROM jsonb_to_recordset($1::jsonb) AS p(pool_id text, seq bigint, agent_id text, units bigint, price bigint, cost bigint, epoch int,
                   created_at timestamptz, client_purchase_id text, max_price bigint)`,
          values: [],
          rows: [
            {
              pool_id: c.poolId,
              seq,
              agent_id: c.agentId,
              units: op.units,
              price: e.row['price'],
              cost: e.row['cost'],
              epoch: e.row['epoch'],
              created_at: now(ts),
              client_purchase_id: c.clientPurchaseId ?? null,
              max_price: op.maxPrice,
            },
          ],
        },
      ];
    });
  },
};

export const AUCTION_HANDLERS = {
  auction_create: auctionCreate,
  auction_bid: auctionBid,
  auction_withdraw: auctionWithdraw,
  auction_close: auctionClose,
  auction_clear: auctionClear,
  auction_settle: auctionSettle,
  auction_cancel: auctionCancel,
  pool_create: poolCreate,
  pool_buy: poolBuy,
  pool_epoch: poolEpoch,
};
