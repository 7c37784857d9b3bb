/**
 * `check()` is a dry run of a new order: on random streams, before every limit or market order, check() answers
 * exactly what execute() then answers (the same code, or null for accepted), and leaves the engine exactly as it
 * was (no event, the same state hash). Streams whose GTD orders fall due at the order's time are skipped for that
 * order: execute expires them first, check does not (documented).
 */
import fc from 'fast-check';
import { engineBook, TEST_CONFIG } from '../testing/harness';
import { streamArb, toCommands } from '../testing/streams';
import { BalanceView } from './balances';

const SEED = 20261201;

describe('MatchingEngine.check: a dry run of a new order', () => {
  it('answers what execute() answers, and changes nothing (150 random streams, seed pinned)', () => {
    let compared = 0;
    fc.assert(
      fc.property(streamArb(60), (steps) => {
        const b = engineBook({ ...TEST_CONFIG, ordersPerAgentMax: 3, bookOrdersMax: 8 });
        const e = b.engine;
        for (const c of toCommands(steps)) {
          if (c.type === 'limit' || c.type === 'market') {
            const due = e.snapshot().orders.some((o) => o.expiresAt !== 0 && o.expiresAt <= c.ts);
            const hash = e.stateHash();
            const seq = e.sequence;
            const dry = e.check(c);
            expect(b.take()).toEqual([]);
            expect(e.sequence).toBe(seq);
            expect(e.stateHash()).toBe(hash);
            const real = e.execute(c);
            if (!due) {
              expect(dry).toBe(real);
              compared++;
            }
          } else {
            e.execute(c);
          }
          b.take();
        }
      }),
      { seed: SEED, numRuns: 150 },
    );
    expect(compared).toBeGreaterThan(1_500);
  });
});

describe('BalanceView.unregisterAgent: undoing a dry run registration', () => {
  it.each([
    ['never registered', () => undefined, true, false],
    ['registered, never funded', (v: BalanceView) => v.registerAgent(7), true, false],
    ['funded', (v: BalanceView) => v.deposit(7, 0, 5), false, true],
    ['funded, then all withdrawn (its cell stays)', (v: BalanceView) => v.deposit(7, 1, 5) && v.withdraw(7, 1, 5), false, true],
  ] as const)('%s', (_name, setup, forgotten, knownAfter) => {
    const v = new BalanceView(['CREDIT', 'X.1K'], 64);
    setup(v);
    const hash = JSON.stringify(v.snapshot());
    expect(v.unregisterAgent(7)).toBe(forgotten);
    expect(v.isKnown(7)).toBe(knownAfter);
    if (!forgotten) expect(JSON.stringify(v.snapshot())).toBe(hash);
    else expect(v.knownAgents).toBe(0);
  });
});
