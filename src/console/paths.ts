import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The console's source (console/: index.html, src/, tsconfig.json) and where it is built to, which the API serves. */
export const CONSOLE_ROOT = fileURLToPath(new URL('../../console', import.meta.url));
export const CONSOLE_DIST = join(CONSOLE_ROOT, 'dist');
