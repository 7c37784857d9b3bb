import { Injectable, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { journalHeadSeq } from '@ate/ledger';
import { HOST_BATCH_MAX } from '@ate/sequencer';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ReconciliationService } from '../admin/reconciliation.service';
import { DatabaseService } from '../database/database.service';
import { EngineLink } from '../engine/engine-link';
import { InProcessEngine } from '../engine/engine.service';
import { FastCounter, RouteHistogram } from './fast-metrics';

/** Seconds: from a fast in-memory read to a slow order under load. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The api's Prometheus metrics (prom-client), one registry per app instance (tests start several in a
 * process). Request metrics are recorded by the Fastify hooks of http-metrics.ts; the engine's batches and
 * reconciliation runs by wrapping their existing hooks here, so their modules need not know about metrics.
 */
@Injectable()
export class MetricsService implements OnModuleInit {
  readonly registry = new Registry();

  readonly requests = new RouteHistogram(
    'http_request_duration_seconds',
    'HTTP requests by method, route (the route pattern; "unmatched" for unknown paths) and status; _count is the request count.',
    LATENCY_BUCKETS,
    this.registry,
  );
  readonly orders = new FastCounter(
    'ate_orders_total',
    'Orders placed at the api (POST /v1/orders), by result (accepted or rejected) and error code ("none" when accepted).',
    this.registry,
  );
  readonly errors = new Counter({
    name: 'ate_errors_total',
    help: 'Error responses by their stable error code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'ate_rate_limit_refusals_total',
    help: 'Requests refused with 429 RATE_LIMITED, by limit (requests_per_address, requests_per_key, orders_per_agent).',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly engineUnavailable = new Counter({
    name: 'ate_engine_transport_failures_total',
    help: 'Engine commands answered 503 by outcome: not_executed (deadline passed or no engine node: nothing was done) or unknown (no reply in time).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'ate_engine_batch_size',
    help: 'Commands per engine batch (in-process engine only; an engine node in ENGINE_MODE=redis batches in its own process).',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, HOST_BATCH_MAX],
    registers: [this.registry],
  });
  readonly batchSeconds = new Histogram({
    name: 'ate_engine_batch_duration_seconds',
    help: "Seconds from a batch's start to its commit: matching, the projections' writes and the Postgres COMMIT.",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  readonly reconciliations = new Counter({
    name: 'ate_reconciliation_runs_total',
    help: 'Reconciliation runs (on demand and scheduled) by result: ok, violations, error.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly reconciliationSeconds = new Histogram({
    name: 'ate_reconciliation_duration_seconds',
    help: 'Seconds per reconciliation run.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly reconciliationOk = new Gauge({
    name: 'ate_reconciliation_last_ok',
    help: '1 when the last finished reconciliation run found no violation, 0 when it found some or failed.',
    registers: [this.registry],
  });
  readonly reconciliationViolations = new Gauge({
    name: 'ate_reconciliation_last_violations',
    help: 'Violations listed by the last finished reconciliation run (ledger and engine together).',
    registers: [this.registry],
  });
  readonly reconciliationAt = new Gauge({
    name: 'ate_reconciliation_last_run_timestamp_seconds',
    help: 'When the last reconciliation run finished (epoch seconds).',
    registers: [this.registry],
  });

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly db: DatabaseService,
  ) {
    collectDefaultMetrics({ register: this.registry });
    const pool = this.db.pool;
    new Counter({
      name: 'ate_ledger_transfers_total',
      help: 'Transfers in the ledger journal, by every writer (its head sequence number, read at scrape time).',
      registers: [this.registry],
      async collect() {
        const seq = await journalHeadSeq(pool).catch(() => null);
        if (seq === null) return; // database away: the series keeps its last value
        this.reset();
        this.inc(Number(seq));
      },
    });
  }

  onModuleInit(): void {
    this.observeEngineBatches();
    this.observeReconciliation();
  }

  /** Observes the in-process engine's committed batches (size, time) and reads its queue depth at scrape time. */
  private observeEngineBatches(): void {
    const link = this.moduleRef.get(EngineLink, { strict: false });
    if (!(link instanceof InProcessEngine)) return;
    const engine = link.host;
    new Gauge({
      name: 'ate_engine_queue_depth',
      help: 'Commands queued in the in-process engine and not yet in a batch (read at scrape time).',
      registers: [this.registry],
      collect() {
        this.set(engine.queueDepth);
      },
    });
    engine.observeBatches((size, ms) => {
      this.batchSize.observe(size);
      this.batchSeconds.observe(ms / 1000);
    });
  }

  /** Wraps ReconciliationService.run (scheduled runs go through it too); a run shared by two callers counts once. */
  private observeReconciliation(): void {
    const svc = this.moduleRef.get(ReconciliationService, { strict: false });
    const run = svc.run.bind(svc);
    let last: Promise<unknown> | undefined;
    svc.run = () => {
      const p = run();
      if (p === last) return p;
      last = p;
      const end = this.reconciliationSeconds.startTimer();
      p.then(
        (r) => {
          end();
          const violations = r.violations.length + r.engine.violations.length;
          this.reconciliations.inc({ result: r.ok ? 'ok' : 'violations' });
          this.reconciliationOk.set(r.ok ? 1 : 0);
          this.reconciliationViolations.set(violations);
          this.reconciliationAt.set(Date.now() / 1000);
        },
        () => {
          end();
          this.reconciliations.inc({ result: 'error' });
          this.reconciliationOk.set(0);
          this.reconciliationAt.set(Date.now() / 1000);
        },
      );
      return p;
    };
  }
}
