import { watchSignal } from './signal-watch.js';

/**
 * Callers waiting their turn, first come first served, each wait abortable by signals: the one
 * mechanism behind `Semaphore.acquire`, `Queue.put`/`get` and a full pool queue's waiting calls.
 */

interface Waiter<T> {
  readonly grant: (value: T) => void;
  readonly refuse: (reason: unknown) => void;
}

export class WaitList<T = void> {
  readonly #waiters: Array<Waiter<T>> = [];

  /** How many wait. */
  get size(): number {
    return this.#waiters.length;
  }

  /**
   * Waits for `grantNext()`; rejects with the reason of the first of `signals` that aborts (and
   * leaves the line), or at once when one already has.
   */
  wait(signals: ReadonlyArray<AbortSignal | undefined>): Promise<T> {
    const active = signals.filter((s): s is AbortSignal => s !== undefined);
    for (const signal of active) if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const unwatch: Array<() => void> = [];
      const done = (): void => unwatch.splice(0).forEach((stop) => stop());
      const waiter: Waiter<T> = {
        grant: (value) => {
          done();
          resolve(value);
        },
        refuse: (reason) => {
          done();
          reject(reason);
        },
      };
      const onAbort = (reason: unknown): void => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        waiter.refuse(reason);
      };
      for (const signal of active) unwatch.push(watchSignal(signal, onAbort));
      this.#waiters.push(waiter);
    });
  }

  /** Grants the oldest waiter `value`; false when nobody waits. */
  grantNext(value: T): boolean {
    const next = this.#waiters.shift();
    next?.grant(value);
    return next !== undefined;
  }

  /** Refuses everyone waiting, each with a fresh `reason()`. */
  refuseAll(reason: () => unknown): void {
    for (const waiter of this.#waiters.splice(0)) waiter.refuse(reason());
  }
}
