/**
 * What worker code wrote to stdout or stderr travels to the main thread on a port of its own, and
 * an answer on another: with nothing to order them, a log line could come out after the result it
 * goes with. An answer therefore waits until the main thread has written the output before it,
 * for a short while at most: a main thread that no longer reads the worker's output (its stdout
 * closed, EPIPE) must not hold answers back, nor a flood of output a call's deadline.
 */

/** Longest an answer waits for output written before it, in ms. */
const WAIT_MS = 20;

/** Resolves once output written so far is out (or WAIT_MS have passed); undefined when none is pending, as for most calls. */
export function outputWritten(): Promise<void> | undefined {
  const { stdout, stderr } = process;
  if (stdout.writableLength === 0 && stderr.writableLength === 0) return undefined;
  return new Promise<void>((resolve) => {
    let left = 2;
    const timer = setTimeout(resolve, WAIT_MS);
    const done = (): void => {
      if (--left > 0) return;
      clearTimeout(timer);
      resolve();
    };
    stdout.write('', done);
    stderr.write('', done);
  });
}

/** `value`, once output written before it is out. */
export function afterOutput<T>(value: T): T | Promise<T> {
  const output = outputWritten();
  return output === undefined ? value : output.then(() => value);
}
