import { CREDIT, MatchingCommand, MatchingEvent, Rejection } from '@ate/contracts';
import type { BalanceView } from '@ate/matching';
import type { HostMarket } from './host-types';
import type { OrderFills } from './projections';
import { Trade, TradeFees, tradeFees } from './settlement';

/**
 * The stages a matching command goes through inside the sequencer, in this order, live and in replay alike:
 *
 *   pre-trade  ->  matching (libs/matching)  ->  post-trade
 *
 * Both stages are deterministic functions of the host's state and the logged command (no clock, no I/O), so a
 * replay of the log takes exactly the same decisions. The pre-trade stage may refuse a command before it reaches
 * the book (budgets, approvals, per-agent risk): the command is still logged, and replay refuses it again. The
 * post-trade stage sees what matching did: it takes the fees, tracks each open order's fills, and may account for
 * what a trade means beyond the book (spend against a budget).
 */

/** What a pre-trade check sees: the market, the agent (id and number), and the host's state read-only. */
export interface PreTradeContext {
  market: HostMarket;
  agentId: string;
  balances: BalanceView;
  fills: ReadonlyMap<number, OrderFills>;
}

/** Refuses a command (a rejection with a stable code and details) or lets it through (null). */
export type PreTradeCheck = (ctx: PreTradeContext, c: MatchingCommand) => Rejection | null;

/** What a post-trade step sees: what matching did, with each trade's fees (in event order). */
export interface PostTradeContext {
  market: HostMarket;
  command: MatchingCommand;
  events: MatchingEvent[];
  fees: TradeFees[];
}

export type PostTradeStep = (ctx: PostTradeContext) => void;

/** The state the built-in post-trade step works on. */
export interface SettlementState {
  balances: BalanceView;
  fills: Map<number, OrderFills>;
  agentIdOf(num: number): string;
}

/**
 * The built-in post-trade work, in one pass over the events in order: a new order starts its fill record; a
 * trade's fees are computed from both orders' running totals (settlement.ts), taken out of the balance view (the
 * ledger's fees accounts get them in the settlement transfer), and both orders' totals grow. Returns each trade's
 * fees, in event order.
 */
export function settleTrades(s: SettlementState, m: HostMarket, events: MatchingEvent[]): TradeFees[] {
  const fees: TradeFees[] = [];
  const lotSize = m.config.lotSize;
  for (const e of events) {
    if (e.kind === 'accepted') {
      s.fills.set(e.orderId, { marketId: m.id, agentId: s.agentIdOf(e.agent), filled: 0, notional: 0 });
    } else if (e.kind === 'trade') {
      const [buyerOrder, sellerOrder] = e.takerSide === 'buy' ? [e.takerOrderId, e.makerOrderId] : [e.makerOrderId, e.takerOrderId];
      const b = s.fills.get(buyerOrder);
      const so = s.fills.get(sellerOrder);
      const f = tradeFees(m, e, (b?.filled ?? 0) * lotSize, so?.notional ?? 0);
      takeFees(s.balances, m, e, f);
      fees.push(f);
      for (const o of [b, so]) {
        if (o) {
          o.filled += e.lots;
          o.notional += e.notional;
        }
      }
    }
  }
  return fees;
}

function takeFees(balances: BalanceView, m: HostMarket, e: Trade, f: TradeFees): void {
  const [buyer, seller] = e.takerSide === 'buy' ? [e.takerAgent, e.makerAgent] : [e.makerAgent, e.takerAgent];
  // each side just received more than its fee (fee <= 10% of what it received, rounded up by at most one unit)
  if (f.buyerFee > 0 && !balances.withdraw(buyer, balances.assetIndex(m.config.baseAsset), f.buyerFee)) {
    throw new Error(`fee of ${f.buyerFee} could not be taken from agent ${buyer}`);
  }
  if (f.sellerFee > 0 && !balances.withdraw(seller, balances.assetIndex(CREDIT), f.sellerFee)) {
    throw new Error(`fee of ${f.sellerFee} could not be taken from agent ${seller}`);
  }
}

/** Forgets the fill records of orders that no longer rest (their rows are final). */
export function forgetEnded(fills: Map<number, OrderFills>, m: HostMarket, events: MatchingEvent[]): void {
  for (const e of events) {
    const id = e.kind === 'accepted' || e.kind === 'cancelled' || e.kind === 'expired' ? e.orderId : e.kind === 'trade' ? e.makerOrderId : 0;
    if (id && !m.engine.order(id)) fills.delete(id);
  }
}
