/**
 * A worker thread's scheduling priority. On Linux, nice values are per thread: a worker lowers its
 * own by `niceIncrement` steps as it starts, so that the kernel lets the main thread (and its event
 * loop) preempt a busy worker at once. Threads the worker starts inherit its value (libuv's shared
 * thread pool is started from the main thread first, see startLibuvThreads).
 */
import { getPriority, setPriority } from 'node:os';

/** The weakest priority a thread can have (nice 19). */
const LOWEST = 19;

/**
 * Lowers the calling thread's priority by `increment` nice steps, relative to what it inherited
 * from the thread that started it. On Linux, `setpriority` for "the caller" (0) changes the calling
 * thread only; other systems would change the whole process, so there nothing is done. A refusal
 * (a sandbox) leaves the thread as it was: a worker never fails over its priority.
 */
export function lowerPriority(increment: number): void {
  if (!(increment > 0) || process.platform !== 'linux') return;
  try {
    setPriority(0, Math.min(LOWEST, getPriority(0) + increment));
  } catch {
    // Not permitted here: the thread keeps its priority.
  }
}
