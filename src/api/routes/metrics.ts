import type { RequestHandler } from 'express';
import type { TempojobMetrics } from '../../metrics/metrics.js';
import { bearerMatches } from '../../metrics/server.js';

/**
 * GET /metrics: this process's Prometheus metrics (text format). Guarded like /admin, by
 * `Authorization: Bearer $TEMPOJOB_ADMIN_TOKEN` (refused while no admin token is set), unless
 * TEMPOJOB_METRICS_PUBLIC=true.
 */
export function metricsRoute(metrics: TempojobMetrics, adminToken: string | undefined, authenticated: boolean): RequestHandler {
  return async (req, res) => {
    if (authenticated) {
      if (!adminToken) {
        res.status(403).type('text/plain').send('metrics are off: set TEMPOJOB_ADMIN_TOKEN (scrape with it as bearer token) or TEMPOJOB_METRICS_PUBLIC=true\n');
        return;
      }
      if (!bearerMatches(req.get('Authorization'), adminToken)) {
        res.status(401).set('WWW-Authenticate', 'Bearer').type('text/plain').send('send Authorization: Bearer <TEMPOJOB_ADMIN_TOKEN>\n');
        return;
      }
    }
    const { contentType, body } = await metrics.exposition();
    res.status(200).set('Content-Type', contentType).send(body);
  };
}
