/**
 * `npm run build:console`: builds the console into console/dist if its sources changed
 * (`npm start` and `npm test` do the same on their own; images run this at build time).
 */
import { CONSOLE_DIST, ensureConsoleBuilt } from '../src/console/build.js';

const built = await ensureConsoleBuilt({ log: (line) => console.log(line) });
console.log(built ? `console built in ${CONSOLE_DIST}` : `console in ${CONSOLE_DIST} is up to date`);
