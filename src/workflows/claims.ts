import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import type { AttemptClaim } from '../contract/activities.js';
import { claimAttemptUpdate } from '../contract/messages.js';

/**
 * The fence across worker processes as processor workers built before 2026-12-02 keep it;
 * current workers check Temporal's own record of the poll that took the task instead
 * (holdAttempt, src/workers/attempt.ts), which costs no workflow task. It stays for the
 * older workers and for the histories that hold their claims. Temporal delivers an activity
 * task at least once: the same task can reach two worker processes. Before any user code
 * runs, such a worker claims its attempt at the workflow that dispatched it (an update);
 * this validator admits the first claim of a dispatched activity and refuses every other, so
 * user code starts once whichever processes the task reaches. Refused claims write nothing
 * to history.
 *
 * A new claim on the same attempt is admitted only once the holder's activity has ended
 * (its worker declared lost on a heartbeat timeout, and the attempt dispatched again). A
 * claim also proves delivery: a heartbeat timeout without one is a delivery that was lost
 * on the way, dispatched again as the same attempt (see deliver()).
 */
export class AttemptClaims {
  /** Attempts being dispatched, by idempotency key, with their holder once one claimed. */
  private readonly dispatched = new Map<string, AttemptClaim | null>();
  /** Activities that ended (timed out, failed): a late delivery of one is refused. */
  private readonly ended = new Set<string>();

  /** `closed` says why no attempt may be claimed any more (a stop arrived), if so. */
  constructor(private readonly closed: () => string | undefined = () => undefined) {
    setHandler(claimAttemptUpdate, (claim) => { this.dispatched.set(claim.idempotencyKey, claim); }, {
      validator: (claim) => this.check(claim),
    });
  }

  private check(claim: AttemptClaim): void {
    const refuse = (why: string) => ApplicationFailure.nonRetryable(
      `attempt ${claim.idempotencyKey} (activity ${claim.activityId}) not claimed by ${claim.workerId}: ${why}`,
      'AttemptClaimRefused',
    );
    const closed = this.closed();
    if (closed) throw refuse(closed);
    if (!this.dispatched.has(claim.idempotencyKey) || this.ended.has(claim.activityId)) throw refuse('that dispatch has ended');
    const holder = this.dispatched.get(claim.idempotencyKey);
    // The same delivery claiming again (a retried request) holds it still.
    if (holder && !this.ended.has(holder.activityId) && holder.delivery !== claim.delivery) {
      throw refuse(`it is held by ${holder.workerId} (delivery ${holder.delivery})`);
    }
  }

  /** An attempt is being dispatched: deliveries of it may claim it until settle(). */
  open(idempotencyKey: string): void {
    if (!this.dispatched.has(idempotencyKey)) this.dispatched.set(idempotencyKey, null);
  }

  /** A dispatch of it ended without a result; whether a delivery had claimed it. */
  endedWithoutResult(idempotencyKey: string, activityId: string): boolean {
    this.ended.add(activityId);
    return this.dispatched.get(idempotencyKey)?.activityId === activityId;
  }

  /** The attempt is over: any later claim on it is refused. */
  settle(idempotencyKey: string): void {
    this.dispatched.delete(idempotencyKey);
  }
}
