export * from './lib/errors';
export * from './lib/money';
export * from './lib/assets';
export * from './lib/matching-types';
export * from './lib/signing';
export * from './lib/api-types';
export * from './lib/random';
export * from './lib/feed';
