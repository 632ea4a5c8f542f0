/** asyncio's `as_completed`, as an async iterator of results in the order they settle. */
import { captureSite, placeLeftover } from '../call-site.js';
import { CancelledError } from '../errors.js';
import * as check from '../validate.js';
import { checkAwaitables, start, stopEach, type Awaitable, type AwaitedOf } from './task.js';

type Settled<T> = ({ readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown }) & { readonly from: PromiseLike<T> };

/**
 * Yields each awaitable's value as soon as it settles, fastest first. A rejection is thrown from
 * the loop. Leaving the loop early (`break`, a throw) cancels the awaitables still running.
 *
 * @throws {TypeError} from the loop when `items` is not an iterable of awaitables.
 * @example
 * for await (const page of asCompleted(urls.map((url) => toThread(fetchSync, url)))) render(page)
 */
export async function* asCompleted<A extends Awaitable<unknown>>(items: Iterable<A>): AsyncGenerator<AwaitedOf<A>, void, undefined> {
  const site = captureSite(asCompleted); // the loop that reads it: where a failed toThread() call surfaces
  check.iterable('items', items);
  const all = pullAll(items);
  checkAwaitables(all);
  const started = all.map((item) => start(item as Awaitable<AwaitedOf<A>>));
  const settled: Array<Settled<AwaitedOf<A>>> = [];
  let wake: (() => void) | undefined;
  for (const promise of started) {
    promise.then(
      (value) => settled.push({ ok: true, value, from: promise }),
      (error: unknown) => {
        placeLeftover(error, site);
        settled.push({ ok: false, error, from: promise });
      },
    ).then(() => wake?.());
  }
  // What the loop has been handed is the caller's (a permit it holds): never stopped after.
  const handed = new Set<PromiseLike<unknown>>();
  let yielded = 0; // not handed.size: the same promise may be given twice
  try {
    while (yielded < started.length) {
      if (settled.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const next = settled.shift()!;
      handed.add(next.from);
      yielded++;
      if (!next.ok) throw next.error;
      yield next.value;
    }
  } finally {
    if (yielded < started.length) {
      const reason = new CancelledError('asCompleted() was left before every awaitable settled');
      stopEach(started.filter((promise) => !handed.has(promise)), reason);
    }
  }
}

/**
 * Every item of `items`. An iterable that throws part way has handed over items already running
 * (calls, tasks): they are stopped with its error and watched, as for an item that is not
 * awaitable (see checkAwaitables), and the error is thrown.
 */
function pullAll<A>(items: Iterable<A>): A[] {
  const pulled: A[] = [];
  try {
    for (const item of items) pulled.push(item);
  } catch (error) {
    stopEach(pulled, error, true);
    throw error;
  }
  return pulled;
}
