import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteApiError, AteClient } from '@ate/client';
import { createTestDatabase, TestDatabase } from '@ate/db';
import { startTestApp, testConfig } from './test-app';

/** What the auction specs share: an app on a test database with one allowance asset and signed agents. */

export const AUCTION_ASSET = 'AUC.1K';
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The status and error code of a refused request (null when it succeeded). */
export async function refusal(p: Promise<unknown>): Promise<{ status: number; code: string } | null> {
  try {
    await p;
    return null;
  } catch (e) {
    if (e instanceof AteApiError) return { status: e.status, code: e.code };
    throw e;
  }
}

/** Polls `f` until it gives a value (a failing call counts as none). */
export async function waitFor<T>(what: string, f: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export interface AuctionWorld {
  db: TestDatabase;
  app: NestFastifyApplication;
  url: string;
  admin: AteClient;
  agents: Record<string, { id: string; c: AteClient; keys: { keyId: string; secret: string } }>;
}

export async function auctionWorld(name: string, env: Record<string, string>, names: string[]): Promise<AuctionWorld> {
  const db = await createTestDatabase(name);
  const { app, url, admin } = await startTestApp(testConfig(db, env));
  await admin.defineAsset({ code: AUCTION_ASSET, scale: 0, model: 'auc', provider: 'p', tokenClass: 'out' });
  await admin.createMarket({ base: AUCTION_ASSET, tickSize: '0.001', lotSizeUnits: 1, initialPriceTicks: 1000, priceBandBps: 5000 });
  const agents: AuctionWorld['agents'] = {};
  for (const n of names) {
    const a = await admin.createAgent({ name: n });
    agents[n] = { id: a.id, c: new AteClient({ baseUrl: url, ...a.apiKey! }), keys: a.apiKey! };
  }
  return { db, app, url, admin, agents };
}

/** Closes the world's app and starts it again on the same database (the agents' clients follow the new address). */
export async function restartWorld(w: AuctionWorld, env: Record<string, string>): Promise<void> {
  await w.app.close();
  const again = await startTestApp(testConfig(w.db, env));
  w.app = again.app;
  w.url = again.url;
  w.admin = again.admin;
  for (const a of Object.values(w.agents)) a.c = new AteClient({ baseUrl: again.url, ...a.keys });
}

export const balanceOf = async (c: AteClient, asset: string) => (await c.balances()).balances[asset] ?? { free: '0', used: '0', total: '0' };
