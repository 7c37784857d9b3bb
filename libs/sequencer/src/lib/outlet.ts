import type { MatchingEvent } from '@ate/contracts';
import type { CommittedBook } from './host-types';

/**
 * The one outlet for what happened: after each batch COMMITs, the host emits what its commands did, with each
 * command's seq (its place in engine_command), to every subscriber in this process; the engine node publishes the
 * same over Redis. Events of a batch that rolls back never come out. The feed, an audit log and scheduled jobs
 * hang off it; none of them reaches into the host.
 */

type Of<K extends MatchingEvent['kind']> = Extract<MatchingEvent, { kind: K }>;

/** An engine event with the agents named by id (the engine numbers them). */
export type CommittedEvent =
  | (Of<'accepted' | 'rejected' | 'cancelled' | 'expired' | 'reduced' | 'amended'> & { agentId: string })
  | (Of<'trade'> & { makerAgentId: string; takerAgentId: string; buyerFee: number; sellerFee: number })
  | Of<'book'>
  | Of<'state'>
  /** an agent's holding of an asset after the command: total, and what its open orders reserve (minor units) */
  | { kind: 'balance'; agentId: string; asset: string; total: bigint; reserved: bigint }
  | AuctionEvent
  | AuctionBidEvent;

/**
 * An auction's life as committed (auction-events.ts): created (it opens for bids at once), closed (its deadline
 * passed and it was closed), settled (the clearing applied: `result`), cancelled (holds and escrow released).
 * Amounts in minor units (credits) and units of the asset; combinatorial auctions have asset '' and units 0.
 */
export interface AuctionEvent {
  kind: 'auction';
  event: 'created' | 'closed' | 'settled' | 'cancelled';
  auctionId: string;
  mechanism: string;
  sellerId: string | null;
  asset: string;
  units: bigint;
  reservePrice: bigint;
  deadline: number;
  /** open bids when it happened (before a settlement or a cancellation cleared them) */
  bids: number;
  /** settled: units sold (combinatorial: items sold), the revenue, the winners */
  result?: { unitsSold: bigint; revenue: bigint; winners: number };
}

/**
 * One agent's bid: placed (its maximum payment held), withdrawn (released), and at the end won (units or items,
 * payment), lost, or released (the auction cancelled). For the agent's private channel.
 */
export interface AuctionBidEvent {
  kind: 'auction_bid';
  event: 'placed' | 'withdrawn' | 'won' | 'lost' | 'released';
  auctionId: string;
  agentId: string;
  /** placed: the credits held; withdrawn/released: the credits released */
  hold?: bigint;
  /** won: units (multi-unit) or items won (combinatorial: their count; `items` names them) */
  units?: bigint;
  items?: string[];
  payment?: bigint;
}

/** One logged command and what it did. `marketId` is null for a funds movement (balances are shared). */
export interface CommittedCommand {
  seq: number;
  marketId: string | null;
  ts: number;
  events: CommittedEvent[];
}

/** What one committed batch did, in sequence order; `books` holds each market it changed, as committed. */
export interface CommittedBatch {
  /** the last command seq of the batch */
  seq: number;
  commands: CommittedCommand[];
  books: Map<string, CommittedBook>;
  /** true for commands re-emitted at recovery (their first emission may not have reached every subscriber) */
  replayed?: boolean;
}

export type OutletSubscriber = (batch: CommittedBatch) => void;

/** What a subscriber needs of each batch; left out, everything. */
export interface OutletInterest {
  /**
   * Whether it needs the events of agents (orders' accepted, cancelled, ... and balances), asked as each batch
   * starts: the feed needs them only while someone follows an agent. Trades, books and states always come.
   */
  agents?: () => boolean;
}

export class EventOutlet {
  private readonly subscribers = new Map<OutletSubscriber, OutletInterest>();

  constructor(private readonly onError: (err: Error) => void = () => undefined) {}

  /** Adds a subscriber; returns the function that removes it. */
  subscribe(fn: OutletSubscriber, interest: OutletInterest = {}): () => void {
    this.subscribers.set(fn, interest);
    return () => this.subscribers.delete(fn);
  }

  /** Whether anyone listens (the host builds events only then). */
  get active(): boolean {
    return this.subscribers.size > 0;
  }

  /** Whether any subscriber needs agents' events now (the host builds them only then). */
  get wantsAgents(): boolean {
    for (const i of this.subscribers.values()) if (!i.agents || i.agents()) return true;
    return false;
  }

  /** Hands a committed batch to every subscriber; one that throws is reported and does not stop the others. */
  emit(batch: CommittedBatch): void {
    for (const fn of this.subscribers.keys()) {
      try {
        fn(batch);
      } catch (e) {
        this.onError(e as Error);
      }
    }
  }
}
