// `npm test`: finds or starts Postgres and Redis (scripts/services.mjs), then runs lint and every project's
// tests through Nx. Extra arguments go to Nx (e.g. `npm test -- --projects=matching`).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ensureServices } from './services.mjs';

const line = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines.node.match(/\d+/)[0];
if (process.versions.node.split('.')[0] !== line)
  console.log(`warning: node ${process.version} runs the tests; the project's line is Node ${line} (package.json engines, the Dockerfile, CI)`);
const services = await ensureServices();
console.log(`services: postgres ${new URL(services.pgUrl).host}, redis ${new URL(services.redisUrl).host}`);
const env = { ...process.env, TEST_DATABASE_URL: services.pgUrl, TEST_REDIS_URL: services.redisUrl, NX_DAEMON: 'false' };
delete env.DATABASE_URL; // tests make their own databases on TEST_DATABASE_URL
// The tree's format first (the project's Prettier config), then a type check of everything, specs included (Jest
// transpiles with SWC and does not type-check).
for (const [what, cmd] of [
  ['format check failed (npx prettier --write . fixes it)', ['prettier', '--check', '--log-level', 'warn', '.']],
  ['type check failed', ['tsc', '-p', 'tsconfig.json']],
]) {
  const r = spawnSync('npx', cmd, { stdio: 'inherit', env });
  if (r.status !== 0) {
    await services.stop();
    console.error(what);
    process.exit(r.status ?? 1);
  }
}
const args = ['nx', 'run-many', '-t', 'lint', 'test', '--parallel=2', '--outputStyle=static', ...process.argv.slice(2)];
const r = spawnSync('npx', args, { stdio: 'inherit', env });
await services.stop();
process.exit(r.status ?? 1);
