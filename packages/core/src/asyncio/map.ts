/**
 * `map(fn, input)`: offload `fn` over an iterable with bounded concurrency, as an async iterator of
 * results. Items travel in chunks whose size adapts to what an item costs (one message per item
 * would spend more on messaging than on tiny work); the input is pulled lazily (an infinite
 * generator works), and leaving the loop stops the chunks still running.
 */
import { captureSite, stitch } from '../call-site.js';
import { rebuildThrown } from '../call.js';
import { callSettings } from '../call-options.js';
import { cancelAwaitable, currentSignal, onCancel } from '../cancel.js';
import { defaultPool } from '../default-pool.js';
import { CancelledError, CloneError, cloneErrorAt, PoolClosedError, warnThrown } from '../errors.js';
import { Pool, type TaskExtra } from '../pool.js';
import type { MapChunkResult } from '../protocol.js';
import * as check from '../validate.js';
import { watchSignal } from '../signal-watch.js';
import { MAX_CHUNK, nextChunkSize } from './chunk-size.js';
import { restoreBuffers, restoreNested } from '../buffers.js';

/** Options of {@link map}. */
export interface MapOptions {
  /** Most chunks in flight at once. @default the pool's maxThreads (os.availableParallelism() for the default pool) */
  concurrency?: number;
  /** Yield results in input order (`true`) or as chunks complete (`false`). @default true */
  ordered?: boolean;
  /** The pool to run on. @default the default pool */
  pool?: Pool;
  /** Stops the map: no more input is pulled and running chunks are stopped. @default none */
  signal?: AbortSignal;
}

/**
 * A chunk's values, then what stopped it: an item's own error, an item that could not be sent, or
 * the pool's close() before the rest started.
 */
interface ChunkResult extends MapChunkResult {
  readonly refused?: CloneError;
  readonly closed?: PoolClosedError;
}

interface Slot {
  readonly promise: Promise<ChunkResult>;
  /** The input position of its first item. */
  readonly base: number;
  /** An async input's promise of the slot's one item: cancelled, a Queue takes the item back. */
  readonly take: Promise<IteratorResult<unknown>> | undefined;
  settled: { ok: true; result: ChunkResult } | { ok: false; error: unknown } | undefined;
}

/** Whether a chunk ended short of its items: one failed, could not be sent, or was refused by close(). */
const endedShort = (result: ChunkResult): boolean => result.failed !== undefined || result.refused !== undefined || result.closed !== undefined;

const MAP: TaskExtra = { op: 'map' };

/**
 * Runs `fn(item)` on worker threads for each item of `input` and yields the results.
 *
 * @throws {TypeError | RangeError} on invalid options, or an `input` that is not iterable: from the
 *   first `next()` (the first turn of `for await`), as `map()` is an async generator. The first
 *   error of `fn` is thrown from the loop, after the values of the items before it (unordered: of
 *   the items back before it; the chunks still running are stopped).
 * @throws {PoolClosedError} when the pool's `close()` refuses a chunk: after the values of the
 *   chunks running then (close() waits for them); the items that never started go back to a `Queue`.
 * @example
 * for await (const digest of map(hashFileSync, walk('./data'), { concurrency: 4 })) console.log(digest)
 */
export async function* map<T, R>(fn: (item: T) => R, input: Iterable<T> | AsyncIterable<T>, options?: MapOptions): AsyncGenerator<Awaited<R>, void, undefined> {
  const raw = check.optionsObject('options', options);
  check.knownKeys('options', raw, ['concurrency', 'ordered', 'pool', 'signal']);
  if (raw.pool !== undefined && !(raw.pool instanceof Pool)) throw check.typeError('options.pool', 'a Pool (from createPool())', raw.pool);
  check.iterable('input', input, true);
  const pool = (raw.pool as Pool | undefined) ?? defaultPool();
  const concurrency = check.optionalInteger('concurrency', raw.concurrency, 1) ?? pool.maxThreads;
  const ordered = check.optionalBoolean('options.ordered', raw.ordered) ?? true;
  const signal = check.optionalSignal('options.signal', raw.signal);
  const settings = callSettings(signal ? { signal } : undefined);
  const site = captureSite(map);
  // Read as a property, not with `in`: a string is iterable too.
  const isAsync = typeof (input as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function';
  const source = isAsync ? (input as AsyncIterable<T>)[Symbol.asyncIterator]() : (input as Iterable<T>)[Symbol.iterator]();
  // An async input may produce items only as results are taken (a Queue fed by the consumer):
  // it goes item by item, so no chunk ever waits for items that depend on its own results.
  const maxChunk = isAsync ? 1 : MAX_CHUNK;
  // Ordered results wait behind a slow head; the chunks finished meanwhile are bounded too.
  const windowLimit = ordered ? concurrency * 2 : concurrency;
  const window: Slot[] = [];
  let chunkSize = 1;
  /** Items sent so far: the input position of the next chunk's first. */
  let submitted = 0;
  let inFlight = 0;
  let exhausted = false;
  let wake: (() => void) | undefined;

  /**
   * Runs `items` (from position `base` of the input) as one chunk, and gives their values in order.
   * An item that cannot be sent fails in its place, named by its position, after the items before
   * it have run. A chunk its worker cut short (its items cost more than its size was judged from)
   * has the rest of its items spread over the workers, in pieces sized from what it measured.
   */
  const runChunk = (items: unknown[], base: number): Promise<ChunkResult> => {
    const send = (part: unknown[], at: number): Promise<ChunkResult> => {
      const task = pool.submit(fn, part, settings, site, MAP) as Promise<ChunkResult>;
      /** What the answer led to: the spread rest of a cut chunk, or the items before one that could not be sent. */
      let then: Promise<ChunkResult> | undefined;
      const result = task.then(
        (answer) => {
          restoreBuffers(answer.values as unknown[], answer.buffers);
          for (const [place, found] of answer.nested ?? []) restoreNested(answer.values[place], found);
          return answer.cut === true ? (then = spread(part, at, answer)) : answer;
        },
        (error: unknown) => {
          // The pool closed before it started: the map ends once the chunks still running are back.
          if (error instanceof PoolClosedError && !error.started) return { values: [], closed: error, ms: 0 };
          const found = error instanceof CloneError ? /^args\[(\d+)\]/.exec(error.path) : null;
          if (found === null) throw error;
          const k = Number(found[1]);
          const refused = cloneErrorAt(error as CloneError, `input[${at + k}]${(error as CloneError).path.slice(found[0].length)}`);
          if (k === 0) return { values: [], refused, ms: 0 }; // nothing ran
          return (then = send(part.slice(0, k), at)).then((before) => (endedShort(before) ? before : { ...before, refused }));
        },
      );
      onCancel(result, (reason) => {
        cancelAwaitable(task, reason);
        if (then !== undefined) cancelAwaitable(then, reason);
      });
      return result;
    };
    /**
     * The rest of a cut chunk, joined to what ran: in pieces at once, as many as `concurrency` has
     * room for (the chunk holds one place; each further piece takes one until they are all back).
     * With no room, the rest goes as one chunk, which is cut again later.
     */
    const spread = (part: unknown[], at: number, first: ChunkResult): Promise<ChunkResult> => {
      const ran = first.values.length;
      const rest = part.slice(ran);
      const room = Math.max(1, concurrency - inFlight + 1);
      const per = Math.max(nextChunkSize(ran, first.ms, maxChunk), Math.ceil(rest.length / room));
      const pieces: Array<Promise<ChunkResult>> = [];
      for (let i = 0; i < rest.length; i += per) pieces.push(send(rest.slice(i, i + per), at + ran + i));
      const extra = pieces.length - 1;
      inFlight += extra;
      // A piece that fails ends the chunk there: the pieces after it are stopped.
      const stopAfter = (index: number) => (): void => {
        for (const later of pieces.slice(index + 1)) cancelAwaitable(later, new CancelledError('an earlier item of this map() failed'));
      };
      pieces.forEach((piece, index) => piece.then((r) => void (endedShort(r) && stopAfter(index)()), stopAfter(index)));
      const joined = Promise.allSettled(pieces).then((settled): ChunkResult => {
        inFlight -= extra;
        wake?.();
        const values = [...first.values];
        let ms = first.ms;
        for (const outcome of settled) {
          if (outcome.status === 'rejected') throw outcome.reason;
          const piece = outcome.value;
          values.push(...piece.values);
          ms += piece.ms;
          if (endedShort(piece)) return { ...piece, values, ms };
        }
        return { values, ms };
      });
      onCancel(joined, (reason) => {
        for (const piece of pieces) cancelAwaitable(piece, reason);
      });
      return joined;
    };
    return send(items, base);
  };

  /** Sends `items` to a worker as one chunk (`take`: an async input's promise of its one item). */
  const submit = (items: unknown[], take?: Promise<IteratorResult<unknown>>): void => {
    const promise = runChunk(items, submitted);
    const slot: Slot = { promise, base: submitted, take, settled: undefined };
    submitted += items.length;
    inFlight++;
    promise
      .then(
        (result) => {
          slot.settled = { ok: true, result };
          if (result.closed !== undefined) exhausted = true; // the pool takes no more: nothing more is pulled
          // A chunk cut short by an item ran fewer items than it was sent with: the map ends there anyway.
          if (!endedShort(result)) chunkSize = nextChunkSize(items.length, result.ms, maxChunk);
        },
        (error: unknown) => (slot.settled = { ok: false, error }),
      )
      .then(() => {
        inFlight--;
        wake?.();
      });
    window.push(slot);
  };

  // An async input is pulled one item at a time, and never waited on by the loop itself: results
  // that are ready are yielded meanwhile, and the signal is heard, however slow the input is.
  let pulling: Promise<void> | undefined;
  let pulled: IteratorResult<unknown> | undefined;
  /** The input's promise of `pulled`: cancelled, a Queue's takes its item back (see the finally below). */
  let pullStep: Promise<IteratorResult<unknown>> | undefined;
  let pullFailed: { error: unknown } | undefined;
  /** The pool's close() refused a chunk before it started: thrown once the chunks still running are back. */
  let closedBy: PoolClosedError | undefined;
  /** Slots whose one item never started, close() refused it: given back to the input at the end (see the finally). */
  const unstarted: Slot[] = [];

  /** Starts as many chunks as there is room for, from what the input has ready. */
  const fill = (): void => {
    while (!exhausted && inFlight < concurrency && window.length < windowLimit) {
      if (isAsync) {
        if (pulled === undefined) {
          pulling ??= (pullStep = source.next() as Promise<IteratorResult<unknown>>)
            .then(
              (result) => void (pulled = result),
              (error: unknown) => {
                pullFailed = { error };
                exhausted = true;
              },
            )
            .finally(() => {
              pulling = undefined;
              wake?.();
            });
          return;
        }
        const next = pulled;
        pulled = undefined;
        if (next.done) exhausted = true;
        else submit([next.value], pullStep);
        continue;
      }
      const items: unknown[] = [];
      while (items.length < chunkSize) {
        let next: IteratorResult<unknown>;
        try {
          next = source.next() as IteratorResult<unknown>;
        } catch (error) {
          pullFailed = { error };
          next = { done: true, value: undefined };
        }
        if (next.done) {
          exhausted = true;
          break;
        }
        items.push(next.value);
      }
      if (items.length > 0) submit(items);
    }
  };

  // Stopping (the signal, or the cancel scope the loop runs in) stops the values too, even those
  // of chunks already back: the loop's body does not run again once it is told to stop.
  const scope = currentSignal();
  const throwIfStopped = (): void => {
    if (signal?.aborted) throw signal.reason;
    if (scope?.aborted) throw scope.reason;
  };
  // While the loop waits (for a chunk, or an async input's next item), either one wakes it. Watched
  // only then: a loop its consumer dropped half-way, never returned, holds no listener (nor keeps a
  // task it ran in following an outer signal: see CancelScope.release). One listener per signal
  // however many loops share it (see signal-watch.ts).
  const stoppers = [signal, scope].filter((s): s is AbortSignal => s !== undefined);
  try {
    for (;;) {
      throwIfStopped();
      fill();
      if (window.length === 0 && exhausted) {
        // An input that failed: the items it gave before have all been yielded.
        if (pullFailed !== undefined) throw pullFailed.error;
        if (closedBy !== undefined) throw closedBy;
        return;
      }
      const index = ordered ? (window[0]?.settled ? 0 : -1) : window.findIndex((s) => s.settled !== undefined);
      if (index === -1) {
        const unwatch = stoppers.map((s) => watchSignal(s, () => wake?.()));
        try {
          // Stopped since the check above (by the input's own code, say): no listener would tell.
          if (!stoppers.some((s) => s.aborted)) await new Promise<void>((resolve) => (wake = resolve));
        } finally {
          for (const stop of unwatch) stop();
        }
        continue;
      }
      const [slot] = window.splice(index, 1) as [Slot];
      const settled = slot.settled!;
      if (!settled.ok) throw settled.error;
      for (const value of settled.result.values) {
        throwIfStopped();
        yield value as Awaited<R>;
      }
      if (settled.result.refused) throw settled.result.refused;
      if (settled.result.closed) {
        // The pool is closing: the chunks still running finish (close() waits for them) and their
        // values come; nothing more is pulled, and what never started goes back (see the finally).
        closedBy ??= settled.result.closed;
        unstarted.push(slot);
        continue;
      }
      if (settled.result.failed) {
        // An item's own failure: its worker frames, then the loop's site, as a stream's error has.
        const error = await rebuildThrown(settled.result.failed);
        stitch(error, site);
        // A value that could not be sent back is named by its item's place, as an item that could not be sent is.
        if (error instanceof CloneError && /^result\b/.test(error.path)) {
          throw cloneErrorAt(error, `results[${slot.base + settled.result.values.length}]${error.path.slice('result'.length)}`);
        }
        throw error;
      }
    }
  } finally {
    const reason = new CancelledError('map() was left before its input was done');
    for (const slot of window) if (slot.settled === undefined) cancelAwaitable(slot.promise, reason);
    const closing = (source as Partial<AsyncIterator<unknown>>).return?.();
    // Every item of an async input that was not yielded goes back to an input that can take it
    // back (a Queue's getter has it), as a queue.get() cancelled after it was served does: one
    // pulled but never sent, one close() refused, one whose chunk was stopped or had come back
    // (its value was never yielded). The item an error came from is not: the error was its
    // outcome. Each goes back in front, so the last first: the Queue has them in their order.
    if (pulled !== undefined && !pulled.done) cancelAwaitable(pullStep, reason);
    for (const slot of [...unstarted, ...window].sort((a, b) => b.base - a.base)) cancelAwaitable(slot.take, reason);
    // An async input still producing its next item closes after it: the loop does not wait for
    // that (it may never come), and what its closing throws then is a warning, not lost.
    if (pulling === undefined) await closing;
    else void Promise.resolve(closing).catch(lateCloseFailed);
  }
}

/** What an async input's `return()` threw once its pending item came, after map() was left. */
function lateCloseFailed(error: unknown): void {
  warnThrown('TOTHREAD_LATE_INPUT_ERROR', 'map() was left while its async input was producing an item; closing the input afterwards threw', error);
}
