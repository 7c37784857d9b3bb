export * from './lib/client';
export * from './lib/ate-url';
