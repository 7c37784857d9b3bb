// `npm run bench:e2e`: the whole stack (the api process with its in-process engine, on real Postgres) driven
// with signed orders over HTTP by a load generator in another process. Prints one JSON line last:
// {"ordersPerSec","p50Ms","p99Ms","errors","connections"}. Options: --seconds N (default 20), --connections C
// (default 128), --agents A (default 16), --engine in-process|redis (default in-process: the single-node
// default; redis: the api and a standalone engine process apart, over Redis at REDIS_URL or 127.0.0.1:6379,
// with the api's rate limits and replay checks in Redis too), --policy (every agent belongs to a principal that
// sets it a budget policy: spend caps over an hour and a day, max notional, a price ceiling, allowed markets and
// order types, none of which refuses the bench's orders, so every order pays the whole budget check). Uses
// TEST_DATABASE_URL / the machine's Postgres, in a fresh database. --feed-subscribers N: also measures, in the same
// run, orders/s with N live-feed subscribers of the market's book attached vs without (detail.feedCompare: each of
// --feed-pairs P (3) on-phases against the off-phases either side, their median), and the subscribers' share of a
// core; --subscribers-nice K runs their process at nice K (e.g. 19: clients elsewhere).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { cpus, setPriority } from 'node:os';
import { join } from 'node:path';
import { AteClient } from '@ate/client';
import { createTestDatabase } from '@ate/db';
import { TEST_ADMIN } from '../src/testing/admin-key';
import { freePort, REPO_ROOT, startApiProcess, testApiEnv } from '../src/testing/api-process';
import { startEngineProcess, stopProcess } from '../src/testing/engine-process';
import { startFeedClients } from './feed-clients-process';

const argText = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const arg = (name: string, dflt: number): number => Number(argText(name) ?? dflt);
const subscribersNice = argText('subscribers-nice') === undefined ? undefined : arg('subscribers-nice', 0);

async function main(): Promise<void> {
  const seconds = arg('seconds', 20);
  const connections = arg('connections', 128);
  const agentsN = arg('agents', 16);
  const mode = argText('engine') ?? 'in-process';
  const withPolicy = process.argv.includes('--policy');
  if (mode !== 'in-process' && mode !== 'redis') throw new Error('--engine is in-process or redis');
  const db = await createTestDatabase('bench_e2e');
  const port = await freePort();
  const redisEnv = { REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', REDIS_PREFIX: `bench${randomBytes(4).toString('hex')}` };
  // redis mode: the engine node first (the test database has its migrations); the api is ready once it serves
  const engine =
    mode === 'redis'
      ? await startEngineProcess({ DATABASE_URL: db.url, ...redisEnv, ENGINE_NODE_ID: 'bench-engine', LOG_LEVEL: 'warn' }).catch(
          async (e: unknown) => {
            await db.drop();
            throw e;
          },
        )
      : undefined;
  const url = `http://127.0.0.1:${port}`;
  // BENCH_PROFILE=DIR writes a V8 CPU profile of the api process there (read it with Chrome DevTools)
  const profile = process.env['BENCH_PROFILE'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE']}`] : [];
  const child = await startApiProcess(
    testApiEnv(
      { databaseUrl: db.url, port, masterKey: randomBytes(32).toString('base64') },
      {
        NODE_ENV: 'production',
        RATE_LIMIT_PER_KEY: '10000000',
        RATE_LIMIT_PER_ADDRESS: '10000000',
        ORDER_RATE_PER_AGENT: '10000000',
        DB_POOL_MAX: '10',
        ...(mode === 'redis' ? { ENGINE_MODE: 'redis', ...redisEnv } : {}),
      },
    ),
    { nodeArgs: profile },
  ).catch(async (e: unknown) => {
    if (engine) await stopProcess(engine);
    await db.drop();
    throw e;
  });
  try {
    const admin = new AteClient({ baseUrl: url, ...TEST_ADMIN });
    await admin.defineAsset({ code: 'BENCH.1K', scale: 0, model: 'bench', provider: 'bench', tokenClass: 'out' });
    await admin.createMarket({
      base: 'BENCH.1K',
      tickSize: '0.001',
      lotSizeUnits: 1,
      initialPriceTicks: 1000,
      priceBandBps: 5000,
      ordersPerAgentMax: 100_000,
    });
    const agents: { keyId: string; secret: string }[] = [];
    const agentIds: string[] = [];
    const principal = withPolicy ? await admin.createPrincipal({ name: 'bench principal' }) : null;
    const principalClient = principal
      ? new AteClient({ baseUrl: url, ...(await admin.post<{ keyId: string; secret: string }>(`/v1/admin/principals/${principal.id}/keys`, {})) })
      : null;
    for (let i = 0; i < agentsN; i++) {
      const a = await admin.createAgent({ name: `bench-${i}`, ...(principal ? { principalId: principal.id } : {}) });
      if (principalClient)
        await principalClient.put(`/v1/principal/agents/${a.id}/policy`, {
          spendCaps: [
            { windowSeconds: 3600, limit: '1000000000000' },
            { windowSeconds: 86400, limit: '2000000000000' },
          ],
          maxOrderNotional: '1000000000',
          maxPrice: { 'BENCH.1K': '1000' },
          markets: ['BENCH.1K/CREDIT'],
          orderTypes: ['limit', 'market'],
        });
      agentIds.push(a.id);
      await admin.deposit({ id: `b-${i}-c`, agentId: a.id, asset: 'CREDIT', amount: '1000000000' });
      await admin.deposit({ id: `b-${i}-t`, agentId: a.id, asset: 'BENCH.1K', amount: '1000000000' });
      agents.push(a.apiKey!);
    }
    // one key per connection (connection k trades for agent k mod A): two connections of one key could send the
    // same order in the same millisecond, which the replay check refuses as a replayed signature
    for (let k = agentsN; k < connections; k++) agents.push(await admin.issueAgentKey(agentIds[k % agentsN] as string));
    const input = { url, market: 'BENCH.1K/CREDIT', keys: agents, connections, durationMs: seconds * 1000, warmupMs: 3000 };
    const loadgen = () => {
      const gen = spawnSync(process.execPath, ['-r', '@swc-node/register', join(__dirname, 'loadgen.ts'), JSON.stringify(input)], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      });
      if (gen.status !== 0) throw new Error(`load generator failed: ${gen.stderr}`);
      return JSON.parse(gen.stdout.trim().split('\n').pop() as string);
    };
    // --feed-subscribers N: the same run measures without and with N live-feed clients of the market's book (in
    // a process of their own), alternately (--feed-pairs P on-phases, each between two off-phases)
    const feedSubscribers = argText('feed-subscribers');
    const feedCompare = feedSubscribers
      ? await compareWithFeed(loadgen, url, Number(feedSubscribers), seconds, child.pid, arg('feed-pairs', 3))
      : undefined;
    const cpu0 = { api: cpuMs(child.pid), engine: cpuMs(engine?.pid), pg: postgresCpuMs(), redis: redisCpuMs() };
    const r = loadgen();
    const cpu1 = { api: cpuMs(child.pid), engine: cpuMs(engine?.pid), pg: postgresCpuMs(), redis: redisCpuMs() };
    const counts = await db.pool.query(
      `SELECT (SELECT count(*) FROM trading_order)::int AS orders, (SELECT count(*) FROM trade)::int AS trades,
              (SELECT count(*) FROM ledger_transfer)::int AS transfers`,
    );
    // CPU spent per acknowledged order (whole run incl. warm-up): steadier than throughput on a shared machine
    const perOrder = (ms: number) => Math.round((ms * 1000) / r.ok);
    const cpuUsPerOrder = {
      api: perOrder(cpu1.api - cpu0.api),
      ...(engine ? { engine: perOrder(cpu1.engine - cpu0.engine) } : {}),
      postgres: perOrder(cpu1.pg - cpu0.pg),
      redis: perOrder(cpu1.redis - cpu0.redis),
    };
    const detail = {
      ...r,
      ...counts.rows[0],
      engine: mode,
      policy: withPolicy,
      cpuUsPerOrder,
      agents: agentsN,
      keys: agents.length,
      machine: { cpus: cpus().length, node: process.version },
      ...(feedCompare ? { feedCompare } : {}),
    };
    console.log(JSON.stringify({ detail }));
    console.log(
      JSON.stringify({
        ordersPerSec: Math.round(r.measuredOk / seconds),
        p50Ms: Number(r.p50Ms.toFixed(2)),
        p99Ms: Number(r.p99Ms.toFixed(2)),
        errors: r.errors,
        connections,
        policy: withPolicy,
      }),
    );
  } finally {
    await stopProcess(child);
    if (engine) await stopProcess(engine);
    await db.drop();
  }
}

/**
 * Orders/s without and with `n` feed subscribers attached, alternately in one api process: a warm-up, then off,
 * on, off, on, ... off (`pairs` on-phases). The throughput drifts over a run (the tables grow), and not evenly: each
 * on-phase is compared with the mean of the off-phases either side of it, and the ratio is the median of those
 * local ratios (the pooled means are reported too).
 */
async function compareWithFeed(
  loadgen: () => { measuredOk: number; ok: number; p99Ms: number },
  url: string,
  n: number,
  seconds: number,
  apiPid: number | undefined,
  pairs: number,
) {
  const phases: {
    feed: boolean;
    ordersPerSec: number;
    p99Ms: number;
    apiCpuUsPerOrder: number;
    machineCpuUsPerOrder: number;
    subscribersCpuPct?: number;
  }[] = [];
  const feedResults: unknown[] = [];
  const plan = [false, ...Array.from({ length: pairs }, () => [false, true]).flat(), false];
  for (const feed of plan) {
    let clients: ReturnType<typeof startFeedClients> | undefined;
    if (feed) {
      clients = startFeedClients({ mode: 'socketio', url, market: 'BENCH.1K/CREDIT', clients: n, warmupMs: 1000 });
      // --subscribers-nice N: the subscribers' process at a lower CPU priority, standing for clients on other machines
      // (on these 2 cores they otherwise take their CPU from the api and Postgres); their CPU share is reported either way
      if (subscribersNice !== undefined && clients.pid !== undefined) setPriority(clients.pid, subscribersNice);
      await clients.ready;
    }
    const cpu0 = cpuMs(apiPid);
    const sub0 = cpuMs(clients?.pid);
    const busy0 = machineBusyMs();
    const t0 = performance.now();
    const r = loadgen();
    const apiCpuUsPerOrder = Math.round(((cpuMs(apiPid) - cpu0) * 1000) / r.ok);
    const machineCpuUsPerOrder = Math.round(((machineBusyMs() - busy0) * 1000) / r.ok);
    const subscribersCpuPct = clients ? Math.round(((cpuMs(clients.pid) - sub0) * 100) / (performance.now() - t0)) : undefined;
    if (clients) {
      // the clients end once their books reach the REST book (bench/feed-clients.ts)
      const book = (await (await fetch(`${url}/v1/markets/${encodeURIComponent('BENCH.1K/CREDIT')}/book?depth=1`)).json()) as {
        seq: number;
        checksum: number;
      };
      clients.stop(book);
      feedResults.push(await clients.done);
    }
    phases.push({
      feed,
      ordersPerSec: Math.round(r.measuredOk / seconds),
      p99Ms: Number(r.p99Ms.toFixed(2)),
      apiCpuUsPerOrder,
      machineCpuUsPerOrder,
      ...(subscribersCpuPct !== undefined ? { subscribersCpuPct } : {}),
    });
  }
  const measured = phases.slice(1); // the first phase warms the process up (JIT, caches): not counted
  const mean = (on: boolean, f: (p: (typeof phases)[number]) => number) => {
    const xs = measured.filter((p) => p.feed === on);
    return Math.round(xs.reduce((a, p) => a + f(p), 0) / xs.length);
  };
  const ops = (p: (typeof phases)[number]) => p.ordersPerSec;
  const cpu = (p: (typeof phases)[number]) => p.apiCpuUsPerOrder;
  const machine = (p: (typeof phases)[number]) => p.machineCpuUsPerOrder;
  // measured is off, on, off, on, ..., off: on-phase k sits between off-phases k-1 and k+1
  const local = measured.flatMap((p, k) => (p.feed ? [Number((ops(p) / ((ops(measured[k - 1]!) + ops(measured[k + 1]!)) / 2)).toFixed(3))] : []));
  const sorted = [...local].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return {
    feedSubscribers: n,
    ...(subscribersNice !== undefined ? { subscribersNice } : {}),
    phases,
    feedClients: feedResults,
    withoutOrdersPerSec: mean(false, ops),
    withOrdersPerSec: mean(true, ops),
    localRatios: local,
    ratio: Number(median.toFixed(3)),
    pooledRatio: Number((mean(true, ops) / mean(false, ops)).toFixed(3)),
    apiCpuUsPerOrder: { without: mean(false, cpu), with: mean(true, cpu) },
    // the CPU of the whole machine (every process: api, Postgres, load generator, subscribers) per order: where the
    // 2 cores are the bound, throughput goes as its inverse, and this ratio is steadier than the throughputs
    machineCpuUsPerOrder: { without: mean(false, machine), with: mean(true, machine) },
    cpuRatio: Number((mean(false, machine) / mean(true, machine)).toFixed(3)),
  };
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** user + system CPU of a process, in ms (Linux /proc; 0 elsewhere). */
function cpuMs(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** The machine's busy CPU time (every core: user, nice, system, irq, softirq; not idle, iowait or steal), in ms. */
function machineBusyMs(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = f;
    return (user + nice + system + irq + softirq) * TICK_MS;
  } catch {
    return 0;
  }
}

/** CPU of every postgres process on the machine, in ms (the bench's database server; Linux only). */
function postgresCpuMs(): number {
  return cpuOfCommandMs('postgres');
}

/** CPU of the machine's redis-server processes, in ms. */
function redisCpuMs(): number {
  return cpuOfCommandMs('redis-server');
}

function cpuOfCommandMs(command: string): number {
  let total = 0;
  try {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        if (stat.includes(`(${command})`)) total += cpuMs(Number(d));
      } catch {
        // the process ended
      }
    }
  } catch {
    return 0;
  }
  return total;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
