/**
 * The main thread's side of worker/output.ts: a worker whose answer waits for output the main
 * thread has not written asks how that output is going. The main thread answers when it turns.
 */
import { OUTPUT_FLOWING, OUTPUT_GONE } from './protocol.js';

type Stdio = NodeJS.WriteStream & { errored?: unknown; _handle?: { bytesWritten?: number; writeQueueSize?: number } | null };

/** True when `stream` takes no more output: destroyed (EPIPE destroys it), ended or failed. */
function gone(stream: Stdio): boolean {
  return stream.destroyed || stream.writableEnded || (stream.errored ?? null) !== null;
}

/**
 * The bytes the system has taken from `stream` (a pipe or a terminal), wrapping: what its libuv
 * handle was given less what it still holds, so a 1 MB line read slowly moves it, and text buffered
 * in the stream does not. Reading it costs nothing, however much is buffered. A file is written
 * synchronously and has no handle: 0, it never holds output back. Private (`_handle`), as Node's
 * own streams read it; without it, 0, and a slow stdout looks stuck.
 */
function handedOn(stream: Stdio): number {
  const handle = stream._handle;
  if (typeof handle?.bytesWritten !== 'number') return 0;
  return (handle.bytesWritten - (handle.writeQueueSize ?? 0)) | 0;
}

/**
 * Answers a worker's query (an OutputQueryMessage): stores whether this thread's stdout and stderr
 * still take output, and what each has handed on (the worker sees whether its own moves), and
 * wakes the worker.
 */
export function answerOutputQuery(answer: Int32Array): void {
  Atomics.store(answer, 1, handedOn(process.stdout));
  Atomics.store(answer, 2, handedOn(process.stderr));
  Atomics.store(answer, 0, gone(process.stdout) || gone(process.stderr) ? OUTPUT_GONE : OUTPUT_FLOWING);
  Atomics.notify(answer, 0);
}
