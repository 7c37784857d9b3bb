import { Injectable, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Counter, Gauge, Histogram, Metric } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';

/** What the gateway reports at scrape time. */
export interface FeedCounts {
  connections(): number;
  /** subscriptions held on this node by channel (book, trades, ticker, private, auctions) */
  subscriptions(): Record<string, number>;
}

/**
 * The live feed's Prometheus metrics, registered in the api's registry (MetricsService, /metrics) when the app
 * has one: connections and subscriptions (this node's, read at scrape time), messages sent (one per recipient),
 * book batches conflated into a pending delta, disconnects by reason, replays (hit: the missed messages were sent;
 * miss: resync), limit refusals, and the fan-out latency of book messages.
 */
@Injectable()
export class FeedMetrics implements OnModuleInit {
  private counts: FeedCounts | null = null;

  readonly messages = new Counter({
    name: 'ate_feed_messages_sent_total',
    help: 'Feed messages handed to clients on this api node, one per recipient, by channel (book, trade, ticker, private, auction).',
    labelNames: ['channel'] as const,
    registers: [],
  });
  readonly conflated = new Counter({
    name: 'ate_feed_book_batches_conflated_total',
    help: 'Committed batches that changed a followed book and were folded into a delta already pending (FEED_CONFLATE_MS), not sent on their own.',
    registers: [],
  });
  readonly disconnects = new Counter({
    name: 'ate_feed_disconnects_total',
    help: 'Feed connections closed by the server, by reason: slow_consumer (FEED_SLOW_CONSUMER), key_revoked (FEED_KEY_REVOKED).',
    labelNames: ['reason'] as const,
    registers: [],
  });
  readonly replays = new Counter({
    name: 'ate_feed_replays_total',
    help: 'Resubscriptions with since, by channel (book, private) and result: hit (the missed messages replayed) or miss (resync required).',
    labelNames: ['channel', 'result'] as const,
    registers: [],
  });
  readonly refusals = new Counter({
    name: 'ate_feed_limit_refusals_total',
    help: 'Feed requests refused with FEED_LIMIT_EXCEEDED, by limit (subscriptionsPerConnection, connectionsPerKey, subscribeRate).',
    labelNames: ['limit'] as const,
    registers: [],
  });
  readonly fanout = new Histogram({
    name: 'ate_feed_fanout_seconds',
    help: "Seconds from the api's receipt of a committed batch to its book message handed to every subscriber's socket on this node (conflation included).",
    labelNames: ['channel'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [],
  });

  constructor(private readonly moduleRef: ModuleRef) {}

  /** The gateway's live counts (connections, subscriptions), read at scrape time. */
  report(counts: FeedCounts): void {
    this.counts = counts;
  }

  onModuleInit(): void {
    let registry: MetricsService['registry'];
    try {
      registry = this.moduleRef.get(MetricsService, { strict: false }).registry;
    } catch {
      return; // an app without /metrics (some test modules): the counters count, nobody reads them
    }
    const counts = () => this.counts;
    const connections = new Gauge({
      name: 'ate_feed_connections',
      help: 'Feed (socket.io) connections open on this api node.',
      registers: [],
      collect() {
        this.set(counts()?.connections() ?? 0);
      },
    });
    const subscriptions = new Gauge({
      name: 'ate_feed_subscriptions',
      help: 'Feed subscriptions held on this api node, by channel.',
      labelNames: ['channel'] as const,
      registers: [],
      collect() {
        this.reset();
        for (const [channel, n] of Object.entries(counts()?.subscriptions() ?? {})) this.set({ channel }, n);
      },
    });
    const all: Metric[] = [connections, subscriptions, this.messages, this.conflated, this.disconnects, this.replays, this.refusals, this.fanout];
    for (const m of all) registry.registerMetric(m);
  }
}
