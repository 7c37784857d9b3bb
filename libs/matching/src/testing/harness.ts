/** One interface over the fast engine and the reference book, so one contract suite runs on both. */
import type { MatchingCode, MatchingCommand, MatchingEvent } from '@ate/contracts';
import { type MarketConfig, DEFAULT_MARKET_CONFIG } from '../lib/config';
import { MatchingEngine } from '../lib/engine';
import { CollectingSink } from '../lib/events';
import { type EngineSnapshot, hashSnapshot } from '../lib/snapshot';
import { ReferenceBook } from './reference-book';

export const TEST_AGENTS_MAX = 16;

export interface Book {
  readonly name: string;
  execute(c: MatchingCommand): MatchingCode | null;
  /** events since the last call */
  take(): MatchingEvent[];
  snapshot(): EngineSnapshot;
  hash(): string;
  check(): void;
}

export function engineBook(config: MarketConfig, agentsMax = TEST_AGENTS_MAX): Book & { engine: MatchingEngine } {
  const sink = new CollectingSink();
  const engine = new MatchingEngine(config, { sink, agentsMax });
  return {
    name: 'engine',
    engine,
    execute: (c) => engine.execute(c),
    take: () => sink.take(),
    snapshot: () => engine.snapshot(),
    hash: () => engine.stateHash(),
    check: () => engine.assertInvariants(),
  };
}

export function referenceBook(config: MarketConfig, agentsMax = TEST_AGENTS_MAX): Book & { ref: ReferenceBook } {
  const ref = new ReferenceBook(config, agentsMax);
  return {
    name: 'reference',
    ref,
    execute: (c) => ref.execute(c),
    take: () => {
      const e = ref.events;
      ref.events = [];
      return e;
    },
    snapshot: () => ref.snapshot(),
    hash: () => hashSnapshot(ref.snapshot()),
    check: () => undefined,
  };
}

export const IMPLEMENTATIONS: [string, (c: MarketConfig) => Book][] = [
  ['engine', engineBook],
  ['reference', referenceBook],
];

/** A small market for scenario tests: price in ticks ~100, band ±10%, generous limits. */
export const TEST_CONFIG: MarketConfig = {
  ...DEFAULT_MARKET_CONFIG,
  marketId: 'TEST',
  baseAsset: 'GPU',
  tickSize: 1,
  lotSize: 10,
  minOrderLots: 1,
  maxOrderLots: 1000,
  maxPriceTicks: 1000,
  priceBandBps: 1000,
  initialPriceTicks: 100,
  defaultStp: 'cancel_taker',
  ordersPerAgentMax: 50,
  bookOrdersMax: 200,
  maxSpendCredits: 10_000_000,
};
