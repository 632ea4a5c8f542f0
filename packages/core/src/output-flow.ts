/**
 * The main thread's side of worker/output.ts: a worker whose answer waits for output the main
 * thread has not written asks how that output is going. The main thread answers when it turns.
 */
import { OUTPUT_FLOWING, OUTPUT_GONE } from './protocol.js';

type Stdio = NodeJS.WriteStream & { bytesWritten?: number; errored?: unknown; _handle?: { writeQueueSize?: number } | null };

/** True when `stream` takes no more output: destroyed (EPIPE destroys it), ended or failed. */
function gone(stream: Stdio): boolean {
  return stream.destroyed || stream.writableEnded || (stream.errored ?? null) !== null;
}

/**
 * A count that grows as `stream` (a pipe or a terminal) hands bytes on: the writes it has finished,
 * and the part of the current one libuv has written (`_handle.writeQueueSize`, the bytes it still
 * holds: a 1 MB line read slowly moves by that alone). A file is written synchronously and has no
 * count here: it never holds output back.
 */
function handedOn(stream: Stdio): number {
  if (typeof stream.bytesWritten !== 'number') return 0;
  return stream.bytesWritten - stream.writableLength - (stream._handle?.writeQueueSize ?? 0);
}

/**
 * Answers a worker's query (an OutputQueryMessage): stores whether this thread's stdout and stderr
 * still take output, and how much they have written (the worker sees whether that moves), and
 * wakes the worker.
 */
export function answerOutputQuery(answer: Int32Array): void {
  Atomics.store(answer, 1, (handedOn(process.stdout) + handedOn(process.stderr)) | 0);
  Atomics.store(answer, 0, gone(process.stdout) || gone(process.stderr) ? OUTPUT_GONE : OUTPUT_FLOWING);
  Atomics.notify(answer, 0);
}
