import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The module boundaries (docs/ARCHITECTURE.md, "The parts") are enforced by lint (Nx tags + @nx/enforce-module-boundaries).
 * This lints code that breaks them, as if it sat in each library, and expects the rule to refuse it.
 */
const root = join(__dirname, '../../../..');

// ESLint loads the flat config as an ES module, which Jest's VM cannot: lint in a child Node process,
// all cases in one run (ESLint's lintText with a filePath, so nothing touches the disk).
const LINT_SCRIPT = `
const { ESLint } = require('eslint');
let input = '';
process.stdin.on('data', (d) => (input += d)).on('end', async () => {
  const eslint = new ESLint({ cwd: process.cwd() });
  const out = [];
  for (const { file, code } of JSON.parse(input)) {
    const [r] = await eslint.lintText(code, { filePath: require('path').join(process.cwd(), file) });
    out.push(r.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries' || m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax').map((m) => m.message));
  }
  process.stdout.write(JSON.stringify(out));
});`;

function lintAll(cases: { file: string; code: string }[]): string[][] {
  const r = spawnSync(process.execPath, ['-e', LINT_SCRIPT], {
    cwd: root,
    input: JSON.stringify(cases),
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false' },
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`eslint child failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const FORBIDDEN: [string, string, string][] = [
  [
    'matching may not import a framework',
    'libs/matching/src/lib/x.ts',
    "import { Injectable } from '@nestjs/common';\nexport const x = Injectable;\n",
  ],
  ['matching may not do I/O', 'libs/matching/src/lib/x.ts', "import { Pool } from 'pg';\nexport const x = Pool;\n"],
  ['matching may not import the ledger', 'libs/matching/src/lib/x.ts', "import * as l from '@ate/ledger';\nexport const x = l;\n"],
  ['mechanisms may not import the db', 'libs/mechanisms/src/lib/x.ts', "import * as d from '@ate/db';\nexport const x = d;\n"],
  ['mechanisms may not read files', 'libs/mechanisms/src/lib/x.ts', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n"],
  ['contracts may not import matching', 'libs/contracts/src/lib/x.ts', "import * as m from '@ate/matching';\nexport const x = m;\n"],
  [
    'the sequencer may not query a ledger table',
    'libs/sequencer/src/lib/x.ts',
    "export const q = (db: { query(s: string): unknown }) => db.query('SELECT id FROM ledger_transfer');\n",
  ],
  [
    'the api may not query a ledger table in a template',
    'apps/api/src/x.ts',
    "const t = 'x';\nexport const q = `SELECT * FROM ledger_account WHERE id = ${t}`;\n",
  ],
  [
    'the api may not use a ledger Prisma model',
    'apps/api/src/x.ts',
    'export const q = (p: { ledgerAccount: { count(): number } }) => p.ledgerAccount.count();\n',
  ],
  ['the db may not import the ledger', 'libs/db/src/lib/x.ts', "import * as l from '@ate/ledger';\nexport const x = l;\n"],
  ['the ledger may not import the sequencer', 'libs/ledger/src/lib/x.ts', "import * as s from '@ate/sequencer';\nexport const x = s;\n"],
  [
    'a library may not import an app',
    'libs/ledger/src/lib/x.ts',
    "import { createApp } from '../../../../apps/api/src/bootstrap';\nexport const x = createApp;\n",
  ],
];
const ALLOWED: [string, string, string][] = [
  ['matching may import contracts', 'libs/matching/src/lib/x.ts', "import { CREDIT } from '@ate/contracts';\nexport const x = CREDIT;\n"],
  ['the ledger may import the db', 'libs/ledger/src/lib/x.ts', "import { migrate } from '@ate/db';\nexport const x = migrate;\n"],
  ['the ledger may query its own tables', 'libs/ledger/src/lib/x.ts', "export const q = 'SELECT id FROM ledger_transfer';\n"],
  ['the sequencer may import the ledger', 'libs/sequencer/src/lib/x.ts', "import { reconcile } from '@ate/ledger';\nexport const x = reconcile;\n"],
  ['the api may import matching', 'apps/api/src/x.ts', "import * as m from '@ate/matching';\nexport const x = m;\n"],
];

describe('module boundaries (lint)', () => {
  let results: string[][];
  beforeAll(() => {
    results = lintAll([...FORBIDDEN, ...ALLOWED].map(([, file, code]) => ({ file, code })));
  }, 120_000);

  it.each(FORBIDDEN.map((c, i) => [c[0], i] as const))('refused: %s', (_name, i) => {
    expect(results[i]?.length).toBeGreaterThan(0);
  });

  it.each(ALLOWED.map((c, i) => [c[0], FORBIDDEN.length + i] as const))('allowed: %s', (_name, i) => {
    expect(results[i]).toEqual([]);
  });
});
