export * from './lib/engine-host';
