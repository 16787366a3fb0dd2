/**
 * Bundles tempojob's workflow code once into a file, for core workers started with
 * TEMPOJOB_WORKFLOW_BUNDLE=<file> (the Dockerfile and `up.sh --app` do this): every
 * replica then runs byte-identical workflow code and starts in about a second.
 *
 *   tsx scripts/cluster/bundle-workflows.ts <output file> [--tracing]
 *
 * `--tracing` adds the OpenTelemetry workflow interceptors, for core workers that trace
 * (OTEL_EXPORTER_OTLP_ENDPOINT set; docs/tracing.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { bundleCoreWorkflows } from '../../src/core/worker.js';

const args = process.argv.slice(2);
const tracing = args.includes('--tracing');
const out = args.find((arg) => !arg.startsWith('--'));
if (!out) throw new Error('usage: tsx scripts/cluster/bundle-workflows.ts <output file> [--tracing]');
const started = Date.now();
const { code } = await bundleCoreWorkflows({ tracing });
mkdirSync(dirname(resolve(out)), { recursive: true });
writeFileSync(out, code);
console.log(`workflow bundle${tracing ? ' with tracing' : ''}: ${out} (${Math.round(code.length / 1024)} KiB, ${Date.now() - started} ms)`);
