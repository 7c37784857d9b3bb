import { createTestDatabase, TestDatabase } from '@ate/db';
import { defineAsset } from '@ate/ledger';
import { EngineHost } from './engine-host';
import type { PlaceOrder } from './host-types';
import { testMarketRow } from './market-config';
import { insertMarket } from './sql';

const M = 'OS.1K/CREDIT';
const SELLER = 'agt_status0001';
const BUYER = 'agt_status0002';

/**
 * How a market order by spend ends (real Postgres). It buys (or sells) whole lots only, so it stops when what is
 * left of its spend is less than one more lot at the best price: it used all it could and is `closed`, with no
 * reason. It ends `canceled` with MATCHING_CANCEL_UNFILLED only when the book had no more to give.
 */
describe('the status of a market order by spend', () => {
  jest.setTimeout(60_000);
  let db: TestDatabase;
  let host: EngineHost;

  beforeAll(async () => {
    db = await createTestDatabase('order_status');
    expect((await defineAsset(db.pool, { code: 'OS.1K', scale: 0, model: 'm', provider: 'p', tokenClass: 'out' })).ok).toBe(true);
    expect(await insertMarket(db.pool, testMarketRow('OS.1K'))).toBe(true);
    await db.pool.query(`INSERT INTO agent (id, name) VALUES ($1, 'seller'), ($2, 'buyer')`, [SELLER, BUYER]);
    host = new EngineHost(db.pool);
    await host.load();
    for (const agentId of [SELLER, BUYER])
      for (const asset of ['CREDIT', 'OS.1K'])
        expect(
          await host.submit({ kind: 'funds', op: 'deposit', agentId, asset, amount: 100_000n, transferId: `os-${agentId}-${asset}` }),
        ).toMatchObject({
          code: null,
        });
  });
  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  const place = (agentId: string, order: PlaceOrder) => host.submit({ kind: 'place', marketId: M, agentId, order });

  // [what, resting orders first (agent, side, price, lots), the market order, its status, reason, lots filled, credits]
  const cases: [string, [string, 'buy' | 'sell', number, number][], PlaceOrder, string, string | null, number, number][] = [
    [
      'a buy whose spend is used up to less than a lot',
      [
        [SELLER, 'sell', 1000, 2],
        [SELLER, 'sell', 1100, 3],
      ],
      { type: 'market', side: 'buy', spend: 4500 },
      'closed',
      null,
      4,
      4200,
    ],
    [
      'a buy the book cannot fill (1 lot left at 1100)',
      [],
      { type: 'market', side: 'buy', spend: 5000 },
      'canceled',
      'MATCHING_CANCEL_UNFILLED',
      1,
      1100,
    ],
    [
      'a buy whose spend buys nothing is not filled',
      [[SELLER, 'sell', 1200, 1]],
      { type: 'market', side: 'buy', spend: 1000 },
      'canceled',
      'MATCHING_CANCEL_UNFILLED',
      0,
      0,
    ],
    ['a sell that raised all it could', [[BUYER, 'buy', 900, 3]], { type: 'market', side: 'sell', spend: 2000 }, 'closed', null, 2, 1800],
    [
      'a sell the book cannot fill (1 lot bid at 900)',
      [],
      { type: 'market', side: 'sell', spend: 2000 },
      'canceled',
      'MATCHING_CANCEL_UNFILLED',
      1,
      900,
    ],
    [
      'a spend that is used exactly ends filled (no cancel at all)',
      [[SELLER, 'sell', 1000, 2]],
      { type: 'market', side: 'buy', spend: 2000 },
      'closed',
      null,
      2,
      2000,
    ],
  ];
  it.each(cases)('%s', async (_what, resting, order, status, reason, lots, credits) => {
    for (const [agentId, side, price, n] of resting)
      expect(await place(agentId, { type: 'limit', side, price, lots: n })).toMatchObject({ code: null });
    const r = await place(order.side === 'buy' ? BUYER : SELLER, order);
    expect(r.code).toBeNull();
    expect(r.order).toMatchObject({ status, reason, filledLots: lots, filledNotional: credits, openLots: 0 });
    const row = await db.pool.query('SELECT status, reason FROM trading_order WHERE id = $1', [r.orderId]);
    expect(row.rows[0]).toEqual({ status, reason });
  });
});
