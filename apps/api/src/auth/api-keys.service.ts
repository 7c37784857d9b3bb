import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppError, deriveSigningKey } from '@ate/contracts';
import type { PoolClient } from 'pg';
import { DatabaseService } from '../database/database.service';
import { AuthContext, Role } from './auth.types';
import { KeyEpoch } from './key-epoch';
import { KeyVault } from './key-vault';

export const KEY_VAULT = Symbol('KEY_VAULT');

/**
 * How long a key lookup (found or not) stays cached in this process, in ms. Revocations do not wait for it: the
 * cache is also dropped whenever the key epoch changes (key-epoch.ts). The TTL bounds changes made behind the
 * api's back (SQL by hand).
 */
export const KEY_CACHE_TTL_MS = 30_000;
/** Most lookups cached per process (unknown ids are cached too, so the cache is bounded; oldest out first). */
export const KEY_CACHE_MAX = 100_000;

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

type ActiveKey = AuthContext & { signingKey: Buffer };
/** A lookup's outcome: the active key, or null (unknown, revoked, suspended, unusable); tagged with its epoch. */
interface CachedLookup {
  key: ActiveKey | null;
  epoch: string;
  until: number;
}

@Injectable()
export class ApiKeysService {
  private readonly cache = new Map<string, CachedLookup>();
  private readonly logger = new Logger('ApiKeys');

  constructor(
    private readonly db: DatabaseService,
    @Inject(KEY_VAULT) private readonly vault: KeyVault,
    private readonly epoch: KeyEpoch,
  ) {}

  async issue(role: Role, owner: { agentId?: string; principalId?: string }, label?: string): Promise<IssuedKey> {
    const keyId = randomId('ak_', 20);
    const secret = randomBytes(32).toString('base64url');
    const keyEnc = new Uint8Array(this.vault.seal(deriveSigningKey(secret), keyId));
    await this.db.prisma.apiKey.create({
      data: { id: keyId, role, agentId: owner.agentId ?? null, principalId: owner.principalId ?? null, label: label ?? null, keyEnc },
    });
    await this.epoch.advance(); // a node that cached this id as unknown looks it up again
    return { keyId, secret, role, agentId: owner.agentId ?? null, principalId: owner.principalId ?? null };
  }

  /**
   * A new key written on the caller's client, in its transaction (with the action's audit row): the signing key
   * derived from a fresh secret, sealed with the master key. After COMMIT the caller calls `changed()`.
   */
  async insertIn(c: PoolClient, role: Role, owner: { agentId?: string; principalId?: string }, label: string | null): Promise<IssuedKey> {
    const keyId = randomId('ak_', 20);
    const secret = randomBytes(32).toString('base64url');
    await c.query('INSERT INTO api_key (id, role, agent_id, principal_id, label, key_enc) VALUES ($1, $2, $3, $4, $5, $6)', [
      keyId,
      role,
      owner.agentId ?? null,
      owner.principalId ?? null,
      label,
      this.vault.seal(deriveSigningKey(secret), keyId),
    ]);
    return { keyId, secret, role, agentId: owner.agentId ?? null, principalId: owner.principalId ?? null };
  }

  /**
   * Revokes the key on the caller's client, in its transaction (locks its row): whether it was revoked already,
   * or null for an unknown key. After COMMIT the caller calls `changed([keyId])`.
   */
  async revokeIn(c: PoolClient, keyId: string): Promise<{ agentId: string | null; principalId: string | null; wasRevoked: boolean } | null> {
    const k = (
      await c.query<{ agent_id: string | null; principal_id: string | null; revoked_at: Date | null }>(
        'SELECT agent_id, principal_id, revoked_at FROM api_key WHERE id = $1 FOR UPDATE',
        [keyId],
      )
    ).rows[0];
    if (!k) return null;
    if (!k.revoked_at) await c.query('UPDATE api_key SET revoked_at = now() WHERE id = $1', [keyId]);
    return { agentId: k.agent_id, principalId: k.principal_id, wasRevoked: k.revoked_at !== null };
  }

  /**
   * After a transaction issued or revoked keys committed: advances the key epoch, so every node looks keys up
   * again (a new key cached as unknown is found; a revoked one is refused from the next request on).
   */
  async changed(revoked: readonly string[] = []): Promise<void> {
    await this.epoch.advance();
    for (const id of revoked) this.cache.delete(id);
  }

  /**
   * The signing key and owner of an active key, or null (unknown, revoked, or its agent suspended). Cached, found
   * or not (an unknown id answers as fast as a known one), and only while the key epoch is the one read before
   * the database read: a revocation acknowledged anywhere makes every later lookup read the database again.
   */
  async lookup(keyId: string): Promise<ActiveKey | null> {
    if (!/^ak_[a-z0-9]{16,32}$/.test(keyId)) return null;
    const epoch = await this.epoch.current();
    const now = Date.now();
    const c = this.cache.get(keyId);
    if (c && c.until > now && c.epoch === epoch) return c.key;
    const key = await this.read(keyId);
    this.cache.delete(keyId); // re-inserted last: the oldest entry goes first when the cache is full
    if (this.cache.size >= KEY_CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(keyId, { key, epoch, until: now + KEY_CACHE_TTL_MS });
    return key;
  }

  private async read(keyId: string): Promise<ActiveKey | null> {
    const row = await this.db.prisma.apiKey.findUnique({ where: { id: keyId }, include: { agent: { select: { status: true } } } });
    if (!row || row.revokedAt !== null || (row.agent !== null && row.agent.status !== 'active')) return null;
    try {
      const signingKey = this.vault.open(Buffer.from(row.keyEnc), keyId);
      return { keyId, role: row.role as Role, agentId: row.agentId, principalId: row.principalId, signingKey };
    } catch {
      // Sealed under another master key (MASTER_KEY changed or the key file was replaced): the key cannot
      // be used here. It answers like any invalid key; the operator sees why in the log.
      this.logger.error(`API key ${keyId} cannot be opened with this master key; it is unusable until the original master key is restored`);
      return null;
    }
  }

  /** Revokes the key in the database, then advances the epoch: every node refuses it from the next request on. */
  async revoke(keyId: string): Promise<void> {
    const r = await this.db.prisma.apiKey.updateMany({ where: { id: keyId, revokedAt: null }, data: { revokedAt: new Date() } });
    if (r.count === 0) {
      const exists = await this.db.prisma.apiKey.count({ where: { id: keyId } });
      if (!exists) throw new AppError('NOT_FOUND', 'No such API key.');
    }
    // also when it was revoked already: a revoke whose epoch change failed (503) is completed by its retry
    await this.epoch.advance();
    this.cache.delete(keyId);
  }

  /** Whether an admin key was ever issued here (revoked ones count). */
  async hasEverHadAdminKey(): Promise<boolean> {
    return (await this.db.prisma.apiKey.count({ where: { role: 'admin' } })) > 0;
  }

  async hasActiveAdminKey(): Promise<boolean> {
    return (await this.db.prisma.apiKey.count({ where: { role: 'admin', revokedAt: null } })) > 0;
  }
}
