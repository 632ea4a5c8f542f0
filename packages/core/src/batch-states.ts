/**
 * The states of a call's slot in a batch, shared by the main thread and the worker through a
 * `SharedArrayBuffer` and changed only with Atomics: a call runs only if the worker moves its slot
 * from PENDING to RUNNING, and the main thread skips a call only by moving it from PENDING to SKIPPED.
 */
export const PENDING = 0;
export const RUNNING = 1;
/** The call ran and its answer was posted. */
export const DONE = 2;
export const SKIPPED = 3;
