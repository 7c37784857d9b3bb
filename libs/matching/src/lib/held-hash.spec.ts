/**
 * State hash v2's parts: the balance view's heldHash() (a digest of what is held, independent of the order the
 * balances were created in) and the engine's bookHash() (reused while the book is unchanged). Each is checked
 * against a naive twin computed from a snapshot: heldHashOf / heldHashOfSparse, bookHashOf.
 */
import { mulberry32 } from '@ate/contracts';
import fc from 'fast-check';
import { TEST_CONFIG } from '../testing/harness';
import { streamArb, toCommands } from '../testing/streams';
import { BalanceView } from './balances';
import { MatchingEngine } from './engine';
import { heldHashOf, heldHashOfSparse } from './held-hash';
import { bookHashOf } from './snapshot';

const SEED = Number(process.env['FC_SEED'] ?? 20261202);
const RUNS = Number(process.env['FC_RUNS'] ?? 200);
const ASSETS = ['CREDIT', 'A.1K', 'B.1K'];

/** a view with random balances: deposits, reservations, withdrawals of random agents (seeded) */
function randomView(seed: number, assets = ASSETS, agentsMax = 1 << 12): BalanceView {
  const rand = mulberry32(seed);
  const v = new BalanceView(assets, agentsMax);
  for (let i = 0; i < 300; i++) {
    const agent = Math.floor(rand() * agentsMax);
    const asset = Math.floor(rand() * assets.length);
    const x = rand();
    if (x < 0.6) v.deposit(agent, asset, 1 + Math.floor(rand() * 1e12));
    else if (x < 0.8) v.withdraw(agent, asset, v.available(agent, asset));
    else if (x < 0.9) v.registerAgent(agent);
    else if (v.available(agent, asset) > 0) v.setBalance(agent, asset, v.getTotal(agent, asset), v.getReserved(agent, asset) + 1);
  }
  return v;
}

/** the same balances, created in the opposite order (cells numbered differently) */
function reversed(v: BalanceView): BalanceView {
  const s = v.snapshot();
  const w = new BalanceView(s.assets, s.agentsMax);
  s.supply.forEach((x, i) => (w.supply[i] = x));
  for (const row of [...s.agents].reverse()) {
    w.registerAgent(row.agent);
    for (let i = s.assets.length - 1; i >= 0; i--) w.setBalance(row.agent, i, row.total[i]!, row.reserved[i]!);
  }
  return w;
}

describe('BalanceView.heldHash', () => {
  it('equals its twins over the dense and the sparse snapshot, and does not depend on the order cells were created in', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const v = randomView(seed);
      v.assertInvariants();
      expect(heldHashOf(v.snapshot())).toBe(v.heldHash());
      expect(heldHashOfSparse(v.snapshotSparse())).toBe(v.heldHash());
      expect(BalanceView.restore(v.snapshot()).heldHash()).toBe(v.heldHash());
      expect(BalanceView.restoreSparse(v.snapshotSparse()).heldHash()).toBe(v.heldHash());
      expect(reversed(v).heldHash()).toBe(v.heldHash());
    }
  });

  it('changes with any one balance, reservation, supply or known agent', () => {
    const base = randomView(9);
    const h = base.heldHash();
    const cells = base.snapshotSparse().cells;
    expect(cells.agent.length).toBeGreaterThan(50);
    const changes: [string, (v: BalanceView) => void][] = [];
    for (let k = 0; k < cells.agent.length; k += 7) {
      const [agent, asset, t, r] = [cells.agent[k]!, cells.asset[k]!, cells.total[k]!, cells.reserved[k]!];
      changes.push([`total ${agent}/${asset} +1`, (v) => v.setBalance(agent, asset, t + 1, r)]);
      changes.push([`reserved ${agent}/${asset} +1`, (v) => v.setBalance(agent, asset, t + 1, r + 1)]);
      changes.push([`balance ${agent}/${asset} to another agent`, (v) => (v.setBalance(agent, asset, 0, 0), v.setBalance(agent ^ 1, asset, t, r))]);
    }
    changes.push(['supply', (v) => (v.supply[1] += 1)]);
    changes.push(['one agent more', (v) => v.registerAgent(4095)]);
    changes.push([
      'one agent less',
      (v) => expect(v.unregisterAgent(base.snapshotSparse().known.find((a) => v.unregisterAgent(a) === false) ?? -1)).toBe(true),
    ]);
    const seen = new Set<string>([h]);
    for (const [what, change] of changes.slice(0, -1)) {
      const v = BalanceView.restore(base.snapshot());
      change(v);
      const got = v.heldHash();
      expect({ what, changed: got !== h }).toEqual({ what, changed: true });
      seen.add(got);
    }
    expect(seen.size).toBeGreaterThan(changes.length - 5); // distinct, not merely different from the base
  });

  it('an asset added to the layout changes nothing while it is empty (a checkpoint written before it still compares)', () => {
    const v = randomView(11);
    const wider = new BalanceView(['B.1K', 'NEW.1K', ...ASSETS.slice(0, 2)], v.agentsMax); // another order, one asset more
    const s = v.snapshot();
    s.supply.forEach((x, i) => (wider.supply[wider.assetIndex(s.assets[i]!)] = x));
    for (const row of s.agents) s.assets.forEach((a, i) => wider.setBalance(row.agent, wider.assetIndex(a), row.total[i]!, row.reserved[i]!));
    expect(wider.heldHash()).toBe(v.heldHash());
    wider.deposit(7, wider.assetIndex('NEW.1K'), 1);
    expect(wider.heldHash()).not.toBe(v.heldHash());
  });

  it('at 100,000 agents x 1,000 assets (300,000 balances) agrees with its sparse twin (its time: bench:engine-scale)', () => {
    const assets = Array.from({ length: 1_000 }, (_, i) => `T${i}.1K`);
    const v = new BalanceView(assets, 1 << 20);
    for (let a = 0; a < 100_000; a++) for (let k = 0; k < 3; k++) v.deposit(a * 7, (a + k * 331) % 1_000, 1 + a + k);
    expect(v.cells).toBe(300_000);
    expect(heldHashOfSparse(v.snapshotSparse())).toBe(v.heldHash());
  });
});

describe('MatchingEngine.bookHash', () => {
  it('equals bookHashOf(snapshot()) after every command of random streams (the cached value is never stale)', () => {
    fc.assert(
      fc.property(streamArb(80), (steps) => {
        const e = new MatchingEngine(TEST_CONFIG, { agentsMax: 16 });
        for (const c of toCommands(steps)) {
          e.execute(c);
          expect(e.bookHash()).toBe(bookHashOf(e.snapshot()));
        }
        const r = MatchingEngine.restore(e.snapshot());
        expect(r.bookHash()).toBe(e.bookHash());
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
