// `npm run check:image`: the Docker image's steps without Docker (see apps/api/src/testing/image-steps.ts): the Dockerfile's
// stages replayed in a temporary folder with real installs (production dependencies only in the runtime stage),
// then the compose file's api and engine started from it on this machine's Postgres and Redis (scripts/services.mjs),
// /ready, the healthcheck, a trade and a combinatorial auction to settlement (the built clearing worker). `--light` links this checkout's node_modules instead of installing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '@ate/db';
import { replayDockerfile, runStack } from '../apps/api/src/testing/image-steps';
import { freePort } from '../apps/api/src/testing/api-process';

async function main(): Promise<void> {
  const light = process.argv.includes('--light');
  // a native import (SWC would turn import() into require(), and services.mjs is an ES module)
  type Services = { pgUrl: string; redisUrl: string; stop: () => Promise<void> };
  const nativeImport = new Function('s', 'return import(s)') as (s: string) => Promise<{ ensureServices: () => Promise<Services> }>;
  const { ensureServices } = await nativeImport(join(__dirname, 'services.mjs'));
  const services = await ensureServices();
  process.env['TEST_DATABASE_URL'] = services.pgUrl;
  const base = mkdtempSync(join(tmpdir(), 'ate-image-'));
  const db = await createTestDatabase('image', { migrated: false });
  const t0 = Date.now();
  try {
    const img = replayDockerfile(base, { light, log: (m) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`) });
    console.log(`image steps replayed in ${((Date.now() - t0) / 1000).toFixed(1)} s (runtime stage in ${img.runtime.root})`);
    const r = await runStack(img, { postgresUrl: db.url, redisUrl: services.redisUrl, port: await freePort(), log: (m) => console.error(m) });
    console.log(JSON.stringify(r));
    const ok =
      r.ready &&
      r.healthcheck === 0 &&
      r.trade.buy === 'closed' &&
      r.trade.buyerBase === '2' &&
      r.auction.status === 'settled' &&
      r.auction.worker &&
      r.stopped.api === 0 &&
      r.stopped.engine === 0;
    console.log(ok ? `check:image: ok in ${((Date.now() - t0) / 1000).toFixed(1)} s` : 'check:image: FAILED');
    process.exitCode = ok ? 0 : 1;
  } finally {
    await db.drop().catch(() => undefined);
    await services.stop();
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`check:image failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
