/**
 * Promises that reject with no handler. One that rejects while a task runs ends the worker under
 * it, as an uncaught exception does: that call gets a `WorkerExitError`. One that a call left
 * behind, found only after the call answered (a `Promise.reject()` nobody awaited in sync code),
 * is reported to the main thread as a warning, and the worker goes on: the next call, which did
 * nothing wrong, must not fail for it.
 */
import { parentPort } from 'node:worker_threads';
import { OUTSIDE_ANY_CALL, type StrayMessage } from '../protocol.js';

/** Tasks running on this thread now. */
let running = 0;
/** Tasks this thread has begun and not yet answered (a wait for output included): see {@link answering}. */
let unanswered = 0;

/** Has the main thread emit a process warning about what a finished call left behind. */
export function warnMainThread(code: string, text: string): void {
  parentPort?.postMessage(['tothread:stray', code, text] satisfies StrayMessage);
}

process.on('unhandledRejection', (reason: unknown) => {
  if (running > 0) throw reason;
  // Its message and the frame that made it: the frames under it are tothread's own.
  const what = reason instanceof Error ? (reason.stack ?? String(reason)).split('\n').slice(0, 2).join('\n') : String(reason);
  warnMainThread('TOTHREAD_UNHANDLED_REJECTION', `A promise rejected with no handler on a worker thread after the call that made it had answered (the worker goes on): ${what}`);
});

// An exception thrown while no task has begun is marked as it goes by: if it ends the worker (no
// handler of the user's keeps it alive), the call Piscina handed the worker meanwhile never
// started, and must not fail for it. A monitor, not a handler: the exception stays as fatal as it
// was, and the worker still exits as Node ends it ('exit' listeners run). A thrown primitive or a
// frozen error cannot be marked: that call then fails with it, as before.
process.on('uncaughtExceptionMonitor', (error: unknown) => {
  if (unanswered > 0 || typeof error !== 'object' || error === null) return;
  try {
    Object.defineProperty(error, OUTSIDE_ANY_CALL, { value: true, enumerable: true, configurable: true });
  } catch {
    // frozen, or a Proxy that refuses
  }
});

/**
 * Runs a task, counted until its answer has gone: no exception meanwhile is outside any call.
 * Piscina posts the answer in the microtasks after `task` settles, and a microtask the call left
 * may throw before that: the count drops only in the next turn of the event loop, once it has.
 */
export function answering<T>(task: () => T): T {
  unanswered++;
  const answered = (): void => void setImmediate(() => unanswered--);
  let result: T;
  try {
    result = task();
  } catch (error) {
    answered();
    throw error;
  }
  if (result instanceof Promise) return result.finally(answered) as T;
  answered();
  return result;
}

/** Runs a task, counted as running until what it returns has settled. */
export function counted<T>(task: () => T): T {
  running++;
  let result: T;
  try {
    result = task();
  } catch (error) {
    running--;
    throw error;
  }
  if (result instanceof Promise) return result.finally(() => running--) as T;
  running--;
  return result;
}

/** Waits for `wait` as no task's: a rejection found meanwhile is one a finished call left behind. */
export function outsideTask<T>(wait: Promise<T>): Promise<T> {
  running--;
  return wait.finally(() => running++);
}
