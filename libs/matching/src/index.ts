export * from './lib/limits';
export * from './lib/config';
export * from './lib/balances';
export * from './lib/events';
export * from './lib/snapshot';
export * from './lib/engine';
export * from './lib/id-map';
export * from './lib/market-set';
