import { BalanceView } from './balances';
import { DEFAULT_MARKET_CONFIG, validateMarketConfig } from './config';
import { MatchingEngine } from './engine';
import { CollectingSink } from './events';
import { hashSnapshot } from './snapshot';
import { TEST_CONFIG } from '../testing/harness';
import { toCommands, type Step } from '../testing/streams';

describe('BalanceView', () => {
  it('deposits register the agent; withdrawals take only what is available', () => {
    const v = new BalanceView(['CREDIT', 'GPU'], 4);
    expect(v.isKnown(1)).toBe(false);
    expect(v.deposit(1, 0, 100)).toBe(true);
    expect(v.isKnown(1)).toBe(true);
    v.cr[v.cell(1, 0)] = 60;
    expect(v.available(1, 0)).toBe(40);
    expect(v.withdraw(1, 0, 41)).toBe(false);
    expect(v.withdraw(1, 0, 40)).toBe(true);
    expect([v.getTotal(1, 0), v.getReserved(1, 0), v.supply[0]]).toEqual([60, 60, 60]);
    v.assertInvariants();
  });

  it.each([
    ['agent out of range', 4, 0, 1],
    ['negative agent', -1, 0, 1],
    ['unknown asset', 1, 2, 1],
    ['zero amount', 1, 0, 0],
    ['fractional amount', 1, 0, 1.5],
    ['unsafe amount', 1, 0, 2 ** 53],
  ])('refuses a deposit with %s', (_n, agent, asset, amount) => {
    const v = new BalanceView(['CREDIT', 'GPU'], 4);
    expect(v.deposit(agent, asset, amount)).toBe(false);
    expect(v.snapshot().agents).toEqual([]);
  });

  it('snapshot and restore round-trip; invariants catch a balance created from nothing', () => {
    const v = new BalanceView(['CREDIT', 'GPU'], 4);
    v.deposit(2, 1, 7);
    const r = BalanceView.restore(JSON.parse(JSON.stringify(v.snapshot())));
    expect(r.snapshot()).toEqual(v.snapshot());
    r.ct[r.cell(2, 1)] += 1;
    expect(() => r.assertInvariants()).toThrow(/supply/);
  });
});

describe('market config', () => {
  it.each([
    ['tick size 0', { tickSize: 0 }],
    ['min above max', { minOrderLots: 10, maxOrderLots: 5 }],
    ['price beyond PRICE_TICKS_MAX', { maxPriceTicks: 2 ** 21 }],
    ['band beyond 100%', { priceBandBps: 10_001 }],
    ['initial price above max', { initialPriceTicks: 200_000 }],
    ['unknown STP', { defaultStp: 'nope' }],
    ['notional beyond safe integers', { tickSize: 2 ** 30, maxOrderLots: 2 ** 20 }],
    ['order size beyond ORDER_LOTS_MAX (an int32)', { maxOrderLots: 2 ** 31 }],
  ])('refuses %s', (_n, patch) => {
    expect(() => validateMarketConfig({ ...DEFAULT_MARKET_CONFIG, ...(patch as object) })).toThrow(/invalid market config/);
  });
});

describe('assertInvariants catches corruption', () => {
  const engine = () => {
    const e = new MatchingEngine(TEST_CONFIG);
    e.execute({
      type: 'deposit',
      ts: 1,
      agent: 1,
      asset: 'credit',
      amount: 10_000,
    });
    e.execute({
      type: 'limit',
      ts: 1,
      orderId: 1,
      agent: 1,
      side: 'buy',
      price: 95,
      lots: 3,
      tif: 'GTC',
    });
    e.execute({
      type: 'limit',
      ts: 1,
      orderId: 2,
      agent: 1,
      side: 'buy',
      price: 96,
      lots: 3,
      tif: 'GTD',
      expiresAt: 50,
    });
    e.assertInvariants();
    return e as unknown as Record<string, Float64Array | Int32Array | number> & MatchingEngine;
  };
  it.each([
    ['a level total', (e: ReturnType<typeof engine>) => ((e['lLots'] as Float64Array)[95] += 1), /level 95 total/],
    // an order's reservation is its price x tickSize x lots (not stored): a size changed behind the level's back
    // (level total kept consistent) leaves the agent's reservation wrong
    [
      'an order reservation',
      (e: ReturnType<typeof engine>) => {
        (e['oLots'] as Int32Array)[0] -= 1;
        (e['lLots'] as Float64Array)[95] -= 1;
      },
      /reserved credits/,
    ],
    ['a level link', (e: ReturnType<typeof engine>) => ((e['oPrev'] as Int32Array)[0] = 1), /tail at 95/],
    ['an order flag', (e: ReturnType<typeof engine>) => ((e['oPx'] as Int32Array)[1] |= 1 << 27), /flags/],
    ['an agent reservation', (e: ReturnType<typeof engine>) => (e.balances.cr[e.balances.cell(1, 0)] += 1), /reserved credits/],
    ['the best bid', (e: ReturnType<typeof engine>) => (e['bestBid'] = 95), /best bid/],
    ['the expiry heap', (e: ReturnType<typeof engine>) => (e['hSize'] = 0), /expiry heap/],
  ])('%s', (_n, corrupt, msg) => {
    const e = engine();
    corrupt(e);
    expect(() => e.assertInvariants()).toThrow(msg);
  });
});

describe('state hash', () => {
  const steps: Step[] = [
    {
      k: 'limit',
      agent: 1,
      buy: true,
      price: 99,
      lots: 5,
      tif: 0,
      post: false,
      stp: 4,
      exp: 0,
      coid: 1,
    },
    {
      k: 'limit',
      agent: 2,
      buy: false,
      price: 101,
      lots: 4,
      tif: 5,
      post: false,
      stp: 4,
      exp: 9,
      coid: 0,
    },
    {
      k: 'market',
      agent: 3,
      buy: true,
      lots: 2,
      spend: 0,
      bySpend: false,
      stp: 4,
    },
    { k: 'amend', agent: 1, pick: 2, dPrice: 0, lots: 3 },
  ];
  it('is stable: a fixed stream always digests to the same value (change it only with a reason)', () => {
    const e = new MatchingEngine(TEST_CONFIG, { sink: new CollectingSink() });
    for (const c of toCommands(steps)) e.execute(c);
    expect(e.stateHash()).toBe(hashSnapshot(e.snapshot()));
    expect(e.stateHash()).toBe('62c83b24ad43eca6');
  });
});

describe('expiry heap', () => {
  it('stays bounded when GTD orders end before they expire', () => {
    const e = new MatchingEngine(TEST_CONFIG);
    e.execute({
      type: 'deposit',
      ts: 1,
      agent: 1,
      asset: 'credit',
      amount: 1_000_000,
    });
    for (let id = 1; id <= 5000; id++) {
      e.execute({
        type: 'limit',
        ts: 1,
        orderId: id,
        agent: 1,
        side: 'buy',
        price: 95,
        lots: 1,
        tif: 'GTD',
        expiresAt: 1e9,
      });
      e.execute({ type: 'cancel', ts: 1, orderId: id, agent: 1 });
    }
    e.assertInvariants();
    expect((e as unknown as { hExp: Float64Array }).hExp.length).toBeLessThanOrEqual(128);
  });
});
