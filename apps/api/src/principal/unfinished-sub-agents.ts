import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { BudgetReadDetails } from '@ate/sequencer';
import { auditOf, SYSTEM_ACTOR } from '../audit/audit.service';
import { DatabaseService } from '../database/database.service';
import { EngineLink } from '../engine/engine-link';

/** How old a keyless agent must be before it counts as unfinished (creation takes milliseconds). */
export const UNFINISHED_AFTER_MS = 60_000;
/** How often the sweep runs after the one at start. */
const SWEEP_EVERY_MS = 10 * 60_000;

/**
 * Sub-agents whose creation did not finish. Creating one (PrincipalService.createSubAgent) writes the agent row,
 * sequences the carve-out (escrowed from the parent's budget, audited in its batch), then commits the first key
 * with the `agent.create` row. An api that stops between the last two steps leaves an agent nobody can use holding
 * its carve-out. This sweep, at start and every ten minutes, finds such agents (no key ever, older than a minute,
 * carved out of a parent, not revoked yet) and revokes each as the system's action: the unspent carve-out goes back
 * up the tree, and the revocation is audited in its batch (`budget.revoke`, reason `sub-agent creation unfinished`).
 * The caller of the failed request got an error, so a retry creates a new sub-agent; nothing is left escrowed.
 */
@Injectable()
export class UnfinishedSubAgents implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SubAgents');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: DatabaseService,
    private readonly engine: EngineLink,
  ) {}

  onApplicationBootstrap(): void {
    const run = () => void this.sweep().catch((e: Error) => this.logger.warn(`sweep of unfinished sub-agents failed: ${e.message}`));
    run();
    this.timer = setInterval(run, SWEEP_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Revokes the unfinished sub-agents; answers their ids. */
  async sweep(now = Date.now()): Promise<string[]> {
    const keyless = (
      await this.db.pool.query<{ id: string }>(
        `SELECT a.id FROM agent a
          WHERE a.created_at < $1 AND NOT EXISTS (SELECT 1 FROM api_key k WHERE k.agent_id = a.id)
          ORDER BY a.id LIMIT 1000`,
        [new Date(now - UNFINISHED_AFTER_MS)],
      )
    ).rows.map((r) => r.id);
    if (keyless.length === 0) return [];
    const read = await this.engine.submit({ kind: 'budget', op: { op: 'read', agentIds: keyless } });
    const state = read.details as unknown as BudgetReadDetails;
    const unfinished = keyless.filter((id) => {
      const a = state.agents[id];
      return a !== undefined && a.parentId !== null && !a.frozen;
    });
    for (const id of unfinished) {
      const audit = auditOf(
        SYSTEM_ACTOR,
        'budget.revoke',
        { kind: 'agent', id },
        { reason: 'sub-agent creation unfinished', after: { parentId: state.agents[id]?.parentId ?? null } },
      );
      const r = await this.engine.submit({ kind: 'budget', op: { op: 'revoke', agentId: id }, audit });
      if (r.code) this.logger.warn(`unfinished sub-agent ${id} not revoked: ${r.code}`);
      else
        this.logger.warn(`revoked unfinished sub-agent ${id}: its creation did not finish; its carve-out went back to ${state.agents[id]?.parentId}`);
    }
    return unfinished;
  }
}
