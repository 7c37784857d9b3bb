export * from './lib/engine-host';
export * from './lib/host-views';
export * from './lib/wire';
export * from './lib/redis-keys';
export * from './lib/engine-lease';
export * from './lib/redis-engine-server';
export * from './lib/redis-engine-client';
export * from './lib/agreement';
