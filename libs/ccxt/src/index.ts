export * from './lib/ate-exchange';
export * from './lib/ate-pro';
