import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ProcessRequest } from '../src/contract/activities.js';
import { appTaskQueue, attemptIdempotencyKey, instanceWorkflowId, parseWorkerIdentity } from '../src/contract/names.js';
import type { ReplayedTask } from './fixtures/replayed-delivery.js';
import { publishFile } from './support/files.js';
import { spawnTs, type ChildHandle } from './support/processes.js';
import { startTestStack, type TestStack } from './support/stack.js';

/**
 * The fence across worker processes (issue #18): Temporal delivers an activity task at least
 * once, and after a storage stall the same task reached two worker processes, whose user
 * code both ran. Here one task really reaches several processes: the test takes it from
 * Temporal (a raw poll under one delivery process's identity, as that worker's poller would)
 * and hands it to every delivery process, which runs it through the SDK's own activities
 * (test/fixtures/replayed-delivery.ts). Every execution of user code, in any process, is a
 * line in one file.
 */

const WORKER_LOST_MS = 5_000;
const dir = mkdtempSync(join(tmpdir(), 'tempojob-fence-'));
const children: ChildHandle[] = [];
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ TEMPOJOB_HEARTBEAT_TIMEOUT_MS: String(WORKER_LOST_MS) });
});
afterAll(async () => {
  for (const child of children) await child.kill();
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Execution {
  workerId: string;
  identity?: string;
  key: string;
  attempt: number;
}

const executions = (file: string): Execution[] =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Execution) : [];

function spawn(script: string, env: Record<string, string>, ready: RegExp): ChildHandle {
  const child = spawnTs(script, { TEMPORAL_ADDRESS: inject('temporalAddress'), ...env }, ready);
  children.push(child);
  return child;
}

/** Resolves with the first match of `pattern` in what the process printed, as soon as it prints it. */
function printed(child: ChildHandle, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = child.output().match(pattern);
      if (!match) return;
      clearTimeout(timer);
      child.child.stdout!.off('data', check);
      resolve(match);
    };
    const timer = setTimeout(() => {
      child.child.stdout!.off('data', check);
      reject(new Error(`${pattern} not printed within ${timeoutMs} ms:\n${child.output()}`));
    }, timeoutMs);
    // After the handle's own listener, which collects the output.
    child.child.stdout!.on('data', check);
    check();
  });
}

interface Ended {
  ran: boolean;
  outcome?: { success: boolean; msg: string | null; workerIdentity: string };
  error?: string;
  message?: string;
  completion: string;
}

const ended = async (child: ChildHandle): Promise<Ended> => JSON.parse((await printed(child, /delivery ended: (.*)\n/))[1]!) as Ended;

/** Whom Temporal handed each of the instance's activity tasks to, as its history holds it. */
async function startedBy(instanceId: number): Promise<string[]> {
  const { events } = await stack.client.workflow.getHandle(instanceWorkflowId(instanceId)).fetchHistory();
  return (events ?? []).flatMap((event) => event.activityTaskStartedEventAttributes ? [event.activityTaskStartedEventAttributes.identity ?? ''] : []);
}

/** A delivery process, ready, with the identity it would poll Temporal under. */
async function delivery(workerId: string, env: Record<string, string>): Promise<{ process: ChildHandle; identity: string }> {
  const process = spawn('test/fixtures/replayed-delivery.ts', { ...env, WORKER_ID: workerId }, /delivery ready/);
  await process.ready;
  return { process, identity: (await printed(process, /delivery ready as (.*)\n/))[1]! };
}

async function saveRecordJob(api: Awaited<ReturnType<TestStack['newApp']>>['api'], instanceRetryNum: number, maxInstanceNum = 0): Promise<number> {
  return api.data<number>('saveJob', {
    jobName: 'fenced', timeExpressionType: 'API', executeType: 'STANDALONE', processorType: 'BUILT_IN', processorInfo: 'record',
    instanceRetryNum, maxInstanceNum, retryBackoff: { initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 100 },
  });
}

/** The attempt's activity task on the app's queue, taken as the poller of the worker with `identity` would take it. */
async function takeTask(appName: string, identity: string): Promise<ReplayedTask> {
  const taken = await stack.client.connection.withDeadline(Date.now() + 30_000, () => stack.client.workflowService.pollActivityTaskQueue({
    namespace: 'default', taskQueue: { name: appTaskQueue(appName) }, identity,
  }));
  expect(taken.activityType?.name).toBe('runProcessor');
  return {
    taskToken: Buffer.from(taken.taskToken!).toString('base64'),
    activityId: taken.activityId!,
    workflowId: taken.workflowExecution!.workflowId!,
    runId: taken.workflowExecution!.runId!,
    heartbeatTimeoutMs: WORKER_LOST_MS,
    request: defaultPayloadConverter.fromPayload<ProcessRequest>(taken.input!.payloads![0]!),
  };
}

describe('one attempt delivered to several worker processes', () => {
  it('user code runs once, in the process Temporal handed the task to; the others run nothing and their late answers are refused; SUCCEED with the holder\'s result', { timeout: 90_000 }, async () => {
    const { appName, api } = await stack.newApp('fence');
    const recordFile = join(dir, 'two-processes.jsonl');
    const taskFile = join(dir, 'task.json');
    const env = { TASK_FILE: taskFile, RECORD_FILE: recordFile, RELEASE_FILE: join(dir, 'release-two') };
    // The holder; another worker; and a second process that was given the holder's worker id.
    const [holder, other, twin] = await Promise.all([delivery('delivery-a', env), delivery('delivery-b', env), delivery('delivery-a', env)]);
    const instanceId = await api.data<number>('runJob', { jobId: await saveRecordJob(api, 0) });

    // Temporal answers the holder's poll; the same task then reaches all three processes at once.
    const task = await takeTask(appName, holder.identity);
    expect(task.request).toMatchObject({ idempotencyKey: attemptIdempotencyKey(instanceId, 1), fenced: true });
    publishFile(taskFile, JSON.stringify(task));
    // The other two are refused while the holder runs user code (which waits for the release file).
    await Promise.all([other, twin].map((d) => printed(d.process, /duplicate delivery/)));
    await expect.poll(() => executions(recordFile).length).toBe(1);
    expect(executions(recordFile)).toEqual([{ workerId: 'delivery-a', identity: holder.identity, key: attemptIdempotencyKey(instanceId, 1), attempt: 1 }]);

    writeFileSync(env.RELEASE_FILE, '');
    const [holderEnd, otherEnd, twinEnd] = await Promise.all([holder, other, twin].map((d) => ended(d.process)));
    await stack.finished(instanceId);

    expect(holderEnd).toEqual({ ran: true, outcome: { success: true, msg: 'ran on delivery-a', workerIdentity: 'delivery-a' }, completion: 'accepted' });
    // Refused, each waited for the holder's answer and ended after it: Temporal keeps the first completion of a task.
    for (const refused of [otherEnd!, twinEnd!]) {
      expect(refused).toMatchObject({ ran: false, error: 'DuplicateDeliveryError', completion: 'rejected: ActivityNotFoundError' });
      expect(refused.message).toContain(`held by ${holder.identity}`);
    }
    expect(executions(recordFile)).toHaveLength(1);
    expect(await api.data('fetchInstanceInfo', { instanceId })).toMatchObject({ status: 5, result: 'ran on delivery-a', runningTimes: 1, taskTrackerAddress: 'delivery-a' });
    expect(await startedBy(instanceId)).toEqual([holder.identity]);
  });

  it('a delivery that arrives after stopInstance answered runs nothing, and the instance stays STOPPED', { timeout: 90_000 }, async () => {
    const { appName, api } = await stack.newApp('fence-stop');
    const recordFile = join(dir, 'after-stop.jsonl');
    const taskFile = join(dir, 'stopped-task.json');
    const late = await delivery('after-stop', { TASK_FILE: taskFile, RECORD_FILE: recordFile, RELEASE_FILE: join(dir, 'release-stop') });
    // A slot-limited job: the stopped instance still gives its slot back before it ends.
    const instanceId = await api.data<number>('runJob', { jobId: await saveRecordJob(api, 0, 1) });
    const task = await takeTask(appName, late.identity);

    await api.data('stopInstance', { instanceId }, { form: true });
    publishFile(taskFile, JSON.stringify(task));
    const end = await ended(late.process);
    expect(end).toMatchObject({ ran: false, error: 'DuplicateDeliveryError' });
    // Refused because the stop cancelled its attempt, or because the stopped instance has ended meanwhile.
    expect(end.message).toMatch(/the instance is being stopped|that dispatch has ended/);
    await stack.finished(instanceId);
    expect(executions(recordFile)).toEqual([]);
    expect(await api.data('fetchInstanceInfo', { instanceId })).toMatchObject({ status: 10 });
  });

  it('a holder SIGKILLed mid-run is declared lost: the next attempt runs once elsewhere, a late delivery of the lost one runs nothing', { timeout: 120_000 }, async () => {
    const { appName, api } = await stack.newApp('fence-lost');
    const recordFile = join(dir, 'holder-lost.jsonl');
    const releaseFile = (workerId: string) => join(dir, `release-${workerId}`);
    const worker = (workerId: string) => spawn('test/fixtures/fence-worker.ts',
      { RECORD_FILE: recordFile, RECORD_APP: appName, RECORD_WORKER_ID: workerId, RELEASE_FILE: releaseFile(workerId) }, /fence worker ready/);
    const first = worker('fence-a');
    await first.ready;
    const instanceId = await api.data<number>('runJob', { jobId: await saveRecordJob(api, 1) });
    const running = JSON.parse((await printed(first, /running (.*)\n/))[1]!) as Omit<ReplayedTask, 'heartbeatTimeoutMs' | 'request'> & { key: string };
    expect(running.key).toBe(attemptIdempotencyKey(instanceId, 1));

    await first.kill();
    const second = worker('fence-b');
    await second.ready;
    await printed(second, /running .*\n/, 60_000);

    // Attempt 1's task again, delivered late to a third process: its dispatch has ended.
    const { events } = await stack.client.workflow.getHandle(instanceWorkflowId(instanceId)).fetchHistory();
    const scheduled = (events ?? []).find((event) => event.activityTaskScheduledEventAttributes?.activityId === running.activityId);
    const taskFile = join(dir, 'lost-task.json');
    const late = (await delivery('late-delivery', { TASK_FILE: taskFile, RECORD_FILE: recordFile, RELEASE_FILE: releaseFile('late-delivery') })).process;
    publishFile(taskFile, JSON.stringify({
      ...running, heartbeatTimeoutMs: WORKER_LOST_MS,
      request: defaultPayloadConverter.fromPayload<ProcessRequest>(scheduled!.activityTaskScheduledEventAttributes!.input!.payloads![0]!),
    } satisfies ReplayedTask));
    expect(await ended(late)).toMatchObject({ ran: false, error: 'DuplicateDeliveryError', completion: 'rejected: ActivityNotFoundError' });

    writeFileSync(releaseFile('fence-b'), '');
    await stack.finished(instanceId);
    expect(executions(recordFile)).toEqual([
      { workerId: 'fence-a', key: attemptIdempotencyKey(instanceId, 1), attempt: 1 },
      { workerId: 'fence-b', key: attemptIdempotencyKey(instanceId, 2), attempt: 2 },
    ]);
    expect(await api.data('fetchInstanceInfo', { instanceId })).toMatchObject({
      status: 5, result: 'ran on fence-b', runningTimes: 2, taskTrackerAddress: 'fence-b',
    });
    expect((await startedBy(instanceId)).map((identity) => parseWorkerIdentity(identity).workerId)).toEqual(['fence-a', 'fence-b']);
  });
});
