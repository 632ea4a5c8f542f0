/**
 * What a pool's worker threads ask of the CPUs, for `maxThreads: 'auto'` (see thread-limit.ts):
 * the time each has spent running or runnable, waiting for a core (Linux schedstat), summed over
 * the workers. A worker blocked on I/O adds nothing; a computing one adds its wall time whether it
 * got a core or not, so other processes' load cannot make computing workers look blocked. The
 * process's CPU time is read beside it: new threads starting and the helper threads of the code
 * they run use CPU that no worker's own time shows.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import type { CpuReading } from './thread-limit.js';

/** The calling thread's kernel id on Linux (`/proc/thread-self` is `<pid>/task/<tid>`), undefined elsewhere. */
export function kernelThreadId(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** Nanoseconds thread `tid` of this process has run plus waited to run; undefined once it has exited. */
function demandNs(tid: number): number | undefined {
  try {
    const [run = '', wait = ''] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'latin1').split(' ');
    const ns = Number(run) + Number(wait);
    return Number.isFinite(ns) ? ns : undefined;
  } catch {
    return undefined;
  }
}

/** The CPU time this process has used and the wall clock. */
export function processCpu(): CpuReading {
  const { user, system } = process.cpuUsage();
  return { cpu: (user + system) / 1000, wall: performance.now() };
}

export class ThreadTimes {
  /** Each worker's last reading (ns), by kernel thread id. */
  readonly #last = new Map<number, number>();
  /** What the workers have asked for since they were first seen, in ms. */
  #demanded = 0;
  /** Whether threads' times can be read here (this thread's can), decided once: one clock all along. */
  readonly #perThread: boolean;

  constructor() {
    const self = kernelThreadId();
    this.#perThread = self !== undefined && demandNs(self) !== undefined;
  }

  /** A worker started, with its kernel thread id (undefined where it has none to give). */
  add(tid: number | undefined): void {
    const ns = tid === undefined || !this.#perThread ? undefined : demandNs(tid);
    if (ns !== undefined) this.#last.set(tid!, ns);
  }

  /**
   * The process's CPU time and the wall clock, with the CPU time the workers have asked for so far
   * (ms): the demand of each worker since its last reading is added, an exited one is forgotten.
   */
  read = (): CpuReading => {
    const reading = processCpu();
    if (!this.#perThread) return reading;
    for (const [tid, last] of this.#last) {
      const ns = demandNs(tid);
      if (ns === undefined) {
        this.#last.delete(tid);
        continue;
      }
      this.#demanded += (ns - last) / 1e6;
      this.#last.set(tid, ns);
    }
    return { ...reading, demand: this.#demanded };
  };
}
