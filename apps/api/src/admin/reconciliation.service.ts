import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { AgreementReport } from '@ate/sequencer';
import { Queue, Worker } from 'bullmq';
import Redis from 'ioredis';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { DatabaseService } from '../database/database.service';
import { EngineLink } from '../engine/engine-link';
import { LedgerService } from '../ledger/ledger.service';
import type { ReconcileReport } from '@ate/ledger';
import type { AuditChainReport } from '@ate/sequencer';
import { auditOf, AuditService, SYSTEM_ACTOR } from '../audit/audit.service';
import { closeBull } from '../redis/bull-close';

export interface ReconciliationReport extends ReconcileReport {
  /** the engine's memory against the database: balances, open orders */
  engine: AgreementReport;
  /** the audit log's hash chain recomputed from its rows */
  audit: AuditChainReport;
  /** markets halted because of this run (scheduled runs only) */
  halted?: string[];
}

/** The BullMQ queue of scheduled runs (one job at a time across every api node). */
export const RECONCILIATION_QUEUE = 'reconciliation';

/**
 * Reconciliation: the ledger's promises 1-6 over the whole journal, and the engine's agreement with the
 * database. On demand (GET /v1/admin/reconciliation) and on a schedule (RECONCILE_EVERY_MS): a scheduled run
 * that finds a violation halts every market (through the engine's sequence, so the halt is logged and replayed)
 * and logs the report; an operator resumes with POST /v1/admin/markets/:id/state once it is understood.
 * With Redis the schedule is a BullMQ job scheduler, so one api node runs each round; without, a timer.
 */
@Injectable()
export class ReconciliationService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Reconciliation');
  private timer: NodeJS.Timeout | undefined;
  private queue: Queue | undefined;
  private worker: Worker | undefined;
  private connection: Redis | undefined;
  private running: Promise<ReconciliationReport> | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DatabaseService,
    private readonly ledger: LedgerService,
    private readonly engine: EngineLink,
    private readonly audit: AuditService,
  ) {}

  /** One run: both checks (runs already in progress are shared, not repeated). */
  run(): Promise<ReconciliationReport> {
    this.running ??= (async () => {
      const ledger = await this.ledger.reconcile();
      const engine = await this.engine.agreement();
      const audit = await this.audit.verify();
      return { ...ledger, ok: ledger.ok && engine.ok && audit.ok, engine, audit };
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  /** A scheduled run: on any violation, every market is halted. */
  async scheduledRun(): Promise<ReconciliationReport> {
    const report = await this.run();
    if (report.ok) return report;
    const halted: string[] = [];
    // each halt is audited in its batch as the system's action, with the violations that caused it
    const reason = `reconciliation: ${report.violations.length} ledger and ${report.engine.violations.length} engine violation(s)${report.audit.ok ? '' : ', audit chain broken'}`;
    for (const { id } of (await this.db.pool.query<{ id: string }>('SELECT id FROM market ORDER BY id')).rows) {
      const audit = auditOf(
        SYSTEM_ACTOR,
        'market.state',
        { kind: 'market', id },
        { reason, after: { state: 'halted', violations: report.violations.slice(0, 20), engine: report.engine.violations.slice(0, 20) } },
      );
      const r = await this.engine.submit({ kind: 'set_state', marketId: id, state: 'halted', audit }).catch((e: Error) => ({ code: e.message }));
      if (!r.code) halted.push(id);
    }
    this.logger.error(
      { report: { violations: report.violations, engine: report.engine.violations }, halted },
      `reconciliation failed: trading halted in ${halted.length} market(s)`,
    );
    return { ...report, halted };
  }

  async onModuleInit(): Promise<void> {
    const every = this.config.RECONCILE_EVERY_MS;
    if (every === 0) return;
    if (!this.config.REDIS_URL) {
      this.timer = setInterval(
        () => void this.scheduledRun().catch((e: Error) => this.logger.error(`scheduled reconciliation: ${e.message}`)),
        every,
      );
      this.timer.unref();
      return;
    }
    // BullMQ needs a connection that retries forever (its workers block on Redis)
    this.connection = new Redis(this.config.REDIS_URL, { maxRetriesPerRequest: null });
    this.connection.on('error', () => undefined);
    const opts = { connection: this.connection, prefix: `${this.config.REDIS_PREFIX}:bull` };
    this.queue = new Queue(RECONCILIATION_QUEUE, opts);
    this.queue.on('error', (e) => this.logger.warn(`reconciliation queue: ${e.message}`)); // Redis away: it reconnects
    await this.queue.upsertJobScheduler('reconcile', { every }, { name: 'reconcile', opts: { removeOnComplete: 100, removeOnFail: 100 } });
    this.worker = new Worker(
      RECONCILIATION_QUEUE,
      async () => {
        const r = await this.scheduledRun();
        return { ok: r.ok, halted: r.halted ?? [] };
      },
      { ...opts, concurrency: 1 },
    );
    this.worker.on('failed', (_job, e) => this.logger.error(`scheduled reconciliation: ${e.message}`));
    this.worker.on('error', (e) => this.logger.warn(`reconciliation worker: ${e.message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await closeBull(this.worker, this.queue, this.connection);
  }
}
