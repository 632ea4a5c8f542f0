/**
 * asyncio's `gather`: run awaitables together, results in argument order. The gather is a task:
 * cancelling it cancels every child (their workers stopped). As in asyncio, the first failure
 * rejects the gather and the other children go on; use a TaskGroup to stop them instead.
 */
import * as check from '../validate.js';
import { checkAwaitables, start, stopEach, Task, type Awaitable, type AwaitedOf } from './task.js';

/** Options of `gather.with()`. */
export interface GatherOptions {
  /** Put errors in the results, in their argument's place, instead of rejecting. @default false */
  returnExceptions?: boolean;
  /** Cancels the gather, and so its children. @default none */
  signal?: AbortSignal;
}

type Results<A extends readonly unknown[]> = { -readonly [K in keyof A]: AwaitedOf<A[K]> };
type Outcomes<A extends readonly unknown[]> = { -readonly [K in keyof A]: AwaitedOf<A[K]> | Error };

/** `gather(...items)` and its variants. */
export interface Gather {
  /**
   * @example
   * const [coffee, bagel] = await gather(toThread(brewCoffee), toThread(toastBagel))
   * const [a, b] = await gather(() => toThread(stepA), () => toThread(stepB))
   */
  <const A extends readonly Awaitable<unknown>[]>(...items: A): Task<Results<A>>;
  /**
   * The same with options. With `returnExceptions: true` each failure takes its argument's place
   * in the results (thrown non-errors appear as they were thrown).
   *
   * @throws {TypeError} when an option is invalid.
   */
  with(options: GatherOptions & { returnExceptions: true }): GatherSettled;
  with(options: GatherOptions): Gather;
}

/** `gather.with({ returnExceptions: true })`. */
export interface GatherSettled {
  <const A extends readonly Awaitable<unknown>[]>(...items: A): Task<Outcomes<A>>;
}

function make(options: GatherOptions): Gather {
  const raw = check.optionsObject('options', options);
  check.knownKeys('options', raw, ['returnExceptions', 'signal']);
  const returnExceptions = check.optionalBoolean('options.returnExceptions', raw.returnExceptions) ?? false;
  const signal = check.optionalSignal('options.signal', raw.signal);
  const gather = ((...items: Awaitable<unknown>[]) => {
    let ran = false;
    let detach: (() => void) | undefined;
    const task = new Task(
      async (taskSignal) => {
        ran = true;
        checkAwaitables(items); // a bad item fails the gather before any child starts
        // Functions start inside the gather's scope; promises made outside are stopped explicitly.
        const children = items.map((item) => start(item));
        const cancelChildren = (): void => stopEach(children, taskSignal.reason);
        taskSignal.addEventListener('abort', cancelChildren, { once: true });
        detach = () => taskSignal.removeEventListener('abort', cancelChildren);
        if (!returnExceptions) return await Promise.all(children);
        return await Promise.all(children.map((child) => Promise.resolve(child).then((v) => v, (e: unknown) => e)));
      },
      { name: 'gather', ...(signal ? { signal } : {}) },
    );
    // Its children are stopped by a cancel until the gather itself has settled: one that comes
    // after they settled, before the gather did, gives back what they took (a queue's item, a
    // semaphore's permit), as the gather then rejects with it.
    // Not an await of the gather: one that fails with nobody awaiting it is reported, as a task is.
    void task.whenSettled.then(() => detach?.());
    // Refused at once (its signal or scope already aborted): the promises it was given, running
    // already, are stopped as a cancelled gather's are, and watched (their rejection is the
    // gather's to report).
    if (!ran) stopEach(items, task.signal.reason, true);
    return task;
  }) as Gather;
  // Checked before it is spread: `gather.with(true)` would spread to nothing, and be ignored.
  gather.with = ((next: GatherOptions) => make({ ...options, ...check.optionsObject('options', next) })) as Gather['with'];
  return gather;
}

/** Runs awaitables together; see {@link Gather}. */
export const gather: Gather = make({});
