import { BalanceView, CollectingSink, MatchingEngine } from '@ate/matching';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FORMAT2_AGENTS_MAX, FORMAT2_ASSETS, FORMAT2_CONFIGS, format2After } from './__fixtures__/snapshot-format2.scenario';
import { decodeSnapshot, encodeSnapshot, engineSnapshot, restoreBalancesInto } from './engine-snapshot';

interface Recorded {
  bookHash: Record<string, string>;
  stateHash: Record<string, string>;
  heldHash: string;
  openOrders: Record<string, unknown[]>;
}
const fx = JSON.parse(readFileSync(join(__dirname, '__fixtures__/snapshot-format2.json'), 'utf8')) as {
  format: number;
  snapshot: string;
  atSnapshot: Recorded;
  after: Recorded & { results: unknown[]; events: Record<string, unknown[]> };
};

/**
 * A format-2 snapshot document written by the engine before the 44-byte order layout (orders without a stored
 * reservation, flags packed with the price, int32 lots, tail-less lists): it restores to the same books, balances
 * and hashes (v1 and v2), goes on exactly as the engine it was taken from (every event of the commands after it),
 * and is written again as the same document. Scenario: `__fixtures__/snapshot-format2.scenario.ts`.
 */
describe('a format-2 snapshot written before the 44-byte order layout', () => {
  const decoded = decodeSnapshot(Buffer.from(fx.snapshot, 'base64'), fx.format);
  const restore = () => {
    const view = new BalanceView(FORMAT2_ASSETS, FORMAT2_AGENTS_MAX);
    restoreBalancesInto(view, decoded.balances);
    const sinks = new Map<string, CollectingSink>();
    const engines = new Map<string, MatchingEngine>();
    for (const m of decoded.markets) {
      const config = FORMAT2_CONFIGS.find((c) => c.marketId === m.id);
      if (config === undefined) throw new Error(`no config for ${m.id}`);
      const sink = new CollectingSink();
      sinks.set(m.id, sink);
      engines.set(m.id, MatchingEngine.restore(engineSnapshot(m.engine, config), { balances: view, sink }));
    }
    return { view, engines, sinks };
  };
  const recordedOf = (view: BalanceView, engines: Map<string, MatchingEngine>): Recorded => {
    const ids = [...engines.keys()];
    const e = (id: string) => engines.get(id) as MatchingEngine;
    return {
      bookHash: Object.fromEntries(ids.map((id) => [id, e(id).bookHash()])),
      stateHash: Object.fromEntries(ids.map((id) => [id, e(id).stateHash()])),
      heldHash: view.heldHash(),
      openOrders: Object.fromEntries(ids.map((id) => [id, e(id).snapshot({ balances: false }).orders])),
    };
  };

  it('holds orders of every kind the pool packs', () => {
    const orders = decoded.markets.flatMap((m) => m.engine.orders);
    expect(decoded.markets.map((m) => m.id)).toEqual(FORMAT2_CONFIGS.map((c) => c.marketId));
    expect(new Set(orders.map((o) => o.stp))).toEqual(new Set(['cancel_taker', 'cancel_maker', 'cancel_both', 'decrement_cancel']));
    expect(orders.some((o) => o.price === 1) && orders.some((o) => o.price === 2 ** 20)).toBe(true);
    expect(orders.some((o) => o.lots === 2 ** 31 - 1) && orders.some((o) => o.postOnly) && orders.some((o) => o.expiresAt !== 0)).toBe(true);
    expect(orders.filter((o) => o.clientOrderId !== null).length).toBeGreaterThanOrEqual(3);
  });

  it('restores to the same books, balances and hashes', () => {
    const { view, engines } = restore();
    for (const e of engines.values()) e.assertInvariants();
    expect(recordedOf(view, engines)).toEqual(fx.atSnapshot);
  });

  it('goes on exactly as the engine it was taken from', () => {
    const { view, engines, sinks } = restore();
    const results = format2After().map(([m, c]) => (engines.get(m) as MatchingEngine).execute(c));
    for (const e of engines.values()) e.assertInvariants();
    expect(results).toEqual(fx.after.results);
    expect(Object.fromEntries([...sinks].map(([id, s]) => [id, JSON.parse(JSON.stringify(s.take()))]))).toEqual(fx.after.events);
    const { bookHash, stateHash, heldHash, openOrders } = fx.after;
    expect(recordedOf(view, engines)).toEqual({ bookHash, stateHash, heldHash, openOrders });
  });

  it('is written again as the same document', async () => {
    const { view, engines } = restore();
    const fills = new Map(decoded.markets.flatMap((m) => m.fills.map((f) => [f.orderId, { filled: f.filled, notional: f.notional }] as const)));
    const again = await encodeSnapshot({
      seq: decoded.seq,
      lastTs: decoded.lastTs,
      lastOrderId: decoded.lastOrderId,
      balances: view.snapshotSparse(),
      markets: [...engines].map(([id, e]) => ({ id, engine: e.snapshot({ balances: false }) })),
      fills,
    });
    expect(decodeSnapshot(again, fx.format)).toEqual(decoded);
  });
});
