/**
 * `@tothread/core/worker`: for code that runs on a worker and wants to stop cleanly when its call
 * is cancelled. It only sees cancellations of calls made with a `grace` period: without one, the
 * worker is terminated at once and there is nothing to cooperate with.
 *
 * @example
 * import { isCancelled } from '@tothread/core/worker'
 * export function importRowsSync(rows) {
 *   for (const row of rows) {
 *     if (isCancelled()) return { done: false }   // stop between rows, leave no half-written row
 *     insertSync(row)
 *   }
 *   return { done: true }
 * }
 */
import { checkCancelled, getContext } from '../worker/context.js';

/**
 * Whether the call running on this thread has been cancelled (its timeout fired or its signal
 * aborted) and is in its grace period. Cheap enough to call in a loop: one atomic read.
 */
export function isCancelled(): boolean {
  return checkCancelled(getContext());
}

/** Throws when {@link isCancelled} is true, to unwind a sync loop at a safe point. */
export function throwIfCancelled(): void {
  if (isCancelled()) throw getContext()!.controller!.signal.reason;
}

/**
 * An AbortSignal that aborts when the call running on this thread is cancelled: hand it to async
 * APIs (`fetch(url, { signal: cancelSignal() })`). Outside a call it never aborts.
 */
export function cancelSignal(): AbortSignal {
  const context = getContext();
  if (context === undefined) return new AbortController().signal;
  context.controller ??= new AbortController();
  checkCancelled(context);
  return context.controller.signal;
}
