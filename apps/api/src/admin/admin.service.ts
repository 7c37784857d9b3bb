import { Injectable } from '@nestjs/common';
import { AppError } from '@ate/contracts';
import { ApiKeysService, randomId } from '../auth/api-keys.service';
import { DatabaseService } from '../database/database.service';

const iso = (d: Date) => ({ iso: d.toISOString(), ms: d.getTime() });

@Injectable()
export class AdminService {
  constructor(
    private readonly db: DatabaseService,
    private readonly keys: ApiKeysService,
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

  async revokeKey(keyId: string): Promise<void> {
    if (!keyId) throw new AppError('NOT_FOUND', 'No such API key.');
    await this.keys.revoke(keyId);
  }
}
