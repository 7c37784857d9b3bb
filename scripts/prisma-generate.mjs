// Generates the typed Prisma Client (libs/db/src/generated/prisma) on `npm ci`/`npm install`.
// Prisma 7's CLI wants its native schema engine even for `generate`, and tries to download it when absent;
// our machines cannot reach that host. `generate` never runs the engine, so naming any existing file as the
// engine binary lets the CLI skip the download. Where the engine is installed, it is used.
import { spawnSync } from 'node:child_process';

const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
const r = spawnSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate'], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
