import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONSOLE_DIST, CONSOLE_ROOT } from './paths.js';

export { CONSOLE_DIST } from './paths.js';
/** Beside the build: the hash of the sources it was built from. */
const STAMP = '.source-hash';
/** What the bundle is built from: the console and the code it imports (the typed client, the API's schemas, the domain). */
const SOURCES = [CONSOLE_ROOT, fileURLToPath(new URL('..', import.meta.url)), fileURLToPath(new URL('../../package-lock.json', import.meta.url))];

/** Bumped when the build's own options change, so builds made with the old ones are redone. */
const BUILD_OPTIONS_VERSION = 'production-3';

/** One hash over every source file's path and content: a changed, added or removed file changes it. */
export function consoleSourceHash(): string {
  const hash = createHash('sha256').update(BUILD_OPTIONS_VERSION);
  const visit = (path: string) => {
    // Not the build, nor another process's build under way (.dist-*), nor packages.
    if (path === CONSOLE_DIST || /\/(node_modules|\.dist-[^/]*)$/.test(path)) return;
    const entries = existsSync(path) ? readdirSync(path, { withFileTypes: true }) : null;
    if (entries === null) return;
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (entry.isFile()) hash.update(relative(CONSOLE_ROOT, full)).update('\0').update(readFileSync(full)).update('\0');
    }
  };
  for (const source of SOURCES) {
    if (!source.endsWith('.json')) visit(source);
    // An image copies no lockfile beside the sources; its build is made once anyway.
    else if (existsSync(source)) hash.update(readFileSync(source));
  }
  return hash.digest('hex');
}

/**
 * Builds the console (Vite) into console/dist unless the build there was made from the same
 * sources, so `npm start` and `npm test` need no build step of their own and stay fast when
 * nothing changed. The build goes to a fresh folder that replaces the old one only when
 * complete, so a server never serves half a build. Resolves to whether it built.
 */
export async function ensureConsoleBuilt(options: { log?: (line: string) => void } = {}): Promise<boolean> {
  const sourceHash = consoleSourceHash();
  const stamp = join(CONSOLE_DIST, STAMP);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === sourceHash) return false;
  options.log?.('building the console (sources changed)…');
  const { build } = await import('vite');
  const outDir = join(CONSOLE_ROOT, `.dist-${process.pid}-${Date.now()}`);
  try {
    await build({
      configFile: false,
      root: CONSOLE_ROOT,
      base: '/console/',
      logLevel: 'warn',
      // Always React's production build and JSX: vitest sets NODE_ENV=test, which Vite would otherwise bake in.
      mode: 'production',
      define: { 'process.env.NODE_ENV': JSON.stringify('production') },
      oxc: { jsx: { runtime: 'automatic', importSource: 'react', development: false } },
      build: {
        outDir, emptyOutDir: true, sourcemap: false, reportCompressedSize: false, chunkSizeWarningLimit: 1024,
        rolldownOptions: {
          // TanStack Query marks its hooks "use client" for server-component bundlers; meaningless in this SPA.
          onwarn(warning, warn) { if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning); },
        },
      },
    });
    writeFileSync(join(outDir, STAMP), sourceHash);
    rmSync(CONSOLE_DIST, { recursive: true, force: true });
    try {
      renameSync(outDir, CONSOLE_DIST);
    } catch (err) {
      // Another process (a second `npm start`, a test run) built the same sources meanwhile.
      if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== sourceHash) throw err;
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  return true;
}
