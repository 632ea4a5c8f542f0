/**
 * Streaming an iterator's values to the main thread with backpressure. The consumer grants
 * credits through shared memory; with none left the worker waits for one (Atomics.waitAsync: no
 * CPU used, and the thread's event loop turns meanwhile, so an async generator's timers and I/O,
 * and the replies to its callbacks, are served). A stop flag from the consumer (`break`, or the
 * call stopped) ends the generator at its next yield, running its `finally` blocks; what they
 * throw then is sent as the stream's error, which the consumer's `return()` throws.
 */
import { STREAM_CREDITS as CREDITS, STREAM_STARTED as STARTED, streamStopped, type StreamMessage, type StreamRef, type WireThrown } from '../protocol.js';
import { bufferNote, findUncloneable } from '../clone-check.js';
import { CloneError } from '../errors.js';
import { encodedOrNote } from '../error-codec.js';
import { isBuffer, trimmed } from '../buffers.js';
import { markedBuffers } from './move-back.js';
import { outputWritten } from './output.js';
import type { Callbacks } from './callbacks.js';

const RECHECK_MS = 1000;
/**
 * Values sent between two turns of this thread's event loop. A generator that yields at once never
 * lets it turn otherwise (awaiting its values is microtasks only): the replies to the callbacks it
 * calls would pile up unread, with their promises, and its timers would not fire until it ends.
 */
const TURN_EVERY = 256;

/** Lets this thread's event loop turn once: its messages (callback replies), timers and I/O are served. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Takes a credit: true when one was taken, false when the consumer stopped, else the credits seen (none). */
function tryCredit(control: Int32Array): boolean | number {
  for (;;) {
    if (streamStopped(control)) return false;
    const credits = Atomics.load(control, CREDITS);
    if (credits <= 0) return credits;
    if (Atomics.compareExchange(control, CREDITS, credits, credits - 1) === credits) return true;
  }
}

/** Waits for a credit; false when the consumer stopped meanwhile. At once (no promise) when one is there. */
function takeCredit(control: Int32Array): boolean | Promise<boolean> {
  const taken = tryCredit(control);
  return typeof taken === 'boolean' ? taken : waitCredit(control, taken);
}

async function waitCredit(control: Int32Array, seen: number): Promise<boolean> {
  for (;;) {
    const { async, value } = Atomics.waitAsync(control, CREDITS, seen, RECHECK_MS);
    if (async) await value;
    const taken = tryCredit(control);
    if (typeof taken === 'boolean') return taken;
    seen = taken;
  }
}

/**
 * Sends every value of `iterator` over the stream's port, then `done` with what the generator
 * returned (or the error that ended it). What the generator wrote comes out first. Resolves with
 * whether it ended with an error.
 */
export async function pump(
  iterator: Iterator<unknown> | AsyncIterator<unknown>,
  { port, control }: StreamRef,
  encode: (thrown: unknown) => WireThrown,
  callbacks?: Callbacks,
): Promise<boolean> {
  // Each message says how many callback invocations went before it (see StreamMessage).
  const post = (message: StreamMessage, moved?: ArrayBuffer[]): void => {
    const calls = callbacks?.posted ?? 0;
    port.postMessage(calls === 0 ? message : { ...message, calls }, moved);
  };
  // A yielded or returned value: flagged when a Buffer or holding some, and copied out of a larger buffer unless it moves (see trimmed).
  // `nested`: the Buffers nested in it, noted as it was checked (see sendable).
  const postValue = (kind: 'value' | 'done', value: unknown, nested: number[] | undefined): void => {
    const moved = markedBuffers(value);
    const sent = moved === undefined ? trimmed(value) : value;
    post((isBuffer(value) ? { kind, value: sent, buffer: true } : nested === undefined ? { kind, value: sent } : { kind, value: sent, nested }) as StreamMessage, moved);
  };
  // Before the stop flag is first read: a consumer that left before this never waits for the generator (see STREAM_STARTED).
  Atomics.store(control, STARTED, 1);
  try {
    let returned: unknown;
    for (let sent = 1; await takeCredit(control); sent++) {
      if (sent % TURN_EVERY === 0) await turn();
      const next = await iterator.next();
      if (next.done) {
        returned = next.value;
        break;
      }
      const nested = sendable(next.value, 'streamed value');
      await outputWritten(); // what the generator logged before this value comes out first
      postValue('value', next.value, nested);
    }
    if (streamStopped(control)) await iterator.return?.();
    const nested = sendable(returned, 'streamed return value');
    await outputWritten();
    if (returned === undefined) post(DONE);
    else postValue('done', returned, nested);
    return false;
  } catch (error) {
    // A value that could not be sent leaves the generator paused at its yield: it is closed, as
    // `break` closes it, and its `finally` blocks run (a generator that threw is over already).
    await closeQuietly(iterator);
    await outputWritten(); // what it logged before it threw, too
    post({ kind: 'error', thrown: encodedOrNote(() => encode(error), 'stream') });
    return true;
  } finally {
    port.close();
  }
}

const DONE: StreamMessage = { kind: 'done' };

/** Ends `iterator`; what its `finally` throws then is dropped: the stream ends with the error that ended it first. */
async function closeQuietly(iterator: Iterator<unknown> | AsyncIterator<unknown>): Promise<void> {
  try {
    await iterator.return?.();
  } catch {
    // the first error is the one reported
  }
}

/**
 * Returns the Buffers nested in `value` (see clone-check.ts, BufferNote), if any.
 *
 * @throws {CloneError} when structured clone would refuse `value` (at `path`).
 */
function sendable(value: unknown, path: string): number[] | undefined {
  const buffers = bufferNote(value);
  const bad = findUncloneable(value, path, 'to-main', buffers);
  if (bad !== undefined) throw new CloneError(bad.path, bad.detail);
  return buffers?.found;
}
