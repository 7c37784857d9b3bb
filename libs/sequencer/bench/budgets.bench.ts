// `node -r @swc-node/register libs/sequencer/bench/budgets.bench.ts`: the cost of the budget stage in the
// sequencer's deterministic core (EngineCore.matching: pre-trade -> matching -> post-trade), without I/O, with a
// policy on every agent against none (and a policy with an approval rule no order is above), alternating rounds of
// the same order flow. CPU time of this process (process.cpuUsage), so the figure holds on a busy machine. Prints
// one JSON line.
import { CREDIT, MatchingCommand } from '@ate/contracts';
import { BalanceView, DEFAULT_MARKET_CONFIG } from '@ate/matching';
import { EngineCore } from '../src/lib/core';

const M = 'BENCH/CREDIT';
const AGENTS = 16;
const ORDERS = 200_000;

type Mode = 'none' | 'policy' | 'approval';

function round(mode: Mode): number {
  const withPolicy = mode !== 'none';
  const config = {
    ...DEFAULT_MARKET_CONFIG,
    marketId: M,
    baseAsset: 'BENCH',
    initialPriceTicks: 1000,
    priceBandBps: 5000,
    ordersPerAgentMax: 1_000_000,
  };
  const core = new EngineCore(
    new BalanceView([CREDIT, 'BENCH'], 64),
    [{ id: M, config, makerFeeBps: 0, takerFeeBps: 10, feeRounding: 'up' }],
    (n) => `a${n}`,
  );
  const m = core.markets.get(M) as NonNullable<ReturnType<typeof core.markets.get>>;
  for (let a = 1; a <= AGENTS; a++) {
    core.funds('deposit', a, CREDIT, 1e13);
    core.funds('deposit', a, 'BENCH', 1e13);
    if (withPolicy)
      core.budgets.apply(
        {
          t: 'b',
          op: 'policy',
          agent: a,
          policy: {
            caps: [
              { windowMs: 3_600_000, limit: 1e14 },
              { windowMs: 86_400_000, limit: 2e14 },
            ],
            maxOrderNotional: 1e12,
            maxPrice: { BENCH: 1e9 },
            markets: [M],
            orderTypes: ['limit', 'market'],
            expiresAt: null,
            // an approval rule no order of the flow is above: the approvals' pre-trade check runs, nothing is held
            ...(mode === 'approval' ? { approval: { above: 1e13, ttlMs: 60_000 } } : {}),
          },
        },
        core.markets.values(),
        core.balances,
      );
  }
  // the flow of bench:e2e: around a mid of 1,000 ticks, half the orders rest (GTC), half cross (IOC)
  const t0 = process.cpuUsage();
  for (let n = 0; n < ORDERS; n++) {
    const agent = 1 + (n % AGENTS);
    const buy = (n + agent) % 2 === 0;
    const cross = n % 2 === 0;
    const offset = 1 + ((n * 13 + agent * 7) % 20);
    const price = cross ? (buy ? 1000 + offset : 1000 - offset) : buy ? 1000 - offset : 1000 + offset;
    const c: MatchingCommand = {
      type: 'limit',
      ts: 1_000_000 + n,
      orderId: ++core.lastOrderId,
      agent,
      side: buy ? 'buy' : 'sell',
      price,
      lots: 1 + (n % 3),
      tif: cross ? 'IOC' : 'GTC',
    };
    core.matching(m, c, `a${agent}`);
  }
  const d = process.cpuUsage(t0);
  return ((d.user + d.system) * 1000) / ORDERS; // ns per order
}

const results: { mode: Mode; nsPerOrder: number }[] = [];
const MODES: Mode[] = ['none', 'policy', 'approval'];
for (let i = 0; i < 2; i++) for (const p of MODES) round(p); // warm-up (JIT), not counted
for (let i = 0; i < 8; i++) for (const p of MODES) results.push({ mode: p, nsPerOrder: Math.round(round(p)) });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const of = (mode: Mode) => median(results.filter((r) => r.mode === mode).map((r) => r.nsPerOrder));
const [without, withP, withApproval] = MODES.map(of) as [number, number, number];
console.log(
  JSON.stringify({
    rounds: results,
    medianNsPerOrder: { without, withPolicy: withP, withApprovalRule: withApproval },
    ratio: Number((without / withP).toFixed(3)),
  }),
);
