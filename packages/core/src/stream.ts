/**
 * The main thread's end of a streamed call: an async iterator over the values a worker-side
 * iterator produces. It grants the worker credits as values are taken (bounded buffering: the
 * worker pauses when the consumer lags), and `break` or `return()` stops the generator in the
 * worker at its next yield, waits for its `finally` blocks, and throws what they threw, as `break`
 * out of a local generator does.
 */
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { received } from './buffers.js';
import { rebuildThrown } from './call.js';
import { stitch, type Site } from './call-site.js';
import { currentSignal, withoutSignal, withSignal } from './cancel.js';
import { WorkerExitError } from './errors.js';
import { STREAM_CONTROL_SLOTS, STREAM_CREDITS as CREDITS, STREAM_STARTED as STARTED, STREAM_STOP as STOP, type StreamMessage, type StreamRef } from './protocol.js';
import type { TaskExtra } from './pool.js';
import type { CallbackCount } from './args.js';

/** The message that ends a stream with an error. */
type ErrorMessage = Extract<StreamMessage, { kind: 'error' }>;

/** How many values a stream may buffer ahead of its consumer. */
const HIGH_WATER_MARK = 16;

/**
 * Starts a streamed call through `start` and returns its values as an async iterator. An error the
 * generator throws shows its worker frames, then `site`'s.
 */
export function openStream<T>(start: (task: TaskExtra) => Promise<unknown>, site: Site, highWaterMark = HIGH_WATER_MARK): AsyncIterableIterator<T> {
  const { port1, port2 } = new MessageChannel();
  const control = new Int32Array(new SharedArrayBuffer(STREAM_CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT));
  Atomics.store(control, CREDITS, highWaterMark);
  const stream: StreamRef = { port: port2, control };
  const inbox: StreamMessage[] = [];
  let failure: { error: unknown } | undefined;
  let finished = false;
  /** The call was stopped: values still on their way are dropped. */
  let stopped = false;
  /** The consumer left (`return()`) and waits for the generator's `finally` blocks. */
  let closing = false;
  /** What those blocks threw, once it has arrived. */
  let thrownAtClose: ErrorMessage | undefined;
  let waiting: Array<() => void> = [];
  const notify = (): void => {
    const woken = waiting;
    waiting = [];
    for (const wake of woken) wake();
  };
  /** The call's callback invocations run so far: a message waits for those the worker made before it. */
  const callbacks: CallbackCount = { count: 0, ran: notify };
  /** The call has ended: its callbacks have all run (it answers after them), or their ports are closed. */
  let callEnded = false;
  const behindCallbacks = (message: StreamMessage | undefined): boolean => !callEnded && message?.calls !== undefined && message.calls > callbacks.count;
  /** Tells the worker the consumer has stopped: its generator ends at its next yield, a paused one at once. */
  const stopWorker = (): void => {
    Atomics.store(control, STOP, 1);
    Atomics.notify(control, CREDITS);
  };
  port1.on('message', (message: StreamMessage) => {
    if (stopped || finished) return; // posted before the stop (a cancel, return()), delivered after it
    if (!closing) inbox.push(message);
    else if (message.kind === 'error') thrownAtClose = message;
    // The last message: what is left to read is here, and a stream read only in part (or not at
    // all) must not keep the process alive for it.
    if (message.kind !== 'value') port1.unref();
    notify();
  });
  // The call itself fails when the worker never got to stream (a module that does not load), died,
  // or was stopped (a cancel scope, a timeout, the signal, a callback that threw). Its port then
  // no longer keeps the process alive either (a worker still streaming does, through its call). A
  // stopped stream yields nothing more, not even values already here: the caller asked it to stop.
  // A dead worker's values before its death are still read (those still queued on the port too:
  // its death and its values travel apart), then its error.
  // Nothing runs until the first next(), as with a local generator: a stream never iterated (or
  // awaited by mistake) holds no worker. It starts in the cancel scope it was made in.
  // Until then its port does not keep the process alive either.
  port1.unref();
  const scope = currentSignal();
  const inScope = (fn: () => Promise<unknown>): Promise<unknown> => (scope === undefined ? withoutSignal(fn) : withSignal(scope, fn));
  let ended: Promise<void> | undefined;
  const begin = (): Promise<void> => (ended ??= run());
  const run = (): Promise<void> => {
    port1.ref();
    return inScope(() => start({ op: 'stream', stream, callbacks })).then(
      () => {
        callEnded = true;
        notify();
      },
      (error: unknown) => {
        callEnded = true;
        failure = { error };
        if (error instanceof WorkerExitError) {
          if (!finished) for (let queued = receiveMessageOnPort(port1); queued !== undefined; queued = receiveMessageOnPort(port1)) inbox.push(queued.message as StreamMessage);
        } else {
          stopped = true;
          inbox.length = 0;
          stopWorker(); // a worker given a grace period ends the generator at its next yield, paused or not
        }
        port1.unref();
        notify();
      },
    );
  };
  const close = (): void => {
    finished = true;
    notify();
    stopWorker();
    port1.close();
  };
  /** The next result; one at a time (see next). */
  const step = async (): Promise<IteratorResult<T>> => {
    for (;;) {
      if (finished && inbox.length === 0) return { value: undefined, done: true };
      if (behindCallbacks(inbox[0])) {
        await new Promise<void>((resolve) => waiting.push(resolve));
        continue;
      }
      const message = inbox.shift();
      if (message?.kind === 'value') {
        Atomics.add(control, CREDITS, 1);
        Atomics.notify(control, CREDITS);
        return { value: received(message.value, message.buffer, message.nested) as T, done: false };
      }
      if (message?.kind === 'done') {
        close();
        // The call's own end says whether it went well: a callback that threw after the last
        // value, or a cancel with a grace period whose generator then ended by itself, fails it.
        await begin();
        if (failure !== undefined) throw failure.error;
        return { value: received(message.value, message.buffer, message.nested), done: true };
      }
      if (message?.kind === 'error') {
        close();
        const error = await rebuildThrown(message.thrown);
        stitch(error, site);
        throw error;
      }
      if (failure !== undefined) {
        close();
        throw failure.error;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };
  /** Waits for the call to end once the consumer has left: the error the generator's `finally` blocks threw, if any. */
  const generatorClosed = async (): Promise<ErrorMessage | undefined> => {
    closing = true;
    await begin(); // the call ends after the stream's last message was posted: what is still on the port is read now
    const late = inbox.splice(0); // a dead worker's, read by `ended`
    for (let queued = receiveMessageOnPort(port1); queued !== undefined; queued = receiveMessageOnPort(port1)) late.push(queued.message as StreamMessage);
    return late.findLast((message) => message.kind === 'error') ?? thrownAtClose;
  };
  /** The last next() asked for: a next() waits for it, so results come in the order they were asked for. */
  let last: Promise<unknown> = Promise.resolve();
  const iterator: AsyncIterableIterator<T> = {
    next(): Promise<IteratorResult<T>> {
      if (!finished) void begin();
      const result = last.then(step);
      last = result.catch(() => {});
      return result;
    },
    async return(): Promise<IteratorResult<T>> {
      inbox.length = 0;
      if (finished || closing) return { value: undefined, done: true };
      if (ended === undefined) {
        close(); // never iterated: it never starts
        return { value: undefined, done: true };
      }
      stopWorker();
      // A generator that may have run ends at its next yield (at once when paused for credits):
      // its `finally` blocks run, and what they throw is thrown here. One that never began never runs.
      const thrown = !stopped && Atomics.load(control, STARTED) === 1 ? await generatorClosed() : undefined;
      close();
      if (thrown === undefined) return { value: undefined, done: true };
      const error = await rebuildThrown(thrown.thrown);
      stitch(error, site);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
