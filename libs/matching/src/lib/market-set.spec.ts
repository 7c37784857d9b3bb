import { TEST_CONFIG } from '../testing/harness';
import { CollectingSink } from './events';
import { MarketSet } from './market-set';

describe('MarketSet: several markets over one balance view', () => {
  const setup = () => {
    const set = new MarketSet(['CREDIT', 'GPU', 'TOK'], 8);
    set.addMarket({ ...TEST_CONFIG, marketId: 'GPU-CREDIT', baseAsset: 'GPU' }, new CollectingSink());
    set.addMarket({ ...TEST_CONFIG, marketId: 'TOK-CREDIT', baseAsset: 'TOK' }, new CollectingSink());
    set.execute('GPU-CREDIT', { type: 'deposit', ts: 1, agent: 1, asset: 'credit', amount: 1500 });
    set.execute('GPU-CREDIT', { type: 'deposit', ts: 1, agent: 2, asset: 'base', amount: 100 });
    set.execute('TOK-CREDIT', { type: 'deposit', ts: 1, agent: 2, asset: 'base', amount: 100 });
    return set;
  };

  it('shares credits across markets: a reservation in one market limits the other', () => {
    const set = setup();
    expect(set.execute('GPU-CREDIT', { type: 'limit', ts: 2, orderId: 1, agent: 1, side: 'buy', price: 100, lots: 10, tif: 'GTC' })).toBeNull();
    expect(set.execute('TOK-CREDIT', { type: 'limit', ts: 2, orderId: 1, agent: 1, side: 'buy', price: 100, lots: 6, tif: 'GTC' })).toBe(
      'MATCHING_INSUFFICIENT_FUNDS',
    );
    expect(set.execute('TOK-CREDIT', { type: 'limit', ts: 2, orderId: 1, agent: 1, side: 'buy', price: 100, lots: 5, tif: 'GTC' })).toBeNull();
    set.assertInvariants();
    expect(set.execute('NOPE', { type: 'tick', ts: 3 })).toBe('UNKNOWN_MARKET');
  });

  it('cancel-all everywhere is the kill switch; snapshot and restore keep every market and the shared view', () => {
    const set = setup();
    set.execute('GPU-CREDIT', { type: 'limit', ts: 2, orderId: 1, agent: 1, side: 'buy', price: 99, lots: 5, tif: 'GTC' });
    set.execute('TOK-CREDIT', { type: 'limit', ts: 2, orderId: 1, agent: 1, side: 'buy', price: 98, lots: 5, tif: 'GTC' });
    set.execute('TOK-CREDIT', { type: 'limit', ts: 2, orderId: 2, agent: 2, side: 'sell', price: 105, lots: 5, tif: 'GTC' });
    const restored = MarketSet.restore(JSON.parse(JSON.stringify(set.snapshot())));
    restored.assertInvariants();
    expect(restored.snapshot()).toEqual(set.snapshot());
    expect(restored.cancelAllEverywhere(1, 3)).toEqual({ 'GPU-CREDIT': null, 'TOK-CREDIT': null });
    restored.assertInvariants();
    expect(restored.balances.getReserved(1, 0)).toBe(0);
    expect(restored.market('TOK-CREDIT')?.openOrders).toBe(1);
  });
});
