/**
 * npm run bench:auctions [-- --runs N]
 *
 * The library half of the auctions benchmark, on seeded workloads (mulberry32), in one process after a warm-up:
 * - multi-unit VCG: 100 bidders x 100 steps (10,000 steps in all), 200,000 units;
 * - combinatorial VCG, without and with core payments, on HiGHS: 20 bidders x 8 items and 100 bidders x 16
 *   items, each bidder an XOR of 4 bundles of 1-4 items valued by item values with a random complementarity.
 * Times are medians of N runs (default 5) in milliseconds, wall clock and CPU of this process, after a solver
 * warm-up (V8 first runs wasm on its baseline tier; highs.wasm is compiled once and shared by every runtime). Prints one JSON line last; the posted-price figure
 * through the API needs the service and is null until it exists.
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import loadHighs from 'highs';
import { mulberry32 } from '@ate/contracts';
import { clearCombinatorial, clearMultiUnit, highsSolver, type CombinatorialAuction, type MultiUnitAuction } from '../src/index';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const RUNS = arg('--runs', 5);

function multiUnitWorkload(seed: number): MultiUnitAuction {
  const rnd = mulberry32(seed);
  const bids = Array.from({ length: 100 }, (_, i) => {
    let price = 1_000_000 + Math.floor(rnd() * 1_000_000);
    const steps = Array.from({ length: 100 }, () => {
      price = Math.max(1, price - Math.floor(rnd() * 9_000));
      return { units: BigInt(1 + Math.floor(rnd() * 50)), price: BigInt(price) };
    });
    return { bidder: `agent-${i}`, steps };
  });
  return { units: 200_000n, reservePrice: 10_000n, bids };
}

function combinatorialWorkload(seed: number, bidders: number, items: number): CombinatorialAuction {
  const rnd = mulberry32(seed);
  const ids = Array.from({ length: items }, (_, k) => `model-${k}`);
  const base = ids.map(() => 1_000 + Math.floor(rnd() * 9_000));
  const bids = Array.from({ length: bidders }, (_, i) => {
    const bundles = Array.from({ length: 4 }, () => {
      const size = 1 + Math.floor(rnd() * 4);
      const chosen = new Set<number>();
      while (chosen.size < size) chosen.add(Math.floor(rnd() * items));
      const sum = [...chosen].reduce((s, k) => s + base[k], 0);
      const synergy = 0.8 + rnd() * (0.2 + 0.15 * size); // larger bundles may be complements
      return { items: [...chosen].map((k) => ids[k]), value: BigInt(Math.round(sum * synergy)) };
    });
    return { bidder: `agent-${i}`, bundles };
  });
  return { items: ids.map((id) => ({ id })), bids };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)] * 100) / 100;
}

/** Wall-clock and CPU (user + system of this process) milliseconds of each run: on a shared machine CPU is steadier. */
async function timeIt<T>(f: () => Promise<T> | T): Promise<{ ms: number[]; cpu: number[]; last: T }> {
  const ms: number[] = [];
  const cpu: number[] = [];
  let last!: T;
  for (let r = 0; r < RUNS; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    last = await f();
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { ms, cpu, last };
}

async function main(): Promise<void> {
  // as the service should: compile highs.wasm once per process, so replaced runtimes reuse V8's optimised code
  // (Node has WebAssembly; this project's TypeScript lib, es2022 without DOM, does not declare it)
  const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<object> } }).WebAssembly;
  const wasmModule = (await wasm.compile(readFileSync(require.resolve('highs/runtime')))) as never;
  const solver = highsSolver({ load: () => loadHighs({ wasmModule }), timeLimitSeconds: 30 });
  const mu = multiUnitWorkload(42);
  clearMultiUnit(mu); // warm-up
  const multi = await timeIt(() => clearMultiUnit(mu));
  if (!multi.last.ok) throw new Error('multi-unit rejected');
  console.log(`multi-unit VCG 100 bidders x 10,000 steps: median ${median(multi.ms)} ms wall, ${median(multi.cpu)} ms CPU`);

  const out: Record<string, unknown> = { multiUnitMs: median(multi.ms), multiUnitCpuMs: median(multi.cpu) };
  // warm-up: the first seconds of solving run on V8's baseline wasm tier until the optimised code is ready
  const w0 = performance.now();
  for (let r = 0; r < 3; r++) await clearCombinatorial(combinatorialWorkload(1, 100, 16), { solver, payments: 'core' });
  console.log(`solver warm-up (3 core clearings of another 100 x 16 instance): ${Math.round(performance.now() - w0)} ms`);
  for (const [bidders, items] of [
    [20, 8],
    [100, 16],
  ] as const) {
    const a = combinatorialWorkload(7 + bidders, bidders, items);
    for (const payments of ['vcg', 'core'] as const) {
      const t = await timeIt(() => clearCombinatorial(a, { solver, payments }));
      const r = t.last;
      if (!r.ok) throw new Error(`${bidders}x${items} ${payments} rejected: ${JSON.stringify(r)}`);
      const key = `comb${bidders}x${items}${payments === 'vcg' ? 'Vcg' : 'Core'}`;
      out[`${key}Ms`] = median(t.ms);
      out[`${key}CpuMs`] = median(t.cpu);
      out[`${key}Solves`] = r.solves;
      out[`${key}Revenue`] = r.revenue.toString();
      const winners = r.awards.filter((w) => w.bundle !== null).length;
      console.log(
        `combinatorial ${payments} ${bidders} bidders x ${items} items (${bidders * 4} bundles): median ${median(t.ms)} ms wall, ${median(t.cpu)} ms CPU, ` +
          `${r.solves} solves, ${winners} winners, welfare ${r.welfare}, revenue ${r.revenue} (VCG ${r.vcgRevenue})`,
      );
    }
  }
  out['postedPricePurchasesPerSec'] = null;
  out['note'] = 'posted-price purchases through the API need the service (not built yet): null';
  out['runs'] = RUNS;
  out['node'] = process.version;
  out['cpus'] = os.cpus().length;
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
