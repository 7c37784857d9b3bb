import { Injectable } from '@nestjs/common';
import { AppError } from '@ate/contracts';
import { ApiKeysService, randomId } from '../auth/api-keys.service';
import type { Role } from '../auth/auth.types';
import { Actor, auditOf, AuditService } from '../audit/audit.service';
import { KeyEpoch } from '../auth/key-epoch';
import type { PoolClient } from 'pg';
import { DatabaseService } from '../database/database.service';

const iso = (d: Date) => ({ iso: d.toISOString(), ms: d.getTime() });

@Injectable()
export class AdminService {
  constructor(
    private readonly db: DatabaseService,
    private readonly keys: ApiKeysService,
    private readonly audit: AuditService,
    private readonly epoch: KeyEpoch,
  ) {}

  /** Each creation commits with its audit row (one transaction); issued keys advance the key epoch after it. */
  async createPrincipal(name: string, actor: Actor) {
    const id = randomId('prn_', 12);
    return this.audit.run(auditOf(actor, 'principal.create', { kind: 'principal', id }), async (c) => {
      const r = (await c.query<{ created_at: Date }>('INSERT INTO principal (id, name) VALUES ($1, $2) RETURNING created_at', [id, name])).rows[0]!;
      return { result: { id, name, createdAt: iso(r.created_at) }, after: { name } };
    });
  }

  async createAgent(input: { name: string; principalId?: string; withKey: boolean }, actor: Actor) {
    const id = randomId('agt_', 12);
    const principalId = input.principalId ?? null;
    const out = await this.audit.run(auditOf(actor, 'agent.create', { kind: 'agent', id }), async (c) => {
      if (principalId && (await c.query('SELECT 1 FROM principal WHERE id = $1', [principalId])).rowCount === 0) {
        throw new AppError('NOT_FOUND', 'No such principal.', { principalId });
      }
      const a = (
        await c.query<{ status: string; created_at: Date }>(
          'INSERT INTO agent (id, name, principal_id) VALUES ($1, $2, $3) RETURNING status, created_at',
          [id, input.name, principalId],
        )
      ).rows[0]!;
      const key = input.withKey ? await this.insertKey(c, 'agent', { agentId: id }, 'first key') : null;
      const agent = { id, name: input.name, principalId, status: a.status, createdAt: iso(a.created_at) };
      return {
        result: { ...agent, ...(key ? { apiKey: key } : {}) },
        after: { name: input.name, principalId, keyId: key?.keyId ?? null },
      };
    });
    if (out.apiKey) await this.epoch.advance(); // a node that cached this key id as unknown looks it up again
    return out;
  }

  async issueAgentKey(agentId: string, label: string | undefined, actor: Actor) {
    if (!/^agt_[a-z0-9]{8,32}$/.test(agentId)) throw new AppError('NOT_FOUND', 'No such agent.', { agentId });
    const key = await this.audit.run(auditOf(actor, 'key.issue', { kind: 'agent', id: agentId }), async (c) => {
      if ((await c.query('SELECT 1 FROM agent WHERE id = $1', [agentId])).rowCount === 0)
        throw new AppError('NOT_FOUND', 'No such agent.', { agentId });
      const k = await this.insertKey(c, 'agent', { agentId }, label ?? null);
      return { result: k, after: { keyId: k.keyId, role: 'agent', label: label ?? null } };
    });
    await this.epoch.advance();
    return { keyId: key.keyId, secret: key.secret, agentId };
  }

  /** A new key in the caller's transaction (ApiKeysService.insertIn): its id and the secret, shown once. */
  private async insertKey(c: PoolClient, role: Role, owner: { agentId?: string; principalId?: string }, label: string | null) {
    const k = await this.keys.insertIn(c, role, owner, label);
    return { keyId: k.keyId, secret: k.secret };
  }

  async revokeKey(keyId: string, actor?: Actor): Promise<void> {
    if (!keyId) throw new AppError('NOT_FOUND', 'No such API key.');
    if (actor) {
      // the revocation and its audit row in one transaction; then the epoch (every node refuses the key at once)
      await this.audit.run(auditOf(actor, 'key.revoke', { kind: 'api_key', id: keyId }), async (c) => {
        const k = (await c.query<{ revoked_at: Date | null }>('SELECT revoked_at FROM api_key WHERE id = $1 FOR UPDATE', [keyId])).rows[0];
        if (!k) throw new AppError('NOT_FOUND', 'No such API key.');
        if (!k.revoked_at) await c.query('UPDATE api_key SET revoked_at = now() WHERE id = $1', [keyId]);
        // a key revoked already: nothing done, no row (the epoch still advances below, completing a revoke whose epoch change failed)
        return { result: undefined, before: { revoked: k.revoked_at !== null }, after: { revoked: true }, unchanged: k.revoked_at !== null };
      });
    }
    await this.keys.revoke(keyId);
  }

  /**
   * Rotates a key: a new key for the same owner and role, the old one revoked, and the audit row, in one
   * transaction. The new secret is shown once.
   */
  async rotateKey(keyId: string, actor: Actor) {
    if (!keyId) throw new AppError('NOT_FOUND', 'No such API key.');
    const r = await this.audit.run(auditOf(actor, 'key.rotate', { kind: 'api_key', id: keyId }), async (c) => {
      const k = (
        await c.query<{ role: string; agent_id: string | null; principal_id: string | null; label: string | null; revoked_at: Date | null }>(
          'SELECT role, agent_id, principal_id, label, revoked_at FROM api_key WHERE id = $1 FOR UPDATE',
          [keyId],
        )
      ).rows[0];
      if (!k) throw new AppError('NOT_FOUND', 'No such API key.');
      if (k.revoked_at) throw new AppError('ADMIN_KEY_REVOKED', undefined, { keyId });
      const fresh = await this.insertKey(
        c,
        k.role as Role,
        { ...(k.agent_id ? { agentId: k.agent_id } : {}), ...(k.principal_id ? { principalId: k.principal_id } : {}) },
        k.label,
      );
      await c.query('UPDATE api_key SET revoked_at = now() WHERE id = $1', [keyId]);
      const owner = { role: k.role, agentId: k.agent_id, principalId: k.principal_id };
      return { result: { ...owner, ...fresh }, before: { keyId, ...owner }, after: { keyId: fresh.keyId, ...owner } };
    });
    await this.keys.revoke(keyId); // advances the key epoch: every node refuses the old key and finds the new one
    return { keyId: r.keyId, secret: r.secret, replaces: keyId, role: r.role, agentId: r.agentId, principalId: r.principalId };
  }
}
