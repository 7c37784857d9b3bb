import { CREDIT } from '@ate/contracts';
import { BalanceView } from '@ate/matching';
import { nextPoolPrice } from '@ate/mechanisms';
import { AuctionOp, AuctionState } from './auctions';

const A = 'ALW.1K';
const SELLER = 1;
const [X, Y, Z] = [2, 3, 4];

function fresh(): { s: AuctionState; b: BalanceView } {
  const b = new BalanceView([CREDIT, A], 64);
  for (const agent of [X, Y, Z]) b.deposit(agent, 0, 100_000);
  b.deposit(SELLER, 1, 50);
  return { s: new AuctionState(b, (n) => `agent-${n}`), b };
}

/** The whole deterministic state: auctions, pools and every balance (totals and holds). */
const state = (x: { s: AuctionState; b: BalanceView }) => JSON.stringify({ a: x.s.toJSON(), b: x.b.snapshotSparse() });

const T0 = 1_000_000;
const create: AuctionOp = { op: 'create', id: 'a1', seller: SELLER, asset: A, units: '3', reserve: '100', feeBps: 10, deadline: T0 + 1000 };
const bids: AuctionOp[] = [
  { op: 'bid', id: 'a1', agent: X, steps: [['2', '700']] },
  { op: 'bid', id: 'a1', agent: Y, steps: [['2', '400']] },
  {
    op: 'bid',
    id: 'a1',
    agent: Z,
    steps: [
      ['1', '500'],
      ['1', '300'],
    ],
  },
];
// X 2 @ 700, Z 1 @ 500 win (Y's 400s and Z's 300 are rejected); X pays 400 + 400, Z pays 400
const settle: AuctionOp = {
  op: 'settle',
  id: 'a1',
  awards: [
    [X, '2', '800'],
    [Z, '1', '400'],
  ],
  unitsSold: '3',
  revenue: '1200',
};

function run(x: { s: AuctionState }, ops: AuctionOp[], ts: number): unknown[] {
  return ops.map((o) => {
    const r = x.s.apply(o, ts);
    return 'refused' in r ? r.refused : 'ok';
  });
}

describe('AuctionState: the deterministic auction and pool state of the sequencer', () => {
  it('holds bids and escrow in the balance view, settles by the carried clearing, moves units and credits', () => {
    const w = fresh();
    expect(run(w, [create, ...bids], T0)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(w.b.getReserved(SELLER, 1)).toBe(3);
    expect([X, Y, Z].map((a) => w.b.getReserved(a, 0))).toEqual([1400, 800, 800]);
    expect(run(w, [settle], T0 + 1000)).toEqual(['ok']);
    expect([X, Y, Z].map((a) => [w.b.getTotal(a, 0), w.b.getReserved(a, 0), w.b.getTotal(a, 1)])).toEqual([
      [100_000 - 800, 0, 2],
      [100_000, 0, 0],
      [100_000 - 400, 0, 1],
    ]);
    // the seller: 3 units delivered, 1200 less 10 bps per payment (rounded up: 1 + 1) received
    expect([w.b.getTotal(SELLER, 1), w.b.getReserved(SELLER, 1), w.b.getTotal(SELLER, 0)]).toEqual([47, 0, 1198]);
    w.b.assertInvariants();
  });

  it.each<[string, AuctionOp[], number, AuctionOp, number, string]>([
    ['a bid after the deadline', [create], T0, bids[0]!, T0 + 1000, 'AUCTION_CLOSED'],
    [
      'a bid above the available credits',
      [create],
      T0,
      { op: 'bid', id: 'a1', agent: X, steps: [['3', '40000']] },
      T0,
      'AUCTION_INSUFFICIENT_BALANCE',
    ],
    ['a second bid of one agent', [create, bids[0]!], T0, bids[0]!, T0, 'MECHANISM_DUPLICATE_BIDDER'],
    [
      'an increasing schedule',
      [create],
      T0,
      {
        op: 'bid',
        id: 'a1',
        agent: X,
        steps: [
          ['1', '1'],
          ['1', '2'],
        ],
      },
      T0,
      'MECHANISM_INCREASING_SCHEDULE',
    ],
    ['the seller bidding', [create], T0, { op: 'bid', id: 'a1', agent: SELLER, steps: [['1', '1']] }, T0, 'CONFLICT'],
    ['a bid on an unknown auction', [], T0, bids[0]!, T0, 'AUCTION_NOT_FOUND'],
    ['escrow beyond what the seller holds', [], T0, { ...create, units: '51' } as AuctionOp, T0, 'AUCTION_INSUFFICIENT_BALANCE'],
    ['a settlement before the deadline', [create, ...bids], T0, settle, T0 + 999, 'AUCTION_NOT_CLOSED'],
    [
      'a settlement with another clearing',
      [create, ...bids],
      T0,
      { ...settle, revenue: '1100' } as AuctionOp,
      T0 + 1000,
      'AUCTION_CLEARING_MISMATCH',
    ],
    [
      'a settlement with other awards',
      [create, ...bids],
      T0,
      { ...settle, awards: [[X, '3', '1200']] } as AuctionOp,
      T0 + 1000,
      'AUCTION_CLEARING_MISMATCH',
    ],
    ['a second settlement', [create, ...bids, settle], T0 + 1000, settle, T0 + 1000, 'AUCTION_ALREADY_SETTLED'],
    ['a withdrawal without a bid', [create], T0, { op: 'withdraw', id: 'a1', agent: X }, T0, 'AUCTION_BID_NOT_FOUND'],
    ['a cancel after the settlement', [create, ...bids, settle], T0 + 1000, { op: 'cancel', id: 'a1' }, T0 + 1000, 'AUCTION_ALREADY_SETTLED'],
    ['a clearing before the deadline', [create, ...bids], T0, { op: 'clear', id: 'a1', c: settle }, T0 + 999, 'AUCTION_NOT_CLOSED'],
    [
      'a clearing that differs from the sealed bids',
      [create, ...bids],
      T0,
      { op: 'clear', id: 'a1', c: { ...settle, revenue: '1100' } } as AuctionOp,
      T0 + 1000,
      'AUCTION_CLEARING_MISMATCH',
    ],
    ['a settlement of the cleared clearing before any', [create, ...bids], T0, { op: 'settle_cleared', id: 'a1' }, T0 + 1000, 'AUCTION_NOT_CLEARED'],
    [
      'a second clearing',
      [create, ...bids, { op: 'clear', id: 'a1', c: settle }],
      T0,
      { op: 'clear', id: 'a1', c: settle },
      T0 + 1000,
      'AUCTION_ALREADY_CLEARED',
    ],
    [
      'a settlement carrying a clearing once cleared',
      [create, ...bids, { op: 'clear', id: 'a1', c: settle }],
      T0,
      settle,
      T0 + 1000,
      'AUCTION_ALREADY_CLEARED',
    ],
    [
      'a bid once cleared',
      [create, ...bids, { op: 'clear', id: 'a1', c: settle }],
      T0,
      { op: 'bid', id: 'a1', agent: 5, steps: [['1', '100']] },
      T0 + 1000,
      'AUCTION_CLOSED',
    ],
    [
      'a withdrawal once cleared',
      [create, ...bids, { op: 'clear', id: 'a1', c: settle }],
      T0,
      { op: 'withdraw', id: 'a1', agent: X },
      T0 + 1000,
      'AUCTION_CLOSED',
    ],
    [
      'a second settlement of the cleared clearing',
      [create, ...bids, { op: 'clear', id: 'a1', c: settle }, { op: 'settle_cleared', id: 'a1' }],
      T0,
      { op: 'settle_cleared', id: 'a1' },
      T0 + 1000,
      'AUCTION_ALREADY_SETTLED',
    ],
  ])('refuses %s (%#) and changes nothing', (_, before, t, op, at, code) => {
    const w = fresh();
    // what comes before: bids before the deadline, the clearing and settlement at it
    const late = ['settle', 'clear', 'settle_cleared'];
    for (const o of before) expect(run(w, [o], late.includes(o.op) ? Math.max(t, T0 + 1000) : Math.min(t, T0))).toEqual(['ok']);
    const s0 = state(w);
    expect(run(w, [op], at)).toEqual([code]);
    expect(state(w)).toEqual(s0);
  });

  describe('combinatorial: the carried clearing is checked exactly (the solver ran off the batch)', () => {
    const cCreate: AuctionOp = {
      op: 'create',
      id: 'c1',
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
    };
    const cBids: AuctionOp[] = [
      { op: 'bid', id: 'c1', agent: X, steps: [], bundles: [[['A'], '150']] },
      { op: 'bid', id: 'c1', agent: Y, steps: [], bundles: [[['B'], '150']] },
      {
        op: 'bid',
        id: 'c1',
        agent: Z,
        steps: [],
        bundles: [
          [['A', 'B'], '200'],
          [['A'], '10'],
        ],
      },
    ];
    const good: AuctionOp = {
      op: 'settle_c',
      id: 'c1',
      awards: [
        [X, 0, '50', '50'],
        [Y, 0, '50', '50'],
      ],
      revenue: '100',
      welfare: '300',
    };
    it.each<[string, AuctionOp]>([
      [
        'an item sold twice',
        {
          ...good,
          awards: [
            [X, 0, '50', '50'],
            [Z, 1, '5', '5'],
          ],
          revenue: '55',
          welfare: '160',
        } as AuctionOp,
      ],
      [
        'a payment above the bid',
        {
          ...good,
          awards: [
            [X, 0, '151', '151'],
            [Y, 0, '50', '50'],
          ],
          revenue: '201',
        } as AuctionOp,
      ],
      [
        'a VCG auction charging more than VCG',
        {
          ...good,
          awards: [
            [X, 0, '60', '50'],
            [Y, 0, '50', '50'],
          ],
          revenue: '110',
        } as AuctionOp,
      ],
      [
        'a bundle the bid does not have',
        {
          ...good,
          awards: [
            [X, 1, '50', '50'],
            [Y, 0, '50', '50'],
          ],
        } as AuctionOp,
      ],
      ['a revenue that does not add up', { ...good, revenue: '99' } as AuctionOp],
      ['a welfare that does not add up', { ...good, welfare: '299' } as AuctionOp],
    ])('refuses %s and changes nothing', (_, op) => {
      const w = fresh();
      expect(run(w, [cCreate, ...cBids], T0)).toEqual(['ok', 'ok', 'ok', 'ok']);
      const s0 = state(w);
      expect(run(w, [op], T0 + 1000)).toEqual(['AUCTION_CLEARING_MISMATCH']);
      expect(state(w)).toEqual(s0);
    });
    it('holds the largest bundle value, escrows every item, settles item by item', () => {
      const w = fresh();
      run(w, [cCreate, ...cBids], T0);
      expect([X, Y, Z].map((a) => w.b.getReserved(a, 0))).toEqual([150, 150, 200]);
      expect(w.b.getReserved(SELLER, 1)).toBe(3);
      expect(run(w, [good], T0 + 1000)).toEqual(['ok']);
      expect([X, Y, Z].map((a) => [w.b.getTotal(a, 0), w.b.getReserved(a, 0), w.b.getTotal(a, 1)])).toEqual([
        [100_000 - 50, 0, 1],
        [100_000 - 50, 0, 2],
        [100_000, 0, 0],
      ]);
      expect([w.b.getTotal(SELLER, 1), w.b.getReserved(SELLER, 1), w.b.getTotal(SELLER, 0)]).toEqual([47, 0, 100]);
      const again = fresh();
      again.s.restore(JSON.parse(JSON.stringify(w.s.toJSON())));
      expect(again.s.toJSON()).toEqual(w.s.toJSON());
    });
  });

  it('cleared: the clearing is fixed and every hold stays until the settlement, which moves what a one-command settlement moves', () => {
    const once = fresh();
    run(once, [create, ...bids], T0);
    expect(run(once, [settle], T0 + 1000)).toEqual(['ok']);
    const w = fresh();
    run(w, [create, ...bids], T0);
    const held = state(w);
    const cleared = w.s.apply({ op: 'clear', id: 'a1', c: settle }, T0 + 1000);
    expect(cleared).toMatchObject({ moves: [], row: { clearing: { revenue: '1200', unitsSold: '3', fees: '2' } } });
    expect(w.s.auction('a1')?.status).toBe('cleared');
    // nothing moved yet: the holds, the escrow and the totals are those of the closed auction
    expect(JSON.parse(state(w)).b).toEqual(JSON.parse(held).b);
    // a snapshot taken while cleared carries the clearing; restored, it settles the same
    const view = BalanceView.restoreSparse(JSON.parse(JSON.stringify(w.b.snapshotSparse())));
    const restored = { s: new AuctionState(view, (n) => `agent-${n}`), b: view };
    restored.s.restore(JSON.parse(JSON.stringify(w.s.toJSON())));
    for (const x of [w, restored]) expect(run(x, [{ op: 'settle_cleared', id: 'a1' }], T0 + 1001)).toEqual(['ok']);
    expect(JSON.parse(state(w)).b).toEqual(JSON.parse(state(once)).b);
    expect(state(restored)).toEqual(state(w));
    expect(w.s.auction('a1')?.status).toBe('settled');
  });

  it('an operator may cancel a cleared auction before it settles: every hold and the escrow released', () => {
    const w = fresh();
    const s0 = state(w);
    expect(run(w, [create, ...bids], T0)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(
      run(
        w,
        [
          { op: 'clear', id: 'a1', c: settle },
          { op: 'cancel', id: 'a1' },
        ],
        T0 + 1000,
      ),
    ).toEqual(['ok', 'ok']);
    expect(JSON.parse(state(w)).b).toEqual(JSON.parse(s0).b);
    expect(run(w, [{ op: 'settle_cleared', id: 'a1' }], T0 + 1000)).toEqual(['AUCTION_ALREADY_SETTLED']);
  });

  describe('combinatorial reserves: the seller values each item at its reserve', () => {
    // A has a reserve of 60 (the whole item), B none: the state holds [id, asset, units, reserve]
    const rCreate: AuctionOp = {
      op: 'create',
      id: 'r1',
      seller: SELLER,
      asset: '',
      units: '0',
      reserve: '0',
      feeBps: 0,
      deadline: T0 + 1000,
      mech: 'vcg_combinatorial',
      items: [
        ['A', A, '1', '60'],
        ['B', A, '2'],
      ],
    };
    const rBids: AuctionOp[] = [
      // X: A at 150 (above its reserve), or A+B at 50 (below A's 60: out)
      {
        op: 'bid',
        id: 'r1',
        agent: X,
        steps: [],
        bundles: [
          [['A'], '150'],
          [['A', 'B'], '50'],
        ],
      },
      { op: 'bid', id: 'r1', agent: Y, steps: [], bundles: [[['B'], '150']] },
      { op: 'bid', id: 'r1', agent: Z, steps: [], bundles: [[['A', 'B'], '200']] },
    ];
    // libs/mechanisms' answer (Weber with A's reserve 60): X pays 60 (the reserve), Y pays 50
    const rGood: AuctionOp = {
      op: 'settle_c',
      id: 'r1',
      awards: [
        [X, 0, '60', '60'],
        [Y, 0, '50', '50'],
      ],
      revenue: '110',
      welfare: '300',
    };
    it('holds only what a bundle at or above its reserve may pay; refuses a payment below the reserve; settles the rest', () => {
      const w = fresh();
      expect(run(w, [rCreate, ...rBids], T0)).toEqual(['ok', 'ok', 'ok', 'ok']);
      expect([X, Y, Z].map((a) => w.b.getReserved(a, 0))).toEqual([150, 150, 200]);
      const s0 = state(w);
      const below: AuctionOp = {
        ...rGood,
        awards: [
          [X, 0, '59', '59'],
          [Y, 0, '50', '50'],
        ],
        revenue: '109',
      } as AuctionOp;
      expect(run(w, [below], T0 + 1000)).toEqual(['AUCTION_CLEARING_MISMATCH']);
      expect(state(w)).toEqual(s0);
      const again = fresh();
      again.s.restore(JSON.parse(JSON.stringify(w.s.toJSON())));
      expect(again.s.auction('r1')?.items).toEqual([
        { id: 'A', asset: A, units: 1n, reserve: 60n },
        { id: 'B', asset: A, units: 2n, reserve: 0n },
      ]);
      expect(run(w, [rGood], T0 + 1000)).toEqual(['ok']);
      expect([X, Y].map((a) => w.b.getTotal(a, 0))).toEqual([100_000 - 60, 100_000 - 50]);
    });
    it('a bid whose every bundle is below its reserve holds nothing', () => {
      const w = fresh();
      run(w, [rCreate], T0);
      expect(run(w, [{ op: 'bid', id: 'r1', agent: X, steps: [], bundles: [[['A'], '59']] }], T0)).toEqual(['ok']);
      expect(w.b.getReserved(X, 0)).toBe(0);
    });
  });

  it('cancel and withdraw release every hold and the escrow', () => {
    const w = fresh();
    const s0 = state(w);
    expect(run(w, [create, ...bids, { op: 'withdraw', id: 'a1', agent: Y }, { op: 'cancel', id: 'a1' }], T0)).toEqual([
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
    ]);
    expect(JSON.parse(state(w)).b).toEqual(JSON.parse(s0).b);
  });

  it('a replay of the same ops, or a snapshot (JSON) restored midway then the rest, reaches the same state', () => {
    const ops: [AuctionOp, number][] = [
      [create, T0],
      [bids[0]!, T0 + 1],
      [{ op: 'withdraw', id: 'a1', agent: X }, T0 + 2],
      [bids[1]!, T0 + 3],
      [bids[2]!, T0 + 4],
      [bids[0]!, T0 + 5], // X again, now after Y and Z in sequence order
      [
        {
          op: 'pool_create',
          id: 'p1',
          asset: A,
          mode: 'congestion',
          price: '1000',
          supply: '0',
          capacity: '10',
          minPrice: '8',
          maxPrice: '100000',
          epochMs: 100,
        },
        T0,
      ],
      [{ op: 'pool_buy', id: 'p1', agent: Y, units: '10', maxPrice: '1000' }, T0 + 10],
      [{ op: 'pool_epoch', id: 'p1' }, T0 + 350],
      [{ op: 'close', id: 'a1' }, T0 + 1000],
      [{ op: 'clear', id: 'a1', c: settle }, T0 + 1001],
      [{ op: 'settle_cleared', id: 'a1' }, T0 + 1002],
    ];
    const live = fresh();
    for (const [o, t] of ops) live.s.apply(o, t);
    const replay = fresh();
    for (const [o, t] of ops) replay.s.apply(o, t);
    expect(state(replay)).toEqual(state(live));

    for (let cut = 1; cut < ops.length; cut++) {
      const a = fresh();
      for (const [o, t] of ops.slice(0, cut)) a.s.apply(o, t);
      // what a snapshot holds: the balance view and the auction state, each through its serialised form
      const view = BalanceView.restoreSparse(JSON.parse(JSON.stringify(a.b.snapshotSparse())));
      const restored = { s: new AuctionState(view, (n) => `agent-${n}`), b: view };
      restored.s.restore(JSON.parse(JSON.stringify(a.s.toJSON())));
      for (const [o, t] of ops.slice(cut)) restored.s.apply(o, t);
      expect([cut, state(restored)]).toEqual([cut, state(live)]);
    }
  });

  it('prices a congestion pool per epoch by the EIP-1559 rule and refuses a buyer whose max is below it', () => {
    const w = fresh();
    run(
      w,
      [
        {
          op: 'pool_create',
          id: 'p',
          asset: A,
          mode: 'congestion',
          price: '1000',
          supply: '0',
          capacity: '10',
          minPrice: '8',
          maxPrice: '100000',
          epochMs: 100,
        },
      ],
      T0,
    );
    const buy = (units: string, maxPrice: string, at: number) => w.s.apply({ op: 'pool_buy', id: 'p', agent: X, units, maxPrice }, at);
    expect(buy('10', '1000', T0 + 1)).toMatchObject({ row: { price: '1000', cost: '10000', epoch: 0 } });
    expect(buy('1', '5000', T0 + 2)).toEqual({ refused: 'MECHANISM_SUPPLY_EXHAUSTED', details: expect.any(Object) });
    const p1 = nextPoolPrice({ capacityPerEpoch: 10n, minPrice: 8n, maxPrice: 100000n }, 1000n, 10n);
    expect(p1).toBe(1125n);
    expect(buy('1', '1124', T0 + 100)).toEqual({ refused: 'MECHANISM_PRICE_ABOVE_MAX', details: expect.any(Object) });
    expect(buy('5', '1125', T0 + 150)).toMatchObject({
      row: { price: '1125', epoch: 1, ended: [{ epoch: 0, price: '1000', used: '10', nextPrice: '1125' }] },
    });
    // epoch 1 at the target (5 of 10): the price holds; epoch 2 empty: it falls by 1/8
    expect(w.s.apply({ op: 'pool_epoch', id: 'p' }, T0 + 300)).toMatchObject({
      row: {
        ended: [
          { epoch: 1, price: '1125', used: '5', nextPrice: '1125' },
          { epoch: 2, price: '1125', used: '0', nextPrice: String(1125 - Math.floor(1125 / 8)) },
        ],
      },
    });
    expect(w.b.getTotal(X, 1)).toBe(15);
  });
});
