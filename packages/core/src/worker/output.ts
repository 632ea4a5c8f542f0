/**
 * What worker code wrote to stdout or stderr travels to the main thread on a port of its own, and
 * an answer on another: with nothing to order them, a log line could come out after the result it
 * goes with. An answer therefore waits until the main thread has written the output before it,
 * for a short while at most: a main thread that no longer reads the worker's output (its stdout
 * closed, EPIPE) must not hold answers back, nor a flood of output a call's deadline. Once a wait
 * runs out, answers stop waiting until the main thread writes again.
 */

/** Longest an answer waits for output written before it, in ms. */
const WAIT_MS = 20;

/** Resolves when the main thread has written what is pending now: one at a time, however many wait on it. */
let written: Promise<void> | undefined;
/** A wait ran out and the output has not moved since: answers do not wait. */
let stalled = false;

function writtenOut(): Promise<void> {
  return (written ??= new Promise<void>((resolve) => {
    let left = 2;
    const done = (): void => {
      if (--left > 0) return;
      written = undefined;
      stalled = false;
      resolve();
    };
    process.stdout.write('', done);
    process.stderr.write('', done);
  }));
}

/** Resolves once output written so far is out (or WAIT_MS have passed); undefined when none is pending, as for most calls. */
export function outputWritten(): Promise<void> | undefined {
  if (stalled || (process.stdout.writableLength === 0 && process.stderr.writableLength === 0)) return undefined;
  const out = writtenOut();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      stalled = true;
      resolve();
    }, WAIT_MS);
    void out.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** `value`, once output written before it is out. */
export function afterOutput<T>(value: T): T | Promise<T> {
  const output = outputWritten();
  return output === undefined ? value : output.then(() => value);
}
