export * from './lib/client';
export * from './lib/ate-url';
export * from './lib/local-book';
export * from './lib/feed-subscriber';
