/**
 * Bundles tempojob's workflow code once into a file, for core workers started with
 * TEMPOJOB_WORKFLOW_BUNDLE=<file> (the Dockerfile and `up.sh --app` do this): every
 * replica then runs byte-identical workflow code and starts in about a second.
 *
 *   tsx scripts/cluster/bundle-workflows.ts <output file>
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { bundleCoreWorkflows } from '../../src/core/worker.js';

const out = process.argv[2];
if (!out) throw new Error('usage: tsx scripts/cluster/bundle-workflows.ts <output file>');
const started = Date.now();
const { code } = await bundleCoreWorkflows();
mkdirSync(dirname(resolve(out)), { recursive: true });
writeFileSync(out, code);
console.log(`workflow bundle: ${out} (${Math.round(code.length / 1024)} KiB, ${Date.now() - started} ms)`);
