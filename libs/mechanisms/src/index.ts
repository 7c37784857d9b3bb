export * from './lib/mechanisms';
