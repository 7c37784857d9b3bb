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
  | { kind: 'balance'; agentId: string; asset: string; total: bigint; reserved: bigint };

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

export class EventOutlet {
  private readonly subscribers = new Set<OutletSubscriber>();

  constructor(private readonly onError: (err: Error) => void = () => undefined) {}

  /** Adds a subscriber; returns the function that removes it. */
  subscribe(fn: OutletSubscriber): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** Whether anyone listens (the host builds events only then). */
  get active(): boolean {
    return this.subscribers.size > 0;
  }

  /** Hands a committed batch to every subscriber; one that throws is reported and does not stop the others. */
  emit(batch: CommittedBatch): void {
    for (const fn of this.subscribers) {
      try {
        fn(batch);
      } catch (e) {
        this.onError(e as Error);
      }
    }
  }
}
