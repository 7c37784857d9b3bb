import { LocalBook } from '@ate/client';
import { bookChecksum, FeedBookDepth, FeedBookMessage, FeedLevel, mulberry32 } from '@ate/contracts';
import type { CommittedBook } from '@ate/sequencer';
import { FeedBook, LevelFormat } from './feed-book';

const fmt: LevelFormat = { price: (t) => (t / 1000).toFixed(3), quantity: (l) => String(l) };

/** The naive twin: a whole book as two maps, its committed view the best `depth` levels of each side. */
class Twin {
  readonly buy = new Map<number, number>();
  readonly sell = new Map<number, number>();
  seq = 0;
  view(depth: number): CommittedBook {
    const side = (m: Map<number, number>, dir: number) => [...m].sort((a, b) => dir * (a[0] - b[0])).slice(0, depth);
    return { seq: this.seq, state: 'open', referencePrice: 1000, bids: side(this.buy, -1), asks: side(this.sell, 1) };
  }
  /** A few random level changes, as a committed batch: the prices its book events touched. */
  step(rnd: () => number): { side: 'buy' | 'sell'; price: number }[] {
    const touched: { side: 'buy' | 'sell'; price: number }[] = [];
    for (let k = 1 + Math.floor(rnd() * 4); k > 0; k--) {
      const side = rnd() < 0.5 ? 'buy' : 'sell';
      const price = side === 'buy' ? 900 + Math.floor(rnd() * 100) : 1000 + Math.floor(rnd() * 100);
      const m = this[side];
      if (rnd() < 0.4) m.delete(price);
      else m.set(price, 1 + Math.floor(rnd() * 50));
      this.seq += 1 + Math.floor(rnd() * 3); // other events (accepted, trades) take seqs too
      touched.push({ side, price });
    }
    return touched;
  }
}

const levels = (v: CommittedBook) => ({
  bids: v.bids.map(([p, l]) => [fmt.price(p), fmt.quantity(l)]),
  asks: v.asks.map(([p, l]) => [fmt.price(p), fmt.quantity(l)]),
});

/**
 * A random run: `steps` committed batches absorbed, flushed at random (conflation: several batches in one delta).
 * `tops`: depth-limited views started at the beginning (their snapshots in `topSnapshots`, their deltas in `topDeltas`).
 */
function run(seed: number, depth: number, steps: number, replayMax = 10_000, tops: FeedBookDepth[] = []) {
  const rnd = mulberry32(seed);
  const twin = new Twin();
  for (let k = 0; k < 30; k++) twin.step(rnd);
  const fb = new FeedBook('T/CREDIT', twin.view(depth), fmt, replayMax);
  const snapshot = fb.snapshot(0);
  const topSnapshots = new Map(tops.map((d) => [d, fb.snapshot(0, d)]));
  const views = new Map<number, CommittedBook>([[twin.seq, twin.view(depth)]]);
  const deltas: FeedBookMessage[] = [];
  const topDeltas = new Map<FeedBookDepth, FeedBookMessage[]>(tops.map((d) => [d, []]));
  let flushes = 0;
  const flush = () => {
    const msgs = fb.flush();
    if (msgs.length > 0) flushes++;
    for (const m of msgs) (m.depth === undefined ? deltas : (topDeltas.get(m.depth) as FeedBookMessage[])).push(m);
  };
  for (let s = 0; s < steps; s++) {
    const touched = twin.step(rnd);
    const v = twin.view(depth);
    views.set(v.seq, v);
    fb.absorb(v, touched, s);
    if (rnd() < 0.4) flush();
  }
  flush();
  return { twin, fb, snapshot, deltas, views, final: twin.view(depth), topSnapshots, topDeltas, flushes };
}

describe('FeedBook against a naive twin (pinned seeds)', () => {
  it.each([
    [1, 5],
    [2, 5],
    [3, 1000],
    [4, 3],
  ])('seed %i, view depth %i: snapshot + deltas rebuild the committed view, every checksum holds, deltas chain', (seed, depth) => {
    const { snapshot, deltas, final } = run(seed, depth, 400);
    const b = new LocalBook('T/CREDIT');
    expect(b.apply(snapshot)).toBe('ok');
    for (const d of deltas) expect(b.apply(d)).toBe('ok');
    expect(b.levels()).toEqual(levels(final));
    for (let k = 1; k < deltas.length; k++) expect(deltas[k]!.prev).toBe(deltas[k - 1]!.seq);
    expect(deltas[0]!.prev).toBe(snapshot.seq);
  });

  it('a book taken at any committed seq (a REST book) plus the deltas after it ends at the committed view', () => {
    const { deltas, views, final } = run(5, 100_000, 100);
    for (const [seq, v] of views) {
      const b = new LocalBook('T/CREDIT');
      b.fromRest({ seq, ...levels(v) } as never);
      for (const d of deltas.filter((x) => x.seq > seq)) expect(b.applyOverlapping(d)).toBe('ok');
      expect([seq, b.levels()]).toEqual([seq, levels(final)]);
    }
  });

  it('since(): the deltas after a boundary the buffer still holds; null beyond it, or for a seq never reached', () => {
    const { fb, deltas } = run(6, 10, 300, 20);
    const kept = deltas.slice(-20);
    expect(fb.since(fb.seq)).toEqual([]);
    for (let k = 0; k < kept.length; k++) expect(fb.since(kept[k]!.prev as number)).toEqual(kept.slice(k));
    expect(fb.since((kept[0]!.prev as number) - 1)).toBeNull();
    expect(fb.since(fb.seq + 1)).toBeNull();
  });

  it('a delta for an older view than the one held is ignored; nothing pending flushes to nothing', () => {
    const twin = new Twin();
    twin.step(mulberry32(7));
    const fb = new FeedBook('T/CREDIT', twin.view(10), fmt, 10);
    fb.absorb({ ...twin.view(10), seq: twin.seq - 1 }, [], 0);
    expect(fb.pending).toBe(false);
    expect(fb.flush()).toEqual([]);
  });
});

describe('depth-limited views against the naive twin (pinned seeds)', () => {
  it.each([
    [11, 10],
    [12, 25],
    [13, 100],
  ] as [number, FeedBookDepth][])(
    'seed %i, depth %i: its snapshot + deltas are the best levels at the end, each checksum holds, deltas chain and carry a change',
    (seed, d) => {
      const { topSnapshots, topDeltas, final, flushes } = run(seed, 1000, 400, 10_000, [d]);
      const snap = topSnapshots.get(d) as FeedBookMessage;
      const deltas = topDeltas.get(d) as FeedBookMessage[];
      const b = new LocalBook('T/CREDIT');
      expect(b.apply(snap)).toBe('ok');
      for (const m of deltas) expect([m.seq, b.apply(m)]).toEqual([m.seq, 'ok']);
      const top = levels({ ...final, bids: final.bids.slice(0, d), asks: final.asks.slice(0, d) });
      expect(b.levels()).toEqual(top);
      expect(b.checksum()).toBe(bookChecksum(top.bids.slice(0, 10) as FeedLevel[], top.asks.slice(0, 10) as FeedLevel[]));
      expect(deltas[0]!.prev).toBe(snap.seq);
      for (let k = 1; k < deltas.length; k++) expect(deltas[k]!.prev).toBe(deltas[k - 1]!.seq);
      for (const m of deltas) expect([m.depth, m.bids.length + m.asks.length > 0]).toEqual([d, true]);
      // changes below the best 10 make no depth-10 message
      if (d === 10) expect(deltas.length).toBeLessThan(flushes);
    },
  );

  it('a view started mid-way, and a client joining it then, end at the best levels; since() replays a view from its own seqs', () => {
    const rnd = mulberry32(14);
    const twin = new Twin();
    for (let k = 0; k < 30; k++) twin.step(rnd);
    const fb = new FeedBook('T/CREDIT', twin.view(1000), fmt, 50);
    const step = () => {
      fb.absorb(twin.view(1000), twin.step(rnd), 0);
      return fb.flush();
    };
    for (let k = 0; k < 50; k++) step(); // only the whole view flushes
    const snap = fb.snapshot(0, 10);
    expect(snap).toMatchObject({ type: 'snapshot', depth: 10, seq: fb.seq, prev: null });
    expect(snap.bids).toHaveLength(10);
    const b = new LocalBook('T/CREDIT');
    b.apply(snap);
    const sent: FeedBookMessage[] = [];
    for (let k = 0; k < 200; k++) for (const m of step()) if (m.depth === 10) sent.push(m);
    for (const m of sent) expect(b.apply(m)).toBe('ok');
    const v = twin.view(10);
    expect(b.levels()).toEqual(levels(v));
    // the view's seq is its last message's (it lags the whole view's when the best levels stay the same)
    expect(fb.seqOf(10)).toBe(sent.at(-1)!.seq);
    expect(fb.since(fb.seqOf(10), 10)).toEqual([]);
    const kept = sent.slice(-50);
    for (let k = 0; k < kept.length; k++) expect(fb.since(kept[k]!.prev as number, 10)).toEqual(kept.slice(k));
    expect(fb.since((kept[0]!.prev as number) - 1, 10)).toBeNull();
    expect(fb.since(fb.seqOf(10) + 1, 10)).toBeNull();
  });
});
