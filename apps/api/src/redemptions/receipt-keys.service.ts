import { createPrivateKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { SignJWT } from 'jose';
import type { JWK } from 'jose';
import { KEY_VAULT, randomId } from '../auth/api-keys.service';
import type { KeyVault } from '../auth/key-vault';
import { DatabaseService } from '../database/database.service';
import type { PoolClient } from 'pg';

/** The issuer every receipt names. */
export const RECEIPT_ISSUER = 'ate-exchange';
/** The JWS `typ` of a receipt. */
export const RECEIPT_TYPE = 'ate-receipt+jwt';

/** The claims of a redemption receipt (a JWT signed with EdDSA / Ed25519). */
export interface ReceiptClaims {
  iss: string;
  /** the receipt (redemption) id */
  jti: string;
  /** the agent that redeemed */
  sub: string;
  principal: string | null;
  asset: string;
  model: string | null;
  token_class: string | null;
  /** units redeemed, a decimal string in the asset's units */
  amount: string;
  /** issue time, seconds since the epoch (the command time of the burn) */
  iat: number;
  /** when the allowance expires(d), seconds since the epoch; null: never */
  allowance_exp: number | null;
}

interface SigningKey {
  kid: string;
  key: KeyObject;
}

/**
 * The keys that sign receipts. One signs at a time (the newest not retired); every key ever used stays in the
 * JWKS, so receipts signed before a rotation still verify offline. The private key is sealed at rest with the
 * master key (key-vault.ts, the kid as associated data), like API signing keys.
 */
@Injectable()
export class ReceiptKeys {
  private active: SigningKey | undefined;

  constructor(
    private readonly db: DatabaseService,
    @Inject(KEY_VAULT) private readonly vault: KeyVault,
  ) {}

  /** The public keys as a JWK Set (every key, newest first). */
  async jwks(): Promise<{ keys: JWK[] }> {
    await this.current(); // the first key is created on first use
    const rows = await this.db.pool.query<{ public_jwk: JWK }>('SELECT public_jwk FROM receipt_signing_key ORDER BY created_at DESC, kid');
    return { keys: rows.rows.map((r) => r.public_jwk) };
  }

  /** Signs the claims with the active key (Ed25519 is deterministic: the same claims and key give the same JWS). */
  async sign(claims: ReceiptClaims): Promise<{ jws: string; kid: string }> {
    const k = await this.current();
    const jws = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'EdDSA', kid: k.kid, typ: RECEIPT_TYPE }).sign(k.key);
    return { jws, kid: k.kid };
  }

  /** Retires the active key and creates a new one (in the caller's transaction); the old one stays verifiable. */
  async rotate(client: PoolClient): Promise<{ before: string | null; after: string }> {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['receipt_signing_key']);
    const old = (await client.query<{ kid: string }>('SELECT kid FROM receipt_signing_key WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1'))
      .rows[0];
    await client.query('UPDATE receipt_signing_key SET retired_at = now() WHERE retired_at IS NULL');
    const kid = await this.insertKey(client);
    this.active = undefined;
    return { before: old?.kid ?? null, after: kid };
  }

  /** Forgets the cached key (after a rotation on this or another node; the next signature reads the table). */
  forget(): void {
    this.active = undefined;
  }

  private async current(): Promise<SigningKey> {
    const row = async () =>
      (
        await this.db.pool.query<{ kid: string; private_enc: Buffer }>(
          'SELECT kid, private_enc FROM receipt_signing_key WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1',
        )
      ).rows[0];
    let r = await row();
    if (r && this.active?.kid === r.kid) return this.active;
    if (!r) {
      const client = await this.db.pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['receipt_signing_key']);
        const again = await client.query('SELECT 1 FROM receipt_signing_key WHERE retired_at IS NULL');
        if (again.rowCount === 0) await this.insertKey(client);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
      r = (await row()) as { kid: string; private_enc: Buffer };
    }
    const der = this.vault.open(r.private_enc, r.kid);
    this.active = { kid: r.kid, key: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) };
    return this.active;
  }

  private async insertKey(client: PoolClient): Promise<string> {
    const kid = randomId('rk_', 16);
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const jwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg: 'EdDSA', use: 'sig' };
    const sealed = this.vault.seal(privateKey.export({ format: 'der', type: 'pkcs8' }), kid);
    await client.query('INSERT INTO receipt_signing_key (kid, public_jwk, private_enc) VALUES ($1, $2, $3)', [kid, JSON.stringify(jwk), sealed]);
    return kid;
  }
}
