/**
 * How the api reaches the matching engine. The single-node default hosts the engine in this process
 * (in-process transport); a multi-node deployment reaches engine nodes over Redis (the trading issue adds it
 * behind this same interface). /ready asks it whether an engine is attached.
 */
export interface EngineLinkStatus {
  attached: boolean;
  mode: 'in-process' | 'redis';
}

export abstract class EngineLink {
  abstract status(): Promise<EngineLinkStatus>;
}
