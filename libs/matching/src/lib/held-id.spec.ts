/**
 * Two things the sequencer asks of the book beyond a plain order flow, on the fast engine and the reference book
 * alike: an order whose id the host held (waiting for its principal's approval) is placed with that earlier id,
 * and a cancel-all the exchange sends carries its own reason (an allowance expired).
 */
import type { MatchingCommand, MatchingEvent } from '@ate/contracts';
import { IMPLEMENTATIONS, TEST_CONFIG } from '../testing/harness';

const A = 1;
const B = 2;
const limit = (ts: number, orderId: number, agent: number, side: 'buy' | 'sell', price: number, extra: Partial<MatchingCommand> = {}) =>
  ({ type: 'limit', ts, orderId, agent, side, price, lots: 1, tif: 'GTC', ...extra }) as MatchingCommand;

describe.each(IMPLEMENTATIONS)('held ids and exchange cancels: %s', (_name, make) => {
  const setup = () => {
    const b = make(TEST_CONFIG);
    for (const agent of [A, B]) {
      b.execute({ type: 'deposit', ts: 1, agent, asset: 'credit', amount: 1_000_000 });
      b.execute({ type: 'deposit', ts: 1, agent, asset: 'base', amount: 100_000 });
    }
    b.take();
    return b;
  };

  it.each([
    // [what, the late order, its verdict]: ids 5 and 9 were placed; 9 still rests
    ['an earlier id, not held: a duplicate', { orderId: 7 }, 'MATCHING_DUPLICATE_ORDER_ID'],
    ['an earlier id the host held: placed', { orderId: 7, heldId: true }, null],
    ['a held id that rests here: a duplicate', { orderId: 9, heldId: true }, 'MATCHING_DUPLICATE_ORDER_ID'],
    ['a later id, held or not: placed', { orderId: 12, heldId: true }, null],
  ] as const)('%s', (_what, o, verdict) => {
    const b = setup();
    expect(b.execute(limit(2, 5, A, 'buy', 90))).toBeNull();
    expect(b.execute(limit(3, 9, A, 'buy', 91))).toBeNull();
    b.take();
    const { orderId, ...extra } = o;
    expect(b.execute(limit(4, orderId, B, 'buy', 92, extra))).toBe(verdict);
    b.check();
    // the book's last order id never goes back: a new order still needs an id above 9 (or above 12)
    expect(b.execute(limit(5, Math.max(9, orderId), A, 'buy', 95))).toBe('MATCHING_DUPLICATE_ORDER_ID');
    expect(b.execute(limit(6, Math.max(9, orderId) + 1, A, 'buy', 96))).toBeNull();
  });

  it('a cancel-all with a reason cancels with it; an unknown reason is refused and cancels nothing', () => {
    const b = setup();
    b.execute(limit(2, 1, A, 'buy', 90));
    b.execute(limit(3, 2, A, 'sell', 110));
    b.take();
    expect(b.execute({ type: 'cancel_all', ts: 4, agent: A, reason: 'NOT_A_REASON' as never })).toBe('MATCHING_INVALID_COMMAND');
    expect(b.take().filter((e: MatchingEvent) => e.kind === 'cancelled')).toEqual([]);
    expect(b.execute({ type: 'cancel_all', ts: 5, agent: A, reason: 'MATCHING_CANCEL_ALLOWANCE_EXPIRED' })).toBeNull();
    const cancelled = b.take().flatMap((e) => (e.kind === 'cancelled' ? [[e.orderId, e.reason]] : []));
    expect(cancelled).toEqual([
      [1, 'MATCHING_CANCEL_ALLOWANCE_EXPIRED'],
      [2, 'MATCHING_CANCEL_ALLOWANCE_EXPIRED'],
    ]);
    b.check();
  });
});
