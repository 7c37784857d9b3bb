import { CREDIT } from '@ate/contracts';
import type { EngineHost } from './engine-host';
import type { CommittedBook } from './host-types';

/**
 * Reads of an EngineHost that both transports answer the same way (the api's in-process link, and the engine
 * node answering over Redis). Built on the host's public methods only.
 */

/** A market as readers see it: its state and its book as of the last committed batch. */
export interface MarketSnapshot extends CommittedBook {
  marketId: string;
}

/** An order resting on a book (ticks and lots). */
export interface RestingOrder {
  price: number;
  lots: number;
}

/** The market's state and committed book, or undefined for a market the host has not loaded. */
export function marketSnapshot(host: EngineHost, marketId: string): MarketSnapshot | undefined {
  const book = host.committedBook(marketId);
  if (!book) return undefined;
  return { marketId, ...book };
}

/**
 * What the agent's open orders reserve, per asset, in minor units (assets with nothing reserved are left out).
 * Orders reserve only what markets trade: CREDIT and each market's base asset.
 */
export function reservedByAsset(host: EngineHost, agentId: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  const assets = new Set<string>([CREDIT]);
  for (const id of host.marketIds()) {
    const base = host.market(id)?.config.baseAsset;
    if (base) assets.add(base);
  }
  for (const asset of assets) {
    const r = host.reserved(agentId, asset);
    if (r !== 0n) out.set(asset, r);
  }
  return out;
}

/** Reloads markets, assets and agents (after an admin added an asset or a market) with no batch in flight. */
export async function reloadHost(host: EngineHost): Promise<void> {
  await host.exclusive(() => host.load());
}

/** Reloads only if the host does not know the asset yet (a reload replays the whole log). */
export async function ensureHostAsset(host: EngineHost, code: string): Promise<void> {
  if (!host.hasAsset(code)) await reloadHost(host);
}
