/**
 * asyncio's `Queue` for producer/consumer pipelines: `maxsize` backpressure, `put`/`get` that wait,
 * `taskDone`/`join`, `shutdown` (Python 3.13), and `for await` over the items.
 */
import { cancelAwaitable, currentSignal, onCancel } from '../cancel.js';
import { CancelledError, QueueEmptyError, QueueFullError, QueueShutDownError } from '../errors.js';
import * as check from '../validate.js';
import { WaitList } from '../wait-list.js';

/** What a try of `put()`/`get()` returns when it must wait. */
const NOT_YET: unique symbol = Symbol('not yet');

/** Options of {@link Queue}. */
export interface QueueOptions {
  /** Most items held; `put()` waits while full. 0 means no limit. @default 0 */
  maxsize?: number;
}

/** Options of `put()`, `get()` and `join()`. */
export interface QueueWaitOptions {
  /** Stops waiting when it aborts, rejecting with `signal.reason`. The enclosing cancel scope's signal applies too. @default none */
  signal?: AbortSignal;
}

/**
 * A FIFO queue between async producers and consumers.
 *
 * @example
 * const queue = new Queue<string>({ maxsize: 100 })
 * const worker = async () => { for await (const line of queue) { await toThread(processSync, line); queue.taskDone() } }
 */
export class Queue<T> implements AsyncIterable<T> {
  readonly maxsize: number;
  readonly #items: T[] = [];
  #head = 0;
  #unfinished = 0;
  #shutdown = false;
  /** `shutdown(true)` dropped the items left: one given back later is dropped too. */
  #dropped = false;
  readonly #getters = new WaitList();
  readonly #putters = new WaitList();
  readonly #joiners = new WaitList();

  /** @throws {TypeError | RangeError} when `maxsize` is not a whole number from 0 and up. */
  constructor(options?: QueueOptions) {
    const raw = check.optionsObject('options', options);
    check.knownKeys('options', raw, ['maxsize']);
    this.maxsize = check.optionalInteger('maxsize', raw.maxsize, 0) ?? 0;
  }

  /** Items in the queue. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Whether the queue holds no item. */
  empty(): boolean {
    return this.size === 0;
  }

  /** Whether the queue holds `maxsize` items. */
  full(): boolean {
    return this.maxsize > 0 && this.size >= this.maxsize;
  }

  /** Whether `shutdown()` was called. */
  get isShutDown(): boolean {
    return this.#shutdown;
  }

  /**
   * Adds an item, waiting while the queue is full. Cancelled while it waits (waitFor, gather,
   * asCompleted), the item is not added.
   *
   * @throws {QueueShutDownError} after `shutdown()`.
   */
  put(item: T, options?: QueueWaitOptions): Promise<void> {
    return this.#waitUntil(this.#putters, options, () => {
      if (this.full() && !this.#shutdown) return NOT_YET;
      this.putNowait(item);
    });
  }

  /** Adds an item now. @throws {QueueFullError} when full; {@link QueueShutDownError} after `shutdown()`. */
  putNowait(item: T): void {
    if (this.#shutdown) throw new QueueShutDownError('The queue was shut down: it takes no new items');
    if (this.full()) throw new QueueFullError(this.maxsize, `The queue is full (maxsize: ${this.maxsize}): use \`await queue.put()\` to wait for room`);
    this.#items.push(item);
    this.#unfinished++;
    this.#getters.grantNext();
  }

  /**
   * Takes the oldest item, waiting while the queue is empty. Cancelled while it waits (waitFor,
   * gather, asCompleted), it takes none: the next item goes to the next getter. Cancelled once it
   * has its item, before the caller was handed it (asCompleted left early, a gather cancelled), it
   * puts the item back at the head of the queue: nothing is lost.
   *
   * @throws {QueueShutDownError} once shut down and empty.
   */
  get(options?: QueueWaitOptions): Promise<T> {
    return this.#waitUntil(
      this.#getters,
      options,
      () => {
        if (!this.empty()) return this.getNowait();
        if (this.#shutdown) throw new QueueShutDownError('The queue was shut down and is empty');
        return NOT_YET;
      },
      (item) => this.#giveBack(item),
    );
  }

  /** An item a cancelled get() took goes back to the head, for the next getter. */
  #giveBack(item: T): void {
    if (this.#dropped) {
      this.taskDone(); // dropped with the rest: counted as done, as they were
      return;
    }
    if (this.#head > 0) this.#items[--this.#head] = item;
    else this.#items.unshift(item);
    this.#getters.grantNext();
  }

  /** Takes the oldest item now. @throws {QueueEmptyError} when empty; {@link QueueShutDownError} once shut down and empty. */
  getNowait(): T {
    if (this.empty()) {
      if (this.#shutdown) throw new QueueShutDownError('The queue was shut down and is empty');
      throw new QueueEmptyError();
    }
    const item = this.#items[this.#head]!;
    this.#items[this.#head++] = undefined as T;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    this.#putters.grantNext();
    // Shut down, and this was the last item: nobody still waiting will get one.
    if (this.#shutdown && this.empty()) this.#refuseGetters();
    return item;
  }

  #refuseGetters(): void {
    this.#getters.refuseAll(() => new QueueShutDownError('The queue was shut down and is empty'));
  }

  /** Marks one item taken with `get()` as processed. @throws {RangeError} when called more times than items were put. */
  taskDone(): void {
    if (this.#unfinished === 0) throw check.rangeMessage('taskDone() was called more times than items were put: call it once for each item taken with get()');
    if (--this.#unfinished === 0) while (this.#joiners.grantNext());
  }

  /**
   * Resolves when every item put has been marked done with `taskDone()`.
   *
   * @throws the signal's reason when `options.signal` or the enclosing cancel scope aborts first.
   */
  join(options?: QueueWaitOptions): Promise<void> {
    let signals: Array<AbortSignal | undefined>;
    try {
      signals = this.#signals(options);
    } catch (error) {
      return Promise.reject(error);
    }
    // A WaitList wait: its signals end it, and waitFor, gather and asCompleted can cancel it.
    return this.#unfinished === 0 ? Promise.resolve() : this.#joiners.wait(signals);
  }

  /**
   * Shuts the queue down: `put()` rejects from now on, waiting putters too; `get()` rejects once
   * the queue is empty. With `immediate`, the items left are dropped (counted as done, so `join()`
   * resolves) and waiting getters reject now.
   */
  shutdown(immediate = false): void {
    this.#shutdown = true;
    if (immediate) {
      this.#dropped = true;
      const dropped = this.size;
      this.#items.length = 0;
      this.#head = 0;
      for (let i = 0; i < dropped; i++) this.taskDone();
    }
    this.#putters.refuseAll(() => new QueueShutDownError('The queue was shut down'));
    if (this.empty()) this.#refuseGetters();
  }

  /**
   * Yields items as they arrive until the queue is shut down and empty. Leaving the loop (`break`,
   * `return()`, `throw()`, a `map()` over the queue stopped) while it waits for an item takes none:
   * an item served in that very tick goes back to the head of the queue, for the next getter.
   */
  [Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    let closed = false;
    /** The `get()`s of `next()` calls not answered yet. */
    const pending = new Set<Promise<T>>();
    const done: IteratorReturnResult<void> = { done: true, value: undefined };
    const close = (): void => {
      closed = true;
      const reason = new CancelledError('The loop over the queue was left');
      for (const get of pending) cancelAwaitable(get, reason); // one already served puts its item back
      pending.clear();
    };
    const iterator: AsyncGenerator<T, void, undefined> = {
      next: () => {
        if (closed) return Promise.resolve(done);
        const get = this.get();
        pending.add(get);
        let cancelled = false;
        const step = get.then(
          (value): IteratorResult<T, void> => (closed || cancelled ? done : { done: false, value }), // left or cancelled meanwhile: the item went back
          (error: unknown): IteratorResult<T, void> => {
            if (closed || cancelled || error instanceof QueueShutDownError) return done;
            throw error;
          },
        );
        void step.then(() => pending.delete(get), () => pending.delete(get));
        // Cancelled as a get() is (waitFor gave up on it, say): it takes no item, or gives it back.
        onCancel(step, (reason) => {
          cancelled = true;
          cancelAwaitable(get, reason);
        });
        return step;
      },
      return: async () => {
        close();
        return done;
      },
      throw: async (error: unknown) => {
        close();
        throw error;
      },
      [Symbol.asyncIterator]: () => iterator,
      // As an async generator has (Node 24): `await using` closes the loop.
      [Symbol.asyncDispose]: async () => void close(),
    };
    return iterator;
  }

  /** The signals a wait ends with: its own, and the enclosing cancel scope's. */
  #signals(options: QueueWaitOptions | undefined): Array<AbortSignal | undefined> {
    const raw = check.optionsObject('options', options);
    check.knownKeys('options', raw, ['signal']);
    return [check.optionalSignal('options.signal', raw.signal), currentSignal()];
  }

  /**
   * Tries `attempt` until it gives a result, waiting in `line` between tries. Its promise can be
   * cancelled: the wait in progress is left, and a wake-up granted in the meantime passes on to the
   * next in line, so that no item (or room) is lost to a caller who is gone. Cancelled after it got
   * its result, that result goes to `giveBack` (once).
   */
  #waitUntil<R>(line: WaitList, options: QueueWaitOptions | undefined, attempt: () => R | typeof NOT_YET, giveBack?: (result: R) => void): Promise<R> {
    let cancelled: { reason: unknown } | undefined;
    let waiting: Promise<void> | undefined;
    let got: { result: R } | undefined;
    const run = async (): Promise<R> => {
      const signals = this.#signals(options);
      for (let woken = false; ; woken = true) {
        // Stopped (its signal, its scope), it takes nothing, also once woken: the wake-up passes on.
        const stopped = signals.find((signal) => signal?.aborted);
        if (stopped !== undefined) {
          if (woken) line.grantNext();
          throw stopped.reason;
        }
        const result = attempt();
        if (result !== NOT_YET) {
          got = { result };
          return result;
        }
        try {
          await (waiting = line.wait(signals));
        } finally {
          waiting = undefined;
        }
        if (cancelled !== undefined) {
          line.grantNext();
          throw cancelled.reason;
        }
      }
    };
    const result = run();
    onCancel(result, (reason) => {
      if (got !== undefined) {
        if (cancelled === undefined && giveBack !== undefined) giveBack(got.result);
        cancelled = { reason };
        return;
      }
      cancelled ??= { reason };
      if (waiting !== undefined) cancelAwaitable(waiting, reason);
    });
    return result;
  }
}
