// `npm run bench:feed`: the live feed under load. The api process (in-process engine, real Postgres) serves the
// feed; a separate process holds N socket.io clients (libs/client FeedSubscriber, each keeping a local book and
// checking seq and checksum) subscribed to one market's book while a third, the driver (feed-driver.ts), makes
// committed book changes over signed REST (resting limit orders that never cross, and cancels: one book change
// each) at a fixed rate. Latency: from `committedAt` (the api received the committed batch) to the client's
// receipt. Then the peer, in the same run: the same load, the same feed messages relayed by this process to N
// bare `ws` clients (a plain WebSocket broadcast: the ceiling of fan-out on this machine). Options: --clients N
// (1000), --rate R (2000 changes/s), --seconds S (20), --depth D (depth-limited books: 10, 25, 100 or 500; default
// the whole book), --conflate MS (the api's FEED_CONFLATE_MS, default its
// own), --max-in-flight K (the driver's outstanding requests at most, 256), --no-peer (the socket.io phase
// only), --driver-stub (the driver alone against a stub server: its own ceiling). Prints one JSON line last:
// {"clients","changesPerSec","messagesPerSec","p50Ms","p99Ms","gapsUnrecovered","checksumFailures"}.
// BENCH_PROFILE=DIR writes a V8 CPU profile of the api process there, BENCH_PROFILE_DRIVER=DIR one of the driver.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { AteClient, FeedSubscriber } from '@ate/client';
import { FEED_BOOK_DEPTHS, FeedBookDepth, FeedBookMessage } from '@ate/contracts';
import { createTestDatabase } from '@ate/db';
import { TEST_ADMIN } from '../src/testing/admin-key';
import { freePort, REPO_ROOT, startApiProcess, testApiEnv } from '../src/testing/api-process';
import { stopProcess } from '../src/testing/engine-process';
import type { DriverResult } from './feed-driver';
import { startFeedClients } from './feed-clients-process';

const argText = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const arg = (name: string, dflt: number): number => Number(argText(name) ?? dflt);
const MARKET = 'FEEDB.1K/CREDIT';
const WARMUP_MS = 3000;

type Keys = { keyId: string; secret: string }[];

/**
 * The load (feed-driver.ts, a process of its own): `rate` committed book changes a second for `ms` over signed
 * REST, at most `maxInFlight` outstanding. Its result says what bounded it (its CPU per request, the server's
 * latency, the share of the run at the in-flight cap).
 */
function drive(url: string, keys: Keys, rate: number, ms: number, maxInFlight: number): Promise<DriverResult & { pid?: number }> {
  const profile = process.env['BENCH_PROFILE_DRIVER'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE_DRIVER']}`] : [];
  const input = { url, market: MARKET, keys, rate, ms, maxInFlight };
  const child = spawn(process.execPath, [...profile, '-r', '@swc-node/register', join(__dirname, 'feed-driver.ts'), JSON.stringify(input)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => (out += String(d)));
  child.stderr?.on('data', (d) => {
    err += String(d);
    process.stderr.write(String(d));
  });
  return new Promise((resolve, reject) =>
    child.once('exit', (c) => (c === 0 ? resolve(JSON.parse(out.trim().split('\n').pop() as string)) : reject(new Error(`driver failed: ${err}`)))),
  );
}

/** The peer: relays the feed's book messages (one subscriber) to bare ws clients, a snapshot first to each. */
async function startRelay(url: string, depth: FeedBookDepth | undefined): Promise<{ url: string; close: () => Promise<void> }> {
  const port = await freePort();
  const wss = new WebSocketServer({ port, host: '127.0.0.1' });
  const f = new FeedSubscriber({ baseUrl: url });
  await f.connected();
  const book = await f.book(MARKET, { depth });
  f.on('book', ({ message }) => {
    const text = JSON.stringify(message);
    for (const c of wss.clients) c.send(text);
  });
  wss.on('connection', (ws) => {
    const { bids, asks } = book.levels();
    const snap: FeedBookMessage = {
      type: 'snapshot',
      market: MARKET,
      ...(depth ? { depth } : {}),
      seq: book.seq as number,
      prev: null,
      bids,
      asks,
      checksum: book.checksum(),
      committedAt: Date.now(),
    };
    ws.send(JSON.stringify(snap));
  });
  return {
    url: `ws://127.0.0.1:${port}`,
    close: async () => {
      f.close();
      await new Promise((r) => wss.close(r));
    },
  };
}

async function phase(
  mode: 'socketio' | 'ws',
  target: string,
  admin: AteClient,
  keys: Keys,
  o: { url: string; clients: number; rate: number; seconds: number; maxInFlight: number; apiPid: number | undefined; depth?: FeedBookDepth },
) {
  const clients = startFeedClients({ mode, url: target, market: MARKET, clients: o.clients, warmupMs: WARMUP_MS, depth: o.depth });
  await clients.ready;
  const cpu0 = { api: cpuMs(o.apiPid), clients: cpuMs(clients.child.pid), bench: process.cpuUsage() };
  const load = await drive(o.url, keys, o.rate, WARMUP_MS + o.seconds * 1000, o.maxInFlight);
  const cpu1 = { api: cpuMs(o.apiPid), clients: cpuMs(clients.child.pid), bench: process.cpuUsage(cpu0.bench) };
  const rest = await admin.book(MARKET, 1000);
  clients.stop(rest, o.depth);
  const r = await clients.done;
  const s = load.seconds;
  return {
    mode,
    clients: r.clients,
    changesPerSec: Math.round(load.changes / s),
    driveErrors: load.errors,
    messagesPerSec: r.messagesPerSec,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    maxMs: r.maxMs,
    gapsSeen: r.gapsSeen,
    gapsUnrecovered: r.unrecovered,
    settleMs: r.settleMs,
    checksumFailures: r.checksumFailures,
    resyncs: r.resyncs,
    reconnects: r.reconnects,
    driver: {
      // what held the rate back: the schedule was met; the server (every connection waiting on it: Little's law,
      // maxInFlight / latency); or the driver itself (connections free, yet behind: its CPU)
      bound: load.changes / s >= 0.95 * o.rate ? 'none' : load.atCapPct >= 50 ? 'server latency (at the in-flight cap)' : 'driver (its CPU)',
      p50Ms: load.p50Ms,
      p99Ms: load.p99Ms,
      atCapPct: load.atCapPct,
      late: load.late,
      maxInFlight: o.maxInFlight,
      cpuUsPerRequest: load.cpuUsPerRequest,
    },
    cpuPct: {
      api: Math.round(((cpu1.api - cpu0.api) / (s * 1000)) * 100),
      clients: Math.round(((cpu1.clients - cpu0.clients) / (s * 1000)) * 100),
      driver: load.cpuPct,
      relay: Math.round(((cpu1.bench.user + cpu1.bench.system) / 1000 / (s * 1000)) * 100),
    },
  };
}

async function main(): Promise<void> {
  const clientsN = arg('clients', 1000);
  const rate = arg('rate', 2000);
  const seconds = arg('seconds', 20);
  const conflate = argText('conflate');
  const maxInFlight = arg('max-in-flight', 256);
  const peer = !process.argv.includes('--no-peer');
  const depthArg = argText('depth');
  const depth = depthArg === undefined ? undefined : (Number(depthArg) as FeedBookDepth);
  if (depth !== undefined && !FEED_BOOK_DEPTHS.includes(depth)) throw new Error(`--depth is one of ${FEED_BOOK_DEPTHS.join(', ')}`);
  if (process.argv.includes('--driver-stub')) return driverAlone(rate, seconds, maxInFlight);
  const db = await createTestDatabase('bench_feed');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const profile = process.env['BENCH_PROFILE'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE']}`] : [];
  const child = await startApiProcess(
    testApiEnv(
      { databaseUrl: db.url, port, masterKey: randomBytes(32).toString('base64') },
      {
        NODE_ENV: 'production',
        RATE_LIMIT_PER_KEY: '10000000',
        RATE_LIMIT_PER_ADDRESS: '10000000',
        RATE_LIMIT_PUBLIC_PER_ADDRESS: '10000000',
        ORDER_RATE_PER_AGENT: '10000000',
        ...(conflate ? { FEED_CONFLATE_MS: conflate } : {}),
      },
    ),
    { nodeArgs: profile },
  ).catch(async (e: unknown) => {
    await db.drop();
    throw e;
  });
  try {
    const admin = new AteClient({ baseUrl: url, ...TEST_ADMIN });
    await admin.defineAsset({ code: 'FEEDB.1K', scale: 0, model: 'bench', provider: 'bench', tokenClass: 'out' });
    await admin.createMarket({
      base: 'FEEDB.1K',
      tickSize: '0.001',
      lotSizeUnits: 1,
      initialPriceTicks: 1000,
      priceBandBps: 5000,
      ordersPerAgentMax: 100_000,
    });
    const keys: Keys = [];
    for (let i = 0; i < 16; i++) {
      const a = await admin.createAgent({ name: `feed-bench-${i}` });
      await admin.deposit({ id: `fb-${i}-c`, agentId: a.id, asset: 'CREDIT', amount: '1000000000' });
      await admin.deposit({ id: `fb-${i}-t`, agentId: a.id, asset: 'FEEDB.1K', amount: '1000000000' });
      keys.push(a.apiKey!);
    }
    const o = { url, clients: clientsN, rate, seconds, maxInFlight, apiPid: child.pid, depth };
    const feed = await phase('socketio', url, admin, keys, o);
    let ws: Awaited<ReturnType<typeof phase>> | null = null;
    if (peer) {
      const relay = await startRelay(url, depth);
      ws = await phase('ws', relay.url, admin, keys, o).finally(() => relay.close());
    }
    console.log(JSON.stringify({ detail: { depth: depth ?? null, feed, peer: ws, machine: { cpus: cpus().length, node: process.version } } }));
    console.log(
      JSON.stringify({
        clients: feed.clients,
        changesPerSec: feed.changesPerSec,
        messagesPerSec: feed.messagesPerSec,
        p50Ms: feed.p50Ms,
        p99Ms: feed.p99Ms,
        gapsUnrecovered: feed.gapsUnrecovered,
        checksumFailures: feed.checksumFailures,
      }),
    );
  } finally {
    await stopProcess(child);
    await db.drop();
  }
}

/**
 * `--driver-stub`: the driver alone, against a stub HTTP server in this process that answers every request at once
 * (`{"id"}`): the driver's own ceiling and CPU per request, without the api. Prints the driver's result.
 */
async function driverAlone(rate: number, seconds: number, maxInFlight: number): Promise<void> {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"id":"${++n}"}`);
    });
  });
  server.keepAliveTimeout = 60_000;
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const keys = [{ keyId: 'ak_stubstubstubstubstub', secret: 'stub' }];
  const cpu0 = process.cpuUsage();
  const r = await drive(`http://127.0.0.1:${port}`, keys, rate, seconds * 1000, maxInFlight);
  const stub = process.cpuUsage(cpu0);
  server.close();
  console.log(JSON.stringify({ driverAgainstStub: { rate, ...r, stubCpuUsPerRequest: Math.round((stub.user + stub.system) / Math.max(1, n)) } }));
}

/** user + system CPU of a process, in ms (Linux /proc; 0 elsewhere). */
function cpuMs(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
