import type { Sinks } from '@temporalio/workflow';

/**
 * What workflow code tells the core worker's metrics (src/metrics/sinks.ts), through
 * Temporal sinks: a sink call is not a command, so it leaves histories unchanged and
 * recorded histories replay as before. The core worker registers them with
 * `callDuringReplay: false`: a fact is counted when its workflow task first runs, not again
 * when an evicted workflow is replayed (a task retried after a worker crash may count twice).
 * Every field is a bounded label value (never an instance id) or a measurement.
 */
export interface MetricsSinks extends Sinks {
  tempojobMetrics: {
    /** A workflow started an instance: a schedule's fire, a FIXED_DELAY clock, a DAG's JOB node. */
    instanceStarted(fact: { app: string; jobId: number; trigger: 'schedule' | 'fixed_delay' | 'workflow' }): void;
    /** An instance reached its fire time and runs: actual − expected trigger time. */
    instanceFired(fact: { app: string; jobId: number; latenessMs: number }): void;
    /** An instance attempt failed and will be tried again after the backoff. */
    instanceRetried(fact: { app: string; jobId: number; executeType: string }): void;
    /** An instance run ended with this status. */
    instanceFinished(fact: { app: string; jobId: number; executeType: string; status: string }): void;
    /** A schedule's fire was later than its misfire threshold; the policy ran it late or dropped it. `job` is a job id, or `wf:<id>` for a CRON workflow. */
    misfire(fact: { app: string; job: string; policy: string; decision: 'run_late' | 'dropped' }): void;
  };
}
