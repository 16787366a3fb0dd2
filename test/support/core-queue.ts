/** The core task queue of a test run: one, as in production, served by the run's core worker. */
export const TEST_CORE_TASK_QUEUE = 'tempojob-core-test';
