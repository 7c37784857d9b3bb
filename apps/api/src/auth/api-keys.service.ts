import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppError, deriveSigningKey } from '@ate/contracts';
import { DatabaseService } from '../database/database.service';
import { AuthContext, Role } from './auth.types';
import { KeyVault } from './key-vault';

export const KEY_VAULT = Symbol('KEY_VAULT');

/** How long a verified key stays cached in this process, in ms: a revocation elsewhere takes at most this long here. */
export const KEY_CACHE_TTL_MS = 30_000;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
export function randomId(prefix: string, length: number): string {
  const bytes = randomBytes(length);
  let s = prefix;
  for (let i = 0; i < length; i++) s += ALPHABET[bytes[i]! % 36]; // 256 % 36 bias is negligible for ids
  return s;
}

export interface IssuedKey {
  keyId: string;
  /** Shown once: the server keeps only a key derived from it. */
  secret: string;
  role: Role;
  agentId: string | null;
  principalId: string | null;
}

interface CachedKey extends AuthContext {
  signingKey: Buffer;
  revoked: boolean;
  until: number;
}

@Injectable()
export class ApiKeysService {
  private readonly cache = new Map<string, CachedKey>();
  private readonly logger = new Logger('ApiKeys');

  constructor(
    private readonly db: DatabaseService,
    @Inject(KEY_VAULT) private readonly vault: KeyVault,
  ) {}

  async issue(role: Role, owner: { agentId?: string; principalId?: string }, label?: string): Promise<IssuedKey> {
    const keyId = randomId('ak_', 20);
    const secret = randomBytes(32).toString('base64url');
    const keyEnc = new Uint8Array(this.vault.seal(deriveSigningKey(secret), keyId));
    await this.db.prisma.apiKey.create({
      data: { id: keyId, role, agentId: owner.agentId ?? null, principalId: owner.principalId ?? null, label: label ?? null, keyEnc },
    });
    return { keyId, secret, role, agentId: owner.agentId ?? null, principalId: owner.principalId ?? null };
  }

  /** The signing key and owner of an active key, or null (unknown, revoked, or its agent suspended). */
  async lookup(keyId: string): Promise<(AuthContext & { signingKey: Buffer }) | null> {
    if (!/^ak_[a-z0-9]{16,32}$/.test(keyId)) return null;
    const now = Date.now();
    let c = this.cache.get(keyId);
    if (!c || c.until <= now) {
      const row = await this.db.prisma.apiKey.findUnique({ where: { id: keyId }, include: { agent: { select: { status: true } } } });
      if (!row) return null;
      let signingKey: Buffer;
      try {
        signingKey = this.vault.open(Buffer.from(row.keyEnc), keyId);
      } catch {
        // Sealed under another master key (MASTER_KEY changed or the key file was replaced): the key cannot
        // be used here. It answers like any invalid key; the operator sees why in the log.
        this.logger.error(`API key ${keyId} cannot be opened with this master key; it is unusable until the original master key is restored`);
        return null;
      }
      c = {
        keyId,
        role: row.role as Role,
        agentId: row.agentId,
        principalId: row.principalId,
        signingKey,
        revoked: row.revokedAt !== null || (row.agent !== null && row.agent.status !== 'active'),
        until: now + KEY_CACHE_TTL_MS,
      };
      this.cache.set(keyId, c);
    }
    return c.revoked ? null : c;
  }

  async revoke(keyId: string): Promise<void> {
    const r = await this.db.prisma.apiKey.updateMany({ where: { id: keyId, revokedAt: null }, data: { revokedAt: new Date() } });
    this.cache.delete(keyId);
    if (r.count === 0) {
      const exists = await this.db.prisma.apiKey.count({ where: { id: keyId } });
      if (!exists) throw new AppError('NOT_FOUND', 'No such API key.');
    }
  }

  async hasActiveAdminKey(): Promise<boolean> {
    return (await this.db.prisma.apiKey.count({ where: { role: 'admin', revokedAt: null } })) > 0;
  }
}
