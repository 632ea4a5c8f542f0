/**
 * Cancel scopes (asyncio's `timeout()` and cancellation, trio's cancel scopes): everything
 * offloaded inside a scope, however deep, is stopped when the scope is cancelled, without passing
 * a signal by hand. Scopes nest: cancelling an outer scope cancels the inner ones.
 */
import { captureSite, locate } from '../call-site.js';
import { cancelAwaitable, currentSignal, isCancellation, onCancel, registerRejoin, rejoin, withoutSignal, withSignal } from '../cancel.js';
import { watchSignal, whenUnwatched } from '../signal-watch.js';
import { CancelledError, TimeoutError, warnThrown } from '../errors.js';
import * as check from '../validate.js';

/** Set while {@link CancelScope.oneRun} constructs its scope. */
let makingOneRun = false;

/** Options of {@link CancelScope} and {@link cancelScope}. */
export interface ScopeOptions {
  /** Another signal that cancels this scope too. @default none */
  signal?: AbortSignal;
}

/**
 * A cancel scope. `run(fn)` runs `fn` inside it; `cancel()` stops every offloaded call started
 * inside (running ones have their workers terminated) and rejects `run()` with the reason.
 *
 * @example
 * const scope = new CancelScope()
 * setTimeout(() => scope.cancel(), 1000)
 * await scope.run(async () => { await toThread(a); await toThread(b) })
 */
export class CancelScope {
  readonly #controller = new AbortController();
  /** The signals it was made to follow: the enclosing scope's where it was made, and `options.signal`. */
  readonly #parents: readonly AbortSignal[];
  /** Made for one run (see {@link oneRun}): it follows its parents only while that run, or work started inside it, lasts. */
  readonly #relaysParents: boolean;
  /** How many hold it following its parents (its run, work started after it: see {@link followParents}). */
  #holds = 0;
  /** Stops following the parents, while it does. */
  #unrelay: (() => void) | undefined;
  /** Aborts when this scope, an enclosing scope, or `options.signal` is cancelled. */
  readonly signal: AbortSignal;

  /** @throws {TypeError} when `options.signal` is not an AbortSignal. */
  constructor(options?: ScopeOptions) {
    const raw = check.optionsObject('options', options);
    check.knownKeys('options', raw, ['signal']);
    const extra = check.optionalSignal('options.signal', raw.signal);
    const parents = [currentSignal(), extra].filter((s): s is AbortSignal => s !== undefined);
    this.#parents = parents;
    this.#relaysParents = makingOneRun && parents.length > 0;
    if (!this.#relaysParents) {
      this.signal = parents.length === 0 ? this.#controller.signal : AbortSignal.any([this.#controller.signal, ...parents]);
      return;
    }
    this.signal = this.#controller.signal;
    const aborted = parents.find((parent) => parent.aborted);
    if (aborted !== undefined) this.cancel(aborted.reason);
    else registerRejoin(this.signal, this);
  }

  /**
   * @internal A scope for a single run (a task, a `timeout()`, `cancelScope()`) or a use that ends
   * (a task group, until it closes): it follows its parents through listeners that its run removes
   * when it ends (see {@link followParents}), not through `AbortSignal.any`. Node 20 and 22 keep
   * ~60 and ~180 bytes per `AbortSignal.any` for as long as a parent lives (nodejs/node#55351): a
   * task or a task group per request under one long-lived signal would grow without end.
   */
  static oneRun(options?: ScopeOptions): CancelScope {
    makingOneRun = true;
    try {
      return new CancelScope(options);
    } finally {
      makingOneRun = false;
    }
  }

  /**
   * @internal Has this scope cancelled with `parent` (the scope it runs in, when that is not the
   * one it was made in), until the returned function is called. A scope made outside a `timeout()`
   * and run inside it is stopped by it, as asyncio and trio bind a scope where it is entered.
   */
  follow(parent: AbortSignal | undefined): () => void {
    if (parent === undefined || parent === this.signal || this.#parents.includes(parent)) return () => {};
    return this.#relay(parent);
  }

  /**
   * @internal Has a scope made by {@link oneRun} cancelled with its parents (at once, if one has
   * been), until the returned function is called; a no-op for any other scope, whose signal
   * follows its parents for good.
   */
  followParents(): () => void {
    if (!this.#relaysParents) return () => {};
    if (this.#holds++ === 0) {
      const stops = this.#parents.map((parent) => this.#relay(parent));
      this.#unrelay = () => stops.forEach((stop) => stop());
    }
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.#holds > 0) return;
      const unrelay = this.#unrelay;
      this.#unrelay = undefined;
      unrelay?.();
    };
  }

  /**
   * @internal Work starts inside this scope (see currentSignal): a scope made by {@link oneRun}
   * that has let its parents go (its run over, nothing of it pending) follows them again, and its
   * parents theirs, until that work is over (see {@link release}). A task's timer that starts a call
   * after the task returned, or a call started after the last one pending ended, is then stopped by
   * an enclosing `timeout()` too; in a scope whose parent was cancelled meanwhile it is refused.
   */
  rejoin(): void {
    if (this.#holds > 0 || this.signal.aborted) return;
    for (const parent of this.#parents) rejoin(parent);
    const stop = this.followParents();
    // Let go once that work is over: what starts it watches the signal within this tick.
    queueMicrotask(() => this.release(stop));
  }

  /**
   * @internal Calls `stop` (what {@link followParents} returned) once nothing started inside the
   * scope is still pending: the calls, waits and inner scopes that watch its signal. A task or
   * `timeout()` that returned while a call it started runs on, or a gather whose first failure
   * rejected it while its other children run, still has that work stopped by an enclosing scope.
   * At once for a scope not made by {@link oneRun}: one that runs many times, with work of its
   * own that may never end, would keep every run's stop.
   */
  release(stop: () => void): void {
    if (this.#relaysParents) whenUnwatched(this.signal, stop);
    else stop();
  }

  /** Has this scope cancelled with `parent` (at once, if it has been), until the returned function is called. */
  #relay(parent: AbortSignal): () => void {
    if (parent.aborted) {
      this.cancel(parent.reason);
      return () => {};
    }
    return watchSignal(parent, (reason) => this.cancel(reason));
  }

  /** Whether the scope has been cancelled (directly or through a parent). */
  get cancelled(): boolean {
    return this.signal.aborted;
  }

  /**
   * Cancels the scope. Calls inside reject with `reason` (a `CancelledError` when none is given).
   * Cancelling twice keeps the first reason.
   */
  cancel(reason: unknown = new CancelledError('The scope was cancelled')): void {
    this.#controller.abort(reason);
  }

  /**
   * Runs `fn` inside the scope. Resolves with its result, or rejects with the cancel reason as soon
   * as the scope is cancelled (awaits inside that are not offloaded calls are not interrupted:
   * give them `scope.signal`). What `fn` returned is cancelled with it, if it can be (a call, a
   * task, a `queue.get()` or `acquire()` already served: the item goes back, the permit is
   * released). A late outcome of `fn` is observed, never left unhandled: an error it throws after
   * the cancel (cleaning up), other than the cancellation, is a `TOTHREAD_LATE_CLEANUP_ERROR` warning.
   */
  run<T>(fn: (scope: CancelScope) => T | PromiseLike<T>): Promise<T> {
    return this.runBody(fn).result;
  }

  /**
   * @internal `run()`, and the outcome of `fn` itself (`body`), which may come after a cancel has
   * rejected `result`: what waits for cancelled work to end (a task group) waits for it. `settled`
   * says, from the moment it happens, that `result` has settled (a cancel can no longer change it).
   * `claim()` says that the caller reports what `body` throws after a cancel (no warning then).
   */
  runBody<T>(fn: (scope: CancelScope) => T | PromiseLike<T>): { result: Promise<T>; body: Promise<T>; settled: () => boolean; claim: () => void } {
    if (typeof fn !== 'function') {
      const result = Promise.reject(check.typeError('fn', 'a function', fn));
      return { result, body: result, settled: () => true, claim: () => {} };
    }
    const { signal } = this;
    // A scope made for one run follows its parents while it lasts, and its work (see oneRun, release).
    const relays = this.followParents();
    // A scope of your own follows its parents through AbortSignal.any, which a one-run parent (a
    // finished task's scope) does not count as watching it: its run watches them too, so that
    // they keep following theirs while it lasts (see CancelScope#release).
    const watched = this.#relaysParents ? [] : this.#parents.map((parent) => watchSignal(parent, () => {}));
    const follow = this.follow(currentSignal());
    const follows = (): void => {
      follow();
      for (const unwatch of watched.splice(0)) unwatch();
    };
    if (signal.aborted) {
      relays();
      follows();
      const result = Promise.reject(signal.reason);
      return { result, body: result, settled: () => true, claim: () => {} };
    }
    let body!: Promise<T>;
    let returned: unknown;
    let settled = false;
    let claimed = false;
    const result = new Promise<T>((resolve, reject) => {
      let unwatch = (): void => {};
      const done = (): void => {
        settled = true;
        unwatch();
        follows();
        this.release(relays);
      };
      try {
        returned = withSignal(signal, () => fn(this));
        body = Promise.resolve(returned as T | PromiseLike<T>);
      } catch (error) {
        body = Promise.reject(error);
      }
      // Cancelled, the run rejects at once, and what fn returned is cancelled too: a permit or an
      // item it was served in the meantime is given back rather than lost with the result.
      const onAbort = (reason: unknown): void => {
        done();
        reject(reason);
        cancelAwaitable(returned, reason);
      };
      if (signal.aborted) onAbort(signal.reason); // fn cancelled its own scope
      else unwatch = watchSignal(signal, onAbort);
      body.then(
        (value) => {
          done();
          resolve(value);
        },
        (error: unknown) => {
          // Cancelled already (the run rejected then): what the body throws now, cleaning up, is
          // not lost, unless its caller reports it (a task group counts it as a failure).
          if (settled && !claimed && !isCancellation(error, signal)) lateCleanupFailed(error);
          done();
          reject(error);
        },
      );
    });
    return { result, body, settled: () => settled, claim: () => void (claimed = true) };
  }
}

/**
 * Runs `fn` in a new {@link CancelScope}; `fn` receives the scope (to cancel it, or to hand its
 * signal to other APIs).
 *
 * @example
 * await cancelScope(async (scope) => {
 *   const first = await toThread(slowParse, text)
 *   if (!first.ok) scope.cancel()
 * })
 */
export function cancelScope<T>(fn: (scope: CancelScope) => T | PromiseLike<T>, options?: ScopeOptions): Promise<T> {
  return runOwn(CancelScope.oneRun(options), fn);
}

/**
 * `scope.run(fn)` for a scope made for this run alone: its promise, cancelled by what holds it
 * (gather, asCompleted, waitFor), cancels the scope, as cancelling a call's promise stops the call.
 */
function runOwn<T>(scope: CancelScope, fn: (scope: CancelScope) => T | PromiseLike<T>, after?: () => void): Promise<T> {
  const run = scope.run(fn);
  const result = after === undefined ? run : run.finally(after);
  onCancel(result, (reason) => scope.cancel(reason));
  return result;
}

/**
 * asyncio's `timeout()`: runs `fn` with a deadline of `ms`. When it passes, every offloaded call
 * inside is stopped (running ones have their workers terminated) and the promise rejects with a
 * `TimeoutError`.
 *
 * @throws {RangeError} (as a rejection) when `ms` is not a number of milliseconds from 0 to 2147483647 (2³¹−1); {@link TimeoutError} on expiry.
 * @example
 * const report = await timeout(5_000, async () => {
 *   const rows = await toThread(parseSync, text)
 *   return toThread(summariseSync, rows)
 * })
 */
export function timeout<T>(ms: number, fn: (scope: CancelScope) => T | PromiseLike<T>): Promise<T> {
  let limit: number;
  try {
    limit = check.duration('ms', ms);
  } catch (error) {
    return Promise.reject(error);
  }
  const scope = CancelScope.oneRun();
  const site = captureSite(timeout); // its TimeoutError shows where the scope was opened
  const timer = setTimeout(() => scope.cancel(locate(new TimeoutError('The timeout() scope', limit), site)), limit);
  return runOwn(scope, fn, () => clearTimeout(timer));
}

/**
 * Runs `fn` outside every enclosing cancel scope (trio's shielded scope): the offloaded calls,
 * waits and tasks it starts are not stopped when an enclosing scope, task or task group is
 * cancelled, and neither is the promise it gives back, however it is used (returned from a scope
 * or a task, handed to waitFor or gather: only the waiting stops). Cancellation stays on for the
 * rest of a cancelled scope (every call or wait there is refused), so cleanup in a `catch` or
 * `finally` that must still offload or wait goes in here. A signal or `timeout()` given inside
 * still bounds it.
 *
 * @returns a promise of what `fn` returns.
 * @throws {TypeError} (the promise rejects) when `fn` is not a function.
 * @example
 * try {
 *   await toThread(importSync, rows)
 * } finally {
 *   await shield(() => timeout(5_000, () => toThread(rollbackSync)))  // runs even after a cancel
 * }
 */
export async function shield<T>(fn: () => T | PromiseLike<T>): Promise<T> {
  if (typeof fn !== 'function') throw check.typeError('fn', 'a function', fn);
  // Awaited here, not handed on: what fn returned keeps its own cancel handle out of reach.
  return await withoutSignal(fn);
}

/** What a cancelled run threw once it had been cancelled, cleaning up: its caller had its cancel already. */
function lateCleanupFailed(error: unknown): void {
  warnThrown('TOTHREAD_LATE_CLEANUP_ERROR', 'Work cancelled (a timeout, a cancelled task or scope) went on and threw after its caller had the cancellation (cleaning up, say)', error);
}
