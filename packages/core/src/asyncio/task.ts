/**
 * Task handles (asyncio's `create_task`): the work starts now; the handle can be awaited, cancelled
 * (which stops every offloaded call inside it) and inspected.
 */
import { captureSite, placeLeftover } from '../call-site.js';
import { cancelAwaitable, onCancel } from '../cancel.js';
import { CancelledError } from '../errors.js';
import * as check from '../validate.js';
import { CancelScope } from './scope.js';

/** Where a task is: still running, or how it ended. */
export type TaskState = 'pending' | 'fulfilled' | 'rejected' | 'cancelled';

/** Something a tool can wait on: a promise (or task), or a function to start as a task. */
export type Awaitable<T> = PromiseLike<T> | ((signal: AbortSignal) => T | PromiseLike<T>);

/** The value an {@link Awaitable} settles with. */
export type AwaitedOf<A> = A extends (signal: AbortSignal) => infer R ? Awaited<R> : Awaited<A>;

/** Options of {@link createTask}. */
export interface TaskOptions {
  /** Cancels the task when it aborts. @default none */
  signal?: AbortSignal;
  /** A name for messages and debugging. @default the function's name */
  name?: string;
}

/**
 * A running piece of work. Await it like a promise; `cancel()` stops it.
 *
 * A cancelled task that nobody awaits is not reported as an unhandled rejection; a task that fails
 * and is never awaited is, as a promise would be.
 *
 * @example
 * const task = new Task((signal) => toThread(buildReportSync, data))
 * task.state      // 'pending'
 * await task      // the report
 */
export class Task<T> implements PromiseLike<T> {
  readonly name: string;
  readonly #scope: CancelScope;
  readonly #promise: Promise<T>;
  /** The body's own end, which may come after a cancel rejected the task: never rejects. */
  readonly #ended: Promise<{ readonly error: unknown } | undefined>;
  #state: TaskState = 'pending';
  /** What the function returned (a promise that can be cancelled, say). */
  #returned: unknown;
  #observed = false;
  /** Whether the task's promise has settled: from that moment, before `state` says how (a tick later). */
  readonly #settled: () => boolean;
  readonly #claim: () => void;

  /** @throws {TypeError} when `fn` is not a function. */
  constructor(fn: (signal: AbortSignal) => T | PromiseLike<T>, options?: TaskOptions) {
    if (typeof fn !== 'function') throw check.typeError('fn', 'a function', fn);
    const raw = check.optionsObject('options', options);
    check.knownKeys('options', raw, ['signal', 'name']);
    this.name = check.optionalString('options.name', raw.name) ?? (fn.name || 'task');
    this.#scope = CancelScope.oneRun({ signal: check.optionalSignal('options.signal', raw.signal) });
    const { result, body, settled, claim } = this.#scope.runBody((scope) => (this.#returned = fn(scope.signal)));
    this.#claim = claim;
    this.#promise = result;
    this.#settled = settled;
    this.#ended = body.then(() => undefined, (error: unknown) => ({ error }));
    // Where the task was made: the call site of a failed toThread() call awaited only through it.
    const site = captureSite(Task);
    this.#promise.then(
      () => {
        this.#state = 'fulfilled';
      },
      (error: unknown) => {
        placeLeftover(error, site);
        // Cancelled means it ended *because of* a cancel: its own (a failure of its own that came
        // first stays a failure), or one it let through, a task it awaited was cancelled (as in
        // asyncio, where a CancelledError leaving a task's coroutine cancels the task).
        this.#state = (this.#scope.cancelled && error === this.#scope.signal.reason) || error instanceof CancelledError ? 'cancelled' : 'rejected';
        // Unobserved failures surface as unhandled rejections (as a bare promise's would);
        // unobserved cancellations do not: the caller asked for them.
        if (this.#state === 'rejected') setImmediate(() => this.#observed || Promise.reject(error));
      },
    );
    // Stopped by gather, asCompleted or waitFor, what its function returned is stopped too, even once
    // the task has its value (never handed on): a queue.get() puts its item back, as a permit is released.
    onCancel(this, (reason) => {
      if (!this.cancel(reason)) cancelAwaitable(this.#returned, reason); // cancel() forwards it while pending
    });
  }

  /** `'pending'`, `'fulfilled'`, `'rejected'` or `'cancelled'`. */
  get state(): TaskState {
    return this.#state;
  }

  /** Whether the task has settled. */
  get done(): boolean {
    return this.#state !== 'pending';
  }

  /**
   * @internal Settles when the task's function has ended, with what it threw (`undefined`: it
   * returned): after a cancel, that may be later than the task, while it cleans up.
   */
  get ended(): Promise<{ readonly error: unknown } | undefined> {
    this.#claim(); // what it throws while cleaning up is its reader's to report (a task group's failure)
    return this.#ended;
  }

  /**
   * @internal Resolves once the task has settled, however it did, without counting as awaiting it:
   * a failure nobody awaits is still reported.
   */
  get whenSettled(): Promise<void> {
    return this.#promise.then(
      () => undefined,
      () => undefined,
    );
  }

  /** Aborts when the task is cancelled: hand it to APIs that take a signal. */
  get signal(): AbortSignal {
    return this.#scope.signal;
  }

  /**
   * Cancels the task: offloaded calls inside it are stopped, and awaiting it rejects with `reason`
   * (a `CancelledError` when none is given). Returns false when the task had already settled.
   */
  cancel(reason: unknown = new CancelledError(`The task \`${this.name}\` was cancelled`)): boolean {
    if (this.#settled()) return false;
    this.#scope.cancel(reason); // what its function returned is cancelled with it (see CancelScope#run)
    return true;
  }

  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.#observed = true;
    return this.#promise.then(onFulfilled, onRejected);
  }

  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this.then(undefined, onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<T> {
    this.#observed = true;
    return this.#promise.finally(onFinally);
  }
}

/**
 * Starts `fn` now as a {@link Task} (asyncio's `create_task`). `fn` receives the task's signal.
 *
 * @throws {TypeError} when `fn` is not a function.
 * @example
 * const report = createTask(() => toThread(buildReportSync, data))
 * // … later
 * report.cancel()            // the worker running buildReportSync is stopped
 * await report.catch(() => {})
 */
export function createTask<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, options?: TaskOptions): Task<Awaited<T>> {
  return new Task(fn as (signal: AbortSignal) => Awaited<T> | PromiseLike<Awaited<T>>, options);
}

/**
 * Starts each awaitable as something cancellable: a function becomes a task, a promise is used as
 * it is (a `toThread()` promise or a task can be cancelled; another promise cannot).
 */
export function start<T>(item: Awaitable<T>, signal?: AbortSignal): PromiseLike<T> {
  if (typeof item === 'function') return new Task(item, signal ? { signal } : undefined);
  checkAwaitable(item);
  return item;
}

/**
 * Checks every item before any of them starts. On one that is not awaitable, the promises and
 * tasks handed over with it (running already) are stopped with the error and watched, and it
 * throws: nothing is left running unseen.
 *
 * @throws {TypeError} naming the item that is not a promise, a task or a function.
 */
export function checkAwaitables(items: readonly unknown[]): void {
  try {
    items.forEach((item, index) => checkAwaitable(item, index));
  } catch (error) {
    stopEach(items, error, true);
    throw error;
  }
}

/**
 * @throws {TypeError} unless `item` is a promise, a task or a function: what {@link start} takes;
 *   named by its place `index` among the items, if it has one.
 */
function checkAwaitable(item: unknown, index?: number): void {
  if (typeof item === 'function') return;
  if (item === null || typeof (item as { then?: unknown })?.then !== 'function') {
    const error = check.typeError(index === undefined ? 'awaitable' : `items[${index}]`, 'a promise, a task or a function', item);
    // gather([a, b]) for gather(a, b): an array is not awaited as a whole.
    if (Array.isArray(item)) error.message += ': pass the items themselves, gather(...items)';
    throw error;
  }
}

/**
 * Stops an awaitable a caller handed over and will not see again (its gather or loop ended before
 * using it), and watches it: its rejection must not surface as unhandled. Anything that is not a
 * promise or a task is left alone.
 */
export function stopAndWatch(item: unknown, reason: unknown): void {
  if (typeof (item as { then?: unknown } | null)?.then !== 'function') return;
  stop(item as PromiseLike<unknown>, reason);
  Promise.resolve(item as PromiseLike<unknown>).catch(() => {});
}

/** Cancels what {@link start} returned, where that is possible. */
export function stop(item: PromiseLike<unknown>, reason: unknown): void {
  cancelAwaitable(item, reason);
}

/**
 * Cancels each of `items`, the last first: what they took goes back in their order, as each
 * queue.get() puts its item back at the head of its queue. With `watch`, as {@link stopAndWatch}:
 * for items nobody awaits yet, whose rejection is then observed.
 */
export function stopEach(items: readonly unknown[], reason: unknown, watch = false): void {
  for (let i = items.length - 1; i >= 0; i--) {
    if (watch) stopAndWatch(items[i], reason);
    else stop(items[i] as PromiseLike<unknown>, reason);
  }
}
