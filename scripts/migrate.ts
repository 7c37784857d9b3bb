// `npm run db:migrate`: applies the SQL migrations in prisma/migrations to MIGRATION_DATABASE_URL or DATABASE_URL (or, with no
// DATABASE_URL, to the embedded Postgres that `npm start` uses, starting it for the duration).
import { resolve } from 'node:path';
import { migrate, startEmbeddedPostgres } from '@ate/db';

async function main(): Promise<void> {
  let url = process.env['MIGRATION_DATABASE_URL'] || process.env['DATABASE_URL'];
  let stop: (() => Promise<void>) | undefined;
  if (!url) {
    const port = Number(process.env['EMBEDDED_PG_PORT'] ?? 54329);
    const dataDir = resolve(process.env['DATA_DIR'] ?? '.data', 'pg');
    console.log(`no DATABASE_URL: using the embedded Postgres (${dataDir}, port ${port})`);
    const pg = await startEmbeddedPostgres({ dataDir, port });
    url = pg.url;
    stop = pg.stop;
  }
  try {
    const r = await migrate(url);
    for (const name of r.applied) console.log(`applied ${name}`);
    console.log(`${r.applied.length} applied, ${r.alreadyApplied.length} already applied`);
  } finally {
    await stop?.();
  }
}

main().catch((e: unknown) => {
  console.error(`migration failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
