export * from './lib/migrate';
export * from './lib/embedded';
export * from './lib/prisma';
export * from './lib/testing';
export * from './lib/app-role';
export * from './lib/exchange-process';
