import type { AgreementReport, HostCommand, HostCommandOf, HostResult, MarketSnapshot, PlacementVerdict, RestingOrder } from '@ate/sequencer';

/**
 * How the api reaches the matching engine. The single-node default hosts the engine in this process
 * (`InProcessEngine`, ENGINE_MODE=in-process); with ENGINE_MODE=redis a standalone engine node is reached over
 * Redis (`RedisEngine`). Services use only this interface, so both behave the same to clients.
 */
export interface EngineLinkStatus {
  attached: boolean;
  mode: 'in-process' | 'redis';
}

export abstract class EngineLink {
  /** Sequences a command; resolves after its batch committed (an acknowledged command is durable). */
  abstract submit(cmd: HostCommand): Promise<HostResult>;
  /** What placing the order would answer now, without placing it (nothing reserved, nothing logged). */
  abstract test(cmd: HostCommandOf<'place'>): Promise<PlacementVerdict>;
  /** The market's state and its book as of the last committed batch; undefined for a market not loaded. */
  abstract market(marketId: string): Promise<MarketSnapshot | undefined>;
  /** An open order's price (ticks) and open lots as the engine holds it now, or null. */
  abstract restingOrder(marketId: string, orderId: number): Promise<RestingOrder | null>;
  /** What the agent's open orders reserve, per asset (minor units); assets with nothing reserved are absent. */
  abstract reserved(agentId: string): Promise<Map<string, bigint>>;
  /** Makes the engine track a newly defined asset (reloads it if it does not know the asset yet). */
  abstract ensureAsset(code: string): Promise<void>;
  /** Reloads markets, assets and agents (after a new market); the market is served when this resolves. */
  abstract reload(): Promise<void>;
  /** Whether the engine's memory and the database agree (balances, open orders); batches pause meanwhile. */
  abstract agreement(): Promise<AgreementReport>;
  /** Whether an engine is attached (/ready). */
  abstract status(): Promise<EngineLinkStatus>;
}
