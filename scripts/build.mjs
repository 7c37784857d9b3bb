// `npm run build`: compiles the api, the engine node, the MCP server, the libraries (with the generated Prisma
// Client) and the migration script to CommonJS JavaScript under dist/, keeping the repository's layout
// (apps/api/src/main.ts -> dist/apps/api/src/main.js), so `node dist/apps/api/src/main.js` runs with only the
// production dependencies installed. SWC transpiles (decorator metadata for NestJS, as in `npm start`) and
// rewrites the `@ate/*` path aliases of tsconfig.base.json to relative requires; type checking is `npm test`'s
// (tsc). Specs, benches and test helpers are left out.
import { transformFile } from '@swc/core';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** What the image runs: the entry points (api, engine node, MCP server), every library they reach, and the migration command. */
const SOURCES = ['apps/api/src', 'apps/engine/src', 'apps/mcp/src', 'libs', 'scripts/migrate.ts'];
const SKIP = [/\.spec\.ts$/, /\.test\.ts$/, /\.d\.ts$/, /\/bench\//, /\/src\/testing\//, /\/jest\.config\./];

export function sourceFiles(root = ROOT) {
  const out = [];
  const walk = (rel) => {
    const abs = join(root, rel);
    if (rel.endsWith('.ts')) return void out.push(rel);
    for (const d of readdirSync(abs, { withFileTypes: true })) {
      const child = `${rel}/${d.name}`;
      if (d.isDirectory() && d.name !== 'node_modules') walk(child);
      else if (d.isFile() && d.name.endsWith('.ts')) out.push(child);
    }
  };
  for (const s of SOURCES) walk(s);
  return out.filter((f) => (f.startsWith('libs/') ? /^libs\/[^/]+\/src\//.test(f) : true) && !SKIP.some((re) => re.test(f)));
}

function aliases() {
  const base = JSON.parse(readFileSync(join(ROOT, 'tsconfig.base.json'), 'utf8'));
  return base.compilerOptions.paths;
}

export async function build({ outDir = join(ROOT, 'dist'), log = console.log } = {}) {
  const t0 = Date.now();
  rmSync(outDir, { recursive: true, force: true });
  const paths = aliases();
  const files = sourceFiles();
  for (const rel of files) {
    const r = await transformFile(join(ROOT, rel), {
      swcrc: false,
      sourceMaps: false,
      module: { type: 'commonjs' },
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
        baseUrl: ROOT,
        paths,
      },
    });
    const dest = join(outDir, rel.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, r.code);
  }
  log(`build: ${files.length} files to ${relative(process.cwd(), outDir) || '.'} in ${Date.now() - t0} ms`);
  return { files, outDir };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await build();
}
