import { mkdirSync, writeFileSync } from 'node:fs';
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
 * installed (once); otherwise, when no admin key exists, one is created and printed once on stdout.
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
        await this.db.prisma.apiKey.create({ data: { id: keyId, role: 'admin', label: 'from configuration', keyEnc: new Uint8Array(this.vault.seal(deriveSigningKey(secret), keyId)) } });
        this.logger.log(`admin key ${keyId} installed from ADMIN_KEY_ID/ADMIN_SECRET`);
      }
      return;
    }
    if (await this.keys.hasActiveAdminKey()) return;
    const k = await this.keys.issue('admin', {}, 'first admin key');
    // Printed once, plainly, for the operator at the console; never logged through the structured logger.
    // Also left in the data directory (mode 0600, beside the master key) so `npm run seed:demo` finds it.
    const file = resolve(this.config.DATA_DIR, 'first-admin-key.json');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ keyId: k.keyId, secret: k.secret }) + '\n', { mode: 0o600 });
    process.stdout.write(
      `\n  First admin API key (shown once; also in ${file}):\n    ATE_KEY=${k.keyId}\n    ATE_SECRET=${k.secret}\n\n`,
    );
  }
}
