/**
 * A worker thread's scheduling priority. On Linux, nice values are per thread: a worker lowers its
 * own by `niceIncrement` steps as it starts, so that the kernel lets the main thread (and its event
 * loop) preempt a busy worker at once. Threads the worker starts inherit its value.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The weakest priority a thread can have (nice 19). */
const LOWEST = 19;

/**
 * Lowers the calling thread's priority by `increment` nice steps, relative to what it inherited
 * from the thread that started it. Does nothing on other systems (there, `setpriority` would change
 * the whole process), nor where /proc is not mounted: a worker never fails over its priority.
 */
export function lowerPriority(increment: number): void {
  if (!(increment > 0) || process.platform !== 'linux') return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(tid, Math.min(LOWEST, getPriority(tid) + increment));
  } catch {
    // No /proc, or a sandbox that refuses setpriority: the thread keeps its priority.
  }
}
