import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The wall `npm run check` enforces (eslint.config.js): src/workflows, src/contract and
 * src/domain import nothing Node-only, and no src file drops a promise. Each case lints a
 * virtual file with the project's own config; an ESLint error fails `npm run lint`, so a
 * reported error here is `npm run check` failing on that file.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Virtual files: never written to disk, so they cannot clash with the tree or with tsc. */
const PROBE = 'lint-wall-probe.ts';
const probe = (folder: string) => `src/${folder}/${PROBE}`;

// The project service only parses files in tsconfig.json; these paths do not exist, so they are
// let into its default project (with tsconfig.json's compiler options), all ~20 of them (the
// default cap is 8). Only parserOptions are overridden: the rules are the project's.
const eslint = new ESLint({
  cwd: root,
  overrideConfig: {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: [`src/*/${PROBE}`, `src/*/*/${PROBE}`, `console/src/${PROBE}`],
          defaultProject: 'tsconfig.json',
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 64,
        },
      },
    },
  },
});

/** Lints `code` as if it were `filePath`; nothing is written (`onDisk`: the path is a real file). */
async function lint(filePath: string, code: string, onDisk = false): Promise<Linter.LintMessage[]> {
  expect(existsSync(join(root, filePath)), `${filePath} exists`).toBe(onDisk);
  const [result] = await eslint.lintText(code, { filePath });
  const messages = result?.messages ?? [];
  expect(messages.filter((m) => m.fatal).map((m) => m.message), 'parse errors').toEqual([]);
  return messages;
}

/** Lines reported by `rule`, each once at most (the wall's groups are disjoint). */
function reportedLines(messages: Linter.LintMessage[], rule: string): number[] {
  const lines = messages.filter((m) => m.ruleId === rule).map((m) => m.line);
  expect(new Set(lines).size, `${rule} reported a line twice`).toBe(lines.length);
  return lines.sort((a, b) => a - b);
}

const lineNumbers = (code: string) => code.trim().split('\n').map((_, i) => i + 1);

/** One import per line, every one of them forbidden in the three walled folders. */
const NODE_ONLY_IMPORTS = [
  "import { readFileSync } from 'node:fs';",
  "import { join } from 'path';",
  "import { readFile } from 'fs/promises';",
  "import { setTimeout as sleep } from 'node:timers/promises';",
  "import { Client } from '@temporalio/client';",
  "import type { Connection } from '@temporalio/client';",
  "import { Worker } from '@temporalio/worker';",
  "import { Context } from '@temporalio/activity';",
  "import { TestWorkflowEnvironment } from '@temporalio/testing';",
  "import express from 'express';",
  "import { jwtVerify } from 'jose';",
  "import { hash } from '@node-rs/argon2';",
  "import { ensureTemporalCli } from '../temporal/cli.js';",
  "import { createApp } from '../api/app.js';",
  "import { loadConfig } from '../config.js';",
  "import { coreActivities } from '../activities/index.js';",
  "import { startCoreWorker } from '../core/worker.js';",
  "import { createProcessorWorker } from '../workers/index.js';",
  "import { TempojobClient } from '../client/index.js';",
  "import { startServices } from '../stack/services.js';",
  "import { demoProcessors } from '../demo/processors.js';",
  "import { startTracing } from '../tracing/index.js';",
  "import { trace } from '@opentelemetry/api';",
  "import { OpenTelemetryInboundInterceptor } from '@temporalio/interceptors-opentelemetry';",
  "export * from '../temporal/connection.js';",
  "export { spawn } from 'node:child_process';",
  "import lodash from 'lodash';",
].join('\n');

const LAYERS = [
  { folder: 'workflows', says: 'move Node-only code to an activity' },
  { folder: 'contract', says: 'must be safe in the workflow sandbox' },
  { folder: 'domain', says: 'The domain is the pure model' },
];

describe('the import wall', () => {
  for (const { folder, says } of LAYERS) {
    it(`src/${folder}: every Node-only import is an error, once, saying what to do`, async () => {
      const messages = await lint(probe(folder), NODE_ONLY_IMPORTS);
      expect(reportedLines(messages, 'no-restricted-imports')).toEqual(lineNumbers(NODE_ONLY_IMPORTS));
      for (const m of messages.filter((m) => m.ruleId === 'no-restricted-imports')) {
        expect(m.severity, m.message).toBe(2);
        expect(m.message).toContain(says);
      }
      const at = (line: number) => messages.find((m) => m.line === line && m.ruleId === 'no-restricted-imports')?.message;
      expect(at(1)).toMatch(/may not import Node builtins/);
      expect(at(5)).toMatch(/may not import Node-only packages/);
      expect(at(13)).toMatch(/may not import Node-only code \(src\/api, .*src\/temporal/);
      expect(at(15)).toMatch(/may not import src\/config\.ts/);
    });

    it(`src/${folder}: relative imports from a subfolder are caught too`, async () => {
      const code = [
        "import { ensureTemporalCli } from '../../temporal/cli.js';",
        "import { createApp } from '../../api/x.js';",
        "import { loadConfig } from '../../config.js';",
      ].join('\n');
      const messages = await lint(`src/${folder}/sub/${PROBE}`, code);
      expect(reportedLines(messages, 'no-restricted-imports')).toEqual([1, 2, 3]);
    });

    it(`src/${folder}: import() cannot get around the wall`, async () => {
      const code = [
        "export const load = () => import('node:fs');",
        "export type C = import('@temporalio/client').Client;",
      ].join('\n');
      const messages = await lint(probe(folder), code);
      expect(reportedLines(messages, 'no-restricted-syntax')).toEqual([1, 2]);
    });
  }

  it("bench's bare workflows are workflow code too", async () => {
    const code = [
      "import { proxyActivities } from '@temporalio/workflow';",
      "import { Client } from '@temporalio/client';",
      "import { ensureTemporalCli } from '../../src/temporal/cli.js';",
      "import { loadConfig } from '../../src/config.js';",
      "import { TASK_QUEUE } from '../../src/contract/names.js';",
      'export { proxyActivities, Client, ensureTemporalCli, loadConfig, TASK_QUEUE };',
    ].join('\n');
    const messages = await lint('bench/bare/workflows.ts', code, true);
    expect(reportedLines(messages, 'no-restricted-imports')).toEqual([2, 3, 4]);
  });

  it('every Node builtin, bare or node:, is refused in workflow code', async () => {
    const names = [...builtinModules.filter((name) => !name.startsWith('node:')), 'node:test', 'node:sqlite'];
    const code = names.map((name, i) => `export * as m${i} from '${name}';`).join('\n');
    const messages = await lint(probe('workflows'), code);
    expect(reportedLines(messages, 'no-restricted-imports')).toEqual(lineNumbers(code));
    expect(messages.every((m) => m.message.includes('may not import Node builtins'))).toBe(true);
  });

  it('a workflow importing @temporalio/workflow, @temporalio/common, the contract, the domain and its own folder is clean', async () => {
    const code = [
      "import { proxyActivities, sleep } from '@temporalio/workflow';",
      "import { ApplicationFailure } from '@temporalio/common';",
      "import { TASK_QUEUE } from '../contract/names.js';",
      "import type { JobDefinition } from '../domain/job.js';",
      "import { runAttempts } from './attempts.js';",
      "import { helper } from './sub/helper.js';",
      "import { cron } from '../domain/schedule/cron.js';",
      'export { proxyActivities, sleep, ApplicationFailure, TASK_QUEUE, runAttempts, helper, cron };',
      'export type { JobDefinition };',
    ].join('\n');
    expect(await lint(probe('workflows'), code)).toEqual([]);
  });

  it('the contract may import the sandbox packages, the domain and itself, but not workflows', async () => {
    const clean = [
      "import { defineSignal } from '@temporalio/workflow';",
      "import { defineSearchAttributeKey } from '@temporalio/common';",
      "import type { JobDefinition } from '../domain/job.js';",
      "import { SA } from './search-attributes.js';",
      'export { defineSignal, defineSearchAttributeKey, SA };',
      'export type { JobDefinition };',
    ].join('\n');
    expect(await lint(probe('contract'), clean)).toEqual([]);
    const messages = await lint(probe('contract'), "export { instanceWorkflow } from '../workflows/instance.js';");
    expect(reportedLines(messages, 'no-restricted-imports')).toEqual([1]);
  });

  it('the domain imports only the domain: no package, no contract, no workflows', async () => {
    expect(await lint(`src/domain/schedule/${PROBE}`, "export { JobType } from '../enums.js';\nexport { cron } from './cron.js';")).toEqual([]);
    const code = [
      "import { sleep } from '@temporalio/workflow';",
      "import { SA } from '../contract/search-attributes.js';",
      "import { instanceWorkflow } from '../workflows/instance.js';",
      "import { z } from 'zod';",
    ].join('\n');
    const messages = await lint(probe('domain'), code);
    expect(reportedLines(messages, 'no-restricted-imports')).toEqual([1, 2, 3, 4]);
  });

  it('Node-only folders are outside the wall', async () => {
    const code = [
      "import { readFileSync } from 'node:fs';",
      "import { Client } from '@temporalio/client';",
      "import { ensureTemporalCli } from '../temporal/cli.js';",
      'export { readFileSync, Client, ensureTemporalCli };',
    ].join('\n');
    for (const folder of ['api', 'temporal', 'activities', 'core']) {
      expect(await lint(probe(folder), code), folder).toEqual([]);
    }
  });
});

describe('promises', () => {
  const floating = [
    'async function work(): Promise<number> { return 1; }',
    'export function run(): void {',
    '  work();',
    '}',
  ].join('\n');

  for (const folder of ['workflows', 'contract', 'domain', 'api', 'workers', 'activities', 'temporal', 'stack']) {
    it(`a floating promise in src/${folder} is an error`, async () => {
      const messages = await lint(probe(folder), floating);
      expect(messages.map((m) => [m.ruleId, m.line, m.severity])).toEqual([['@typescript-eslint/no-floating-promises', 3, 2]]);
    });
  }

  it('an awaited or explicitly voided promise is fine', async () => {
    const code = [
      'async function work(): Promise<number> { return 1; }',
      'export async function run(): Promise<void> {',
      '  await work();',
      '  // fire-and-forget on purpose: the result is not needed',
      '  void work();',
      '}',
    ].join('\n');
    expect(await lint(probe('api'), code)).toEqual([]);
  });

  it('a promise where a void callback is expected is an error (no-misused-promises)', async () => {
    const code = [
      'async function work(): Promise<void> {}',
      'export function run(): void {',
      '  [1, 2].forEach(async () => { await work(); });',
      '  if (work()) { return; }',
      '}',
    ].join('\n');
    const messages = await lint(probe('api'), code);
    expect(reportedLines(messages, '@typescript-eslint/no-misused-promises')).toEqual([3, 4]);
  });
});

describe('the console wall', () => {
  const CONSOLE_PROBE = `console/src/${PROBE}`;

  it('the console imports its UI packages, the typed client, the API\'s schemas and the domain', async () => {
    const code = [
      "import { useState } from 'react';",
      "import { createRoot } from 'react-dom/client';",
      "import { useQuery } from '@tanstack/react-query';",
      "import { z } from 'zod';",
      "import { TempojobClient } from '../../src/client/client.js';",
      "import { saveJobSchema } from '../../src/api/schemas.js';",
      "import { InstanceStatus } from '../../src/domain/enums.js';",
      'export const all = [useState, createRoot, useQuery, z, TempojobClient, saveJobSchema, InstanceStatus];',
    ].join('\n');
    expect(await lint(CONSOLE_PROBE, code)).toEqual([]);
  });

  it('the console imports no Node builtin, no other package and nothing else of src/: it acts through the public API only', async () => {
    const imports = [
      "import { readFileSync } from 'node:fs';",
      "import { join } from 'path';",
      "import express from 'express';",
      "import { Client } from '@temporalio/client';",
      "import { JobService } from '../../src/api/job-service.js';",
      "import { loadConfig } from '../../src/config.js';",
      "import { createClient } from '../../src/client/index.js';",
    ];
    const messages = await lint(CONSOLE_PROBE, [...imports, 'export const all = [readFileSync, join, express, Client, JobService, loadConfig, createClient];'].join('\n'));
    expect(reportedLines(messages, 'no-restricted-imports')).toEqual(imports.map((_, i) => i + 1));
  });
});
