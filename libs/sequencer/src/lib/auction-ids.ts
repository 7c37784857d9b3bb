import type { PoolClient } from 'pg';

/**
 * Idempotency of auction bids and posted-price purchases by the client's id (unique per agent, forever; the same
 * rules as orders' clientOrderIds): a command whose (agent, client id) was accepted before does nothing and answers
 * `duplicateTransfer`, and the api answers the first bid or purchase (or 409 when the body differs). The ids of
 * committed commands are in the projections (`auction_bid_request`, `price_pool_purchase.client_purchase_id`), read
 * by each batch's pre-read (idempotency.ts); those of batches in flight are in its RecentIds.
 */

export const bidKey = (agentId: string, clientBidId: string): string => `ab|${agentId}|${clientBidId}`;
export const purchaseKey = (agentId: string, clientPurchaseId: string): string => `pp|${agentId}|${clientPurchaseId}`;

/** A client id: 1-64 characters of letters, digits and `_.:-` (the clientOrderId rule). */
export const CLIENT_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

type WithIds = { kind: string; agentId?: string; clientBidId?: string; clientPurchaseId?: string };

/** The bid and purchase keys of a batch that the database has already (no query when the batch has none). */
export async function existingAuctionKeys(client: PoolClient, cmds: readonly { kind: string }[]): Promise<string[]> {
  const bids: [string, string][] = [];
  const buys: [string, string][] = [];
  for (const c of cmds as readonly WithIds[]) {
    if (c.kind === 'auction_bid' && c.clientBidId && c.agentId) bids.push([c.agentId, c.clientBidId]);
    else if (c.kind === 'pool_buy' && c.clientPurchaseId && c.agentId) buys.push([c.agentId, c.clientPurchaseId]);
  }
  const out: string[] = [];
  if (bids.length > 0) {
    const r = await client.query<{ agent_id: string; client_bid_id: string }>(
      `SELECT q.agent_id, q.client_bid_id FROM auction_bid_request q
         JOIN unnest($1::text[], $2::text[]) AS k(agent_id, client_bid_id) USING (agent_id, client_bid_id)`,
      [bids.map((x) => x[0]), bids.map((x) => x[1])],
    );
    for (const x of r.rows) out.push(bidKey(x.agent_id, x.client_bid_id));
  }
  if (buys.length > 0) {
    const r = await client.query<{ agent_id: string; client_purchase_id: string }>(
      `SELECT p.agent_id, p.client_purchase_id FROM price_pool_purchase p
         JOIN unnest($1::text[], $2::text[]) AS k(agent_id, client_purchase_id) USING (agent_id, client_purchase_id)`,
      [buys.map((x) => x[0]), buys.map((x) => x[1])],
    );
    for (const x of r.rows) out.push(purchaseKey(x.agent_id, x.client_purchase_id));
  }
  return out;
}
