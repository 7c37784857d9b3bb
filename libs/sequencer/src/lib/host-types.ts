import type { ErrorCode, MarketState, MatchingEvent, OrderSide, StpMode, TimeInForce } from '@ate/contracts';
import type { CollectingSink, MarketConfig, MatchingEngine } from '@ate/matching';
import type { ApprovalCommand } from './approvals';
import type { AuctionCommand } from './auctions';
import type { BudgetOp, CommandActor, PrincipalFunds } from './budget-handlers';
import type { AuditContext } from './audit';
import type { MarketRules } from './market-rules';

/** The commands of the engine host and what it answers: the sequencer's public vocabulary. */

export interface PlaceOrder {
  type: 'limit' | 'market';
  side: OrderSide;
  /** ticks (limit) */
  price?: number;
  lots?: number;
  /** credits, minor units (market by spend) */
  spend?: number;
  tif?: TimeInForce;
  postOnly?: boolean;
  stp?: StpMode;
  expiresAt?: number;
  clientOrderId?: string;
}

export type HostCommand = (
  | { kind: 'place'; marketId: string; agentId: string; order: PlaceOrder }
  | { kind: 'cancel'; marketId: string; agentId: string; orderId: number }
  | { kind: 'cancel_all'; agentId: string; marketId?: string }
  | { kind: 'amend'; marketId: string; agentId: string; orderId: number; price: number; lots: number }
  | { kind: 'set_state'; marketId: string; state: MarketState }
  /** lets time pass in a market: GTD orders due by now expire */
  | { kind: 'tick'; marketId: string }
  | { kind: 'funds'; op: 'deposit' | 'withdraw'; agentId: string; asset: string; amount: bigint; transferId: string }
  /** auctions and posted-price pools (auctions.ts) */
  | AuctionCommand
  /** budget policies, freezes (kill switch), reads of budget state (budget-handlers.ts) */
  | { kind: 'budget'; op: BudgetOp; actor?: CommandActor }
  /** a principal's own account: deposits, withdrawals, transfers to and from its agents (budget-handlers.ts) */
  | ({ kind: 'principal_funds' } & PrincipalFunds)
  /** N units of an allowance leave the agent for the redemption account (redemption.ts) */
  | { kind: 'redeem'; agentId: string; asset: string; amount: bigint; redemptionId: string; clientRedemptionId: string; principalId: string | null }
  /** a principal approves or rejects an order held for approval, or lists the pending ones (approvals.ts) */
  | ApprovalCommand
  /** a market's rules change from this command on (market-rules.ts) */
  | { kind: 'set_rules'; marketId: string; rules: Partial<MarketRules> }
) & {
  /** who asked for it: the batch that executes it writes its audit row in its transaction (audit.ts) */
  audit?: AuditContext;
};

export type HostCommandKind = HostCommand['kind'];
export type HostCommandOf<K extends HostCommandKind> = Extract<HostCommand, { kind: K }>;

/** pending_approval: held until its principal approves it (approvals.ts); nothing is reserved meanwhile */
export type OrderStatus = 'open' | 'closed' | 'canceled' | 'rejected' | 'expired' | 'pending_approval';

/**
 * An order's projection (table trading_order) with named fields: what the host commits with a batch, and what the
 * api's repository reads back. Ticks, lots and credits are integers (minor units).
 */
export interface OrderRecord {
  id: number;
  marketId: string;
  agentId: string;
  clientOrderId: string | null;
  side: OrderSide;
  type: 'limit' | 'market';
  tif: TimeInForce | null;
  postOnly: boolean;
  priceTicks: number | null;
  lots: number | null;
  spend: number | null;
  expiresAt: number | null;
  status: OrderStatus;
  filledLots: number;
  openLots: number;
  filledNotional: number;
  /** why it ended early: a rejection code or a cancel reason */
  reason: string | null;
  commandSeq: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface HostResult {
  /** engine_command seq of the command (null when nothing was logged, e.g. a replayed clientOrderId) */
  seq: string | null;
  /** why the command was refused (the engine's code, a pre-trade check's, or a funds refusal), null when done */
  code: ErrorCode | null;
  /** what the refusal says beyond its code (e.g. the limit a pre-trade check applied) */
  details?: Record<string, unknown>;
  orderId?: number;
  events: MatchingEvent[];
  /** the order already placed under this clientOrderId (idempotent placement) */
  existingOrderId?: number;
  /** a funds movement whose transfer id is already in the journal: nothing was done again */
  duplicateTransfer?: boolean;
  /** what the command changed (the audit row's before and after), when its handler knows it */
  change?: { before: unknown; after: unknown };
  /** the new order as committed with the batch (complete once the batch has committed: final for the batch) */
  order?: OrderRecord;
}

/** One market hosted here: its rules, fees and engine. */
export interface HostMarket {
  id: string;
  config: MarketConfig;
  makerFeeBps: number;
  takerFeeBps: number;
  /** how per-fill fees round: 'up' (in the venue's favour, new markets) or 'down' (markets created before it) */
  feeRounding: FeeRounding;
  engine: MatchingEngine;
  sink: CollectingSink;
}

export type FeeRounding = 'up' | 'down';

export interface CommittedBook {
  /** the market's event sequence number at that point */
  seq: number;
  /** the market's state at that point (a set_state of a batch not yet committed is not seen) */
  state: MarketState;
  referencePrice: number;
  bids: [number, number][];
  asks: [number, number][];
}

export interface EngineHostOptions {
  /** Commands between two snapshots (default SNAPSHOT_EVERY_COMMANDS); 0 writes none, not even at stop(). */
  snapshotEvery?: number;
  /** Recovery starts from the newest snapshot that verifies (default); false replays the whole log. */
  restoreSnapshots?: boolean;
  /**
   * Told when a snapshot could not be written (it never fails a batch; the next batch takes another) or was not
   * used at recovery (recovery fell back to the previous snapshot or to the whole log).
   */
  onSnapshotError?: (err: Error, phase: 'write' | 'restore') => void;
  /** Told after each snapshot written: its command seq, its size (bytes, compressed) and its time (ms, after the copy). */
  onSnapshot?: (info: { seq: number; bytes: number; ms: number }) => void;
}

/** What recovery did. */
export interface LoadResult {
  /** commands replayed from the log (those after the snapshot, or all of them) */
  commands: number;
  /** command seq of the snapshot recovery started from, null for a replay of the whole log */
  fromSnapshot: number | null;
  /** snapshots found but not used (did not decode, restore or verify; a newer one is tried first) */
  snapshotsRejected: number;
  ms: number;
  /** state-hash checkpoints verified (those at or after the starting point) */
  checkpointsVerified: number;
}

/** One line for the log: where recovery started, what it replayed, what it verified. */
export function recoverySummary(r: LoadResult): string {
  const from = r.fromSnapshot === null ? 'the whole log' : `the snapshot at command ${r.fromSnapshot}`;
  const skipped = r.snapshotsRejected > 0 ? ` (${r.snapshotsRejected} snapshot(s) skipped: did not verify)` : '';
  return `from ${from}${skipped}: ${r.commands} commands replayed in ${r.ms} ms, ${r.checkpointsVerified} state hash(es) verified`;
}
