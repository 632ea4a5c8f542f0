/**
 * The order in which a pool's calls enter its queue. A call whose function must first be located
 * (a module function's first call, a facade export) joins a line, and calls made after it join
 * behind it, so calls enter the queue in the order they were made (FIFO, and `maxQueue` refuses
 * the later ones). A call that is cancelled leaves the line at once; one whose function takes
 * longer than {@link LINE_HOLD_MS} to locate (a module that loads slowly, or never) lets those
 * behind it go ahead meanwhile, as they would have without it.
 */
import { cancelAwaitable, onCancel } from './cancel.js';

/** How long a call still locating its function holds the calls made after it. */
export const LINE_HOLD_MS = 1_000;

export class Line {
  /** Settles once the last call in line lets those behind it go (see {@link join}). */
  #tail: Promise<void> | undefined;
  #size = 0;

  /** Calls waiting for their turn to enter the queue. */
  get size(): number {
    return this.#size;
  }

  /** True when no call waits in line: a call whose function is known enters the queue at once. */
  get empty(): boolean {
    return this.#tail === undefined;
  }

  /**
   * Joins the line: `enter(located)` runs once `ref` has settled and the calls ahead have entered
   * (or let it go ahead). The promise is `enter`'s, and cancellable: before its turn, the call
   * leaves the line and rejects with the reason at once; after, the call `enter` made is cancelled.
   * `refused` hears of a call that left without entering: cancelled, `enter` threw (the pool
   * closed meanwhile, say), or its `ref` rejected (its function cannot run there, or its module
   * did not load).
   */
  join<T, R>(ref: T | Promise<T>, enter: (located: T) => Promise<R>, refused: (error: unknown, cancelled: boolean) => void): Promise<R> {
    const prior = this.#tail;
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    this.#tail = mine;
    this.#size++;
    /** Lets the calls behind go, never ahead of those before this one. */
    const release = (): void => (prior === undefined ? done() : void prior.then(done));
    const hold = ref instanceof Promise ? setTimeout(release, LINE_HOLD_MS) : undefined;
    let left = false;
    const leave = (turnCame: boolean): void => {
      if (left) return;
      left = true;
      clearTimeout(hold);
      this.#size--;
      // One that leaves before its turn still lets no call made later pass those ahead of it.
      if (this.#tail === mine) this.#tail = turnCame ? undefined : prior;
      release();
    };
    let entered: Promise<R> | undefined;
    let cancel!: (reason: unknown) => void;
    const result = new Promise<R>((resolve, reject) => {
      const turn = prior === undefined ? Promise.resolve(ref) : prior.then(() => ref);
      turn.then(
        (located) => {
          if (left) return;
          try {
            resolve((entered = enter(located)));
          } catch (error) {
            refused(error, false);
            reject(error);
          } finally {
            leave(true); // the next in line enters in a later microtask: after this one
          }
        },
        (error: unknown) => {
          if (left) return;
          leave(true);
          refused(error, false);
          reject(error); // refused before it existed, as a function that cannot run is refused at once
        },
      );
      cancel = (reason) => {
        if (entered !== undefined) return void cancelAwaitable(entered, reason);
        if (left) return;
        leave(false);
        refused(reason, true);
        reject(reason);
      };
    });
    onCancel(result, cancel);
    return result;
  }
}
