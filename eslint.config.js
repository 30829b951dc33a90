// @ts-check
// One flat config for the whole monorepo. The part that matters is @nx/enforce-module-boundaries:
// the tags live in each project's project.json, the rules about them live here.
const { execFileSync } = require('node:child_process');
const { defineConfig, globalIgnores } = require('eslint/config');
const js = require('@eslint/js'); // ships with eslint 9 itself
const tseslint = require('typescript-eslint');
const nx = require('@nx/eslint-plugin');
const prettier = require('eslint-config-prettier/flat');

/** Services by directory name; each carries `type:service` + `scope:<name>`. */
const SERVICES = ['round-coordinator', 'aggregator', 'passport-registry', 'ledger-indexer', 'centre-agent'];

/** Frameworks `type:core` (fl-core, contracts) must never pull in: they stay pure and portable. */
const CORE_BANNED = [
  '@nestjs/*',
  '@nats-io/*',
  'mongodb',
  'mongodb/*',
  '@opentelemetry/*',
  'express',
  'express/*',
  'rxjs',
  'rxjs/*',
  '@hyperledger/*',
];
/** …and the only npm packages it may import at all (Node built-ins are not npm packages and stay allowed). */
const CORE_ALLOWED = ['protobufjs', 'protobufjs/*'];

/**
 * @param {boolean} inTests test code may additionally use `type:testing` projects (fixtures); src code may not.
 * @returns {Array<{ sourceTag: string, onlyDependOnLibsWithTags: string[], bannedExternalImports?: string[], allowedExternalImports?: string[] }>}
 */
function depConstraints(inTests) {
  const testing = inTests ? ['type:testing'] : [];
  return [
    // Kinds: services and the cli sit on top and depend on libs only — never on each other (they are also
    // `projectType: application`, which the rule refuses as an import target whatever the tags say).
    { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib', ...testing] },
    { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib', ...testing] },
    { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib', ...testing] },
    {
      sourceTag: 'type:core',
      onlyDependOnLibsWithTags: ['type:core', ...testing],
      bannedExternalImports: CORE_BANNED,
      allowedExternalImports: CORE_ALLOWED,
    },
    { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:lib', 'type:testing'] },
    // Scopes: a project sees shared code and code of its own scope (room for e.g. an aggregator-only lib).
    ...SERVICES.map((s) => ({
      sourceTag: `scope:${s}`,
      // The passport-registry (writer), the ledger-indexer, the centre-agent and the coordinator (readers: the cache, the grants) open
      // the single-machine ledger: they reach the chaincode through libs/ledger-host.
      onlyDependOnLibsWithTags: [`scope:${s}`, 'scope:shared', ...(['passport-registry', 'ledger-indexer', 'centre-agent', 'round-coordinator'].includes(s) ? ['scope:ledger-host'] : [])],
    })),
    { sourceTag: 'scope:cli', onlyDependOnLibsWithTags: ['scope:cli', 'scope:shared', 'scope:ledger-host'] },
    // The one host that may load the chaincode in-process (libs/ledger-host); others reach it through this host.
    { sourceTag: 'scope:ledger-host', onlyDependOnLibsWithTags: ['scope:ledger-host', 'scope:shared', 'scope:chaincode'] },
    // The chaincode is deployed alone: it imports no other workspace project (only it and scope:ledger-host import it).
    { sourceTag: 'scope:chaincode', onlyDependOnLibsWithTags: ['scope:chaincode'] },
    { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  ];
}

/** @param {boolean} inTests */
const boundaries = (inTests) => [
  'error',
  {
    allow: [],
    enforceBuildableLibDependency: false,
    banTransitiveDependencies: false,
    checkNestedExternalImports: false,
    depConstraints: depConstraints(inTests),
  },
];

/**
 * The boundary rule reads Nx's cached project graph and silently skips itself when there is none (clean
 * clone, no daemon). Compute it here, in a child process because the Nx API is async and this file must
 * stay loadable with a plain require(). Incremental, about a second; no daemon (nx.json useDaemonProcess).
 */
function ensureProjectGraph() {
  try {
    execFileSync(process.execPath, [require.resolve('nx/bin/nx.js'), 'show', 'projects'], {
      cwd: __dirname,
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (err) {
    const stderr = err && typeof err === 'object' && 'stderr' in err ? String(err.stderr) : String(err);
    throw new Error(`eslint.config.js: cannot compute the Nx project graph, so module boundaries cannot be enforced:\n${stderr}`);
  }
}
ensureProjectGraph();

const TEST_FILES = ['**/test/**/*.ts', '**/*.spec.ts'];

module.exports = defineConfig([
  globalIgnores([
    '**/node_modules/',
    '.tools/',
    '.data/',
    '.nx/',
    '**/.venv/', // Python virtualenvs (bench/.venv for the Flower reference vectors) ship their own .js
    '**/dist/',
    '**/coverage/',
    'libs/contracts/src/generated/',
  ]),
  {
    files: ['**/*.js', '**/*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'commonjs',
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        __dirname: 'readonly',
        __filename: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
      },
    },
  },
  {
    files: ['**/*.ts'],
    // Syntax-only rules: type-aware linting would need a full TS program per run (slow on 2 cores);
    // `npm run typecheck` covers types.
    extends: [tseslint.configs.recommended],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': boundaries(false),
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: TEST_FILES,
    rules: { '@nx/enforce-module-boundaries': boundaries(true) },
  },
  prettier,
]);
