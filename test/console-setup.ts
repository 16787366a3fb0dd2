import type { TestProject } from 'vitest/node';
import { ensureConsoleBuilt } from '../src/console/build.js';
import { ensureChromium } from '../scripts/chromium.js';

declare module 'vitest' {
  export interface ProvidedContext {
    chromiumPath: string;
  }
}

/** The console project's setup: the console built from the current sources, and a Chromium to drive. */
export default async function setup(project: TestProject) {
  project.provide('chromiumPath', ensureChromium((line) => console.log(line)));
  await ensureConsoleBuilt({ log: (line) => console.log(`[console] ${line}`) });
}
