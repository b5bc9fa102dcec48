import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** A domain room's internals: anything under domain/<room>/ but its index.ts. */
const DOMAIN_INTERNALS = ['**/domain/*/*', '!**/domain/*/index.js'];

export default tseslint.config(
  // openapi.generated.ts: written by scripts/generate-api-types.mjs, checked against it by a test.
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/out/**', 'packages/*/src/openapi.generated.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // The layers (docs/architecture.md): no import circles anywhere in the sources.
  {
    files: ['packages/*/src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'packages/*/tsconfig.json', noWarnOnMultipleProjects: true })],
      // The modules a cycle runs through are TypeScript: parsed as such, not skipped.
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      'import-x/extensions': ['.ts', '.tsx', '.js'],
    },
    rules: {
      // Type-only imports vanish at compile time and are no cycle at run time.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // What the product runs is in its package's dependencies: a devDependency (such as
      // @fleetpki/test-support) is for the package's tests, never its sources.
      'import-x/no-extraneous-dependencies': ['error', { devDependencies: false }],
    },
  },
  // pki is the pure core: it imports nothing of ours (DESIGN §1).
  {
    files: ['packages/pki/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@fleetpki/*', '**/server/**', '**/cli/**'], message: '@fleetpki/pki imports nothing of ours (DESIGN §1)' }] }],
      // No module-level state: what a verification learns lives in objects its caller holds
      // (SignatureCache, SerialNumberSource) or in the parsed object itself.
      'no-restricted-syntax': [
        'error',
        { selector: "Program > VariableDeclaration[kind='let'], Program > ExportNamedDeclaration > VariableDeclaration[kind='let']", message: '@fleetpki/pki keeps no module-level state' },
        { selector: 'Program VariableDeclarator > NewExpression[callee.name=/^(WeakMap|WeakSet)$/]', message: '@fleetpki/pki keeps no module-level state: memos belong to an object the caller holds' },
      ],
    },
  },
  // Test support is built on the core alone, so that every package's tests can use it, the core's included.
  {
    files: ['packages/test-support/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['@fleetpki/server', '@fleetpki/cli', '@fleetpki/console', '**/server/**', '**/cli/**'], message: '@fleetpki/test-support imports only @fleetpki/pki of ours' }] }] },
  },
  // The server's rooms: gateway and http adapt bytes; each reaches the domain only through a room's index.
  {
    files: ['packages/server/src/gateway/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: DOMAIN_INTERNALS, message: 'gateway/ reaches the domain only through a room’s index.ts' },
            { group: ['**/http/*'], message: 'gateway/ and http/ do not import each other: shared edge code lives in edge/' },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/server/src/http/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: DOMAIN_INTERNALS, message: 'http/ reaches the domain only through a room’s index.ts' },
            { group: ['**/gateway/*'], message: 'gateway/ and http/ do not import each other: shared edge code lives in edge/' },
          ],
        },
      ],
    },
  },
  // The domain and what is below it never reach up into the transports.
  {
    files: ['packages/server/src/domain/**/*.ts', 'packages/server/src/edge/**/*.ts', 'packages/server/src/platform/**/*.ts', 'packages/server/src/store/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/gateway/*', '**/http/*'], message: 'the domain, edge, platform and store never import the transports' }] }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', performance: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', fetch: 'readonly' },
    },
  },
);
