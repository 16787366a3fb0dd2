import { ServiceError } from '@temporalio/client';
import { NativePromiseDroppedError } from '@temporalio/core-bridge/lib/errors.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobScheduleId } from '../src/contract/names.js';
import { describeSchedule } from '../src/api/schedule-reads.js';
import { isNotFound, isTransient } from '../src/temporal/errors.js';
import { startTestStack, type TestStack } from './support/stack.js';

/**
 * Temporal's errors as the processes see them over the connection they really use: the
 * client of every process that runs workers rides a NativeConnection, whose errors are not
 * grpc-js's (a call cut off by its deadline ends CANCELLED "Timeout expired").
 */

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.close());

describe('Temporal errors over the native connection', () => {
  it('a call cut off by its own deadline is transient, so a read asks again', async () => {
    // A deadline already passed: one a millisecond ahead raced the server's answer (not found) under load.
    const cutOff = await stack.client.connection
      .withDeadline(Date.now() - 1_000, () => stack.client.schedule.getHandle(jobScheduleId(1)).describe())
      .then(() => undefined, (err: unknown) => err);
    expect(cutOff).toBeInstanceOf(Error);
    expect(isTransient(cutOff)).toBe(true);
    expect(isNotFound(cutOff)).toBe(false);
  });

  it('a schedule that does not exist is not found, not transient', async () => {
    const missing = await stack.client.schedule.getHandle('tempojob-job-no-such').describe().then(() => undefined, (err: unknown) => err);
    expect(isNotFound(missing)).toBe(true);
    expect(isTransient(missing)).toBe(false);
    expect(await describeSchedule(stack.client, 'tempojob-job-no-such')).toBeUndefined();
  });

  it('a native call dropped unsettled is transient: the read is asked again, the API answers "retry"', () => {
    // As the schedule client rethrows it (seen once in CI, on a describe under load).
    const dropped = new ServiceError('Unexpected error while making gRPC request', { cause: new NativePromiseDroppedError('Native Promise was dropped without being settled') });
    expect(isTransient(dropped)).toBe(true);
    expect(isNotFound(dropped)).toBe(false);
  });
});
