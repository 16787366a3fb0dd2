import { type QuickJSWASMModule, newQuickJSWASMModuleFromVariant, shouldInterruptAfterDeadline } from 'quickjs-emscripten-core';
import type { CoreActivities, DecisionOutcome, DecisionRequest } from '../contract/activities.js';

/**
 * Decision nodes, evaluated in QuickJS compiled to WebAssembly: a separate JavaScript engine
 * with its own heap, reached only through the values handed in. It has no `process`,
 * `require`, modules, file system, network or timers to escape to (node's `vm` shares the
 * host's engine and is not a security boundary); each evaluation gets a fresh runtime with a
 * memory cap, a stack cap and a deadline checked by QuickJS's interrupt handler, so a
 * runaway script fails its node and leaves the worker healthy.
 */
export const DECISION_LIMITS = { memoryBytes: 32 * 1024 * 1024, stackBytes: 512 * 1024, timeMs: 1_000 } as const;

let engine: Promise<QuickJSWASMModule> | undefined;

/**
 * The script sees `context` with the workflow context's keys as properties and, as in
 * PowerJob's Groovy conditions, `context.get(key)`. A script with `return` runs as a
 * function body; any other as a program whose last expression is its value.
 */
function program(script: string, context: DecisionRequest['context']): string {
  const body = /\breturn\b/.test(script) ? `(function () {\n${script}\n})()` : script;
  return [
    `const context = Object.freeze(Object.assign(Object.create({ get(key) { return Object.prototype.hasOwnProperty.call(this, key) ? this[key] : null; } }), ${JSON.stringify(context)}));`,
    body,
  ].join('\n');
}

export async function evaluateDecision({ node, script, context }: DecisionRequest): Promise<DecisionOutcome> {
  engine ??= newQuickJSWASMModuleFromVariant(import('@jitl/quickjs-wasmfile-release-sync'));
  const runtime = (await engine).newRuntime();
  try {
    runtime.setMemoryLimit(DECISION_LIMITS.memoryBytes);
    runtime.setMaxStackSize(DECISION_LIMITS.stackBytes);
    runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + DECISION_LIMITS.timeMs));
    const vm = runtime.newContext();
    try {
      const result = vm.evalCode(program(script, context), 'decision.js');
      if (result.error) {
        const error = vm.dump(result.error) as { name?: string; message?: string } | string;
        result.error.dispose();
        return { failure: `decision ${node}: ${scriptError(error)}` };
      }
      const value: unknown = vm.dump(result.value);
      result.value.dispose();
      if (typeof value === 'boolean') return { verdict: value };
      // PowerJob takes a number too: greater than zero is true.
      if (typeof value === 'number' && Number.isFinite(value)) return { verdict: value > 0 };
      return { failure: `decision ${node}: the script returned ${JSON.stringify(value) ?? 'undefined'}; a decision must return true or false` };
    } finally {
      vm.dispose();
    }
  } finally {
    runtime.dispose();
  }
}

function scriptError(error: { name?: string; message?: string } | string): string {
  if (typeof error === 'string') return `the script threw ${error}`;
  if (error.name === 'InternalError' && error.message === 'interrupted') return `the script ran longer than ${DECISION_LIMITS.timeMs} ms and was stopped`;
  if (error.name === 'InternalError' && error.message === 'out of memory') {
    return `the script used more than ${DECISION_LIMITS.memoryBytes / 1024 / 1024} MiB of memory and was stopped`;
  }
  return `the script threw ${error.name ?? 'Error'}: ${error.message ?? String(error)}`;
}

export function decisionActivities(): Pick<CoreActivities, 'evaluateDecision'> {
  return { evaluateDecision };
}
