import { CREDIT } from '@ate/contracts';
import { BalanceView } from '@ate/matching';
import { clearMultiUnit } from '@ate/mechanisms';
import { auctionEvents, bidsBefore } from './auction-events';
import { AuctionOp, AuctionState } from './auctions';

const A = 'ALW.1K';
const SELLER = 1;
const [X, Y, Z] = [2, 3, 4];
const T0 = 1_000_000;
const idOf = (n: number) => `agent-${n}`;

function fresh(): AuctionState {
  const b = new BalanceView([CREDIT, A], 64);
  for (const agent of [X, Y, Z]) b.deposit(agent, 0, 100_000);
  b.deposit(SELLER, 1, 50);
  return new AuctionState(b, idOf);
}

/** Applies each op as the sequencer's handler does (bids taken before it), with the outlet events it yields. */
function apply(s: AuctionState, ops: [AuctionOp, number][]): unknown[][] {
  return ops.map(([op, ts]) => {
    const before = bidsBefore(s, op);
    const r = s.apply(op, ts);
    if ('refused' in r) throw new Error(`${op.op} refused: ${r.refused}`);
    return auctionEvents(s, op, before, r, idOf);
  });
}

const create = (id: string): AuctionOp => ({
  op: 'create',
  id,
  seller: SELLER,
  asset: A,
  units: '3',
  reserve: '100',
  feeBps: 10,
  deadline: T0 + 1000,
});
const common = (id: string) => ({
  kind: 'auction',
  auctionId: id,
  mechanism: 'vcg_multi_unit',
  sellerId: idOf(SELLER),
  asset: A,
  units: 3n,
  reservePrice: 100n,
  deadline: T0 + 1000,
});

describe('auction outlet events: what each accepted auction op says on the feed', () => {
  it('a multi-unit auction from creation to settlement: its life, and each bid placed, withdrawn, won or lost', () => {
    const s = fresh();
    // the clearing the api would carry: computed by libs/mechanisms from the bids as they stand at the close
    const c = clearMultiUnit({
      units: 3n,
      reservePrice: 100n,
      bids: [
        { bidder: String(X), steps: [{ units: 2n, price: 700n }] },
        {
          bidder: String(Z),
          steps: [
            { units: 1n, price: 500n },
            { units: 1n, price: 300n },
          ],
        },
        { bidder: String(Y), steps: [{ units: 1n, price: 200n }] },
      ],
    });
    if ('code' in c) throw new Error(c.code);
    const awards = c.awards
      .filter((w) => w.units > 0n)
      .map((w) => [Number(w.bidder), w.units.toString(), w.payment.toString()] as [number, string, string]);
    const pay = (agent: number) => c.awards.find((w) => w.bidder === String(agent))?.payment;
    expect(awards.map((w) => w[0])).toEqual([X, Z]); // X 2 @ 700 and Z 1 @ 500 win; Y's 200 and Z's 300 do not
    const events = apply(s, [
      [create('a1'), T0],
      [{ op: 'bid', id: 'a1', agent: X, steps: [['2', '700']] }, T0],
      [{ op: 'bid', id: 'a1', agent: Y, steps: [['2', '400']] }, T0],
      [
        {
          op: 'bid',
          id: 'a1',
          agent: Z,
          steps: [
            ['1', '500'],
            ['1', '300'],
          ],
        },
        T0,
      ],
      [{ op: 'withdraw', id: 'a1', agent: Y }, T0 + 1],
      [{ op: 'bid', id: 'a1', agent: Y, steps: [['1', '200']] }, T0 + 2],
      [{ op: 'close', id: 'a1' }, T0 + 1000],
      [{ op: 'settle', id: 'a1', awards, unitsSold: c.unitsSold.toString(), revenue: c.revenue.toString() }, T0 + 1000],
    ]);
    const bid = (agent: number, event: string, extra = {}) => ({ kind: 'auction_bid', event, auctionId: 'a1', agentId: idOf(agent), ...extra });
    expect(events).toEqual([
      [{ ...common('a1'), event: 'created', bids: 0 }],
      [bid(X, 'placed', { hold: 1400n })],
      [bid(Y, 'placed', { hold: 800n })],
      [bid(Z, 'placed', { hold: 800n })],
      [bid(Y, 'withdrawn', { hold: 800n })],
      [bid(Y, 'placed', { hold: 200n })],
      [{ ...common('a1'), event: 'closed', bids: 3 }],
      [
        { ...common('a1'), event: 'settled', bids: 3, result: { unitsSold: 3n, revenue: c.revenue, winners: 2 } },
        // in bid order (the tie rule's priority): X won 2, Z won 1, Y (bid again after withdrawing) lost
        bid(X, 'won', { units: 2n, payment: pay(X) }),
        bid(Z, 'won', { units: 1n, payment: pay(Z) }),
        bid(Y, 'lost'),
      ],
    ]);
  });

  it('a cancellation releases every open bid; pools say nothing of their own', () => {
    const s = fresh();
    const events = apply(s, [
      [create('a2'), T0],
      [{ op: 'bid', id: 'a2', agent: X, steps: [['1', '150']] }, T0],
      [{ op: 'cancel', id: 'a2' }, T0 + 5],
      [
        { op: 'pool_create', id: 'p1', asset: A, mode: 'fixed', price: '10', supply: '5', capacity: '0', minPrice: '0', maxPrice: '0', epochMs: 0 },
        T0,
      ],
      [{ op: 'pool_buy', id: 'p1', agent: X, units: '1', maxPrice: '10' }, T0],
    ]);
    expect(events).toEqual([
      [{ ...common('a2'), event: 'created', bids: 0 }],
      [{ kind: 'auction_bid', event: 'placed', auctionId: 'a2', agentId: idOf(X), hold: 150n }],
      [
        { ...common('a2'), event: 'cancelled', bids: 1 },
        { kind: 'auction_bid', event: 'released', auctionId: 'a2', agentId: idOf(X), hold: 150n },
      ],
      [],
      [],
    ]);
  });

  it('a combinatorial auction: its settlement counts the items sold, each winner gets the items it won', () => {
    const s = fresh();
    const items: [string, string, string][] = [
      ['A', A, '1'],
      ['B', A, '2'],
    ];
    const events = apply(s, [
      [
        {
          op: 'create',
          id: 'c1',
          seller: SELLER,
          asset: '',
          units: '0',
          reserve: '0',
          feeBps: 0,
          deadline: T0 + 1000,
          mech: 'vcg_combinatorial',
          items,
        },
        T0,
      ],
      [{ op: 'bid', id: 'c1', agent: X, steps: [], bundles: [[['A'], '150']] }, T0],
      [{ op: 'bid', id: 'c1', agent: Y, steps: [], bundles: [[['B'], '150']] }, T0],
      [{ op: 'bid', id: 'c1', agent: Z, steps: [], bundles: [[['A', 'B'], '200']] }, T0],
      [
        {
          op: 'settle_c',
          id: 'c1',
          awards: [
            [X, 0, '50', '50'],
            [Y, 0, '50', '50'],
          ],
          revenue: '100',
          welfare: '300',
        },
        T0 + 1000,
      ],
    ]);
    const base = { kind: 'auction', auctionId: 'c1', mechanism: 'vcg_combinatorial', sellerId: idOf(SELLER), asset: '', units: 0n, reservePrice: 0n };
    expect(events[4]).toEqual([
      { ...base, deadline: T0 + 1000, event: 'settled', bids: 3, result: { unitsSold: 2n, revenue: 100n, winners: 2 } },
      { kind: 'auction_bid', event: 'won', auctionId: 'c1', agentId: idOf(X), units: 1n, items: ['A'], payment: 50n },
      { kind: 'auction_bid', event: 'won', auctionId: 'c1', agentId: idOf(Y), units: 1n, items: ['B'], payment: 50n },
      { kind: 'auction_bid', event: 'lost', auctionId: 'c1', agentId: idOf(Z) },
    ]);
    expect(events[3]).toEqual([{ kind: 'auction_bid', event: 'placed', auctionId: 'c1', agentId: idOf(Z), hold: 200n }]);
  });

  it('cleared, then settled (the api clears and settles in two commands): the clearing says nothing, its settlement says what one settlement does', () => {
    const setup: [AuctionOp, number][] = [
      [create('m1'), T0],
      [{ op: 'bid', id: 'm1', agent: X, steps: [['2', '700']] }, T0],
      [{ op: 'bid', id: 'm1', agent: Z, steps: [['1', '500']] }, T0],
      [{ op: 'bid', id: 'm1', agent: Y, steps: [['1', '50']] }, T0],
    ];
    // X 2 @ 700 and Z 1 @ 500 win, each unit at the reserve (100): no other bid reaches it
    const settle: AuctionOp = {
      op: 'settle',
      id: 'm1',
      awards: [
        [X, '2', '200'],
        [Z, '1', '100'],
      ],
      unitsSold: '3',
      revenue: '300',
    };
    const once = apply(fresh(), [...setup, [settle, T0 + 1000]]);
    const twice = apply(fresh(), [...setup, [{ op: 'clear', id: 'm1', c: settle }, T0 + 1000], [{ op: 'settle_cleared', id: 'm1' }, T0 + 1001]]);
    expect(twice[4]).toEqual([]);
    expect(twice[5]).toEqual(once[4]);
    expect((once[4] as { event: string }[]).map((e) => e.event)).toEqual(['settled', 'won', 'won', 'lost']);

    // combinatorial: the items each winner gets come from its bundle
    const c = fresh();
    const cBids: [AuctionOp, number][] = [
      [
        {
          op: 'create',
          id: 'c2',
          seller: SELLER,
          asset: '',
          units: '0',
          reserve: '0',
          feeBps: 0,
          deadline: T0 + 1000,
          mech: 'vcg_combinatorial',
          items: [
            ['A', A, '1'],
            ['B', A, '2'],
          ],
        },
        T0,
      ],
      [
        {
          op: 'bid',
          id: 'c2',
          agent: X,
          steps: [],
          bundles: [
            [['B'], '9'],
            [['A'], '150'],
          ],
        },
        T0,
      ],
      [{ op: 'bid', id: 'c2', agent: Y, steps: [], bundles: [[['B'], '150']] }, T0],
    ];
    const cSettle: AuctionOp = {
      op: 'settle_c',
      id: 'c2',
      awards: [
        [X, 1, '0', '0'],
        [Y, 0, '0', '0'],
      ],
      revenue: '0',
      welfare: '300',
    };
    const cOnce = apply(fresh(), [...cBids, [cSettle, T0 + 1000]]);
    const cTwice = apply(c, [...cBids, [{ op: 'clear', id: 'c2', c: cSettle }, T0 + 1000], [{ op: 'settle_cleared', id: 'c2' }, T0 + 1001]]);
    expect(cTwice[4]).toEqual(cOnce[3]);
    expect(cOnce[3]).toContainEqual({ kind: 'auction_bid', event: 'won', auctionId: 'c2', agentId: idOf(X), units: 1n, items: ['A'], payment: 0n });
  });
});
