/**
 * asyncio's `TaskGroup`: structured concurrency. The group waits for all its tasks; the first
 * failure cancels the others (their workers stopped), waits for them, and rejects with a
 * `TaskGroupError` of the failures.
 */
import { isCancellation, onCancel, withSignal } from '../cancel.js';
import { CancelledError, TaskGroupClosedError, TaskGroupError } from '../errors.js';
import * as check from '../validate.js';
import { CancelScope } from './scope.js';
import { Task, type TaskOptions } from './task.js';

/**
 * A group of tasks that live and die together.
 *
 * @example
 * await taskGroup(async (group) => {
 *   group.create(() => toThread(resizeSync, a))
 *   group.create(() => toThread(resizeSync, b))
 * }) // resolves when both are done; if one fails, the other is stopped
 */
export class TaskGroup implements AsyncDisposable {
  /**
   * The group's scope. It follows the scope the group was made in from the group's first use until
   * it closes and what its tasks left running has ended (see {@link #open}): not through
   * `AbortSignal.any`, which Node 20 and 22 keep for as long as that scope lives (see
   * CancelScope.oneRun).
   */
  readonly #scope = CancelScope.oneRun();
  /** Stops following the enclosing scope: set while the group is in use. */
  #unfollow: (() => void) | undefined;
  readonly #tasks = new Set<Task<unknown>>();
  readonly #errors: unknown[] = [];
  #closed = false;
  #wakers: Array<() => void> = [];
  /** The reason the group cancelled its own tasks with (after a failure). */
  #ownReason: CancelledError | undefined;

  /** Aborts when the group cancels its tasks, or when the scope it was made in is cancelled while the group is open (not once it has closed). */
  get signal(): AbortSignal {
    return this.#open().signal;
  }

  /**
   * Starts `fn` as a task of the group.
   *
   * @throws {TaskGroupClosedError} when the group has finished.
   */
  create<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, options?: Omit<TaskOptions, 'signal'>): Task<Awaited<T>> {
    if (this.#closed) throw new TaskGroupClosedError();
    this.#open();
    // The task belongs to the group, as in asyncio: it stops with the group's scope, not with the
    // scope create() is called in (another task's, say).
    const task = withSignal(this.#scope.signal, () => new Task(fn as (signal: AbortSignal) => Awaited<T>, options));
    this.#tasks.add(task);
    task.then(
      () => this.#settled(task),
      (error: unknown) => {
        // A cancelled task (by the group, or on its own) is not a failure, as in asyncio; but it
        // counts as done only once its function has ended (a finally block cleaning up), and an
        // error it throws then, other than the cancellation, is a failure.
        if (task.state !== 'cancelled') {
          this.#fail(error);
          return this.#settled(task);
        }
        void task.ended.then((end) => {
          if (end !== undefined && end.error !== error && !isCancellation(end.error, task.signal)) this.#fail(end.error);
          this.#settled(task);
        });
      },
    );
    return task;
  }

  /**
   * Waits for every task (including tasks created while waiting), then closes the group.
   *
   * @throws {TaskGroupError} when any task failed.
   */
  async wait(): Promise<void> {
    this.#open(); // an enclosing scope cancelled already is seen
    while (this.#tasks.size > 0) await new Promise<void>((resolve) => this.#wakers.push(resolve));
    this.#closed = true;
    // Calls its tasks left running are still stopped by the enclosing scope, until they end.
    if (this.#unfollow !== undefined) this.#scope.release(this.#unfollow);
    this.#unfollow = undefined;
    if (this.#errors.length > 0) throw new TaskGroupError(this.#errors);
    // An enclosing scope cancelled the group: it has not done its work, and the cancel goes on up.
    const { signal } = this.#scope;
    if (signal.aborted && signal.reason !== this.#ownReason) throw signal.reason;
  }

  /** `await using group = new TaskGroup()` waits for the group at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.wait();
  }

  /**
   * The group's scope, following the enclosing scope (cancelled at once if that has been) until the
   * group closes. A group made and never used follows nothing, and so is not kept by that scope.
   */
  #open(): CancelScope {
    if (this.#unfollow === undefined && !this.#closed) this.#unfollow = this.#scope.followParents();
    return this.#scope;
  }

  /**
   * Records a failure and cancels the other tasks. The same error seen twice (a task's, then the
   * body's that awaited it) counts once; the group's own cancellation is not a failure.
   */
  #fail(error: unknown): void {
    if (this.#errors.includes(error) || (this.#scope.cancelled && error === this.#scope.signal.reason)) return;
    this.#errors.push(error);
    this.#ownReason ??= new CancelledError('Cancelled because another task of its group failed');
    this.#scope.cancel(this.#ownReason);
  }

  #settled(task: Task<unknown>): void {
    this.#tasks.delete(task);
    if (this.#tasks.size === 0) for (const wake of this.#wakers.splice(0)) wake();
  }

  /**
   * @internal Runs the group's body, for {@link taskGroup}. Its promise, cancelled by what holds it
   * (gather, asCompleted, waitFor, a task), cancels the group: its tasks are stopped, and once they
   * have ended it rejects with the reason, as asyncio's TaskGroup does when its task is cancelled.
   */
  run<T>(fn: (group: TaskGroup) => T | PromiseLike<T>): Promise<T> {
    const result = this.#run(fn);
    onCancel(result, (reason) => this.#scope.cancel(reason));
    return result;
  }

  async #run<T>(fn: (group: TaskGroup) => T | PromiseLike<T>): Promise<T> {
    if (typeof fn !== 'function') throw check.typeError('fn', 'a function', fn);
    let result: T | undefined;
    let thrown: { error: unknown } | undefined;
    try {
      result = await withSignal(this.#open().signal, () => fn(this));
    } catch (error) {
      thrown = { error };
      // The body stopped by the group's cancellation (its own, or an enclosing scope's), e.g. a
      // Node API given `group.signal`, did not fail: as for a task. Nor did a body that let a
      // CancelledError out (one of its awaits was cancelled): as in asyncio, its tasks are
      // cancelled with it, and the cancellation goes on up.
      if (!(this.#scope.cancelled && isCancellation(error, this.#scope.signal))) {
        if (error instanceof CancelledError) this.#scope.cancel(error);
        else this.#fail(error);
      }
    }
    await this.wait(); // throws TaskGroupError when the body or a task failed
    // The body ended by a cancellation (not a failure of the group): it has no result, so the
    // cancellation goes on up.
    if (thrown !== undefined) throw thrown.error;
    return result as T;
  }
}

/**
 * Runs `fn` with a new {@link TaskGroup} and waits for every task it created. Resolves with what
 * `fn` returned; rejects with a `TaskGroupError` when `fn` or any task failed (the other tasks are
 * cancelled first, and waited for). Cancelled by what holds its promise (gather, asCompleted,
 * waitFor, a task), it cancels its tasks and rejects with the reason once they have ended.
 *
 * @example
 * const [a, b] = await taskGroup(async (group) => {
 *   const a = group.create(() => toThread(parseSync, left))
 *   const b = group.create(() => toThread(parseSync, right))
 *   return [await a, await b]
 * })
 */
export function taskGroup<T>(fn: (group: TaskGroup) => T | PromiseLike<T>): Promise<T> {
  return new TaskGroup().run(fn);
}
