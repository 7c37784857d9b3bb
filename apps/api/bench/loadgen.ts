// Load generator for bench:e2e, run as its own process: C concurrent loops, each placing signed orders over
// keep-alive HTTP for DURATION_MS, timing every request. Prints one JSON object on stdout.
// Requests are signed by @ate/client and sent through an undici Pool (C keep-alive connections): fetch cost
// ~250 µs of this process's CPU per request, which on 2 cores starved the server it measures.
import { AteClient } from '@ate/client';
import { Pool } from 'undici';

interface Input {
  url: string;
  market: string;
  /** one per connection (connection k uses key k mod keys) */
  keys: { keyId: string; secret: string }[];
  connections: number;
  durationMs: number;
  warmupMs: number;
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] as string) as Input;
  const clients = input.keys.map((a) => new AteClient({ baseUrl: input.url, ...a, timeoutMs: 10_000 }));
  const pool = new Pool(input.url, { connections: input.connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  const codes: Record<string, number> = {};
  const t0 = performance.now();
  const measureFrom = t0 + input.warmupMs;
  const end = measureFrom + input.durationMs;
  let measuredOk = 0;
  const loop = async (k: number) => {
    const c = clients[k % clients.length] as AteClient;
    for (let n = 0; performance.now() < end; n++) {
      // around a mid of 1.000: half the orders rest (GTC, off the touch), half cross (IOC), so trades happen
      const buy = (n + k) % 2 === 0;
      const cross = n % 2 === 0;
      const offset = 1 + ((n * 13 + k * 7) % 20);
      const ticks = cross ? (buy ? 1000 + offset : 1000 - offset) : buy ? 1000 - offset : 1000 + offset;
      const started = performance.now();
      try {
        const body = JSON.stringify({
          market: input.market,
          side: buy ? 'buy' : 'sell',
          type: 'limit',
          price: `${Math.floor(ticks / 1000)}.${String(ticks % 1000).padStart(3, '0')}`,
          quantity: String(1 + (n % 3)),
          timeInForce: cross ? 'IOC' : 'GTC',
        });
        const r = await pool.request({
          method: 'POST',
          path: '/v1/orders',
          headers: { 'content-type': 'application/json', ...c.sign('POST', '/v1/orders', body) },
          body,
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
        const text = await r.body.text();
        const done = performance.now();
        if (r.statusCode < 300) {
          ok++;
          if (started >= measureFrom && done <= end) {
            measuredOk++;
            latencies.push(done - started);
          }
        } else {
          errors++;
          const code = (JSON.parse(text) as { error?: { code?: string } })?.error?.code ?? String(r.statusCode);
          codes[code] = (codes[code] ?? 0) + 1;
        }
      } catch {
        errors++;
        codes['network'] = (codes['network'] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: input.connections }, (_, k) => loop(k)));
  await pool.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  process.stdout.write(
    JSON.stringify({ measuredOk, ok, errors, codes, seconds: input.durationMs / 1000, p50Ms: pct(50), p99Ms: pct(99), p999Ms: pct(99.9) }) + '\n',
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
