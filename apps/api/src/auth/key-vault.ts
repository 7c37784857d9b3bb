import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** AES-256-GCM sealing of signing keys at rest: 12-byte iv | 16-byte tag | ciphertext. */
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class KeyVault {
  constructor(private readonly masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('the master key must be 32 bytes');
  }

  /**
   * The master key: MASTER_KEY (base64 of 32 bytes) when set; else, for the single-node default, a key file
   * created once under the data directory (mode 0600). Losing it makes existing API keys unusable.
   */
  static load(masterKeyB64: string | undefined, keyFile: string): { vault: KeyVault; source: string } {
    if (masterKeyB64) return { vault: new KeyVault(Buffer.from(masterKeyB64, 'base64')), source: 'MASTER_KEY' };
    if (!existsSync(keyFile)) {
      mkdirSync(dirname(keyFile), { recursive: true });
      writeFileSync(keyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    }
    chmodSync(keyFile, 0o600);
    return { vault: new KeyVault(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64')), source: keyFile };
  }

  seal(plain: Buffer, aad: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.masterKey, iv);
    c.setAAD(Buffer.from(aad));
    const body = Buffer.concat([c.update(plain), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]);
  }

  /** Throws when the sealed bytes were altered or belong to another row (the aad binds them to the key id). */
  open(sealed: Buffer, aad: string): Buffer {
    const d = createDecipheriv('aes-256-gcm', this.masterKey, sealed.subarray(0, IV_BYTES));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([d.update(sealed.subarray(IV_BYTES + TAG_BYTES)), d.final()]);
  }
}
