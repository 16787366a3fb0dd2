import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { appTaskQueue, parseWorkerIdentity } from '../contract/names.js';
import type { LiveWorker } from '../domain/targeting.js';

/** A live worker with when Temporal last saw it poll or heartbeat (the console's Workers screen). */
export interface SeenWorker extends LiveWorker {
  /** Epoch ms. */
  lastSeen: number;
}

const { TaskQueueKind, TaskQueueType, WorkerStatus } = proto.temporal.api.enums.v1;

/**
 * How recently Temporal must have seen a worker for it to count as alive. An idle worker's
 * activity pollers long-poll for about 60 s, so Temporal's last-seen time of a healthy idle
 * worker can be that old; 75 s covers it. A worker that died less than this before a
 * broadcast fires is still taken for alive: its share then fails as "worker lost" within
 * the detection bound (schedule-to-start on its own queue) instead of hanging.
 */
export const LIVENESS_WINDOW_MS = 75_000;

/**
 * A worker's last polls end a few milliseconds after its shutdown heartbeat (measured: 3–6 ms
 * on an idle dev server), so a poll this close after it belongs to the stopped worker; a
 * worker restarted under the same id polls later than this.
 */
const SHUTDOWN_POLL_GRACE_MS = 1_000;

interface Seen {
  identity: string;
  lastSeen: number;
}

/**
 * Which processor workers of an app are alive, from Temporal's own view — no registry:
 *
 * 1. DescribeTaskQueue on the app's shared queue (activity pollers): every worker polling
 *    it within LIVENESS_WINDOW_MS. Temporal lists a poller for 5 minutes after its last
 *    poll, hence the window.
 * 2. Worker heartbeats (ListWorkers), where the server has them enabled: a worker whose
 *    newest heartbeat says it shut down, and that has not polled since, has left, and
 *    a worker that heartbeats but does not poll (every slot busy) is still alive.
 *
 * Worker ids and tags travel in the worker's identity (`id` or `id[tag,…]`).
 */
export async function liveAppWorkers(client: Client, appName: string, now = Date.now()): Promise<LiveWorker[]> {
  return (await seenAppWorkers(client, appName, now)).map(({ workerId, tags, identity }) => ({ workerId, tags, identity }));
}

/** `liveAppWorkers`, each with its last-seen time (the newest of its identities'). */
export async function seenAppWorkers(client: Client, appName: string, now = Date.now()): Promise<SeenWorker[]> {
  const namespace = client.options.namespace;
  const taskQueue = appTaskQueue(appName);
  const seen = new Map<string, Seen>();
  const described = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  for (const poller of described.pollers ?? []) {
    if (!poller.identity) continue;
    const lastSeen = epochMs(poller.lastAccessTime);
    if (now - lastSeen > LIVENESS_WINDOW_MS) continue;
    const known = seen.get(poller.identity);
    if (!known || known.lastSeen < lastSeen) seen.set(poller.identity, { identity: poller.identity, lastSeen });
  }

  for (const heartbeat of await newestHeartbeats(client, taskQueue)) {
    const identity = heartbeat.workerIdentity;
    if (!identity) continue;
    const heartbeatAt = epochMs(heartbeat.heartbeatTime);
    const polled = seen.get(identity);
    if (heartbeat.status !== WorkerStatus.WORKER_STATUS_RUNNING) {
      if (polled && polled.lastSeen - heartbeatAt <= SHUTDOWN_POLL_GRACE_MS) seen.delete(identity);
    } else if (!polled && now - heartbeatAt <= LIVENESS_WINDOW_MS) {
      seen.set(identity, { identity, lastSeen: heartbeatAt });
    }
  }

  const byId = new Map<string, SeenWorker>();
  for (const { identity, lastSeen } of seen.values()) {
    const { workerId, tags } = parseWorkerIdentity(identity);
    const known = byId.get(workerId);
    if (!known || known.lastSeen < lastSeen) byId.set(workerId, { workerId, tags, identity, lastSeen });
  }
  return [...byId.values()].sort((a, b) => (a.workerId < b.workerId ? -1 : a.workerId > b.workerId ? 1 : 0));
}

type Heartbeat = proto.temporal.api.worker.v1.IWorkerHeartbeat;

/** The newest heartbeat of each worker identity on the queue; none when the server has worker heartbeats off. */
async function newestHeartbeats(client: Client, taskQueue: string): Promise<Heartbeat[]> {
  const newest = new Map<string, Heartbeat>();
  try {
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await client.workflowService.listWorkers({
        namespace: client.options.namespace,
        query: `TaskQueue = '${taskQueue.replace(/'/g, "\\'")}'`,
        pageSize: 1000,
        ...(nextPageToken ? { nextPageToken } : {}),
      });
      for (const info of page.workersInfo ?? []) {
        const heartbeat = info.workerHeartbeat;
        if (!heartbeat?.workerIdentity) continue;
        const known = newest.get(heartbeat.workerIdentity);
        if (!known || newerThan(heartbeat, known)) newest.set(heartbeat.workerIdentity, heartbeat);
      }
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
  } catch {
    // ListWorkers is off on this server (frontend.ListWorkersEnabled): pollers alone decide.
    return [];
  }
  return [...newest.values()];
}

function newerThan(a: Heartbeat, b: Heartbeat): boolean {
  const byStart = epochMs(a.startTime) - epochMs(b.startTime);
  return byStart !== 0 ? byStart > 0 : epochMs(a.heartbeatTime) > epochMs(b.heartbeatTime);
}

function epochMs(time: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!time) return 0;
  return Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6);
}
