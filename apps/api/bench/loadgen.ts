// Load generator for bench:e2e, run as its own process: C concurrent loops, each placing signed orders over
// keep-alive HTTP for DURATION_MS, timing every request. Prints one JSON object on stdout.
import { AteClient } from '@ate/client';

interface Input {
  url: string;
  market: string;
  agents: { keyId: string; secret: string }[];
  connections: number;
  durationMs: number;
  warmupMs: number;
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] as string) as Input;
  const clients = input.agents.map((a) => new AteClient({ baseUrl: input.url, ...a, timeoutMs: 10_000 }));
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
        const r = await c.raw('POST', '/v1/orders', {
          market: input.market,
          side: buy ? 'buy' : 'sell',
          type: 'limit',
          price: (ticks / 1000).toFixed(3),
          quantity: String(1 + (n % 3)),
          timeInForce: cross ? 'IOC' : 'GTC',
        });
        const done = performance.now();
        if (r.status < 300) {
          ok++;
          if (started >= measureFrom && done <= end) {
            measuredOk++;
            latencies.push(done - started);
          }
        } else {
          errors++;
          const code = (r.body as { error?: { code?: string } })?.error?.code ?? String(r.status);
          codes[code] = (codes[code] ?? 0) + 1;
        }
      } catch {
        errors++;
        codes['network'] = (codes['network'] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: input.connections }, (_, k) => loop(k)));
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
