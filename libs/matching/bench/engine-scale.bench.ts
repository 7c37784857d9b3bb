/**
 * npm run bench:engine-scale [-- --markets 10000] [-- --agents 1000000] [-- --resting 1000000] [-- --commands 1000000]
 *   [-- --max-price-ticks 1048576] [-- --no-restore] [-- --no-v1-hash]
 *
 * Many markets and agents on one node: a MarketSet of `markets` markets (one allowance asset each, plus CREDIT,
 * the widest price range by default, as the admin endpoint's default), `agents` agents each holding CREDIT and
 * the base assets of two markets (~3 assets each), one resting order per agent (`resting` in all, bids below and
 * asks above the mid, none crossing; with the defaults they land on the odd markets only, 200 each on two ticks,
 * each order by an agent new to its market: `bookShape` in the output). Then it times:
 * creation (markets; agents funded; orders placed), memory (heap, array buffers, RSS after a GC), the sequencer's
 * checkpoint (state hash v2 of every market; v1 timed on one market and multiplied, unless --no-v1-hash), a snapshot
 * (MarketSet.snapshot: the shared view once, sparse; JSON size and time), recovery (JSON.parse +
 * MarketSet.restore, checked against the original by a snapshot comparison of a sample of markets), and commands/s
 * on a mixed flow spread over every market (`commands` in all: each market gets its own stream from the
 * benchmark's workload generator, seeded by market, and the streams are interleaved round-robin, so every
 * command lands on another market's book). For comparison the plain workload (one market, 8 agents, as
 * bench:engine) runs in the same process. Prints JSON on the last line.
 */
import type { MatchingCommand } from '@ate/contracts';
import { DEFAULT_MARKET_CONFIG, type MarketConfig, MarketSet, MatchingEngine, NullSink } from '../src/index';
import { makeWorkload, type WorkCmd } from './workload';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const gc = () => (globalThis as { gc?: () => void }).gc?.();
const MB = (b: number) => Math.round(b / 1048576);
/** wall seconds since t0; the CPU seconds (user + system) of the same span go to cpuOf[key] (steadier on a shared machine) */
let cpuMark = process.cpuUsage();
const cpuSecs: Record<string, number> = {};
const secs = (t0: bigint, key?: string) => {
  const c = process.cpuUsage(cpuMark);
  if (key !== undefined) cpuSecs[key] = Math.round((c.user + c.system) / 1000) / 1000;
  return Math.round(Number(process.hrtime.bigint() - t0) / 1e6) / 1000;
};
const start = () => {
  cpuMark = process.cpuUsage();
  return process.hrtime.bigint();
};

const MID = 10_000;
const CREDIT_EACH = 1e9; // x 1M agents stays a safe integer supply
const BASE_EACH = 1e8;

function marketConfig(m: number, maxPriceTicks: number): MarketConfig {
  return {
    ...DEFAULT_MARKET_CONFIG,
    marketId: `M${m}`,
    baseAsset: `A${m}`,
    maxOrderLots: 1_000,
    maxPriceTicks,
    initialPriceTicks: MID,
    priceBandBps: 5_000,
    defaultStp: 'cancel_maker',
    ordersPerAgentMax: 1_000,
  };
}

/** the two markets whose base asset an agent holds */
const homeMarket = (a: number, markets: number) => a % markets;
const otherMarket = (a: number, markets: number) => (a * 7 + 3) % markets;

/** one market's share of the flow: the workload generator seeded by market, ids after the resting orders */
function marketFlow(m: number, n: number, idBase: number, tsBase: number, owners: number[]): MatchingCommand[] {
  const work: WorkCmd[] = makeWorkload({ commands: n, seed: 1000 + m, mid: MID, resting: 50 });
  return work.map((w, i): MatchingCommand => {
    const id = w.id + idBase;
    const agent = owners[w.id % owners.length];
    const ts = tsBase + i;
    if (w.op === 'limit') return { type: 'limit', ts, orderId: id, agent, side: w.side, price: w.price, lots: w.size, tif: w.tif };
    if (w.op === 'market') return { type: 'market', ts, orderId: id, agent, side: w.side, lots: w.size };
    return { type: 'cancel', ts, orderId: id, agent };
  });
}

function memory(set: MarketSet | null): Record<string, number> {
  gc();
  const m = process.memoryUsage();
  let typed = 0;
  if (set !== null) {
    typed = set.balances.typedArrayBytes;
    for (const id of set.marketIds) typed += (set.market(id) as MatchingEngine).typedArrayBytes;
  }
  return { heapMB: MB(m.heapUsed), arrayBuffersMB: MB(m.arrayBuffers), rssMB: MB(m.rss), typedArraysMB: MB(typed) };
}

/** the plain workload (as bench:engine, one market, 8 agents), best of 3, in this process */
function plainOpsPerSec(): number {
  const work = makeWorkload({ commands: 1_000_000, seed: 42 });
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const set = new MarketSet(['CREDIT', 'BASE'], 8);
    const e = set.addMarket({
      ...marketConfig(0, 1 << 17),
      marketId: 'PLAIN',
      baseAsset: 'BASE',
      ordersPerAgentMax: 1 << 20,
      bookOrdersMax: 1 << 21,
    });
    for (let a = 0; a < 8; a++) {
      set.balances.deposit(a, 0, 1e14);
      set.balances.deposit(a, 1, 1e12);
    }
    const cmds = work.map((w, i): MatchingCommand => {
      const agent = w.id % 8;
      if (w.op === 'limit') return { type: 'limit', ts: i, orderId: w.id, agent, side: w.side, price: w.price, lots: w.size, tif: w.tif };
      if (w.op === 'market') return { type: 'market', ts: i, orderId: w.id, agent, side: w.side, lots: w.size };
      return { type: 'cancel', ts: i, orderId: w.id, agent };
    });
    gc();
    const t0 = start();
    for (let i = 0; i < cmds.length; i++) e.execute(cmds[i]);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return Math.round(1_000_000 / best);
}

function main(): void {
  const markets = arg('--markets', 10_000);
  const agents = arg('--agents', 1_000_000);
  const resting = arg('--resting', agents);
  const commands = arg('--commands', 1_000_000);
  const maxPriceTicks = arg('--max-price-ticks', 1 << 20);
  const out: Record<string, unknown> = { markets, agents, resting, commands, maxPriceTicks };
  const log = (m: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
  const mem0 = memory(null);

  // ---- creation ----
  let t0 = start();
  const assets = ['CREDIT', ...Array.from({ length: markets }, (_, m) => `A${m}`)];
  const set = new MarketSet(assets, Math.max(agents, 1));
  const sink = new NullSink();
  for (let m = 0; m < markets; m++) set.addMarket(marketConfig(m, maxPriceTicks), sink);
  out['createMarketsSecs'] = secs(t0, 'createMarketsSecs');
  const emptyMarketBytes = (set.market('M0') as MatchingEngine).typedArrayBytes;
  out['emptyMarketKB'] = Math.round(emptyMarketBytes / 102.4) / 10;
  log(`${markets} markets in ${out['createMarketsSecs']} s; ${JSON.stringify(memory(set))}`);
  t0 = start();
  const v = set.balances;
  for (let a = 0; a < agents; a++) {
    v.deposit(a, 0, CREDIT_EACH);
    v.deposit(a, 1 + homeMarket(a, markets), BASE_EACH);
    v.deposit(a, 1 + otherMarket(a, markets), BASE_EACH);
  }
  out['fundAgentsSecs'] = secs(t0, 'fundAgentsSecs');
  out['balances'] = v.cells;
  out['bytesPerBalance'] = Math.round((v.typedArrayBytes - Math.ceil(v.agentsMax / 8)) / v.cells);
  log(`${agents} agents funded (${v.cells} balances) in ${out['fundAgentsSecs']} s`);
  t0 = start();
  const engines = Array.from({ length: markets }, (_, m) => set.market(`M${m}`) as MatchingEngine);
  let orderId = 0;
  for (let i = 0; i < resting; i++) {
    const a = i % agents;
    const buy = i % 2 === 0;
    const m = buy ? otherMarket(a, markets) : homeMarket(a, markets);
    const off = 5 + (i % 400);
    const r = engines[m].execute({
      type: 'limit',
      ts: 1,
      orderId: ++orderId,
      agent: a,
      side: buy ? 'buy' : 'sell',
      price: buy ? MID - off : MID + off,
      lots: 1 + (i % 20),
      tif: 'GTC',
    });
    if (r !== null) throw new Error(`resting order ${i} rejected: ${r}`);
  }
  out['placeOrdersSecs'] = secs(t0, 'placeOrdersSecs');
  const open = engines.reduce((n, e) => n + e.openOrders, 0);
  const bookBytes = engines.reduce((n, e) => n + e.typedArrayBytes, 0) - emptyMarketBytes * markets;
  out['bytesPerRestingOrder'] = Math.round(bookBytes / Math.max(open, 1)); // pool, id index, pages, agent slots
  // where it goes: each part's bytes beyond an empty market's, per resting order
  const empty = new MatchingEngine(marketConfig(0, maxPriceTicks)).memoryBreakdown();
  const parts = ['pool', 'idIndex', 'directory', 'pages', 'agents', 'heap'] as const;
  const perOrder: Record<string, number> = {};
  for (const k of parts) {
    const bytes = engines.reduce((n, e) => n + e.memoryBreakdown()[k], 0) - empty[k] * markets;
    perOrder[k] = Math.round((bytes / Math.max(open, 1)) * 10) / 10;
  }
  out['bytesPerRestingOrderByPart'] = perOrder;
  // the shape those bytes are measured in: agent a's buy goes to otherMarket(a), its sell to homeMarket(a), which
  // puts every order on the odd markets, 200 each (100 bids on one tick, 100 asks on another), each by an agent new
  // to that market: every order also pays for an agent slot, the worst case for bytes per order
  const populated = engines.filter((e) => e.openOrders > 0);
  const sample = populated[0]?.memoryBreakdown();
  const sampleDepth = populated[0]?.depth(1 << 20);
  out['bookShape'] = {
    marketsWithOrders: populated.length,
    ordersPerMarket: Math.round(open / Math.max(populated.length, 1)),
    levelsPerMarket: sampleDepth ? sampleDepth.bids.length + sampleDepth.asks.length : 0,
    poolSlotsPerMarket: sample?.poolSlots ?? 0,
    bytesPerPoolSlot: sample ? Math.round((sample.pool / sample.poolSlots) * 10) / 10 : 0,
    agentSlotsPerMarket: sample?.agentSlots ?? 0,
  };
  const memFull = memory(set);
  out['memory'] = memFull;
  out['memoryBaseline'] = mem0;
  log(
    `${open} resting orders placed in ${out['placeOrdersSecs']} s; ${JSON.stringify(memFull)}; bytes per order by part ${JSON.stringify(perOrder)}; shape ${JSON.stringify(out['bookShape'])}`,
  );

  // ---- the sequencer's checkpoint: every market's state hash (v2: book hashes + one balance digest; v1: per market) ----
  t0 = start();
  const held = v.heldHash();
  for (const e of engines) e.bookHash();
  out['checkpointV2Secs'] = secs(t0, 'checkpointV2Secs');
  const anyChange = engines[otherMarket(0, markets)].execute({ type: 'cancel', ts: 1, orderId: 1, agent: 0 }); // one book changes, the others are reused
  t0 = start();
  if (anyChange !== null || v.heldHash() === held) throw new Error('a cancel was refused, or the balance digest did not change with it');
  for (const e of engines) e.bookHash();
  out['checkpointV2AgainSecs'] = secs(t0, 'checkpointV2AgainSecs');
  log(
    `checkpoint v2 (${markets} book hashes, one balance digest over ${v.cells} balances) in ${out['checkpointV2Secs']} s, again after one cancel ${out['checkpointV2AgainSecs']} s`,
  );
  if (!process.argv.includes('--no-v1-hash')) {
    t0 = start();
    engines[1 % markets].stateHash(); // v1: book + every known agent x every asset of the view, per market
    out['checkpointV1OneMarketSecs'] = secs(t0, 'checkpointV1OneMarketSecs');
    out['checkpointV1EstimatedSecs'] = Math.round((out['checkpointV1OneMarketSecs'] as number) * markets);
    log(
      `checkpoint v1: one market's stateHash ${out['checkpointV1OneMarketSecs']} s, so ~${out['checkpointV1EstimatedSecs']} s for ${markets} markets`,
    );
  }

  // ---- snapshot and recovery ----
  t0 = start();
  let snap: ReturnType<MarketSet['snapshot']> | null = set.snapshot();
  out['snapshotSecs'] = secs(t0, 'snapshotSecs');
  t0 = start();
  let json: string | null = JSON.stringify(snap);
  out['snapshotJsonSecs'] = secs(t0, 'snapshotJsonSecs');
  out['snapshotJsonMB'] = MB(json.length);
  snap = null;
  log(`snapshot in ${out['snapshotSecs']} s, JSON ${out['snapshotJsonMB']} MB in ${out['snapshotJsonSecs']} s`);
  if (!process.argv.includes('--no-restore')) {
    t0 = start();
    const parsed = JSON.parse(json) as ReturnType<MarketSet['snapshot']>;
    out['parseSecs'] = secs(t0, 'parseSecs');
    json = null;
    t0 = start();
    let restored: MarketSet | null = MarketSet.restore(parsed);
    out['restoreSecs'] = secs(t0, 'restoreSecs');
    for (const m of [0, Math.floor(markets / 2), markets - 1]) {
      const a = (set.market(`M${m}`) as MatchingEngine).snapshot({ balances: false });
      const b = (restored.market(`M${m}`) as MatchingEngine).snapshot({ balances: false });
      if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`restored market M${m} differs`);
    }
    log(`recovered (parse ${out['parseSecs']} s, restore ${out['restoreSecs']} s); ${JSON.stringify(memory(restored))} with both sets held`);
    restored = null;
  }
  json = null;

  // ---- commands/s over every market ----
  const owners: number[][] = Array.from({ length: markets }, () => []);
  for (let a = 0; a < agents; a++) if (owners[homeMarket(a, markets)].length < 64) owners[homeMarket(a, markets)].push(a);
  const perMarket = Math.max(1, Math.ceil(commands / markets));
  const flows = engines.map((e, m) => marketFlow(m, perMarket, orderId, 2, owners[m].length > 0 ? owners[m] : [0]));
  const order: [MatchingEngine, MatchingCommand][] = [];
  for (let i = 0; i < perMarket && order.length < commands; i++) {
    for (let m = 0; m < markets && order.length < commands; m++) order.push([engines[m], flows[m][i]]);
  }
  gc();
  t0 = start();
  const c0 = process.cpuUsage();
  let rejected = 0;
  for (let i = 0; i < order.length; i++) if (order[i][0].execute(order[i][1]) !== null) rejected++;
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  out['opsPerSec'] = Math.round(order.length / wall);
  out['opsPerCpuSec'] = Math.round(order.length / ((cpu.user + cpu.system) / 1e6));
  out['rejected'] = rejected;
  log(`${order.length} commands over ${markets} markets: ${out['opsPerSec']} /s wall, ${out['opsPerCpuSec']} /CPU-s, ${rejected} rejected`);
  out['plainOpsPerSec'] = plainOpsPerSec();
  out['cpuSecs'] = cpuSecs;
  out['memoryEnd'] = memory(set);
  out['node'] = process.version;
  log(`plain workload (one market) ${out['plainOpsPerSec']} /s wall`);
  console.log(JSON.stringify(out));
}

main();
