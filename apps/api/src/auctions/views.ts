import { CREDIT_SCALE, formatAmount } from '@ate/contracts';
import type { AuctionRow, BidRow, EpochRow, PoolRow, PurchaseRow } from './auctions.repository';

/** Credits (minor units, a decimal string in the database) as the API shows them. */
export const credits = (minor: string | bigint): string => formatAmount(BigInt(minor), CREDIT_SCALE);

export function auctionView(a: AuctionRow) {
  return {
    id: a.id,
    mechanism: a.mechanism,
    sellerAgentId: a.seller_agent_id,
    asset: a.asset,
    units: a.units,
    items: itemsView(a),
    reservePrice: credits(a.reserve_price),
    feeBps: a.fee_bps,
    deadline: a.deadline.toISOString(),
    status: a.status,
    createdSeq: a.created_seq,
    closedSeq: a.closed_seq,
    clearedSeq: a.cleared_seq,
    settledSeq: a.settled_seq,
  };
}

/** A combinatorial auction's items, each with its reserve (credits for the whole item: below it, no bundle with it wins). */
function itemsView(a: AuctionRow) {
  return a.items === null
    ? null
    : a.items.map((it) => ({ id: it.id, asset: it.asset, units: it.units, reservePrice: credits(it.reservePrice ?? '0') }));
}

type Bundles = { items: string[]; value: string }[];
const isSteps = (x: BidRow['steps'] | Bundles): x is BidRow['steps'] => x.length === 0 || Array.isArray(x[0]);
/** A bid's content: steps (multi-unit) or bundles (combinatorial), prices in credits. */
function bidContent(raw: BidRow['steps']) {
  const x = raw as BidRow['steps'] | Bundles;
  return isSteps(x)
    ? { steps: x.map(([units, price]) => ({ units, price: credits(price) })) }
    : { bundles: x.map((bu) => ({ items: bu.items, value: credits(bu.value) })) };
}

export function bidView(b: BidRow) {
  return {
    auctionId: b.auction_id,
    agentId: b.agent_id,
    ...bidContent(b.steps),
    hold: credits(b.hold),
    status: b.status,
    unitsWon: b.units_won,
    payment: b.payment === null ? null : credits(b.payment),
    seq: b.seq,
    clientBidId: b.client_bid_id,
  };
}

/** The results of a cleared (or settled) auction: the allocation, the payments, and every input an auditor needs to recompute them. */
export function resultsView(a: AuctionRow, bids: BidRow[]) {
  const c = a.clearing;
  if (!c) throw new Error(`auction ${a.id} is ${a.status} without a clearing`);
  if (a.mechanism !== 'vcg_multi_unit') {
    return {
      auction: auctionView(a),
      rule:
        a.mechanism === 'core_combinatorial'
          ? 'Combinatorial, core-selecting payments: minimum revenue in the core, nearest to VCG (Day-Cramton); winner determination an IP solved by HiGHS. Reserves: the seller bids its items at their reserves; a bundle below the sum of its items reserves is out; payments are computed in surplus over the reserves, plus the reserve.'
          : "Combinatorial VCG: the allocation of most reported value (an IP solved by HiGHS, XOR between one bidder's bundles); each winner pays its externality. Reserves: the seller bids its items at their reserves; a bundle below the sum of its items' reserves is out; a winner pays its bundle's reserve plus its externality over the reserves.",
      allocation: c.awards.map((w) => ({
        agentId: w.agentId,
        bundle: w.bundle ?? null,
        items: w.items ?? [],
        value: credits(w.value),
        vcgPayment: credits(w.vcgPayment ?? '0'),
        payment: credits(w.payment),
      })),
      itemsSold: c.itemsSold ?? [],
      itemsUnsold: c.itemsUnsold ?? [],
      revenue: credits(c.revenue),
      welfare: credits(c.welfare),
      fees: credits(c.fees),
      inputs: {
        items: itemsView(a) ?? [],
        bids: bids.map((b) => ({ agentId: b.agent_id, seq: b.seq, ...bidContent(b.steps) })),
      },
    };
  }
  return {
    auction: auctionView(a),
    rule: 'Multi-unit VCG (Clarke pivot, the seller valuing each unit at the reserve); equal prices go to the earlier bid (sequence order), then the earlier step.',
    allocation: c.awards.map((w) => ({ agentId: w.agentId, units: w.units, value: credits(w.value), payment: credits(w.payment) })),
    unitsSold: c.unitsSold ?? '0',
    unitsUnsold: c.unitsUnsold ?? '0',
    revenue: credits(c.revenue),
    welfare: credits(c.welfare),
    fees: credits(c.fees),
    inputs: {
      units: a.units,
      reservePrice: credits(a.reserve_price),
      /** in sequence order: the tie rule's priority */
      bids: bids.map((b) => ({ agentId: b.agent_id, seq: b.seq, ...bidContent(b.steps) })),
    },
  };
}

export function poolView(p: PoolRow, history: EpochRow[]) {
  const epochEndsAt = p.mode === 'congestion' ? new Date(p.started_at.getTime() + (p.epoch + 1) * p.epoch_ms).toISOString() : null;
  return {
    id: p.id,
    mode: p.mode,
    asset: p.asset,
    price: credits(p.price),
    ...(p.mode === 'fixed'
      ? { supply: p.supply, sold: p.sold, remaining: String(BigInt(p.supply ?? '0') - BigInt(p.sold)) }
      : {
          capacityPerEpoch: p.capacity_per_epoch,
          minPrice: credits(p.min_price ?? '0'),
          maxPrice: credits(p.max_price ?? '0'),
          epochMs: p.epoch_ms,
          epoch: p.epoch,
          used: p.used,
          remaining: String(BigInt(p.capacity_per_epoch ?? '0') - BigInt(p.used)),
          epochEndsAt,
        }),
    history: history.map((h) => ({ epoch: h.epoch, price: credits(h.price), used: h.used, nextPrice: credits(h.next_price) })),
  };
}

export function purchaseView(p: PurchaseRow) {
  return {
    poolId: p.pool_id,
    seq: p.seq,
    agentId: p.agent_id,
    units: p.units,
    price: credits(p.price),
    cost: credits(p.cost),
    epoch: p.epoch,
    clientPurchaseId: p.client_purchase_id,
    maxPrice: p.max_price === null ? null : credits(p.max_price),
  };
}
