/**
 * Promises that reject with no handler. One that rejects while a task runs ends the worker under
 * it, as an uncaught exception does: that call gets a `WorkerExitError`. One that a call left
 * behind, found only after the call answered (a `Promise.reject()` nobody awaited in sync code),
 * is reported to the main thread as a warning, and the worker goes on: the next call, which did
 * nothing wrong, must not fail for it.
 */
import { serialize } from 'node:v8';
import { parentPort } from 'node:worker_threads';
import { OUTSIDE_ANY_CALL, type OutsideAnyCall, type StrayMessage, type TaskResponse } from '../protocol.js';

/** Tasks running on this thread now. */
let running = 0;
/** The id of the last task this thread began (0: none yet; -1: a batch, see TaskRequest.id). */
let lastBegun = 0;
/**
 * The answer of that task, once it has settled, for {@link KEPT_MS}: if this thread dies outside
 * any task meanwhile, the main thread may learn of the death before the answer, which is then lost
 * with the thread, and the death carries it again (see {@link OUTSIDE_ANY_CALL}).
 */
let lastAnswer: TaskResponse | undefined;
/**
 * How long an answer is kept. The main thread reads an answer posted before a death first unless
 * it was reading its messages at that very moment: it then reads it within that turn of its loop.
 */
const KEPT_MS = 1_000;
const forget = setTimeout(() => (lastAnswer = undefined), KEPT_MS).unref();

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

// An exception thrown while no task runs (a timer a finished call left behind) is marked as it
// goes by, with the id of the last task this thread began: if it ends the worker (no handler of the
// user's keeps it alive), a task Piscina handed the worker meanwhile never started unless it is
// that one, and must not fail for it. That one had settled: its answer may or may not have reached
// the main thread. A monitor, not a handler: the exception stays as fatal as it was, and the worker
// still exits as Node ends it ('exit' listeners run). A thrown primitive or a frozen error cannot
// be marked: the task in flight then fails with it, as before.
process.on('uncaughtExceptionMonitor', (error: unknown) => {
  if (running > 0 || typeof error !== 'object' || error === null) return;
  try {
    // Node sends the error with v8.serialize, which refuses what postMessage takes (a bare
    // SharedArrayBuffer): the mark would be lost with it, so such an answer stays behind.
    const answer = lastAnswer !== undefined && serializable(lastAnswer) ? lastAnswer : undefined;
    const said: OutsideAnyCall = answer === undefined ? { begun: lastBegun } : { begun: lastBegun, answer };
    Object.defineProperty(error, OUTSIDE_ANY_CALL, { value: said, enumerable: true, configurable: true });
  } catch {
    // frozen, or a Proxy that refuses
  }
});

function serializable(value: unknown): boolean {
  try {
    serialize(value);
    return true;
  } catch {
    return false;
  }
}

/** Notes that the task `id` begins here (see {@link OUTSIDE_ANY_CALL}). */
export function begins(id: number): void {
  lastBegun = id;
  lastAnswer = undefined;
}

/**
 * Keeps the answer of the task begun last for a moment (see {@link lastAnswer}), unless it moves
 * buffers back (they are gone from here once posted) or the task was a batch (its answers are in
 * shared memory). Returns `answer`.
 */
export function answers<T>(answer: T): T {
  if (lastBegun > 0 && typeof answer === 'object' && answer !== null && 'ok' in answer) {
    lastAnswer = answer as unknown as TaskResponse;
    forget.refresh();
  }
  return answer;
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
