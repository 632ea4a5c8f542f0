/**
 * asyncio's `Semaphore`: at most `n` holders at once, waiters served first come, first served,
 * waits abortable. A permit is released by `release()` or by leaving a `using` block.
 */
import { currentSignal, onCancel, relayCancel, thenCancellable } from '../cancel.js';
import * as check from '../validate.js';
import { markOffloaded } from '../fn/resolve.js';
import { WaitList } from '../wait-list.js';
import type { AnyFunction } from '../to-thread.js';

/** One hold on a semaphore. Releasing twice is harmless. */
export interface Permit extends Disposable {
  release(): void;
}

/** Options of `acquire()` and `run()`. */
export interface AcquireOptions {
  /** Stops waiting when it aborts, rejecting with `signal.reason`. The enclosing cancel scope's signal applies too. @default none */
  signal?: AbortSignal;
}

/**
 * A counting semaphore.
 *
 * @example
 * const slots = new Semaphore(10)
 * await Promise.all(urls.map(async (url) => {
 *   using _permit = await slots.acquire()
 *   return toThread(fetchSync, url)
 * }))
 */
export class Semaphore {
  readonly #permits: number;
  #available: number;
  readonly #waiters = new WaitList<Permit>();

  /** @throws {RangeError} when `permits` is not a whole number from 1 and up. */
  constructor(permits: number) {
    this.#permits = check.integer('permits', permits, 1);
    this.#available = this.#permits;
  }

  /** Permits free right now. */
  get available(): number {
    return this.#available;
  }

  /** Callers waiting for a permit. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Takes a permit without waiting, or returns `undefined` when none is free (or others wait first). */
  tryAcquire(): Permit | undefined {
    if (this.#available === 0 || this.#waiters.size > 0) return undefined;
    this.#available--;
    return this.#permit();
  }

  /**
   * Waits for a permit (first come, first served).
   *
   * @throws the signal's reason when the wait is aborted.
   */
  acquire(options?: AcquireOptions): Promise<Permit> {
    const raw = check.optionsObject('options', options);
    check.knownKeys('options', raw, ['signal']);
    const signals = [check.optionalSignal('options.signal', raw.signal), currentSignal()];
    for (const signal of signals) if (signal?.aborted) return Promise.reject(signal.reason);
    const now = this.tryAcquire();
    if (now === undefined) {
      const waiting = this.#waiters.wait(signals, (permit) => permit.release());
      // Granted in the very tick a signal aborted (before the code awaiting it could run): the
      // permit goes back and the wait fails, as asyncio's acquire does, and as queue.get() does.
      const checked = waiting.then((permit) => {
        const aborted = signals.find((signal) => signal?.aborted);
        if (aborted === undefined) return permit;
        permit.release();
        throw aborted.reason;
      });
      return relayCancel(waiting, checked);
    }
    const granted = Promise.resolve(now);
    onCancel(granted, () => now.release()); // cancelled, nobody takes the permit
    return granted;
  }

  /**
   * Runs `fn` holding a permit, and releases it however `fn` ends. Cancelled (waitFor, gather,
   * asCompleted), it stops waiting for the permit, or cancels what `fn` returned (a running call's
   * worker is stopped).
   */
  run<T>(fn: () => T | PromiseLike<T>, options?: AcquireOptions): Promise<Awaited<T>> {
    if (typeof fn !== 'function') return Promise.reject(check.typeError('fn', 'a function', fn));
    let permit: Promise<Permit>;
    try {
      permit = this.acquire(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return thenCancellable(permit, (held) => {
      let result: T | PromiseLike<T>;
      try {
        result = fn();
      } catch (error) {
        held.release();
        return Promise.reject(error);
      }
      const released = Promise.resolve(result).finally(() => held.release());
      return typeof result === 'object' && result !== null ? relayCancel(result, released) : released;
    }, true);
  }

  #permit(): Permit {
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      // Handed over directly to the next waiter: no one can barge in between.
      if (this.#waiters.size === 0 || !this.#waiters.grantNext(this.#permit())) {
        this.#available = Math.min(this.#permits, this.#available + 1);
      }
    };
    return { release, [Symbol.dispose]: release };
  }
}

/**
 * Wraps an async function so that at most `concurrency` calls run at once; the rest wait in order
 * (p-limit for one function).
 *
 * @throws {RangeError} when `concurrency` is not a whole number from 1 and up.
 * @example
 * const fetchLimited = limit(10, threaded(fetchSync))
 * await Promise.all(urls.map((url) => fetchLimited(url)))
 */
export function limit<F extends AnyFunction>(concurrency: number, fn: F): (...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>> {
  if (typeof fn !== 'function') throw check.typeError('fn', 'a function', fn);
  const semaphore = new Semaphore(check.integer('concurrency', concurrency, 1));
  const limited = (...args: Parameters<F>): Promise<Awaited<ReturnType<F>>> => semaphore.run(() => fn(...args) as Awaited<ReturnType<F>>);
  // It holds its permit on this thread: a worker could not take one.
  const name = fn.name || 'fn';
  return markOffloaded(limited, `The function limit() made of \`${name}\` takes its permits on this thread: call it, \`await limited(...args)\` (its calls of \`${name}\` can offload), instead of passing it to toThread`);
}
