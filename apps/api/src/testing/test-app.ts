import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AteClient } from '@ate/client';
import type { TestDatabase } from '@ate/db';
import { createApp } from '../bootstrap';
import { AppConfig, loadConfig } from '../config/config';

import { TEST_ADMIN } from './admin-key';
import { testDataDir } from './data-dir';

export { TEST_ADMIN };

/** One master key per test database: API keys sealed by one app instance open in the next (restarts). */
const masterKeys = new Map<string, string>();
export function masterKeyFor(db: TestDatabase): string {
  let k = masterKeys.get(db.name);
  if (!k) masterKeys.set(db.name, (k = randomBytes(32).toString('base64')));
  return k;
}

/**
 * The app's configuration for a test database; `env` overrides (DEBUG_LOG=info shows the app's logs). The app
 * runs as a role with only the rights of ate_app, as in production (docs/SECURITY.md).
 */
export function testConfig(db: TestDatabase, env: Record<string, string> = {}): AppConfig {
  return loadConfig({
    DATABASE_URL: db.appUrl,
    LOG_LEVEL: process.env['DEBUG_LOG'] ?? 'silent',
    MASTER_KEY: masterKeyFor(db),
    ADMIN_KEY_ID: TEST_ADMIN.keyId,
    ADMIN_SECRET: TEST_ADMIN.secret,
    DATA_DIR: testDataDir(),
    ...env,
  });
}

/** Starts the real app on a free loopback port, with a signed admin client. */
export async function startTestApp(config: AppConfig): Promise<{ app: NestFastifyApplication; url: string; admin: AteClient }> {
  const app = await createApp(config);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = await app.getUrl();
  return { app, url, admin: new AteClient({ baseUrl: url, ...TEST_ADMIN }) };
}
