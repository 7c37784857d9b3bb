import { existingTransferIds } from '@ate/ledger';
import type { PoolClient } from 'pg';
import { existingAuctionKeys } from './auction-ids';
import type { HostCommand } from './host-types';
import { existingRedemptionKeys } from './redemption';
import { selectPlacedClientOrderIds } from './sql';

/**
 * Idempotency of placements (a clientOrderId is unique per agent, forever) and of funds movements (a transfer id
 * is unique in the journal). Each batch pre-reads which of its keys the database has already; keys of batches not
 * yet visible to that read are kept here.
 *
 * Keys are `agent|clientOrderId` and `f|transferId`. An entry is pending (gen null) until its batch commits, then
 * carries the commit generation g; it is dropped once a batch whose pre-read began at generation >= g has
 * executed: every later pre-read sees it in the database.
 */
export class RecentIds {
  private entries = new Map<string, { orderId: number; gen: number | null }>();
  private commitGen = 0;

  /** Forgets everything (after a rebuild from the log). */
  reset(): void {
    this.entries = new Map();
  }

  /** The generation a pre-read starts at. */
  get generation(): number {
    return this.commitGen;
  }

  /** Drops entries that a pre-read begun at `readGen` saw in the database. */
  prune(readGen: number): void {
    for (const [k, v] of this.entries) if (v.gen !== null && v.gen <= readGen) this.entries.delete(k);
  }

  get(key: string): number | undefined {
    return this.entries.get(key)?.orderId;
  }

  /** A key of a batch not yet committed. */
  remember(key: string, orderId: number): void {
    this.entries.set(key, { orderId, gen: null });
  }

  /** The batch that remembered `keys` committed. */
  committed(keys: readonly string[]): void {
    this.commitGen++;
    for (const k of keys) {
      const e = this.entries.get(k);
      if (e) e.gen = this.commitGen;
    }
  }
}

/** The keys of a batch that the database already has: placed clientOrderIds (with their order ids), journal transfer ids (0). */
export async function preRead(client: PoolClient, cmds: readonly HostCommand[]): Promise<Map<string, number>> {
  const placed = new Map<string, number>();
  const coids = cmds.flatMap((c) => (c.kind === 'place' && c.order.clientOrderId ? [[c.agentId, c.order.clientOrderId] as const] : []));
  for (const row of await selectPlacedClientOrderIds(client, coids)) placed.set(`${row.agent_id}|${row.client_order_id}`, Number(row.id));
  const fundIds = cmds.flatMap((c) => (c.kind === 'funds' || c.kind === 'principal_funds' ? [c.transferId] : []));
  for (const id of await existingTransferIds(client, fundIds)) placed.set(`f|${id}`, 0);
  for (const k of await existingRedemptionKeys(client, cmds)) placed.set(k, 0);
  for (const k of await existingAuctionKeys(client, cmds)) placed.set(k, 0);
  return placed;
}

/** What a batch's handlers ask: was this key placed (by the database or a batch in flight)? */
export class BatchIds {
  readonly mine: string[] = [];
  constructor(
    private readonly recent: RecentIds,
    private readonly placed: Map<string, number>,
  ) {}

  seen(key: string): number | undefined {
    return this.recent.get(key) ?? this.placed.get(key);
  }

  remember(key: string, orderId: number): void {
    this.recent.remember(key, orderId);
    this.mine.push(key);
  }
}
