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
import { checkCancelled, getContext, markToMove } from '../worker/context.js';
import * as check from '../validate.js';

/**
 * Whether the call running on this thread has been cancelled (its timeout fired or its signal
 * aborted) and is in its grace period. Cheap enough to call in a loop: one atomic read.
 *
 * @example
 * while (!isCancelled() && rows.length) insertSync(rows.shift())
 */
export function isCancelled(): boolean {
  return checkCancelled(getContext());
}

/**
 * Throws when {@link isCancelled} is true, to unwind a sync loop at a safe point.
 *
 * @example
 * for (const file of files) { throwIfCancelled(); convertSync(file) }
 */
export function throwIfCancelled(): void {
  if (isCancelled()) throw getContext()!.controller!.signal.reason;
}

/**
 * An AbortSignal that aborts when the call running on this thread is cancelled: hand it to async
 * APIs. Outside a call it never aborts.
 *
 * @example
 * export async function fetchAllAsync(urls) { return Promise.all(urls.map((u) => fetch(u, { signal: cancelSignal() }))) }
 */
export function cancelSignal(): AbortSignal {
  const context = getContext();
  if (context === undefined) return new AbortController().signal;
  context.controller ??= new AbortController();
  checkCancelled(context);
  return context.controller.signal;
}

/**
 * Marks a buffer (an ArrayBuffer, or a typed array or DataView over one) that worker code returns,
 * so it moves to the main thread instead of being copied. It becomes unusable in the worker.
 * (A buffer that arrived transferred moves back by itself.) Returns `value`.
 *
 * @example
 * import { transfer } from '@tothread/core/worker'
 * export function renderSync(width, height) { return transfer(new Uint8Array(width * height * 4)) }
 */
export function transfer<T extends ArrayBuffer | ArrayBufferView>(value: T): T {
  if (!(value instanceof ArrayBuffer) && !ArrayBuffer.isView(value)) throw check.typeError('value', 'an ArrayBuffer, or a typed array or DataView over one', value);
  markToMove(value);
  return value;
}
