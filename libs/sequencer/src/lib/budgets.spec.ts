import { CREDIT, MatchingCommand } from '@ate/contracts';
import { BalanceView, DEFAULT_MARKET_CONFIG } from '@ate/matching';
import fc from 'fast-check';
import { BudgetLogged, BudgetPolicy, SpendLog } from './budgets';
import { EngineCore, LoggedCommand } from './core';

/**
 * The budget state of the sequencer as a specification: the spend log against a naive twin, and the delegation
 * tree as a property over random trees, spends and revocations run through the real EngineCore (pure: no I/O).
 */

describe('SpendLog: rolling windows over command time (against a naive twin)', () => {
  it('used, freesAt and pruning agree with a plain list of fills', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 1000 })), { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 5000 }),
        (steps, windowMs, amount) => {
          const log = new SpendLog();
          const naive: [number, number][] = [];
          let t = 0;
          for (const [dt, x] of steps) {
            t += dt;
            log.add(t, x);
            naive.push([t, x]);
            if (naive.length % 97 === 0) log.prune(t - 10_000); // nothing that old: pruning must change no answer
            const inWindow = naive.filter(([s]) => s > t - windowMs);
            expect(log.used(t, windowMs)).toBe(inWindow.reduce((a, [, v]) => a + v, 0));
            // the first time at which `amount` of the window's spend has left it
            let acc = 0;
            let frees: number | null = null;
            for (const [s, v] of inWindow) {
              acc += v;
              if (acc >= amount) {
                frees = s + windowMs;
                break;
              }
            }
            expect(log.freesAt(t, windowMs, amount)).toBe(frees);
          }
        },
      ),
      { seed: 20261202, numRuns: 150 },
    );
  });

  it.each([
    // [fills (ts, amount), now, window, used]: a fill at s counts in (now - window, now], so it leaves at exactly s + window
    [[[1000, 5]], 1999, 1000, 5],
    [[[1000, 5]], 2000, 1000, 0],
    [
      [
        [1000, 5],
        [1500, 7],
      ],
      2400,
      1000,
      7,
    ],
    [[], 5000, 1000, 0],
  ] as [number, number][][] | (number | [number, number][])[][])('fills %j at %i over %i ms: %i used', (fills, now, w, used) => {
    const log = new SpendLog();
    for (const [s, v] of fills as [number, number][]) log.add(s, v);
    expect(log.used(now as number, w as number)).toBe(used);
  });
});

const M = 'TOK/CREDIT';
const config = { ...DEFAULT_MARKET_CONFIG, marketId: M, baseAsset: 'TOK', initialPriceTicks: 100, priceBandBps: 10_000, maxPriceTicks: 1000 };

/** A core with one market, a seller (agent 0) holding plenty of tokens, and agents 1..n holding plenty of credits. */
function newCore(): EngineCore {
  return new EngineCore(
    new BalanceView([CREDIT, 'TOK'], 256),
    [{ id: M, config, makerFeeBps: 0, takerFeeBps: 0, feeRounding: 'up' }],
    (n) => `a${n}`,
  );
}

const policy = (limit: number, windowMs: number, subAgents: boolean): BudgetPolicy => ({
  caps: [{ windowMs, limit }],
  maxOrderNotional: null,
  maxPrice: {},
  markets: null,
  orderTypes: null,
  expiresAt: null,
  subAgents,
});

type Op =
  | { k: 'carve'; parent: number; amount: number }
  | { k: 'recarve'; child: number; amount: number }
  | { k: 'buy'; agent: number; price: number; lots: number; maker: boolean }
  | { k: 'cancel'; agent: number }
  | { k: 'revoke'; agent: number }
  | { k: 'wait'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('carve' as const), parent: fc.nat(12), amount: fc.integer({ min: 0, max: 400 }) }) },
  fc.record({ k: fc.constant('recarve' as const), child: fc.nat(12), amount: fc.integer({ min: 0, max: 400 }) }),
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('buy' as const),
      agent: fc.nat(12),
      price: fc.integer({ min: 15, max: 60 }),
      lots: fc.integer({ min: 1, max: 4 }),
      maker: fc.boolean(),
    }),
  },
  fc.record({ k: fc.constant('cancel' as const), agent: fc.nat(12) }),
  fc.record({ k: fc.constant('revoke' as const), agent: fc.nat(12) }),
  fc.record({ k: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 400 }) }),
);

describe('hierarchical delegation (random trees, spends and revocations through the real EngineCore)', () => {
  it('every node spends within its cap and carve-out, the tree within the root’s cap, and a replay of the log ends in the same state', () => {
    const ROOT = 1;
    const LIMIT = 1_000;
    const WINDOW = 1_000;
    // what the random runs did in all: the property must have met deep trees, sub-agents' fills, refusals and revocations
    const seen = { depth3: 0, subFills: 0, refusedBuys: 0, revoked: 0 };
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), (ops) => {
        const core = newCore();
        const m = core.markets.get(M) as NonNullable<ReturnType<typeof core.markets.get>>;
        const b = core.budgets;
        const log: { marketId: string | null; c: LoggedCommand }[] = [];
        let ts = 1_000;
        const fills: { agent: number; ts: number; notional: number }[] = []; // the naive twin: every buy fill
        const run = (c: MatchingCommand) => {
          log.push({ marketId: M, c: { t: 'm', c } });
          const a = core.matching(m, c, `a${'agent' in c ? c.agent : ''}`);
          if (a.rejection?.code === 'BUDGET_EXCEEDED') seen.refusedBuys++;
          for (const e of a.events)
            if (e.kind === 'trade') fills.push({ agent: e.takerSide === 'buy' ? e.takerAgent : e.makerAgent, ts: c.ts, notional: e.notional });
        };
        const budget = (c: BudgetLogged) => {
          const ok = b.apply(c, core.markets.values(), core.balances);
          if (ok) log.push({ marketId: null, c });
          return ok;
        };
        const fund = (n: number, asset: string) => {
          core.funds('deposit', n, asset, 1e12);
          log.push({ marketId: null, c: { t: 'f', op: 'deposit', agent: n, asset, amount: String(1e12) } });
        };
        fund(0, 'TOK');
        const nodes = [ROOT];
        fund(ROOT, CREDIT);
        budget({ t: 'b', op: 'policy', agent: ROOT, policy: policy(LIMIT, WINDOW, true) });
        let next = 2;
        for (const op of ops) {
          ts += 1;
          const pick = (i: number) => nodes[i % nodes.length] as number;
          switch (op.k) {
            case 'carve': {
              const child = next;
              fund(child, CREDIT);
              if (budget({ t: 'b', op: 'carve', parent: pick(op.parent), child, amount: op.amount, ts })) {
                next++;
                nodes.push(child);
                // a sub-agent that may delegate further, under a cap of its own
                budget({ t: 'b', op: 'policy', agent: child, policy: policy(LIMIT / 2, WINDOW * 2, true) });
              }
              break;
            }
            case 'recarve': {
              const child = pick(op.child);
              const parent = b.agents.get(child)?.parent;
              if (parent !== null && parent !== undefined) budget({ t: 'b', op: 'carve', parent, child, amount: op.amount, ts });
              break;
            }
            case 'buy': {
              const agent = pick(op.agent);
              if (op.maker) {
                // the agent's bid rests; the seller sells into it
                run({ type: 'limit', ts, orderId: ++core.lastOrderId, agent, side: 'buy', price: op.price, lots: op.lots, tif: 'GTC' });
                if (op.lots > 1)
                  run({ type: 'limit', ts, orderId: ++core.lastOrderId, agent: 0, side: 'sell', price: 10, lots: op.lots - 1, tif: 'IOC' });
              } else {
                run({ type: 'limit', ts, orderId: ++core.lastOrderId, agent: 0, side: 'sell', price: op.price - 10, lots: op.lots, tif: 'GTC' });
                run({ type: 'limit', ts, orderId: ++core.lastOrderId, agent, side: 'buy', price: op.price, lots: op.lots, tif: 'IOC' });
                run({ type: 'cancel_all', ts, agent: 0 });
              }
              break;
            }
            case 'cancel':
              run({ type: 'cancel_all', ts, agent: pick(op.agent) });
              break;
            case 'revoke': {
              const agent = pick(op.agent);
              if (agent === ROOT) break;
              for (const n of b.subtree(agent)) run({ type: 'cancel_all', ts, agent: n });
              if (budget({ t: 'b', op: 'revoke', agent })) seen.revoked++;
              break;
            }
            case 'wait':
              ts += op.ms;
              break;
          }
          // invariants, after every step
          const spentIn = (agents: number[], windowMs: number | null) =>
            fills.filter((f) => agents.includes(f.agent) && (windowMs === null || f.ts > ts - windowMs)).reduce((s, f) => s + f.notional, 0);
          for (const n of nodes) {
            const a = b.agents.get(n);
            if (!a) continue;
            expect(a.log.total).toBe(spentIn([n], null)); // the counters agree with the fills
            for (const cap of a.policy?.caps ?? []) {
              expect(spentIn([n], cap.windowMs)).toBeLessThanOrEqual(cap.limit);
              expect(a.log.used(ts, cap.windowMs) + a.reserved + a.childEscrow).toBeLessThanOrEqual(cap.limit);
            }
            if (a.parent !== null) {
              // a subtree never spends more than its carve-out, ever
              expect(spentIn(b.subtree(n), null)).toBeLessThanOrEqual(a.escrow);
              expect(a.log.total + a.reserved + a.childEscrow).toBeLessThanOrEqual(a.escrow);
            }
            // the children's carve-outs are exactly what the parent holds for them
            expect(a.childEscrow).toBe(a.children.reduce((s, c) => s + (b.agents.get(c)?.escrow ?? 0), 0));
          }
          // the whole tree within the root's cap, over its window
          expect(spentIn(nodes, WINDOW)).toBeLessThanOrEqual(LIMIT);
        }
        if (nodes.some((n) => b.agents.get(b.agents.get(n)?.parent ?? -1)?.parent != null)) seen.depth3++;
        if (fills.some((f) => f.agent !== ROOT)) seen.subFills++;
        // a replay of the log (recovery) ends in exactly the same budget state
        const again = newCore();
        log.forEach((r, i) => again.replay(i + 1, r.marketId, r.c));
        expect(again.budgets.snapshot()).toEqual(b.snapshot());
      }),
      { seed: 11_2026, numRuns: 200 },
    );
    expect(Object.values(seen).every((n) => n >= 20)).toBe(true);
  });

  it('revoking a node freezes its subtree and returns its unspent carve-outs up the tree', () => {
    const core = newCore();
    const b = core.budgets;
    const apply = (c: BudgetLogged) => expect(b.apply(c, core.markets.values(), core.balances)).toBe(true);
    apply({ t: 'b', op: 'policy', agent: 1, policy: policy(1000, 60_000, true) });
    apply({ t: 'b', op: 'carve', parent: 1, child: 2, amount: 300, ts: 1 });
    apply({ t: 'b', op: 'policy', agent: 2, policy: policy(1000, 60_000, true) });
    apply({ t: 'b', op: 'carve', parent: 2, child: 3, amount: 100, ts: 2 });
    expect([b.agents.get(1)?.childEscrow, b.agents.get(2)?.childEscrow]).toEqual([300, 100]);
    // over the parent's room, or from another parent: refused
    expect(b.carve(1, 4, 701, 3, core.markets.values())).toMatch(/cap over 60s has 0\.700 left/);
    expect(b.carve(1, 3, 50, 3, core.markets.values())).toMatch(/another agent/);
    expect(b.carve(3, 5, 10, 3, core.markets.values())).toMatch(/does not allow sub-agents/);
    apply({ t: 'b', op: 'revoke', agent: 2 });
    expect([2, 3].map((n) => b.agents.get(n)?.frozen)).toEqual([true, true]);
    expect([b.agents.get(1)?.childEscrow, b.agents.get(2)?.escrow, b.agents.get(3)?.escrow]).toEqual([0, 0, 0]);
  });
});
