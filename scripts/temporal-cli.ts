/** `npm run temporal:cli`: finds or builds the Temporal CLI and prints its path. */
import { ensureTemporalCli } from '../src/temporal/cli.js';

const path = await ensureTemporalCli((line) => console.error(line));
console.log(path);
