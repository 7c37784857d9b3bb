import type { MarketState, MatchingCancelReason, MatchingCode, MatchingEvent, OrderSide } from '@ate/contracts';

/**
 * Where the engine writes its events: one method per kind with positional arguments, so the hot path
 * allocates nothing. `seq` is the market's event sequence number (consecutive, starting at 1).
 * Use CollectingSink to get plain MatchingEvent objects.
 */
export interface EventSink {
  accepted(seq: number, orderId: number, agent: number, side: OrderSide, price: number, lots: number, spend: number): void;
  rejected(seq: number, orderId: number, agent: number, code: MatchingCode): void;
  trade(
    seq: number,
    makerOrderId: number,
    takerOrderId: number,
    makerAgent: number,
    takerAgent: number,
    takerSide: OrderSide,
    price: number,
    lots: number,
    notional: number,
  ): void;
  cancelled(seq: number, orderId: number, agent: number, lots: number, reason: MatchingCancelReason): void;
  expired(seq: number, orderId: number, agent: number, lots: number): void;
  reduced(seq: number, orderId: number, agent: number, byLots: number, lots: number): void;
  amended(seq: number, orderId: number, agent: number, price: number, lots: number, keptPriority: boolean): void;
  book(seq: number, side: OrderSide, price: number, lots: number): void;
  state(seq: number, state: MarketState): void;
  funds(seq: number, agent: number, asset: 'credit' | 'base', amount: number): void;
}

/** Collects events as plain objects (tests, the engine app). */
export class CollectingSink implements EventSink {
  events: MatchingEvent[] = [];
  take(): MatchingEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }
  accepted(seq: number, orderId: number, agent: number, side: OrderSide, price: number, lots: number, spend: number): void {
    this.events.push({ kind: 'accepted', seq, orderId, agent, side, price, lots, spend });
  }
  rejected(seq: number, orderId: number, agent: number, code: MatchingCode): void {
    this.events.push({ kind: 'rejected', seq, orderId, agent, code });
  }
  trade(
    seq: number,
    makerOrderId: number,
    takerOrderId: number,
    makerAgent: number,
    takerAgent: number,
    takerSide: OrderSide,
    price: number,
    lots: number,
    notional: number,
  ): void {
    this.events.push({ kind: 'trade', seq, makerOrderId, takerOrderId, makerAgent, takerAgent, takerSide, price, lots, notional });
  }
  cancelled(seq: number, orderId: number, agent: number, lots: number, reason: MatchingCancelReason): void {
    this.events.push({ kind: 'cancelled', seq, orderId, agent, lots, reason });
  }
  expired(seq: number, orderId: number, agent: number, lots: number): void {
    this.events.push({ kind: 'expired', seq, orderId, agent, lots });
  }
  reduced(seq: number, orderId: number, agent: number, byLots: number, lots: number): void {
    this.events.push({ kind: 'reduced', seq, orderId, agent, byLots, lots });
  }
  amended(seq: number, orderId: number, agent: number, price: number, lots: number, keptPriority: boolean): void {
    this.events.push({ kind: 'amended', seq, orderId, agent, price, lots, keptPriority });
  }
  book(seq: number, side: OrderSide, price: number, lots: number): void {
    this.events.push({ kind: 'book', seq, side, price, lots });
  }
  state(seq: number, state: MarketState): void {
    this.events.push({ kind: 'state', seq, state });
  }
  funds(seq: number, agent: number, asset: 'credit' | 'base', amount: number): void {
    this.events.push({ kind: 'funds', seq, agent, asset, amount });
  }
}

/** Discards events (they are still produced: the engine does all the work up to the call). */
export class NullSink implements EventSink {
  count = 0;
  accepted(): void {
    this.count++;
  }
  rejected(): void {
    this.count++;
  }
  trade(): void {
    this.count++;
  }
  cancelled(): void {
    this.count++;
  }
  expired(): void {
    this.count++;
  }
  reduced(): void {
    this.count++;
  }
  amended(): void {
    this.count++;
  }
  book(): void {
    this.count++;
  }
  state(): void {
    this.count++;
  }
  funds(): void {
    this.count++;
  }
}
