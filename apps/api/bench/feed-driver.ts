// The feed benchmark's driver, in a process of its own (it shared the bench process with the peer's relay before,
// and its CPU could not be told apart): committed book changes at a fixed rate over signed REST, through an undici
// pool. Open loop: `rate` requests a second, each a resting limit order that does not cross (buys under 1.000,
// sells over it) or, for an agent with many open, a cancel of its oldest: one committed book change each. At most
// `maxInFlight` requests are outstanding (one per connection; a request is signed when sent, so it never waits in
// a queue past its timestamp's window). Prints one JSON line: what it got done and what bounded it (its own CPU
// per request, the server's latency, the time spent at the in-flight cap).
import { AteClient } from '@ate/client';
import { Pool } from 'undici';

interface Input {
  url: string;
  market: string;
  keys: { keyId: string; secret: string }[];
  rate: number;
  ms: number;
  maxInFlight: number;
}

export interface DriverResult {
  changes: number;
  errors: number;
  seconds: number;
  /** requests asked for by the schedule but not sent in time: the in-flight cap was reached */
  late: number;
  /** share of the run with every connection busy (the server's latency bounds the rate then, not the driver) */
  atCapPct: number;
  /** request latency as the driver sees it (send to response body read) */
  p50Ms: number;
  p99Ms: number;
  /** the driver's own CPU (user + system) per request, µs */
  cpuUsPerRequest: number;
  cpuPct: number;
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] as string) as Input;
  const agents = input.keys.map((k) => new AteClient({ baseUrl: input.url, ...k }));
  const max = input.maxInFlight;
  const pool = new Pool(input.url, { connections: max, pipelining: 1, keepAliveTimeout: 60_000 });
  const open: string[][] = agents.map(() => []);
  const lat: number[] = [];
  let changes = 0;
  let errors = 0;
  let inFlight = 0;
  let i = 0;
  let late = 0;
  let capMs = 0;
  const send = async (c: AteClient, method: string, path: string, body: string) => {
    const r = await pool.request({
      method,
      path,
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...c.sign(method, path, body) },
      body: body || undefined,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const text = await r.body.text();
    if (r.statusCode >= 300) throw new Error(text);
    return JSON.parse(text) as { id: string };
  };
  const one = async (k: number, n: number) => {
    const c = agents[k] as AteClient;
    const mine = open[k] as string[];
    inFlight++;
    const t = performance.now();
    try {
      if (mine.length > 150) await send(c, 'DELETE', `/v1/orders/${mine.shift() as string}`, '');
      else {
        const buy = (n & 1) === 0;
        const ticks = buy ? 900 + (n % 97) : 1001 + (n % 97);
        const body = JSON.stringify({
          market: input.market,
          side: buy ? 'buy' : 'sell',
          type: 'limit',
          price: (ticks / 1000).toFixed(3),
          quantity: String(1 + (n % 5)),
        });
        mine.push((await send(c, 'POST', '/v1/orders', body)).id);
      }
      changes++;
      lat.push(performance.now() - t);
    } catch (e) {
      if (errors++ === 0) process.stderr.write(`feed driver: first error: ${(e as Error).message.slice(0, 300)}\n`);
    } finally {
      inFlight--;
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const pending = new Set<Promise<void>>();
  let last = performance.now();
  while (Date.now() - t0 < input.ms) {
    const due = Math.floor(((Date.now() - t0) * input.rate) / 1000);
    while (i < due && inFlight < max) {
      const p = one(i % agents.length, i);
      pending.add(p);
      void p.finally(() => pending.delete(p));
      i++;
    }
    const now = performance.now();
    if (inFlight >= max) capMs += now - last;
    last = now;
    if (i < due && inFlight >= max) late = Math.max(late, due - i);
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  const seconds = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await pool.close();
  lat.sort((x, y) => x - y);
  const q = (p: number) => Math.round((lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0) * 10) / 10;
  const cpuUs = cpu.user + cpu.system;
  const result: DriverResult = {
    changes,
    errors,
    seconds,
    late,
    atCapPct: Math.round((capMs / (seconds * 1000)) * 100),
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    cpuUsPerRequest: Math.round(cpuUs / Math.max(1, i)),
    cpuPct: Math.round((cpuUs / 1000 / (seconds * 1000)) * 100),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
