/**
 * The benchmarks' own seeded order-flow workload, so `npm run bench:engine` runs on a fresh clone. It has the
 * shape and parameters of the team's shared workload (`../shared/bench/workload.mjs`, `makeWorkload`) and draws
 * the same random numbers in the same order, so for the same options it yields the same stream; the benchmark
 * checks that whenever the shared file is present and says so.
 *
 * Per command (one draw `r` from mulberry32(seed)): every 1,000th command the mid moves by round((u - 0.5) x 20)
 * ticks (floored at 2 x spread); with probability `cancelShare` (0.55 once more than `resting` GTC orders are
 * live, else 0.3) a cancel of a random live id (it may have filled already); with probability 0.07 a market order
 * of 1..20 lots, either side; otherwise a limit of 1..100 lots at mid -/+ (floor(u x spread) - floor(spread / 10))
 * (mostly passive, some crossing), 5% IOC, else GTC. Ids are 1, 2, 3... in order.
 */
import { mulberry32 } from '@ate/contracts';

export type WorkCmd =
  | { op: 'limit'; id: number; side: 'buy' | 'sell'; price: number; size: number; tif: 'GTC' | 'IOC' }
  | { op: 'market'; id: number; side: 'buy' | 'sell'; size: number }
  | { op: 'cancel'; id: number };

export interface WorkloadOptions {
  /** commands in the stream */
  commands?: number;
  seed?: number;
  /** ticks: starting mid price */
  mid?: number;
  /** ticks: width of the band where limits land around the mid */
  spread?: number;
  /** orders: about this many GTC orders rest at any time */
  resting?: number;
}

export function makeWorkload({ commands = 1_000_000, seed = 42, mid = 10_000, spread = 50, resting = 10_000 }: WorkloadOptions = {}): WorkCmd[] {
  const rnd = mulberry32(seed);
  const out: WorkCmd[] = new Array(commands);
  const live: number[] = []; // ids of GTC orders that may still rest, for cancels
  let price = mid;
  let nextId = 1;
  for (let i = 0; i < commands; i++) {
    const r = rnd();
    if (i % 1000 === 0) price = Math.max(spread * 2, price + Math.round((rnd() - 0.5) * 20));
    const cancelShare = live.length > resting ? 0.55 : 0.3;
    if (r < cancelShare && live.length > 0) {
      const k = Math.floor(rnd() * live.length);
      const id = live[k];
      live[k] = live[live.length - 1];
      live.pop();
      out[i] = { op: 'cancel', id };
    } else if (r < cancelShare + 0.07) {
      out[i] = { op: 'market', id: nextId++, side: rnd() < 0.5 ? 'buy' : 'sell', size: 1 + Math.floor(rnd() * 20) };
    } else {
      const side = rnd() < 0.5 ? 'buy' : 'sell';
      const offset = Math.floor(rnd() * spread) - Math.floor(spread * 0.1);
      const p = side === 'buy' ? price - offset : price + offset;
      const id = nextId++;
      const tif = rnd() < 0.05 ? 'IOC' : 'GTC';
      out[i] = { op: 'limit', id, side, price: p, size: 1 + Math.floor(rnd() * 100), tif };
      if (tif === 'GTC') live.push(id);
    }
  }
  return out;
}

type MakeWorkload = (o: WorkloadOptions) => WorkCmd[];

/**
 * The workload generator to run: ours, or with `shared` the team's shared one (which must then exist).
 * `sharedStatus` says how ours compares to the shared one: 'identical' (same stream for the checked options),
 * 'differs', or 'absent' (no shared file: a fresh clone).
 */
export async function workloadSource(sharedPath: string, useShared: boolean): Promise<{ make: MakeWorkload; name: string; sharedStatus: string }> {
  let shared: MakeWorkload | null = null;
  try {
    shared = ((await import(sharedPath)) as { makeWorkload: MakeWorkload }).makeWorkload;
  } catch (e) {
    if (useShared) throw new Error(`--workload shared: cannot load ${sharedPath}: ${(e as Error).message}`);
  }
  let sharedStatus = 'absent';
  if (shared !== null) {
    const probe = { commands: 200_000, seed: 42 };
    sharedStatus = JSON.stringify(shared(probe)) === JSON.stringify(makeWorkload(probe)) ? 'identical' : 'differs';
  }
  if (useShared && shared !== null) return { make: shared, name: 'shared', sharedStatus };
  return { make: makeWorkload, name: 'own', sharedStatus };
}
