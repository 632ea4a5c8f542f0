import { onCancel } from './cancel.js';
import { watchSignal } from './signal-watch.js';

/**
 * Callers waiting their turn, first come first served, each wait abortable by signals: the one
 * mechanism behind `Semaphore.acquire`, `Queue.put`/`get` and a full pool queue's waiting calls.
 */

interface Waiter<T> {
  readonly grant: (value: T) => void;
  readonly refuse: (reason: unknown) => void;
  /** Still in the line: one that leaves is only marked so, and skipped when its turn comes. */
  waiting: boolean;
}

/** Waiters served or gone that the line keeps at most before it is cut down to those still waiting. */
const COMPACT_AT = 1024;

export class WaitList<T = void> {
  /**
   * In the order they came, from {@link #head} on. Leaving the line and being served both cost the
   * same however long it is (a search, a shift or a Set's head full of holes made cancelling or
   * serving 100,000 waiters take seconds of blocked event loop).
   */
  #line: Array<Waiter<T>> = [];
  #head = 0;
  #size = 0;

  /** How many wait. */
  get size(): number {
    return this.#size;
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
        waiting: true,
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
        if (!this.#leave(waiter)) return; // granted or refused already
        this.#compact();
        waiter.refuse(reason);
      };
      for (const signal of active) unwatch.push(watchSignal(signal, onAbort));
      this.#line.push(waiter);
      this.#size++;
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
    while (this.#head < this.#line.length) {
      const next = this.#line[this.#head++]!;
      if (!this.#leave(next)) continue; // it left the line before its turn
      this.#compact();
      next.grant(value);
      return true;
    }
    return false;
  }

  /** Refuses everyone waiting, each with a fresh `reason()`. */
  refuseAll(reason: () => unknown): void {
    const line = this.#line.slice(this.#head);
    this.#line = [];
    this.#head = 0;
    for (const waiter of line) if (this.#leave(waiter)) waiter.refuse(reason());
  }

  /** Takes `waiter` out of the line; false if it had left it already. */
  #leave(waiter: Waiter<T>): boolean {
    if (!waiter.waiting) return false;
    waiter.waiting = false;
    this.#size--;
    return true;
  }

  /**
   * Drops the waiters served or gone once they are many, and most of the line: served at its head,
   * or gone from anywhere in it (a line nobody is served from, each waiter leaving as its timeout
   * fires, would otherwise keep them all).
   */
  #compact(): void {
    const gone = this.#line.length - this.#size;
    if (gone >= COMPACT_AT && gone * 2 >= this.#line.length) {
      this.#line = this.#line.filter((waiter) => waiter.waiting); // all before the head are gone
      this.#head = 0;
    }
  }
}
