import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// ---------------------------------------------------------------------------------------------
// The wall: src/domain, src/contract and src/workflows are bundled into (or shared with) the
// deterministic workflow sandbox, so they may not import anything Node-only. Each layer gets
// one `no-restricted-imports` entry built by `wall()`; its groups are disjoint, so a bad import
// is reported once, with the message of the group it falls in.
// ---------------------------------------------------------------------------------------------

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const anyOf = (names) => names.map(escape).join('|');

/** Bare builtin names (`fs`, `fs/promises`, `child_process`, …); `node:*` is caught separately. */
const NODE_BUILTINS = builtinModules.filter((name) => !name.startsWith('node:'));
/** Packages that only work in Node (sockets, native code, the Temporal client/worker SDKs). */
const NODE_ONLY_PACKAGES = [
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
  'express',
  'jose',
  '@node-rs/argon2',
];
/** Our own Node-only code under src/ (after the contract refactor src/temporal is Node-only). */
const NODE_ONLY_FOLDERS = ['api', 'activities', 'workers', 'core', 'stack', 'demo', 'temporal', 'client', 'metrics', 'tracing', 'console'];

/**
 * `no-restricted-imports` options for one layer.
 * - allowedPackages: the only bare specifiers the layer may import (subpaths included);
 * - forbiddenFolders: sibling folders of src/ the layer may not reach with a relative import,
 *   on top of the Node-only ones and src/config.ts;
 * - what: the layer's name in messages; fix: what to do instead.
 *
 * Relative imports are matched as `(./)(../)+(src/)<folder>/…`: the folder right after the `../`
 * run is a top-level folder of src/ (from src/workflows/x.ts, `../api/a.js`; from
 * src/domain/schedule/x.ts, `../../temporal/cli.js`; from bench/bare/, `../../src/api/a.js`),
 * while `../domain/core/x.js` stays allowed.
 */
function wall({ what, fix, allowedPackages, forbiddenFolders = [] }) {
  const builtins = anyOf(NODE_BUILTINS);
  const nodeOnly = anyOf(NODE_ONLY_PACKAGES);
  const allowed = anyOf(allowedPackages);
  const upTo = (folders) => `^(\\./)?(\\.\\./)+(src/)?(${anyOf(folders)})(/|$)`;
  const onlyPackages = allowedPackages.length > 0 ? `may import only ${allowedPackages.join(', ')} among packages` : 'may not import packages';
  return {
    patterns: [
      {
        regex: `^(node:|(${builtins})$)`,
        message: `${what} may not import Node builtins. ${fix}`,
      },
      {
        regex: `^(${nodeOnly})(/|$)`,
        message: `${what} may not import Node-only packages (Temporal client/worker/activity/testing, express, jose, argon2). ${fix}`,
      },
      {
        // Any other bare specifier: an allowlist, so a new dependency is a decision, not an accident.
        regex: `^(?!\\.|node:|(${builtins})$|(${nodeOnly})(/|$)${allowed ? `|(${allowed})(/|$)` : ''})`,
        message: `${what} ${onlyPackages}. ${fix}`,
      },
      {
        regex: upTo(NODE_ONLY_FOLDERS),
        message: `${what} may not import Node-only code (src/${NODE_ONLY_FOLDERS.join(', src/')}). ${fix}`,
      },
      {
        regex: `^(\\./)?(\\.\\./)+(src/)?config(\\.js|\\.ts)?$`,
        message: `${what} may not import src/config.ts (it reads process.env). Pass the values in: as workflow or activity arguments. ${fix}`,
      },
      ...(forbiddenFolders.length > 0
        ? [{ regex: upTo(forbiddenFolders), message: `${what} may not import src/${forbiddenFolders.join(', src/')}. ${fix}` }]
        : []),
    ],
  };
}

const TEMPORAL_SANDBOX_PACKAGES = ['@temporalio/workflow', '@temporalio/common'];

/** `import()` and `import('x').T` escape `no-restricted-imports`: the walled layers use static imports only. */
const noDynamicImports = (what) => [
  'error',
  { selector: 'ImportExpression', message: `${what} may not use dynamic import(): use a static import so the import wall can check it.` },
  { selector: 'TSImportType', message: `${what} may not use import('…') types: use \`import type\` so the import wall can check it.` },
];

const WALL = {
  workflows: {
    // bench/bare/workflows.ts is bundled as workflow code too (bench:map's bare baseline).
    files: ['src/workflows/**/*.ts', 'bench/bare/workflows.ts'],
    what: 'Workflow code',
    fix: 'Workflow code must stay deterministic: move Node-only code to an activity, and import names, types, activity interfaces and signal/update definitions from src/contract.',
    allowedPackages: TEMPORAL_SANDBOX_PACKAGES,
  },
  contract: {
    files: ['src/contract/**/*.ts'],
    what: 'The contract (src/contract)',
    fix: 'The contract is imported by workflow code, so it must be safe in the workflow sandbox: keep only names, types, interfaces and definitions here (importing src/domain and src/contract); put Node-only code in src/temporal, src/activities or src/api.',
    allowedPackages: TEMPORAL_SANDBOX_PACKAGES,
    forbiddenFolders: ['workflows'],
  },
  domain: {
    files: ['src/domain/**/*.ts'],
    what: 'The domain (src/domain)',
    fix: 'The domain is the pure model: it imports only src/domain. Move Temporal and Node code out (to src/contract, src/temporal, src/activities or src/api) and pass values in.',
    allowedPackages: [],
    forbiddenFolders: ['workflows', 'contract'],
  },
};

/**
 * The console (console/) runs in the browser and acts only through the public API: it may
 * import its UI packages, the typed client (src/client/client.ts and errors.ts), and the
 * browser-safe modules the client is typed by (the API's schemas and operation table, the
 * domain), never Node, a service or Temporal.
 */
const CONSOLE_PACKAGES = ['react', 'react-dom', '@tanstack/react-query', 'zod'];
const consoleWall = {
  files: ['console/**/*.ts', 'console/**/*.tsx'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        { regex: `^(node:|(${anyOf(NODE_BUILTINS)})$)`, message: 'The console runs in the browser: no Node builtins.' },
        {
          regex: `^(?!\\.|node:|(${anyOf(NODE_BUILTINS)})$|(${anyOf(CONSOLE_PACKAGES)})(/|$))`,
          message: `The console may import only ${CONSOLE_PACKAGES.join(', ')} among packages: a new dependency of the bundle is a decision (docs/architecture.md).`,
        },
        {
          regex: '^(\\.\\./)+src/(?!client/(client|errors)\\.js$|api/(schemas|operations|errors)\\.js$|domain/)',
          message: 'The console acts only through the public API: import the typed client (src/client/client.ts), the API\'s schemas or operations, or src/domain, nothing else of src/.',
        },
      ],
    }],
  },
};

export default defineConfig(
  { ignores: ['node_modules/', '.tools/', '.data/', 'compat/', 'dist/', 'coverage/', 'console/dist/', 'console/.dist-*/', 'test-artifacts/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    // Type-aware linting: every .ts file is in tsconfig.json, found by the project service.
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
      // checksVoidReturn stays on: Express 5 passes a handler's rejected promise to next(), and
      // its types say handlers return `unknown`, so async route handlers are not reported; a
      // report is a promise handed to a callback that ignores it (forEach, EventEmitter.on…).
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    // This file (and any other .js) is not in tsconfig.json (no allowJs): lint it untyped.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  consoleWall,
  ...Object.values(WALL).map(({ files, what, fix, allowedPackages, forbiddenFolders }) => ({
    files,
    rules: {
      'no-restricted-imports': ['error', wall({ what, fix, allowedPackages, forbiddenFolders })],
      'no-restricted-syntax': noDynamicImports(what),
    },
  })),
);
