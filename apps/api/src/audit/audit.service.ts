import { createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import { AppError } from '@ate/contracts';
import { appendAudit, AuditContext, auditRowOf, AuditRow, verifyAuditChain, AuditChainReport } from '@ate/sequencer';
import type { FastifyRequest } from 'fastify';
import type { PoolClient } from 'pg';
import type { AuthContext } from '../auth/auth.types';
import { DatabaseService } from '../database/database.service';

/** Who is acting: the verified key and the request id (what every audit row names). */
export type Actor = Pick<AuditContext, 'actorKind' | 'actorId' | 'keyId' | 'requestId'>;

/** The caller of a signed request as an audit actor. */
export const ActorOf = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const req = ctx.switchToHttp().getRequest<FastifyRequest & { auth?: AuthContext }>();
  const a = req.auth;
  if (!a) throw new Error('@ActorOf() used on a public route');
  return {
    actorKind: a.role,
    actorId: a.role === 'principal' ? a.principalId : a.role === 'agent' ? a.agentId : null,
    keyId: a.keyId,
    requestId: String(req.id),
  };
});

/** The exchange itself as an audit actor: what it does on its own (a reconciliation's halt, a sweep), no key, no request. */
export const SYSTEM_ACTOR: Actor = { actorKind: 'system', actorId: null, keyId: null, requestId: null };

/** The audit context of an action by this actor. */
export function auditOf(actor: Actor, action: string, target: { kind: string; id: string }, extra: Partial<AuditContext> = {}): AuditContext {
  return { ...actor, action, targetKind: target.kind, targetId: target.id, ...extra };
}

export interface AuditFilter {
  actor?: string;
  target?: string;
  action?: string;
  from?: Date;
  to?: Date;
  cursor?: string;
  limit: number;
}

/**
 * The audit log from the api's side. Sequenced actions carry their AuditContext on the HostCommand (the engine's
 * batch writes the row); pure-database actions run their effect and the row in ONE transaction with `run`.
 */
@Injectable()
export class AuditService {
  constructor(private readonly db: DatabaseService) {}

  /**
   * Runs `effect` in a transaction and appends its audit row in the same one. `effect` returns its result and
   * the before/after of the row (or `unchanged`: no row); when it throws, neither the effect nor the row is committed.
   */
  async run<T>(
    ctx: AuditContext,
    effect: (client: PoolClient) => Promise<{ result: T; before?: unknown; after?: unknown; unchanged?: boolean }>,
  ): Promise<T> {
    return this.runMany(async (client) => {
      const e = await effect(client);
      // an action that changed nothing (answered as its first time) leaves no row
      return { result: e.result, rows: e.unchanged ? [] : [{ ...ctx, before: e.before ?? ctx.before, after: e.after ?? ctx.after }] };
    });
  }

  /**
   * `run` for an action of several rows (e.g. each key a kill switch revokes): `effect` returns its result and
   * the rows (none: nothing was done), appended to the chain in its transaction, one hash each, in order.
   */
  async runMany<T>(effect: (client: PoolClient) => Promise<{ result: T; rows: AuditContext[] }>): Promise<T> {
    const client = await this.db.pool.connect();
    try {
      await client.query('BEGIN');
      const e = await effect(client);
      const at = new Date();
      if (e.rows.length > 0)
        await appendAudit(
          (t, p) => client.query(t, p),
          e.rows.map((r) => ({ ...r, at, commandSeq: null })),
        );
      await client.query('COMMIT');
      return e.result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Rows newest first, filtered, a keyset page (cursor: the seq of the last row of the previous page). */
  async list(f: AuditFilter): Promise<{ entries: ReturnType<typeof auditView>[]; nextCursor: string | null }> {
    const where: string[] = [];
    const p: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      p.push(v);
      where.push(sql.replace('?', `$${p.length}`));
    };
    if (f.actor) {
      p.push(f.actor);
      where.push(`(actor_id = $${p.length} OR key_id = $${p.length})`);
    }
    if (f.target) add('target_id = ?', f.target);
    if (f.action) add('action = ?', f.action);
    if (f.from) add('at >= ?', f.from);
    if (f.to) add('at < ?', f.to);
    if (f.cursor) add('seq < ?', f.cursor);
    p.push(f.limit + 1);
    const rows = (
      await this.db.pool.query(
        `SELECT * FROM audit_log ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq DESC LIMIT $${p.length}`,
        p,
      )
    ).rows.map(auditRowOf);
    const page = rows.slice(0, f.limit);
    return { entries: page.map(auditView), nextCursor: rows.length > f.limit ? (page.at(-1)?.seq ?? null) : null };
  }

  verify(): Promise<AuditChainReport> {
    return verifyAuditChain((t, p) => this.db.pool.query(t, p));
  }
}

/** An audit row as the api shows it. */
export function auditView(r: AuditRow) {
  return {
    seq: r.seq,
    at: r.at.toISOString(),
    actor: { kind: r.actorKind, id: r.actorId, keyId: r.keyId },
    action: r.action,
    target: { kind: r.targetKind, id: r.targetId },
    requestId: r.requestId,
    reason: r.reason ?? null,
    before: r.before ?? null,
    after: r.after ?? null,
    commandSeq: r.commandSeq,
    hash: r.hash,
    prevHash: r.prevHash,
  };
}

/** A cursor this list gave out: a positive decimal seq. */
export function auditCursor(c: string | undefined): string | undefined {
  if (c === undefined) return undefined;
  if (!/^[1-9][0-9]{0,18}$/.test(c)) throw new AppError('ADMIN_INVALID_CURSOR', undefined, { cursor: c });
  return c;
}
