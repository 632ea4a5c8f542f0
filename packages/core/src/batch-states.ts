/**
 * The states of a call's slot in a batch, shared by the main thread and the worker through a
 * `SharedArrayBuffer` and changed only with Atomics: a call runs only if the worker moves its slot
 * from PENDING to RUNNING (or LOADING), and the main thread skips a call only by moving it from
 * PENDING to SKIPPED.
 */
export const PENDING = 0;
export const RUNNING = 1;
/** The call ran and its answer was posted. */
export const DONE = 2;
export const SKIPPED = 3;
/**
 * The worker took the call and is loading its function's module, to run it next. Stopping it
 * (a cancel, a timeout) stops the worker, as for RUNNING; if the worker dies meanwhile, the call
 * had not started, and runs elsewhere.
 */
export const LOADING = 4;
/**
 * The call ran and returned a value small enough to be its own state: its answer is in shared
 * memory (see inline-answers.ts), not in a message. From INLINE up, the state says which value.
 */
export const INLINE = 5;
