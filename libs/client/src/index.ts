export * from './lib/client';
