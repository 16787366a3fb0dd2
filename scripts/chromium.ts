/**
 * `npm test` runs this before the suites: finds a Chromium for the console's browser tests
 * and its benchmark (Debian's `chromium` package, driven by playwright-core through its
 * executable path: Playwright's own browser download cannot reach its servers here), or
 * installs Debian's package when running as root. Prints the path.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where distributions put it; CHROMIUM_PATH first. */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome-stable', '/usr/bin/google-chrome'];

export function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  for (const path of fromEnv ? [fromEnv, ...CANDIDATES] : CANDIDATES) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The path of a Chromium, installing Debian's package first if there is none and we may. */
export function ensureChromium(log: (line: string) => void = () => {}): string {
  const found = findChromium();
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  const hasApt = (() => { try { execFileSync('apt-get', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
  if (!isRoot || !hasApt) {
    throw new Error(
      'The console\'s browser tests need Chromium and none was found (' + CANDIDATES.join(', ') + '). '
      + (hasApt ? 'Install it: sudo apt-get install -y chromium' : 'Install Chromium with your package manager')
      + ', or set CHROMIUM_PATH to a Chromium or Chrome executable.',
    );
  }
  log('Chromium not found: installing Debian\'s chromium package (apt-get)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'], env });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: ['ignore', 'inherit', 'inherit'], env });
  const installed = findChromium();
  if (!installed) throw new Error('apt-get installed chromium, but no executable appeared at ' + CANDIDATES.join(', '));
  return installed;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    console.log(ensureChromium((line) => console.error(line)));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
