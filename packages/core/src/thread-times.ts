/**
 * What a pool's worker threads ask of the CPUs, for `maxThreads: 'auto'` (see thread-limit.ts):
 * the time each has spent running or runnable, waiting for a core (Linux schedstat), summed over
 * the workers. A worker blocked on I/O adds nothing; a computing one adds its wall time whether it
 * got a core or not, so other processes' load cannot make computing workers look blocked. The
 * process's CPU time is read beside it: new threads starting and the helper threads of the code
 * they run use CPU that no worker's own time shows.
 */
import { closeSync, openSync, readlinkSync, readSync } from 'node:fs';
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

const SCHEDSTAT = Buffer.alloc(128);

/**
 * The schedstat file of thread `tid` of this process, opened once: reading it again from the start
 * costs a few µs (opening it anew, several times that), and the descriptor stays with that thread
 * even if its id is reused after it exits (a read then fails with ESRCH).
 */
function openDemand(tid: number): number | undefined {
  try {
    return openSync(`/proc/self/task/${tid}/schedstat`, 'r');
  } catch {
    return undefined;
  }
}

/** Nanoseconds the thread of `fd` has run plus waited to run; undefined once it has exited. */
function readDemand(fd: number): number | undefined {
  try {
    const [run = '', wait = ''] = SCHEDSTAT.toString('latin1', 0, readSync(fd, SCHEDSTAT, 0, SCHEDSTAT.length, 0)).split(' ');
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
  /** Each worker's last reading (ns), by its schedstat descriptor. */
  readonly #workers = new Map<number, number>();
  /** What the workers have asked for since they were first seen, in ms. */
  #demanded = 0;
  #cleared = false;
  /** Whether threads' times can be read here (this thread's can), decided once: one clock all along. */
  readonly #perThread: boolean;

  constructor() {
    const self = kernelThreadId();
    const fd = self === undefined ? undefined : openDemand(self);
    this.#perThread = fd !== undefined && readDemand(fd) !== undefined;
    if (fd !== undefined) closeSync(fd);
  }

  /** A worker started, with its kernel thread id (undefined where it has none to give). Workers that exited are let go. */
  add(tid: number | undefined): void {
    if (tid === undefined || !this.#perThread || this.#cleared) return;
    this.#pass();
    const fd = openDemand(tid);
    const ns = fd === undefined ? undefined : readDemand(fd);
    if (ns !== undefined) this.#workers.set(fd!, ns);
    else if (fd !== undefined) closeSync(fd);
  }

  /** Adds each worker's demand since its last reading; closes the descriptors of workers that exited. */
  #pass(): void {
    for (const [fd, last] of this.#workers) {
      const ns = readDemand(fd);
      if (ns === undefined) {
        closeSync(fd);
        this.#workers.delete(fd);
        continue;
      }
      this.#demanded += (ns - last) / 1e6;
      this.#workers.set(fd, ns);
    }
  }

  /** Lets every worker go, and any that starts later (the pool has ended them). */
  clear(): void {
    this.#cleared = true;
    for (const fd of this.#workers.keys()) closeSync(fd);
    this.#workers.clear();
  }

  /** The process's CPU time and the wall clock, with the CPU time the workers have asked for so far (ms). */
  read = (): CpuReading => {
    const reading = processCpu();
    if (!this.#perThread) return reading;
    this.#pass();
    return { ...reading, demand: this.#demanded };
  };
}
