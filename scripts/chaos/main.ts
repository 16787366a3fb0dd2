/**
 * `npm run chaos`: the chaos suite on the production-like topology (README, "Chaos suite").
 *
 *   npm run chaos -- [--minutes N] [--seed S] [--profile full|short] [--baseline-minutes M] [--out DIR]
 *
 * Brings the cluster up (scripts/cluster/up.sh) unless it is running, starts tempojob behind
 * a fault proxy, runs the mixed workload without faults and then with the seeded faults,
 * drains, checks the invariants, prints the report and writes it to DIR (default
 * .data/chaos/<time>-seed-<S>/). Exits 1 on any violation.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { wholeNumber } from '../../bench/stats.js';
import { PROJECT_ROOT } from '../../src/temporal/cli.js';
import { reportMarkdown } from './report.js';
import { runChaos } from './run.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' }, seed: { type: 'string' }, profile: { type: 'string' }, 'baseline-minutes': { type: 'string' }, out: { type: 'string' },
  },
});
const profile = values.profile ?? 'full';
if (profile !== 'full' && profile !== 'short') throw new Error(`--profile must be full or short, got "${profile}"`);
const minutes = Number(values.minutes ?? (profile === 'short' ? 2 : 10));
if (!(minutes > 0)) throw new Error(`--minutes must be a positive number, got "${values.minutes}"`);
const baselineMinutes = Number(values['baseline-minutes'] ?? (profile === 'short' ? 1 : Math.min(3, minutes / 3)));
if (!(baselineMinutes > 0)) throw new Error(`--baseline-minutes must be a positive number, got "${values['baseline-minutes']}"`);
const seed = wholeNumber(values.seed, Math.floor(Math.random() * 2 ** 31), 0, 'seed');
const outDir = values.out ?? join(PROJECT_ROOT, '.data', 'chaos', `${new Date().toISOString().replace(/[:.]/g, '-')}-seed-${seed}`);

Runtime.install({ logger: new DefaultLogger('WARN') });
const report = await runChaos({
  seed, profile, baselineMs: baselineMinutes * 60_000, chaosMs: minutes * 60_000, outDir, cluster: { kind: 'manage' },
  command: `npm run chaos -- --minutes ${minutes} --seed ${seed} --profile ${profile} --baseline-minutes ${baselineMinutes}`,
  log: (line) => console.log(line),
});
console.log(`\n${reportMarkdown(report)}`);
console.log(`report: ${join(outDir, 'report.md')} and report.json`);
process.exit(report.violations.length === 0 ? 0 : 1);
