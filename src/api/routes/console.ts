import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router } from 'express';

/**
 * The console (console/, built by src/console/build.ts) at /console: its hashed assets cached
 * for good, and index.html for every other path under /console, so a deep link
 * (/console/instances/42) opens the app, which routes it. index.html is read per request: a
 * rebuild shows on the next load, no restart.
 */
export function consoleRouter(dir: string, temporal: { webUiUrl?: string | undefined; namespace: string }): Router {
  // The instance page links to its workflow in Temporal's Web UI, where there is one.
  const meta = `<meta name="tempojob-namespace" content="${escapeAttribute(temporal.namespace)}">${
    temporal.webUiUrl ? `<meta name="tempojob-web-ui" content="${escapeAttribute(temporal.webUiUrl)}">` : ''}`;
  const router = Router();
  router.use('/assets', express.static(join(dir, 'assets'), { immutable: true, maxAge: '1y', index: false }), (req, res) => {
    res.status(404).type('text/plain').send(`no console asset ${req.originalUrl} (the console was rebuilt: reload the page)\n`);
  });
  router.get('/{*path}', (_req, res) => {
    const index = join(dir, 'index.html');
    if (!existsSync(index)) {
      res.status(503).type('text/plain').send(`The console is not built in ${dir}: run \`npm run build:console\` (npm start builds it on its own).\n`);
      return;
    }
    res.set('Cache-Control', 'no-cache').type('html').send(readFileSync(index, 'utf8').replace('</head>', `${meta}</head>`));
  });
  return router;
}

const escapeAttribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
