import { onCancel } from './cancel.js';
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
  /** In the order they came (a Set keeps it): one that leaves the line leaves at once, wherever it is. */
  readonly #waiters = new Set<Waiter<T>>();

  /** How many wait. */
  get size(): number {
    return this.#waiters.size;
  }

  /**
   * Waits for `grantNext()`; rejects with the reason of the first of `signals` that aborts (and
   * leaves the line), or at once when one already has. The promise can be cancelled as a call can
   * (waitFor, gather, asCompleted): waiting, it leaves the line and rejects; granted already, its
   * value goes to `giveBack` (nobody will take it: a permit is released).
   */
  wait(signals: ReadonlyArray<AbortSignal | undefined>, giveBack?: (value: T) => void): Promise<T> {
    const active = signals.filter((s): s is AbortSignal => s !== undefined);
    for (const signal of active) if (signal.aborted) return Promise.reject(signal.reason);
    let granted: { value: T } | undefined;
    let onAbort!: (reason: unknown) => void;
    const waiting = new Promise<T>((resolve, reject) => {
      const unwatch: Array<() => void> = [];
      const done = (): void => unwatch.splice(0).forEach((stop) => stop());
      const waiter: Waiter<T> = {
        grant: (value) => {
          done();
          granted = { value };
          resolve(value);
        },
        refuse: (reason) => {
          done();
          reject(reason);
        },
      };
      onAbort = (reason) => {
        if (!this.#waiters.delete(waiter)) return; // granted or refused already
        waiter.refuse(reason);
      };
      for (const signal of active) unwatch.push(watchSignal(signal, onAbort));
      this.#waiters.add(waiter);
    });
    onCancel(waiting, (reason) => {
      if (granted === undefined) return onAbort(reason);
      const { value } = granted;
      granted = undefined; // given back once
      giveBack?.(value);
    });
    return waiting;
  }

  /** Grants the oldest waiter `value`; false when nobody waits. */
  grantNext(value: T): boolean {
    for (const next of this.#waiters) {
      this.#waiters.delete(next);
      next.grant(value);
      return true;
    }
    return false;
  }

  /** Refuses everyone waiting, each with a fresh `reason()`. */
  refuseAll(reason: () => unknown): void {
    const waiting = [...this.#waiters];
    this.#waiters.clear();
    for (const waiter of waiting) waiter.refuse(reason());
  }
}
