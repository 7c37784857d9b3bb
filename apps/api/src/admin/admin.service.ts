import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AppError, deriveSigningKey } from '@ate/contracts';
import { ApiKeysService, KEY_VAULT, randomId } from '../auth/api-keys.service';
import type { KeyVault } from '../auth/key-vault';
import { Actor, auditOf, AuditService } from '../audit/audit.service';
import { DatabaseService } from '../database/database.service';

const iso = (d: Date) => ({ iso: d.toISOString(), ms: d.getTime() });

@Injectable()
export class AdminService {
  constructor(
    private readonly db: DatabaseService,
    private readonly keys: ApiKeysService,
    private readonly audit: AuditService,
    @Inject(KEY_VAULT) private readonly vault: KeyVault,
  ) {}

  async createPrincipal(name: string) {
    const p = await this.db.prisma.principal.create({ data: { id: randomId('prn_', 12), name } });
    return { id: p.id, name: p.name, createdAt: iso(p.createdAt) };
  }

  async createAgent(input: { name: string; principalId?: string; withKey: boolean }) {
    if (input.principalId && !(await this.db.prisma.principal.count({ where: { id: input.principalId } }))) {
      throw new AppError('NOT_FOUND', 'No such principal.', { principalId: input.principalId });
    }
    const a = await this.db.prisma.agent.create({ data: { id: randomId('agt_', 12), name: input.name, principalId: input.principalId ?? null } });
    const key = input.withKey ? await this.keys.issue('agent', { agentId: a.id }, 'first key') : null;
    return {
      id: a.id,
      name: a.name,
      principalId: a.principalId,
      status: a.status,
      createdAt: iso(a.createdAt),
      ...(key ? { apiKey: { keyId: key.keyId, secret: key.secret } } : {}),
    };
  }

  async issueAgentKey(agentId: string, label?: string) {
    const agent = /^agt_[a-z0-9]{8,32}$/.test(agentId) ? await this.db.prisma.agent.findUnique({ where: { id: agentId } }) : null;
    if (!agent) throw new AppError('NOT_FOUND', 'No such agent.', { agentId });
    const key = await this.keys.issue('agent', { agentId }, label);
    return { keyId: key.keyId, secret: key.secret, agentId };
  }

  async revokeKey(keyId: string, actor?: Actor): Promise<void> {
    if (!keyId) throw new AppError('NOT_FOUND', 'No such API key.');
    if (actor) {
      // the revocation and its audit row in one transaction; then the epoch (every node refuses the key at once)
      await this.audit.run(auditOf(actor, 'key.revoke', { kind: 'api_key', id: keyId }), async (c) => {
        const k = (await c.query<{ revoked_at: Date | null }>('SELECT revoked_at FROM api_key WHERE id = $1 FOR UPDATE', [keyId])).rows[0];
        if (!k) throw new AppError('NOT_FOUND', 'No such API key.');
        if (!k.revoked_at) await c.query('UPDATE api_key SET revoked_at = now() WHERE id = $1', [keyId]);
        return { result: undefined, before: { revoked: k.revoked_at !== null }, after: { revoked: true } };
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
    const newId = randomId('ak_', 20);
    const secret = randomBytes(32).toString('base64url');
    const r = await this.audit.run(auditOf(actor, 'key.rotate', { kind: 'api_key', id: keyId }), async (c) => {
      const k = (
        await c.query<{ role: string; agent_id: string | null; principal_id: string | null; label: string | null; revoked_at: Date | null }>(
          'SELECT role, agent_id, principal_id, label, revoked_at FROM api_key WHERE id = $1 FOR UPDATE',
          [keyId],
        )
      ).rows[0];
      if (!k) throw new AppError('NOT_FOUND', 'No such API key.');
      if (k.revoked_at) throw new AppError('ADMIN_KEY_REVOKED', undefined, { keyId });
      await c.query('INSERT INTO api_key (id, role, agent_id, principal_id, label, key_enc) VALUES ($1, $2, $3, $4, $5, $6)', [
        newId,
        k.role,
        k.agent_id,
        k.principal_id,
        k.label,
        this.vault.seal(deriveSigningKey(secret), newId),
      ]);
      await c.query('UPDATE api_key SET revoked_at = now() WHERE id = $1', [keyId]);
      const owner = { role: k.role, agentId: k.agent_id, principalId: k.principal_id };
      return { result: owner, before: { keyId, ...owner }, after: { keyId: newId, ...owner } };
    });
    await this.keys.revoke(keyId); // advances the key epoch: every node refuses the old key and finds the new one
    return { keyId: newId, secret, replaces: keyId, role: r.role, agentId: r.agentId, principalId: r.principalId };
  }
}
