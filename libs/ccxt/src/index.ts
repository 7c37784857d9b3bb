export * from './lib/ate-exchange';
