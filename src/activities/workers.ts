import type { Client } from '@temporalio/client';
import type { CoreActivities } from '../contract/activities.js';
import { matchesTargeting } from '../domain/targeting.js';
import { liveAppWorkers } from '../temporal/live-workers.js';

/** Which workers are alive is read from Temporal by src/temporal/live-workers.ts (the API's metrics read it too). */
export { LIVENESS_WINDOW_MS, liveAppWorkers } from '../temporal/live-workers.js';

export function workerActivities(client: Client): Pick<CoreActivities, 'liveWorkers'> {
  return {
    /**
     * The app's live workers that match the job's targeting, sorted by worker id: the
     * membership snapshot of a broadcast, or the candidates of a designated STANDALONE run.
     * maxWorkerCount is applied by the workflow (it samples, so load spreads).
     */
    async liveWorkers(request) {
      const workers = await liveAppWorkers(client, request.appName);
      return workers.filter((worker) => matchesTargeting(worker, request.targeting.designatedWorkers));
    },
  };
}
