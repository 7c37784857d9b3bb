import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testServerUrl } from '@ate/db';
import { REPO_ROOT } from '../testing/api-process';

const systemRedis = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));

/**
 * `npm test` on a machine with no Redis running and no redis-server on the PATH: scripts/services.mjs falls back
 * to the redis-memory-server package, which gives a real Redis (here from REDISMS_SYSTEM_BINARY: this machine
 * cannot fetch Redis's source for it to build).
 */
(systemRedis ? describe : describe.skip)('test services without a Redis on the PATH', () => {
  it('start a real Redis from redis-memory-server', () => {
    const emptyPath = mkdtempSync(join(tmpdir(), 'ate-no-redis-'));
    try {
      const script = `
        const { ensureServices } = await import(${JSON.stringify(join(REPO_ROOT, 'scripts/services.mjs'))});
        const { default: Redis } = await import('ioredis');
        const s = await ensureServices();
        const r = new Redis(s.redisUrl);
        console.log('PING ' + (await r.ping()));
        r.disconnect();
        await s.stop();
      `;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          PATH: emptyPath,
          REDIS_URL: 'redis://127.0.0.1:1',
          TEST_DATABASE_URL: testServerUrl(),
          REDISMS_SYSTEM_BINARY: systemRedis,
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.stdout).toContain('services: no redis-server on the PATH; trying the redis-memory-server package');
      expect(r.stdout).toMatch(/services: started Redis from redis-memory-server on 127\.0\.0\.1:\d+\nPING PONG\n/);
    } finally {
      rmSync(emptyPath, { recursive: true, force: true });
    }
  });
});
