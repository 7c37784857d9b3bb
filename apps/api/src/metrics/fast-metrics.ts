import type { Metric, MetricValueWithName, Registry } from 'prom-client';

/** What prom-client's registry reads from a metric at scrape time. */
interface Exposition {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: MetricValueWithName<string>[];
}

interface Series {
  labels: Record<string, string>;
  /** per bucket (the last one is +Inf), not cumulative */
  counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram for the per-request hot path, exposed through a prom-client registry like any of its
 * metrics. prom-client's Histogram re-validates and re-hashes the labels on every observe, even through a
 * `labels()` child: measured at ~1.6-2.2 us per observe on this (shared, 2-core) machine, against ~10-25 ns
 * for this one, whose observers close over their label set's plain counters (nothing allocated per call).
 * The text format is the same: cumulative `_bucket{le}` series, `_sum` and `_count`.
 */
export class RouteHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series: Series[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    // prom-client's registry takes any object with its metric interface (name, help, type, get, reset)
    registry.registerMetric(this as unknown as Metric);
  }

  /** The observer of one label set (seconds). Create it once per label set and keep it. */
  observer(labels: Record<string, string>): (value: number) => void {
    const s: Series = { labels, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
    this.series.push(s);
    const bounds = this.bounds;
    const n = bounds.length;
    return (value) => {
      let i = 0;
      while (i < n && value > (bounds[i] as number)) i++;
      (s.counts[i] as number)++;
      s.sum += value;
      s.count++;
    };
  }

  async get(): Promise<Exposition> {
    const values: MetricValueWithName<string>[] = [];
    for (const s of this.series) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += s.counts[i] as number;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le }, value: acc });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const s of this.series) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}

/** A Prometheus counter for the hot path, by the same means as RouteHistogram (prom-client's inc: ~0.35-0.7 us). */
export class FastCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private readonly series: { labels: Record<string, string>; value: number }[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The incrementer of one label set. Create it once per label set and keep it. */
  incrementer(labels: Record<string, string>): () => void {
    const s = { labels, value: 0 };
    this.series.push(s);
    return () => {
      s.value++;
    };
  }

  async get(): Promise<Exposition> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.series.map((s) => ({ metricName: this.name, labels: s.labels, value: s.value })),
    };
  }

  reset(): void {
    for (const s of this.series) s.value = 0;
  }
}
