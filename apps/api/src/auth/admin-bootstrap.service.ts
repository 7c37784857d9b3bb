import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { deriveSigningKey } from '@ate/contracts';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { DatabaseService } from '../database/database.service';
import { ApiKeysService, KEY_VAULT } from './api-keys.service';
import { KeyVault } from './key-vault';

/**
 * A fresh install needs one admin key to create agents. With ADMIN_KEY_ID and ADMIN_SECRET set, that key is
 * installed (once); otherwise, on a database that never had an admin key, one is created and its secret written
 * to DATA_DIR/first-admin-key.json (mode 0600) for the operator to read and delete.
 */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger('AdminBootstrap');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: ApiKeysService,
    private readonly db: DatabaseService,
    @Inject(KEY_VAULT) private readonly vault: KeyVault,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const pending = await this.db.pendingMigrations();
    if (pending.length > 0) {
      this.logger.warn(`admin key bootstrap skipped: ${pending.length} migration(s) pending (npm run db:migrate)`);
      return;
    }
    const { ADMIN_KEY_ID: keyId, ADMIN_SECRET: secret } = this.config;
    if (keyId && secret) {
      const exists = await this.db.prisma.apiKey.findUnique({ where: { id: keyId } });
      if (!exists) {
        await this.db.prisma.apiKey.create({
          data: { id: keyId, role: 'admin', label: 'from configuration', keyEnc: new Uint8Array(this.vault.seal(deriveSigningKey(secret), keyId)) },
        });
        this.logger.log(`admin key ${keyId} installed from ADMIN_KEY_ID/ADMIN_SECRET`);
      }
      return;
    }
    if (await this.keys.hasEverHadAdminKey()) {
      // never mint one by itself once one existed: revoking every admin key must not hand out a new one
      if (!(await this.keys.hasActiveAdminKey()))
        this.logger.warn('every admin key is revoked; none is minted: install one with ADMIN_KEY_ID and ADMIN_SECRET');
      return;
    }
    const k = await this.keys.issue('admin', {}, 'first admin key');
    // The secret goes to a file only the operator can read (created afresh, exclusively, mode 0600), never to
    // stdout or the log; `npm run seed:demo` reads it there. The operator deletes it after first use.
    const file = resolve(this.config.DATA_DIR, 'first-admin-key.json');
    mkdirSync(dirname(file), { recursive: true });
    rmSync(file, { force: true }); // a stale file (another database's key, a wider mode) is replaced, not reused
    writeFileSync(file, JSON.stringify({ keyId: k.keyId, secret: k.secret }) + '\n', { mode: 0o600, flag: 'wx' });
    process.stdout.write(
      `\n  First admin API key ${k.keyId}: its secret is in ${file} (mode 0600).\n  Read it, keep it somewhere safe, then delete that file.\n\n`,
    );
  }
}
