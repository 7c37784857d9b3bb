import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service';
import { EngineLink } from '../engine/engine-link';

export interface Readiness {
  ready: boolean;
  checks: {
    database: { ok: boolean };
    migrations: { ok: boolean; pending: string[] };
    engine: { ok: boolean; mode: string };
  };
}

@Injectable()
export class HealthService {
  constructor(
    private readonly db: DatabaseService,
    private readonly engine: EngineLink,
  ) {}

  async readiness(): Promise<Readiness> {
    const database = await this.db.ping();
    const pending = database ? await this.db.pendingMigrations().catch(() => ['(unknown)']) : ['(database unreachable)'];
    const engine = await this.engine.status();
    const checks = {
      database: { ok: database },
      migrations: { ok: database && pending.length === 0, pending },
      engine: { ok: engine.attached, mode: engine.mode },
    };
    return { ready: checks.database.ok && checks.migrations.ok && checks.engine.ok, checks };
  }
}
