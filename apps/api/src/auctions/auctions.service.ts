import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AppError, CREDIT_SCALE, ERROR_CODES, ErrorCode, isErrorCode, parseAmount } from '@ate/contracts';
import { clearMultiUnit } from '@ate/mechanisms';
import type { AuctionClearing, AuditContext, HostCommand, HostResult, Mechanism } from '@ate/sequencer';
import { CombinatorialClearing } from './clearing';
import { EngineLink } from '../engine/engine-link';
import { AuctionRow, AuctionsRepository, BidRow } from './auctions.repository';
import { auctionView, bidView, poolView, purchaseView, resultsView } from './views';

/** Fee rate of an auction a seller agent creates (an operator sets its own per auction). */
export const SELLER_AUCTION_FEE_BPS = 10;
/** Farthest deadline, ms from now. */
export const AUCTION_DEADLINE_MAX_MS = 30 * 86_400_000;
/** Epoch history rows a pool view lists. */
export const POOL_HISTORY_VIEW = 100;

export interface CreateAuctionInput {
  id?: string;
  /** default vcg_multi_unit */
  mechanism?: Mechanism;
  /** multi-unit: the asset and its units for sale */
  asset?: string;
  /** minor units of the asset, integer string */
  units?: string;
  /** combinatorial: the items for sale, each a lot of units of an asset, with its own reserve (credits) if given */
  items?: { id: string; asset: string; units: string; reservePrice?: string }[];
  /** credits per unit, decimal string (combinatorial: per unit of each item without a reservePrice of its own) */
  reservePrice: string;
  /** ISO time or epoch ms */
  deadline: string | number;
  feeBps?: number;
}

export interface CreatePoolInput {
  id?: string;
  asset: string;
  mode: 'fixed' | 'congestion';
  price: string;
  supply?: string;
  capacityPerEpoch?: string;
  minPrice?: string;
  maxPrice?: string;
  epochMs?: number;
}

const units = (s: string, field: string): bigint => {
  const v = parseAmount(s, 0, { min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) });
  if (v === 0n) throw new AppError('MECHANISM_ZERO_UNITS', undefined, { field });
  return v;
};
const price = (s: string): bigint => parseAmount(s, CREDIT_SCALE, { max: BigInt(Number.MAX_SAFE_INTEGER) });
/** A new auction or pool id. */
export const newAuctionId = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;
const newId = newAuctionId;
/** JSON with object keys sorted (jsonb does not keep the order they were written in). */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x,
  );

/** What the scheduler is told of (so it can close auctions at their deadline and tick pools' epochs). */
export interface AuctionScheduling {
  auctionCreated(id: string, deadline: number): Promise<void>;
  poolCreated(id: string, epochMs: number): Promise<void>;
}

/**
 * Auctions and posted-price pools: requests become sequencer commands (EngineLink), answers come from the
 * projections the sequencer commits with them. Clearing is computed here from the sealed bids (libs/mechanisms)
 * and carried by the one settle command, which the sequencer checks against its own state.
 */
@Injectable()
export class AuctionsService {
  private readonly logger = new Logger('Auctions');
  scheduling: AuctionScheduling | undefined;

  constructor(
    private readonly engine: EngineLink,
    private readonly repo: AuctionsRepository,
    private readonly combinatorial: CombinatorialClearing,
  ) {}

  private async submit(cmd: HostCommand): Promise<HostResult> {
    const r = await this.engine.submit(cmd);
    if (r.code) {
      const code: ErrorCode = isErrorCode(r.code) ? r.code : 'CONFLICT';
      throw new AppError(code, ERROR_CODES[code].message, r.details);
    }
    return r;
  }

  private deadline(d: string | number): number {
    const ms = typeof d === 'number' ? d : Date.parse(d);
    const now = Date.now();
    if (!Number.isSafeInteger(ms) || ms <= now || ms > now + AUCTION_DEADLINE_MAX_MS)
      throw new AppError('AUCTION_INVALID_DEADLINE', undefined, { deadline: d });
    return ms;
  }

  /** Creates an auction: sold by `sellerId` (its units escrowed now) or, with null, by the venue (units minted to the winners). */
  async create(sellerId: string | null, b: CreateAuctionInput, audit?: AuditContext) {
    const id = b.id ?? newId('auc');
    const deadline = this.deadline(b.deadline);
    const mechanism = b.mechanism ?? 'vcg_multi_unit';
    const multi = mechanism === 'vcg_multi_unit';
    if (multi && (b.asset === undefined || b.units === undefined || b.items !== undefined))
      throw new AppError('MECHANISM_INVALID_CONFIG', 'A multi-unit auction sells units of one asset: give asset and units (no items).');
    if (!multi && (b.items === undefined || b.asset !== undefined || b.units !== undefined))
      throw new AppError('MECHANISM_INVALID_CONFIG', 'A combinatorial auction sells items: give items (no asset or units).');
    await this.submit({
      kind: 'auction_create',
      auctionId: id,
      sellerId,
      mechanism,
      ...(multi
        ? {}
        : {
            items: (b.items ?? []).map((it) => ({
              id: it.id,
              asset: it.asset,
              units: units(it.units, 'items.units'),
              ...(it.reservePrice !== undefined ? { reservePrice: price(it.reservePrice) } : {}),
            })),
          }),
      asset: multi ? (b.asset as string) : '',
      units: multi ? units(b.units as string, 'units') : 0n,
      reservePrice: price(b.reservePrice),
      feeBps: b.feeBps ?? (sellerId === null ? 0 : SELLER_AUCTION_FEE_BPS),
      deadline,
      ...(audit ? { audit } : {}),
    });
    await this.scheduling?.auctionCreated(id, deadline);
    return this.get(id);
  }

  async get(id: string) {
    return auctionView(await this.row(id));
  }

  async list(status: 'open' | 'all', limit: number) {
    return { auctions: (await this.repo.list(status, limit)).map(auctionView) };
  }

  private async row(id: string) {
    const a = await this.repo.auction(id);
    if (!a) throw new AppError('AUCTION_NOT_FOUND', undefined, { auctionId: id });
    return a;
  }

  /**
   * A sealed bid: holds its maximum payment now; only its bidder sees it before the results. With a clientBidId a
   * retry (the same body) answers the agent's bid in that auction and bids nothing again; another body under the same
   * id is a 409 AUCTION_CLIENT_ID_CONFLICT.
   */
  async bid(
    agentId: string,
    auctionId: string,
    body: { steps?: { units: string; price: string }[]; bundles?: { items: string[]; value: string }[]; clientBidId?: string },
  ) {
    const a = await this.row(auctionId);
    const multi = a.mechanism === 'vcg_multi_unit';
    if (multi ? body.bundles !== undefined || body.steps === undefined : body.steps !== undefined || body.bundles === undefined)
      throw new AppError('VALIDATION_FAILED', multi ? 'A multi-unit auction takes steps.' : 'A combinatorial auction takes bundles.', {
        mechanism: a.mechanism,
      });
    const parsed = (body.steps ?? []).map((s) => ({ units: units(s.units, 'steps.units'), price: price(s.price) }));
    const bundles = body.bundles?.map((x) => ({ items: x.items, value: price(x.value) }));
    const cid = body.clientBidId;
    const r = await this.submit({
      kind: 'auction_bid',
      auctionId,
      agentId,
      steps: parsed,
      ...(bundles ? { bundles } : {}),
      ...(cid !== undefined ? { clientBidId: cid } : {}),
    });
    if (!r.duplicateTransfer || cid === undefined) return this.myBid(agentId, auctionId);
    // a retry: the same auction and body is the bid placed then; anything else under that id is a conflict
    const first = await this.repo.bidRequest(agentId, cid);
    const body2 = bundles
      ? bundles.map((x) => ({ items: x.items, value: x.value.toString() }))
      : parsed.map((s) => [s.units.toString(), s.price.toString()]);
    if (!first || first.auction_id !== auctionId || canonical(first.body) !== canonical(body2))
      throw new AppError('AUCTION_CLIENT_ID_CONFLICT', undefined, {
        clientBidId: cid,
        auctionId: first?.auction_id ?? null,
        seq: first?.seq ?? null,
      });
    return { ...(await this.myBid(agentId, auctionId)), replayed: true };
  }

  async myBid(agentId: string, auctionId: string) {
    await this.row(auctionId);
    const b = await this.repo.bid(auctionId, agentId);
    if (!b) throw new AppError('AUCTION_BID_NOT_FOUND', undefined, { auctionId });
    return bidView(b);
  }

  async withdraw(agentId: string, auctionId: string) {
    await this.row(auctionId);
    await this.submit({ kind: 'auction_withdraw', auctionId, agentId });
    return this.myBid(agentId, auctionId);
  }

  /** Readable once the auction is cleared (before its settlement commits, and after). */
  async results(auctionId: string) {
    const a = await this.row(auctionId);
    if (a.status !== 'cleared' && a.status !== 'settled') throw new AppError('AUCTION_NOT_CLEARED', undefined, { auctionId, status: a.status });
    return resultsView(a, await this.repo.settledBids(auctionId));
  }

  async cancel(auctionId: string, audit?: AuditContext) {
    await this.row(auctionId);
    await this.submit({ kind: 'auction_cancel', auctionId, ...(audit ? { audit } : {}) });
    return this.get(auctionId);
  }

  /**
   * Closes, clears and settles an auction whose deadline passed; safe to run any number of times, concurrently, or
   * again after a crash: each step is one sequenced command the sequencer takes once (a second clear is refused,
   * AUCTION_ALREADY_CLEARED; a second settlement, AUCTION_ALREADY_SETTLED). Returns what it found or did.
   */
  async settle(auctionId: string): Promise<'settled' | 'already' | 'not_due'> {
    const c = await this.clear(auctionId);
    if (c !== 'cleared') return c;
    // the clearing the auction holds since it was cleared: funds and units move in this one command
    const r = await this.engine.submit({ kind: 'auction_settle', auctionId });
    if (r.code === 'AUCTION_ALREADY_SETTLED') return 'already';
    if (r.code) throw new AppError(isErrorCode(r.code) ? r.code : 'CONFLICT', undefined, r.details);
    this.logger.log(`auction ${auctionId} settled at command ${r.seq}`);
    return 'settled';
  }

  /**
   * Closes an auction whose deadline passed and clears it: the clearing is computed from the sealed bids as
   * sequenced (libs/mechanisms; combinatorial ones in the clearing worker) and fixed by one sequenced command; the
   * auction is then `cleared` and its results readable, every hold still in place until the settlement.
   */
  async clear(auctionId: string): Promise<'cleared' | 'already' | 'not_due'> {
    let a = await this.row(auctionId);
    if (a.status === 'settled' || a.status === 'cancelled') return 'already';
    if (a.status === 'cleared') return 'cleared';
    if (a.status === 'open') {
      const r = await this.engine.submit({ kind: 'auction_close', auctionId });
      if (r.code === 'AUCTION_NOT_CLOSED') return 'not_due';
      if (r.code && r.code !== 'AUCTION_CLOSED') throw new AppError(isErrorCode(r.code) ? r.code : 'CONFLICT', undefined, r.details);
      a = await this.row(auctionId);
      if (a.status === 'settled' || a.status === 'cancelled') return 'already';
      if (a.status === 'cleared') return 'cleared';
    }
    // the sealed bids as sequenced (no bid changes once closed), cleared off the sequencer's batch
    const bids = await this.repo.openBids(auctionId);
    const clearing = a.mechanism === 'vcg_multi_unit' ? this.clearingMultiUnit(a, bids) : await this.clearingCombinatorial(a, bids);
    const r = await this.engine.submit({ kind: 'auction_clear', auctionId, clearing });
    if (r.code === 'AUCTION_ALREADY_SETTLED') return 'already';
    if (r.code && r.code !== 'AUCTION_ALREADY_CLEARED') throw new AppError(isErrorCode(r.code) ? r.code : 'CONFLICT', undefined, r.details);
    if (!r.code) this.logger.log(`auction ${auctionId} (${a.mechanism}) cleared at command ${r.seq}: revenue ${clearing.revenue}`);
    return 'cleared';
  }

  private clearingMultiUnit(a: AuctionRow, bids: BidRow[]): AuctionClearing {
    const c = clearMultiUnit({
      units: BigInt(a.units),
      reservePrice: BigInt(a.reserve_price),
      bids: bids.map((b) => ({ bidder: b.agent_id, steps: b.steps.map(([u, p]) => ({ units: BigInt(u), price: BigInt(p) })) })),
    });
    if ('code' in c) throw new AppError(c.code, undefined, c.details);
    return {
      mechanism: 'vcg_multi_unit',
      awards: c.awards.filter((w) => w.units > 0n).map((w) => ({ bidder: w.bidder, units: w.units, payment: w.payment })),
      unitsSold: c.unitsSold,
      revenue: c.revenue,
    };
  }

  /** A combinatorial clearing on HiGHS, in the clearing worker (the items with their reserves, the bids). */
  private async clearingCombinatorial(a: AuctionRow, bids: BidRow[]): Promise<AuctionClearing> {
    const r = await this.combinatorial.clear({
      payments: a.mechanism === 'core_combinatorial' ? 'core' : 'vcg',
      items: (a.items ?? []).map((it) => ({ id: it.id, reserve: it.reservePrice ?? '0' })),
      bids: bids.map((b) => ({ bidder: b.agent_id, bundles: b.steps as unknown as { items: string[]; value: string }[] })),
    });
    if (!r.ok) throw new AppError(isErrorCode(r.code) ? r.code : 'MECHANISM_SOLVER_FAILED', undefined, r.details);
    this.logger.log(`auction ${a.id} (${a.mechanism}) solved: revenue ${r.revenue}, ${r.solves} solves`);
    return {
      mechanism: a.mechanism as 'vcg_combinatorial' | 'core_combinatorial',
      awards: r.awards
        .filter((w) => w.bundle !== null)
        .map((w) => ({ bidder: w.bidder, bundle: w.bundle as number, payment: BigInt(w.payment), vcgPayment: BigInt(w.vcgPayment) })),
      revenue: BigInt(r.revenue),
      welfare: BigInt(r.welfare),
    };
  }

  /** Auctions still to settle (after a restart the scheduler takes them up again). */
  unsettled() {
    return this.repo.unsettled();
  }

  // --- posted-price pools ------------------------------------------------------------------------------------

  async createPool(b: CreatePoolInput, audit?: AuditContext) {
    const id = b.id ?? newId('pool');
    const congestion = b.mode === 'congestion';
    if (b.mode === 'fixed' && b.supply === undefined)
      throw new AppError('MECHANISM_INVALID_CONFIG', 'A fixed-price pool needs a supply.', { field: 'supply' });
    if (congestion && (b.capacityPerEpoch === undefined || b.minPrice === undefined || b.epochMs === undefined))
      throw new AppError('MECHANISM_INVALID_CONFIG', 'A congestion-priced pool needs capacityPerEpoch, minPrice and epochMs.');
    await this.submit({
      kind: 'pool_create',
      poolId: id,
      asset: b.asset,
      mode: b.mode,
      price: price(b.price),
      supply: b.supply !== undefined ? units(b.supply, 'supply') : 0n,
      capacityPerEpoch: b.capacityPerEpoch !== undefined ? parseAmount(b.capacityPerEpoch, 0) : 0n,
      minPrice: b.minPrice !== undefined ? price(b.minPrice) : 0n,
      maxPrice: b.maxPrice !== undefined ? price(b.maxPrice) : BigInt(Number.MAX_SAFE_INTEGER),
      epochMs: b.epochMs ?? 0,
      ...(audit ? { audit } : {}),
    });
    if (congestion) await this.scheduling?.poolCreated(id, b.epochMs as number);
    return this.pool(id);
  }

  async pool(id: string) {
    const p = await this.repo.pool(id);
    if (!p) throw new AppError('AUCTION_POOL_NOT_FOUND', undefined, { poolId: id });
    return poolView(p, await this.repo.history(id, POOL_HISTORY_VIEW));
  }

  async pools() {
    return { pools: await Promise.all((await this.repo.pools()).map(async (p) => poolView(p, await this.repo.history(p.id, 10)))) };
  }

  /**
   * Buys at the posted price, all or nothing, never above maxPrice per unit; debits and delivers at once. With a
   * clientPurchaseId a retry (the same pool, units and maxPrice) answers the first purchase and buys nothing again;
   * another body under the same id is a 409 AUCTION_CLIENT_ID_CONFLICT.
   */
  async buy(agentId: string, poolId: string, b: { units: string; maxPrice: string; clientPurchaseId?: string }) {
    const n = units(b.units, 'units');
    const max = price(b.maxPrice);
    const cid = b.clientPurchaseId;
    const r = await this.submit({
      kind: 'pool_buy',
      poolId,
      agentId,
      units: n,
      maxPrice: max,
      ...(cid !== undefined ? { clientPurchaseId: cid } : {}),
    });
    if (r.duplicateTransfer && cid !== undefined) {
      const first = await this.repo.purchaseByClientId(agentId, cid);
      if (!first || first.pool_id !== poolId || BigInt(first.units) !== n || first.max_price === null || BigInt(first.max_price) !== max)
        throw new AppError('AUCTION_CLIENT_ID_CONFLICT', undefined, {
          clientPurchaseId: cid,
          poolId: first?.pool_id ?? null,
          seq: first?.seq ?? null,
        });
      return { ...purchaseView(first), replayed: true };
    }
    // the purchase as its batch committed it (the row written with it holds the same)
    const d = r.details as { price: string; cost: string; epoch: number };
    return {
      ...purchaseView({
        pool_id: poolId,
        seq: r.seq as string,
        agent_id: agentId,
        units: n.toString(),
        price: d.price,
        cost: d.cost,
        epoch: d.epoch,
        created_at: new Date(),
        client_purchase_id: cid ?? null,
        max_price: max.toString(),
      }),
      replayed: false,
    };
  }

  /** An epoch tick of a congestion pool (closes the epochs that ended: their history rows). */
  async tick(poolId: string): Promise<void> {
    await this.submit({ kind: 'pool_epoch', poolId });
  }

  async congestionPools(): Promise<{ id: string; epochMs: number }[]> {
    return (await this.repo.pools()).filter((p) => p.mode === 'congestion').map((p) => ({ id: p.id, epochMs: p.epoch_ms }));
  }
}
