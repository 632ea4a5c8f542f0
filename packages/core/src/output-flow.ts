/**
 * The main thread's side of worker/output.ts: a worker whose answer waits for output the main
 * thread has not written asks how that output is going. The main thread answers when it turns.
 */
import { OUTPUT_FLOWING, OUTPUT_GONE } from './protocol.js';

/** True when `stream` takes no more output: destroyed (EPIPE destroys it), ended or failed. */
function gone(stream: NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean; errored?: unknown }): boolean {
  return stream.destroyed === true || stream.writableEnded === true || (stream.errored ?? null) !== null;
}

/** Stores in `answer` whether this thread's stdout and stderr still take output, and wakes the worker waiting on it. */
export function answerOutputQuery(answer: Int32Array): void {
  Atomics.store(answer, 0, gone(process.stdout) || gone(process.stderr) ? OUTPUT_GONE : OUTPUT_FLOWING);
  Atomics.notify(answer, 0);
}
