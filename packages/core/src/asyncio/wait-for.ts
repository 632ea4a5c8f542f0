/** asyncio's `wait_for`: a deadline on one awaitable, and the work behind it stopped when it passes. */
import { captureSite, locate } from '../call-site.js';
import { currentSignal, onCancel } from '../cancel.js';
import { TimeoutError } from '../errors.js';
import { watchSignal } from '../signal-watch.js';
import * as check from '../validate.js';
import { start, stop, stopAndWatch, type Awaitable, type AwaitedOf } from './task.js';

/**
 * Waits at most `ms` for `item`: a `toThread()` promise, a task, or a function (started as a task).
 * On expiry the work is stopped (a running offloaded call has its worker terminated) and the
 * promise rejects with a `TimeoutError`. A promise tothread did not create cannot be stopped: it is
 * only no longer waited for.
 *
 * @throws {RangeError} (as a rejection) when `ms` is not a number of milliseconds from 0 to 2147483647 (2³¹−1); {@link TimeoutError} on expiry.
 * @example
 * const rows = await waitFor(toThread(parseSync, text), 2_000)
 * const sum = await waitFor(() => toThread(sumSync, big), 500)
 */
export function waitFor<A extends Awaitable<unknown>>(item: A, ms: number): Promise<AwaitedOf<A>> {
  // Cancelled itself (by gather, asCompleted, an outer waitFor), it stops what it waits for.
  const hooks: Hooks = {};
  const waiting = waitUntil(item, ms, hooks);
  onCancel(waiting, (reason) => hooks.cancel?.(reason));
  return waiting;
}

/** How a wait is cancelled, once it waits. */
interface Hooks {
  cancel?: (reason: unknown) => void;
}

async function waitUntil<A extends Awaitable<unknown>>(item: A, ms: number, hooks: Hooks): Promise<AwaitedOf<A>> {
  let limit: number;
  try {
    limit = check.duration('ms', ms);
  } catch (error) {
    stopAndWatch(item, error); // a call handed over is stopped, and its rejection observed
    throw error;
  }
  const scope = currentSignal();
  if (scope?.aborted) {
    stopAndWatch(item, scope.reason); // a call handed over is stopped, and its rejection observed
    throw scope.reason;
  }
  const site = captureSite(waitFor); // its TimeoutError shows where the wait began
  const started = start(item as Awaitable<AwaitedOf<A>>);
  let timer: NodeJS.Timeout | undefined;
  let unwatch: (() => void) | undefined;
  const ended = new Promise<never>((_, reject) => {
    const end = (error: unknown): void => {
      stop(started, error);
      reject(error);
    };
    timer = setTimeout(() => end(locate(new TimeoutError('waitFor()', limit), site)), limit);
    // An enclosing scope that ends first ends the wait too (and its timer, which would keep the
    // process alive), even for a promise tothread cannot stop.
    if (scope !== undefined) unwatch = watchSignal(scope, end);
    hooks.cancel = end;
  });
  try {
    return await Promise.race([started, ended]);
  } finally {
    clearTimeout(timer);
    unwatch?.();
  }
}
