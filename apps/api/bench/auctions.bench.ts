// `npm run bench:auctions`: the library's clearing figures (libs/mechanisms/bench/auctions.bench.ts, run as a
// child), then posted-price purchases per second through the API: the real api process (in-process engine, real
// Postgres) and signed POST /v1/pools/:id/purchases from C concurrent clients for N seconds. Prints one JSON line
// last: the library's fields with postedPricePurchasesPerSec (and its p50/p99) filled in. Options: --seconds N
// (default 15), --connections C (default 32), --api-only (skip the library half: it takes minutes).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AteClient } from '@ate/client';
import { createTestDatabase } from '@ate/db';
import { TEST_ADMIN } from '../src/testing/admin-key';
import { freePort, REPO_ROOT, startApiProcess, testApiEnv } from '../src/testing/api-process';
import { stopProcess } from '../src/testing/engine-process';

const argText = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const arg = (name: string, dflt: number): number => Number(argText(name) ?? dflt);

function library(): Record<string, unknown> {
  if (process.argv.includes('--api-only')) return {};
  const r = spawnSync(process.execPath, ['-r', '@swc-node/register', join(REPO_ROOT, 'libs/mechanisms/bench/auctions.bench.ts')], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error('the library bench failed');
  const lines = r.stdout.trim().split('\n');
  for (const l of lines.slice(0, -1)) console.log(l);
  return JSON.parse(lines[lines.length - 1] as string) as Record<string, unknown>;
}

async function postedPrice(seconds: number, connections: number): Promise<Record<string, unknown>> {
  const db = await createTestDatabase('bench_auctions');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = await startApiProcess(
    testApiEnv(
      { databaseUrl: db.url, port, masterKey: randomBytes(32).toString('base64') },
      {
        NODE_ENV: 'production',
        RATE_LIMIT_PER_KEY: '10000000',
        RATE_LIMIT_PER_ADDRESS: '10000000',
        ORDER_RATE_PER_AGENT: '10000000',
        DB_POOL_MAX: '10',
      },
    ),
  );
  try {
    const admin = new AteClient({ baseUrl: url, ...TEST_ADMIN });
    await admin.defineAsset({ code: 'BENCH.1K', scale: 0, model: 'bench', provider: 'bench', tokenClass: 'out' });
    await admin.post('/v1/admin/pools', { id: 'bench', asset: 'BENCH.1K', mode: 'fixed', price: '0.001', supply: '1000000000' });
    // one agent (and key) per connection: purchases of one agent are sequenced one after another anyway
    const clients: AteClient[] = [];
    for (let i = 0; i < connections; i++) {
      const a = await admin.createAgent({ name: `bench-${i}` });
      await admin.deposit({ id: `b-${i}-c`, agentId: a.id, asset: 'CREDIT', amount: '1000000000' });
      clients.push(new AteClient({ baseUrl: url, ...a.apiKey! }));
    }
    const warmupMs = 2000;
    const t0 = Date.now();
    const end = t0 + warmupMs + seconds * 1000;
    const lat: number[] = [];
    let ok = 0;
    let errors = 0;
    await Promise.all(
      clients.map(async (c) => {
        while (Date.now() < end) {
          const s = performance.now();
          try {
            await c.post('/v1/pools/bench/purchases', { units: '1', maxPrice: '0.001' });
            if (Date.now() - t0 >= warmupMs) {
              ok++;
              lat.push(performance.now() - s);
            }
          } catch {
            errors++;
          }
        }
      }),
    );
    lat.sort((a, b) => a - b);
    const q = (p: number) => Number((lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0).toFixed(2));
    const sold = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM price_pool_purchase`);
    console.log(
      `posted-price purchases through the API: ${Math.round(ok / seconds)}/s, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, ${errors} errors, ${sold.rows[0]?.n} rows`,
    );
    return {
      postedPricePurchasesPerSec: Math.round(ok / seconds),
      postedPriceP50Ms: q(0.5),
      postedPriceP99Ms: q(0.99),
      postedPriceErrors: errors,
      postedPriceConnections: connections,
    };
  } finally {
    await stopProcess(child);
    await db.drop();
  }
}

async function main(): Promise<void> {
  const lib = library();
  const api = await postedPrice(arg('seconds', 15), arg('connections', 32));
  const out: Record<string, unknown> = { ...lib, ...api };
  delete out['note'];
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
