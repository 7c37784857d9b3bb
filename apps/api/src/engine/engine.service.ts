import { BeforeApplicationShutdown, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DatabaseService } from '../database/database.service';
import { EngineLink, EngineLinkStatus } from './engine-link';
import {
  AgreementReport,
  EngineHost,
  ensureHostAsset,
  HostCommand,
  HostCommandOf,
  PlacementVerdict,
  HostResult,
  marketSnapshot,
  MarketSnapshot,
  recoverySummary,
  reloadHost,
  reservedByAsset,
  RestingOrder,
} from '@ate/sequencer';

/**
 * The engine hosted in the api process (ENGINE_MODE=in-process, the single-node default): recovers every book
 * by replaying the command log before the app serves, and drains every queued command before the pools close.
 */
@Injectable()
export class InProcessEngine extends EngineLink implements OnModuleInit, BeforeApplicationShutdown {
  readonly host: EngineHost;
  private readonly logger = new Logger('Engine');
  private started = false;

  constructor(db: DatabaseService) {
    super();
    const trace = process.env['ENGINE_TRACE_BATCHES'] === '1'; // one stderr line per batch, for benchmarks
    this.host = new EngineHost(
      db.pool,
      (err) => this.logger.error({ err }, `batch not committed, rebuilding from the log: ${err.message}`),
      trace ? (size, ms) => process.stderr.write(`batch ${size} ${ms.toFixed(1)}ms\n`) : undefined,
      { onSnapshotError: (err, phase) => this.logger.warn(`engine snapshot ${phase === 'write' ? 'not written' : 'not used'}: ${err.message}`) },
    );
  }

  async onModuleInit(): Promise<void> {
    if ((await this.host.pendingMigrations()).length > 0) {
      this.logger.warn('engine not started: migrations pending');
      return;
    }
    try {
      const r = await this.host.load();
      this.logger.log(`engine recovered ${recoverySummary(r)}, markets: ${this.host.marketIds().join(', ') || 'none'}`);
      this.started = true;
    } catch (e) {
      // A book that does not replay to its checkpoint is not served: /ready says the engine is not attached.
      this.logger.error(`engine not started: ${(e as Error).message}`);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.host.stop();
  }

  submit(cmd: HostCommand): Promise<HostResult> {
    return this.host.submit(cmd);
  }

  test(cmd: HostCommandOf<'place'>): Promise<PlacementVerdict> {
    return this.host.test(cmd);
  }

  async market(marketId: string): Promise<MarketSnapshot | undefined> {
    return marketSnapshot(this.host, marketId);
  }

  async restingOrder(marketId: string, orderId: number): Promise<RestingOrder | null> {
    return this.host.restingOrder(marketId, orderId);
  }

  async reserved(agentId: string): Promise<Map<string, bigint>> {
    return reservedByAsset(this.host, agentId);
  }

  ensureAsset(code: string): Promise<void> {
    return ensureHostAsset(this.host, code);
  }

  reload(): Promise<void> {
    return reloadHost(this.host);
  }

  agreement(): Promise<AgreementReport> {
    return this.host.agreement();
  }

  async status(): Promise<EngineLinkStatus> {
    return { attached: this.started && this.host.attached, mode: 'in-process' };
  }
}
