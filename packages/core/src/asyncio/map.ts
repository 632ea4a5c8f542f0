/**
 * `map(fn, input)`: offload `fn` over an iterable with bounded concurrency, as an async iterator of
 * results. The input is pulled lazily (an infinite generator works), and leaving the loop stops the
 * calls still running.
 */
import { cancelAwaitable } from '../cancel.js';
import { defaultPool } from '../default-pool.js';
import { CancelledError } from '../errors.js';
import type { Pool } from '../pool.js';
import type { AnyFunction } from '../to-thread.js';
import * as check from '../validate.js';

/** Options of {@link map}. */
export interface MapOptions {
  /** Most calls in flight at once. @default the pool's maxThreads (os.availableParallelism() for the default pool) */
  concurrency?: number;
  /** Yield results in input order (`true`) or as they complete (`false`). @default true */
  ordered?: boolean;
  /** The pool to run on. @default the default pool */
  pool?: Pool;
  /** Stops the map: no more input is pulled and running calls are stopped. @default none */
  signal?: AbortSignal;
}

interface Slot<R> {
  readonly promise: Promise<R>;
  settled: { ok: true; value: R } | { ok: false; error: unknown } | undefined;
}

/**
 * Runs `fn(item)` on worker threads for each item of `input` and yields the results.
 *
 * @throws {TypeError | RangeError} on invalid options; the first error of `fn` is thrown from the loop
 *   (the calls still running are stopped).
 * @example
 * for await (const digest of map(hashFileSync, walk('./data'), { concurrency: 4 })) console.log(digest)
 */
export async function* map<F extends (item: never) => unknown>(
  fn: F,
  input: Iterable<Parameters<F>[0]> | AsyncIterable<Parameters<F>[0]>,
  options?: MapOptions,
): AsyncGenerator<Awaited<ReturnType<F>>, void, undefined> {
  type R = Awaited<ReturnType<F>>;
  const raw = check.optionsObject('options', options);
  check.knownKeys('options', raw, ['concurrency', 'ordered', 'pool', 'signal']);
  const pool = (raw.pool as Pool | undefined) ?? defaultPool();
  const concurrency = check.optionalInteger('concurrency', raw.concurrency, 1) ?? pool.maxThreads;
  const ordered = raw.ordered !== false;
  const signal = check.optionalSignal('options.signal', raw.signal);
  const call = signal ? pool.toThread.with({ signal }) : pool.toThread;
  const source = Symbol.asyncIterator in input ? input[Symbol.asyncIterator]() : (input as Iterable<Parameters<F>[0]>)[Symbol.iterator]();
  const window: Array<Slot<R>> = [];
  // Ordered results wait behind a slow head; the buffer of finished ones is bounded too.
  const windowLimit = ordered ? concurrency * 2 : concurrency;
  let inFlight = 0;
  let exhausted = false;
  let wake: (() => void) | undefined;

  const fill = async (): Promise<void> => {
    while (!exhausted && inFlight < concurrency && window.length < windowLimit) {
      const next = await source.next();
      if (next.done) {
        exhausted = true;
        break;
      }
      const promise = call(fn as unknown as AnyFunction, next.value) as Promise<R>;
      const slot: Slot<R> = { promise, settled: undefined };
      inFlight++;
      promise
        .then(
          (value) => (slot.settled = { ok: true, value }),
          (error: unknown) => (slot.settled = { ok: false, error }),
        )
        .then(() => {
          inFlight--;
          wake?.();
        });
      window.push(slot);
    }
  };

  try {
    for (;;) {
      signal?.throwIfAborted();
      await fill();
      if (window.length === 0) return;
      const index = ordered ? (window[0]!.settled ? 0 : -1) : window.findIndex((s) => s.settled !== undefined);
      if (index === -1) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const [slot] = window.splice(index, 1) as [Slot<R>];
      if (!slot.settled!.ok) throw slot.settled!.error;
      yield slot.settled!.value;
    }
  } finally {
    const reason = new CancelledError('map() was left before its input was done');
    for (const slot of window) if (slot.settled === undefined) cancelAwaitable(slot.promise, reason);
    await (source as Partial<AsyncIterator<unknown>>).return?.();
  }
}
