import type { AuctionEffects, AuctionOp, AuctionState, SettleOp } from './auctions';
import type { AuctionBidEvent, AuctionEvent, CommittedEvent } from './outlet';

/**
 * The open bids of an auction before an op that ends it (a settlement or a cancellation clears them); a settlement
 * of a cleared auction (`settle_cleared`) also takes the clearing it applies and each bid's bundles' items.
 */
export type BidsBefore = { agent: number; hold: number; bundles?: string[][] }[] & { cleared?: SettleOp };

const ENDING = new Set(['settle', 'settle_c', 'settle_cleared', 'cancel']);

/** The bids an op is about to clear: taken before it applies (settlements and cancel only; nothing for the others). */
export function bidsBefore(state: AuctionState, op: AuctionOp): BidsBefore {
  if (!ENDING.has(op.op)) return [];
  const a = state.auction(op.id);
  if (!a) return [];
  const bids: BidsBefore = [...a.bids.values()].map((b) => ({
    agent: b.agent,
    hold: b.hold,
    ...(b.bundles ? { bundles: b.bundles.map((x) => [...x.items]) } : {}),
  }));
  if (op.op === 'settle_cleared' && a.cleared) bids.cleared = a.cleared;
  return bids;
}

/**
 * What an accepted auction op did, as outlet events (outlet.ts AuctionEvent, AuctionBidEvent): the auction's own
 * (created, closed, settled with its result summary, cancelled) and each bidder's (placed, withdrawn, won, lost,
 * released). Pools have none (their purchases show as balances). Built only when the outlet has subscribers.
 */
export function auctionEvents(
  state: AuctionState,
  op: AuctionOp,
  before: BidsBefore,
  e: AuctionEffects,
  idOf: (agent: number) => string,
): CommittedEvent[] {
  if (op.op.startsWith('pool')) return [];
  const a = state.auction(op.id);
  if (!a) return [];
  const auction = (event: AuctionEvent['event'], extra: Partial<AuctionEvent> = {}): AuctionEvent => ({
    kind: 'auction',
    event,
    auctionId: a.id,
    mechanism: a.mechanism,
    sellerId: a.seller === null ? null : idOf(a.seller),
    asset: a.asset,
    units: a.units,
    reservePrice: a.reservePrice,
    deadline: a.deadline,
    bids: a.bids.size,
    ...extra,
  });
  const bid = (agent: number, event: AuctionBidEvent['event'], extra: Partial<AuctionBidEvent> = {}): AuctionBidEvent => ({
    kind: 'auction_bid',
    event,
    auctionId: a.id,
    agentId: idOf(agent),
    ...extra,
  });
  switch (op.op) {
    case 'create':
      return [auction('created')];
    case 'close':
      return [auction('closed')];
    case 'bid':
      return [bid(op.agent, 'placed', { hold: BigInt(e.row['hold'] as string) })];
    case 'withdraw':
      return [bid(op.agent, 'withdrawn', { hold: BigInt(e.row['released'] as string) })];
    case 'cancel':
      return [auction('cancelled', { bids: before.length }), ...before.map((x) => bid(x.agent, 'released', { hold: BigInt(x.hold) }))];
    case 'settle': {
      const won = new Map(op.awards.map(([agent, units, payment]) => [agent, { units: BigInt(units), payment: BigInt(payment) }]));
      const result = { unitsSold: BigInt(op.unitsSold), revenue: BigInt(op.revenue), winners: won.size };
      return [
        auction('settled', { bids: before.length, result }),
        ...before.map((x) => {
          const w = won.get(x.agent);
          return w ? bid(x.agent, 'won', w) : bid(x.agent, 'lost');
        }),
      ];
    }
    case 'settle_cleared':
      // the settlement of the clearing the auction held since it was cleared: the events of a settlement with it
      return before.cleared ? auctionEvents(state, before.cleared, before, e, idOf) : [];
    case 'settle_c': {
      // the awards as the clearing's row has them, or (a cleared auction's settlement) from the bids' bundles
      const fromRow = (e.row['clearing'] as { awards?: { agentId: string; items: string[]; payment: string }[] } | undefined)?.awards;
      const byAgent = new Map(before.map((x) => [x.agent, x]));
      const rows =
        fromRow ?? op.awards.map(([agent, k, payment]) => ({ agentId: idOf(agent), items: byAgent.get(agent)?.bundles?.[k] ?? [], payment }));
      const awards = rows.map((w) => [w.agentId, w] as const);
      const won = new Map(awards);
      const sold = awards.reduce((n, [, w]) => n + w.items.length, 0);
      const result = { unitsSold: BigInt(sold), revenue: BigInt(op.revenue), winners: won.size };
      return [
        auction('settled', { bids: before.length, result }),
        ...before.map((x) => {
          const w = won.get(idOf(x.agent));
          return w ? bid(x.agent, 'won', { units: BigInt(w.items.length), items: w.items, payment: BigInt(w.payment) }) : bid(x.agent, 'lost');
        }),
      ];
    }
    default:
      return [];
  }
}
