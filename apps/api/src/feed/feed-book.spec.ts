import { LocalBook } from '@ate/client';
import { FeedBookMessage, mulberry32 } from '@ate/contracts';
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

function run(seed: number, depth: number, steps: number, replayMax = 10_000) {
  const rnd = mulberry32(seed);
  const twin = new Twin();
  for (let k = 0; k < 30; k++) twin.step(rnd);
  const fb = new FeedBook('T/CREDIT', twin.view(depth), fmt, replayMax);
  const snapshot = fb.snapshot(0);
  const views = new Map<number, CommittedBook>([[twin.seq, twin.view(depth)]]);
  const deltas: FeedBookMessage[] = [];
  for (let s = 0; s < steps; s++) {
    const touched = twin.step(rnd);
    const v = twin.view(depth);
    views.set(v.seq, v);
    fb.absorb(v, touched, s);
    if (rnd() < 0.4) deltas.push(fb.flush() as FeedBookMessage); // conflation: several batches in one delta
  }
  const last = fb.flush();
  if (last) deltas.push(last);
  return { twin, fb, snapshot, deltas, views, final: twin.view(depth) };
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
    expect(fb.flush()).toBeNull();
  });
});
