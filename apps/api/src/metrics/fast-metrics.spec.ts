import { mulberry32 } from '@ate/contracts';
import { Counter, Histogram, Registry } from 'prom-client';
import { FastCounter, RouteHistogram } from './fast-metrics';

const BOUNDS = [0.001, 0.005, 0.01, 0.1, 1];

/** A registry's text as a set of series lines, labels sorted (the two print labels in different orders). */
async function series(registry: Registry): Promise<string[]> {
  const text = await registry.metrics();
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/\{(.*)\}/, (_, inner: string) => `{${inner.split(',').sort().join(',')}}`))
    .sort();
}

describe('the hot-path metrics print what prom-client prints for the same observations (its Histogram and Counter as the twin)', () => {
  it('histogram: buckets (values on a bound count in it), +Inf, sum and count per label set', async () => {
    const fastRegistry = new Registry();
    const twinRegistry = new Registry();
    const fast = new RouteHistogram('lat', 'help', BOUNDS, fastRegistry);
    const twin = new Histogram({ name: 'lat', help: 'help', labelNames: ['route', 'status_code'], buckets: BOUNDS, registers: [twinRegistry] });
    const rnd = mulberry32(20261201);
    const labelSets = [
      { route: '/a', status_code: '200' },
      { route: '/a', status_code: '500' },
      { route: '/b', status_code: '200' },
    ];
    const observers = labelSets.map((l) => fast.observer(l));
    const values = [...BOUNDS, 0, 2, 5]; // exactly on each bound, below all, above all
    for (let i = 0; i < 2000; i++) values.push(rnd() * (rnd() < 0.5 ? 0.02 : 2));
    values.forEach((v, i) => {
      const k = i % labelSets.length;
      (observers[k] as (v: number) => void)(v);
      twin.observe(labelSets[k] as Record<string, string>, v);
    });
    const [a, b] = [await series(fastRegistry), await series(twinRegistry)];
    // sums are floating point: compare them to 9 digits, the rest exactly
    const round = (l: string) => l.replace(/ (\S+)$/, (_, v: string) => ` ${Number(v).toPrecision(9)}`);
    expect(a.map(round)).toEqual(b.map(round));
    expect(a.length).toBe(labelSets.length * (BOUNDS.length + 3));
  });

  it('counter: one series per label set, reset to zero', async () => {
    const fastRegistry = new Registry();
    const twinRegistry = new Registry();
    const fast = new FastCounter('orders', 'help', fastRegistry);
    const twin = new Counter({ name: 'orders', help: 'help', labelNames: ['result', 'code'], registers: [twinRegistry] });
    const inc = [fast.incrementer({ result: 'accepted', code: 'none' }), fast.incrementer({ result: 'rejected', code: 'X' })];
    for (let i = 0; i < 7; i++) {
      (inc[i % 2] as () => void)();
      twin.inc(i % 2 ? { result: 'rejected', code: 'X' } : { result: 'accepted', code: 'none' });
    }
    expect(await series(fastRegistry)).toEqual(await series(twinRegistry));
    fastRegistry.resetMetrics();
    expect(await series(fastRegistry)).toEqual(['orders{code="X",result="rejected"} 0', 'orders{code="none",result="accepted"} 0']);
  });
});
