import { CREDIT, MatchingEvent } from '@ate/contracts';
import { LedgerRequest, mintOrBurnRequest } from '@ate/ledger';
import type { FeeRounding, HostMarket } from './host-types';

/**
 * Settlement: what each trade costs in fees and the ledger transfers of trades and of funds movements.
 *
 * Fees are taken from what each side receives (the buyer pays in the base asset, the seller in credits), at the
 * maker or taker rate of that side. Rounding is per market (`fee_rounding`):
 *  - 'up' (every market created since the setting exists): each order's fees so far are its running total
 *    (base bought, credits received) times the rate, rounded UP; a fill pays the increase. An order's fees are
 *    therefore exactly ceil(total x rate) however it was filled, and splitting it into several orders pays at
 *    least as much (ceil is superadditive): splitting never pays.
 *  - 'down' (markets created before): each fill's fee rounded down on its own (kept so their logs replay as they
 *    were committed).
 */

export type Trade = Extract<MatchingEvent, { kind: 'trade' }>;

export interface TradeFees {
  buyerFee: number;
  sellerFee: number;
}

const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

/** The fee on an order's running total going from `before` to `before + amount` (minor units). */
export function feeIncrement(rounding: FeeRounding, bps: number, before: number, amount: number): number {
  const r = BigInt(bps);
  if (rounding === 'down') return Number((BigInt(amount) * r) / 10_000n);
  return Number(ceilDiv((BigInt(before) + BigInt(amount)) * r, 10_000n) - ceilDiv(BigInt(before) * r, 10_000n));
}

/**
 * The fees of one trade, given what the buyer's order had bought (base units) and the seller's order had received
 * (credits) before it.
 */
export function tradeFees(m: HostMarket, e: Trade, buyerBaseBefore: number, sellerNotionalBefore: number): TradeFees {
  const buyerIsTaker = e.takerSide === 'buy';
  const buyerBps = buyerIsTaker ? m.takerFeeBps : m.makerFeeBps;
  const sellerBps = buyerIsTaker ? m.makerFeeBps : m.takerFeeBps;
  return {
    buyerFee: feeIncrement(m.feeRounding, buyerBps, buyerBaseBefore, e.lots * m.config.lotSize),
    sellerFee: feeIncrement(m.feeRounding, sellerBps, sellerNotionalBefore, e.notional),
  };
}

/** Ledger account ids by (agent, asset), and the system accounts. */
export interface AccountIds {
  agent(agentId: string, asset: string): string;
  system(name: 'fees' | 'issuance' | 'redemption', asset: string): string;
}

/**
 * The settlement transfer of a trade: the buyer's credits to the seller and the seller's base asset to the buyer,
 * each side's fee netted from what it receives and credited to the fees account of that asset. Legs of zero
 * (a fee that took all of a one-unit fill) are left out; the ledger refuses empty legs.
 */
export function settlementTransfer(m: HostMarket, e: Trade, fees: TradeFees, buyer: string, seller: string, ids: AccountIds): LedgerRequest {
  const notional = BigInt(e.notional);
  const base = BigInt(e.lots) * BigInt(m.config.lotSize);
  const base_ = m.config.baseAsset;
  const legs = [
    { accountId: ids.agent(buyer, CREDIT), side: 'debit' as const, amount: notional },
    { accountId: ids.agent(seller, CREDIT), side: 'credit' as const, amount: notional - BigInt(fees.sellerFee) },
    { accountId: ids.system('fees', CREDIT), side: 'credit' as const, amount: BigInt(fees.sellerFee) },
    { accountId: ids.agent(seller, base_), side: 'debit' as const, amount: base },
    { accountId: ids.agent(buyer, base_), side: 'credit' as const, amount: base - BigInt(fees.buyerFee) },
    { accountId: ids.system('fees', base_), side: 'credit' as const, amount: BigInt(fees.buyerFee) },
  ];
  return {
    kind: 'transfer',
    type: 'settlement',
    id: `trade:${base_}:${e.seq}`, // ledger ids allow no slash; one market per base asset
    ref: { kind: 'trade', id: `${m.id}:${e.seq}` },
    legs: legs.filter((l) => l.amount > 0n),
  };
}

/** The ledger transfer of a deposit (mint) or a withdrawal (burn) that the engine accepted. */
export function fundsTransfer(
  op: 'deposit' | 'withdraw',
  transferId: string,
  agentAccount: string,
  issuanceAccount: string,
  amount: bigint,
): LedgerRequest {
  return mintOrBurnRequest(op === 'deposit' ? 'mint' : 'burn', transferId, { agent: agentAccount, issuance: issuanceAccount }, amount);
}
