/**
 * What worker code wrote to stdout or stderr travels to the main thread on a port of its own, and
 * an answer on another: with nothing to order them, a log line could come out after the result it
 * goes with. An answer therefore waits until the main thread has written the output before it.
 *
 * A main thread that is merely busy (blocked in sync code, or slow on a loaded machine) writes it
 * late: the answer waits, however long, for it could not be read any sooner. One that no longer
 * writes the worker's output must not hold answers back: its stdout is closed (a CLI piped into
 * `head`: EPIPE), or nobody reads the pipe behind it. So while it waits, the worker asks the main
 * thread every ASK_MS how its output is going (output-flow.ts). The main thread answers only when
 * it turns, so a busy one is never mistaken for a stuck one. The wait ends when the main thread
 * says its output is gone, or when its answers have said for PATIENCE_MS that its output is not
 * moving (a full pipe); answers then stop waiting until what was pending then is written. Output
 * that moves, however slowly, is waited for.
 *
 * The wait is not the call's run time: a call with a timeout tells the main thread it has run
 * before it waits (entry.ts).
 */
import { parentPort } from 'node:worker_threads';
import { OUTPUT_GONE, type OutputQueryMessage } from '../protocol.js';

/** The main thread's answer: whether its output is gone, and the bytes its stdout and stderr have handed on (they wrap). */
interface OutputState {
  readonly gone: boolean;
  readonly stdout: number;
  readonly stderr: number;
}

/** How long an answer waits before it asks the main thread how its output is going, and between asks, in ms. */
const ASK_MS = 20;
/** How long the main thread's answers may say its output is not moving before the wait gives up, in ms. */
const PATIENCE_MS = 500;

/** Resolves when the main thread has written what is pending now: one at a time, however many wait on it. */
let written: Promise<void> | undefined;
/** The output stopped moving (see above), and what was pending then is not written yet: answers do not wait. */
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

/** Asks the main thread how its output is going; resolves once it has answered. */
function mainOutput(): Promise<OutputState> {
  const answer = new Int32Array(new SharedArrayBuffer(12));
  parentPort!.postMessage(['tothread:output?', answer] satisfies OutputQueryMessage);
  const waited = Atomics.waitAsync(answer, 0, 0);
  const answered = waited.async ? waited.value : Promise.resolve();
  return answered.then(() => ({ gone: Atomics.load(answer, 0) === OUTPUT_GONE, stdout: Atomics.load(answer, 1), stderr: Atomics.load(answer, 2) }));
}

/** Whether the main thread's output this thread still waits on moved between two answers (what others write elsewhere does not count). */
function movedOn(before: OutputState, now: OutputState): boolean {
  return (process.stdout.writableLength > 0 && before.stdout !== now.stdout) || (process.stderr.writableLength > 0 && before.stderr !== now.stderr);
}

/** Resolves once output written so far is out (or the output stopped moving); undefined when none is pending, as for most calls. */
export function outputWritten(): Promise<void> | undefined {
  if (stalled || (process.stdout.writableLength === 0 && process.stderr.writableLength === 0)) return undefined;
  const out = writtenOut();
  return new Promise<void>((resolve) => {
    /** The main thread's answer when its output last moved, and when that was seen (undefined: no answer yet). */
    let lastMove: { state: OutputState; at: number } | undefined;
    let settled = false;
    const finish = (): void => {
      settled = true;
      clearTimeout(timer);
      resolve();
    };
    const ask = (): void => {
      void mainOutput().then((state) => {
        if (settled) return;
        const now = performance.now();
        if (lastMove === undefined || movedOn(lastMove.state, state)) lastMove = { state, at: now };
        if (state.gone || now - lastMove.at >= PATIENCE_MS) {
          stalled = true;
          finish();
        } else timer = setTimeout(ask, ASK_MS);
      });
    };
    let timer = setTimeout(ask, ASK_MS);
    void out.then(() => {
      if (!settled) finish();
    });
  });
}
