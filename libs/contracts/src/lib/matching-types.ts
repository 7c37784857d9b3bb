/**
 * Commands and events of the matching engine (libs/matching), shared with the engine app and the API.
 * Prices are integer ticks, sizes integer lots, spends and notionals integer credits (minor units), times
 * integer milliseconds chosen by the sequencer (the engine never reads a clock).
 */
export { MATCHING_CANCEL_REASONS } from './codes/matching';
export type { MatchingCode, MatchingCancelReason } from './codes/matching';
import type { MatchingCode, MatchingCancelReason } from './codes/matching';

export type OrderSide = 'buy' | 'sell';
/** GTC rests until cancelled; GTD until `expiresAt`; IOC cancels what it did not fill; FOK fills fully or has no effect. */
export type TimeInForce = 'GTC' | 'GTD' | 'IOC' | 'FOK';
/** Self-trade prevention, applied by the taker's mode only where a trade would otherwise happen. */
export type StpMode = 'cancel_taker' | 'cancel_maker' | 'cancel_both' | 'decrement_cancel';
export type MarketState = 'open' | 'cancel_only' | 'halted';

interface CommandBase {
  /** Command time in ms; non-decreasing per market. GTD orders with expiresAt <= ts expire before the command. */
  ts: number;
}
export interface LimitOrderCommand extends CommandBase {
  type: 'limit';
  orderId: number;
  agent: number;
  side: OrderSide;
  price: number;
  lots: number;
  tif: TimeInForce;
  expiresAt?: number;
  postOnly?: boolean;
  stp?: StpMode;
  clientOrderId?: string;
  /**
   * The host gave this order its id earlier and held it (an order waiting for its principal's approval): it may be
   * below the market's last order id; it is refused as a duplicate only if an order with that id rests here.
   */
  heldId?: true;
}
/** A market order sized either by `lots` or by `spend` (credits to spend for a buy, proceeds to raise for a sell). */
export interface MarketOrderCommand extends CommandBase {
  type: 'market';
  orderId: number;
  agent: number;
  side: OrderSide;
  lots?: number;
  spend?: number;
  stp?: StpMode;
  clientOrderId?: string;
  /** as LimitOrderCommand.heldId */
  heldId?: true;
}
export interface CancelCommand extends CommandBase {
  type: 'cancel';
  agent: number;
  orderId: number;
}
export interface CancelByClientIdCommand extends CommandBase {
  type: 'cancel_client';
  agent: number;
  clientOrderId: string;
}
export interface CancelAllCommand extends CommandBase {
  type: 'cancel_all';
  agent: number;
  /** the reason its cancels carry when the exchange cancels (e.g. an allowance expired); absent: MATCHING_CANCEL_ALL */
  reason?: MatchingCancelReason;
}
/** `lots` is the new open size. Priority is kept only when the price is unchanged and the size does not grow. */
export interface AmendCommand extends CommandBase {
  type: 'amend';
  agent: number;
  orderId: number;
  price: number;
  lots: number;
}
export interface SetStateCommand extends CommandBase {
  type: 'set_state';
  state: MarketState;
}
/** Lets time pass (GTD expiry) without doing anything else. */
export interface TickCommand extends CommandBase {
  type: 'tick';
}
/** Moves funds into / out of the engine's in-memory balance view (fed by the ledger). `asset` is 'credit' or 'base'. */
export interface FundsCommand extends CommandBase {
  type: 'deposit' | 'withdraw';
  agent: number;
  asset: 'credit' | 'base';
  amount: number;
}
export type MatchingCommand =
  | LimitOrderCommand
  | MarketOrderCommand
  | CancelCommand
  | CancelByClientIdCommand
  | CancelAllCommand
  | AmendCommand
  | SetStateCommand
  | TickCommand
  | FundsCommand;

/** Every event carries `seq`, consecutive per market (a feed client that sees a gap asks for a snapshot). */
export type MatchingEvent =
  | { kind: 'accepted'; seq: number; orderId: number; agent: number; side: OrderSide; price: number; lots: number; spend: number }
  | { kind: 'rejected'; seq: number; orderId: number; agent: number; code: MatchingCode }
  | {
      kind: 'trade';
      seq: number;
      makerOrderId: number;
      takerOrderId: number;
      makerAgent: number;
      takerAgent: number;
      /** side of the taker: 'buy' means the taker bought from the maker */
      takerSide: OrderSide;
      price: number;
      lots: number;
      /** price x tickSize x lots, in credits: what the buyer pays the seller */
      notional: number;
    }
  | { kind: 'cancelled'; seq: number; orderId: number; agent: number; lots: number; reason: MatchingCancelReason }
  | { kind: 'expired'; seq: number; orderId: number; agent: number; lots: number }
  | { kind: 'reduced'; seq: number; orderId: number; agent: number; byLots: number; lots: number }
  | { kind: 'amended'; seq: number; orderId: number; agent: number; price: number; lots: number; keptPriority: boolean }
  | { kind: 'book'; seq: number; side: OrderSide; price: number; lots: number }
  | { kind: 'state'; seq: number; state: MarketState }
  | { kind: 'funds'; seq: number; agent: number; asset: 'credit' | 'base'; amount: number };
