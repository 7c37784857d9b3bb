export * from './lib/types';
export * from './lib/limits';
export * from './lib/accounts';
export * from './lib/writer';
export * from './lib/group-commit';
export * from './lib/queries';
export * from './lib/requests';
export * from './lib/reconcile';
export { GENESIS_HASH } from './lib/canonical';
