import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcServiceError,
} from '@temporalio/client';

/**
 * The one place Temporal's errors are recognised, by what they mean to us. The client's
 * error classes where it has one; the gRPC status of the ServiceError it wraps otherwise.
 */

/** gRPC status codes (grpc.status) we act on. */
const grpcStatus = { CANCELLED: 1, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, UNAVAILABLE: 14 } as const;

/**
 * The gRPC status of the call that failed: the error's own, or that of the ServiceError the
 * client wrapped it in. Over grpc-js it is a grpc ServiceError; over a NativeConnection
 * (every process that runs workers, connectTemporal) an Error with a numeric `code`.
 */
function grpcCode(err: unknown): number | undefined {
  for (const candidate of [err, (err as { cause?: unknown } | null)?.cause]) {
    if (isGrpcServiceError(candidate)) return candidate.code;
    const code = (candidate as { code?: unknown } | null)?.code;
    if (candidate instanceof Error && typeof code === 'number') return code;
  }
  return undefined;
}

/** A NativeConnection ends a call that outlived its `withDeadline` as CANCELLED, "Timeout expired". */
function isNativeDeadline(err: unknown): boolean {
  const cause = (err as { cause?: unknown } | null)?.cause;
  return grpcCode(err) === grpcStatus.CANCELLED && [err, cause].some((e) => e instanceof Error && /timeout expired/i.test(e.message));
}

/** A workflow or schedule with this id exists already (id uniqueness, the basis of every idempotent create). */
export function isAlreadyStarted(err: unknown): boolean {
  return err instanceof WorkflowExecutionAlreadyStartedError || err instanceof ScheduleAlreadyRunning;
}

/** No such workflow or schedule, or (for an update or signal) it has already completed. */
export function isNotFound(err: unknown): boolean {
  return err instanceof WorkflowNotFoundError || err instanceof ScheduleNotFoundError || grpcCode(err) === grpcStatus.NOT_FOUND;
}

/** An update the workflow refused (its validator threw): the reason is the cause's message. */
export function updateRefusal(err: unknown): string | undefined {
  return err instanceof WorkflowUpdateFailedError ? err.cause?.message ?? err.message : undefined;
}

/** The failure type (ApplicationFailure's `type`) an update was refused with, if it was. */
export function updateRefusalType(err: unknown): string | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = err.cause as { type?: unknown } | undefined;
  return typeof cause?.type === 'string' ? cause.type : undefined;
}

/** An update no worker answered within the call's deadline. */
export function isUpdateUnanswered(err: unknown): boolean {
  return err instanceof WorkflowUpdateRPCTimeoutOrCancelledError;
}

/**
 * A NativeConnection call whose promise the native side dropped unsettled (NativePromiseDroppedError,
 * seen under load on deadline-bounded schedule describes): the call never completed here.
 */
function isDroppedNativeCall(err: unknown): boolean {
  return [err, (err as { cause?: unknown } | null)?.cause].some((e) => e instanceof Error && e.name === 'NativePromiseDroppedError');
}

/** Temporal did not answer in time or was unreachable: the same call may succeed when retried. */
export function isTransient(err: unknown): boolean {
  const code = grpcCode(err);
  return code === grpcStatus.DEADLINE_EXCEEDED || code === grpcStatus.UNAVAILABLE || isNativeDeadline(err) || isDroppedNativeCall(err);
}
