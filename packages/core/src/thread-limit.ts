/**
 * How many calls a pool runs at once. Fixed, or (`maxThreads: 'auto'`) adaptive: while calls wait
 * for a thread, the limit grows if the CPUs are idle (the running calls are blocked on I/O, as a
 * legacy sync HTTP or database client is) and falls back toward one thread per core when they are
 * busy (CPU-bound work gains nothing from more threads than cores). Busy means the process uses
 * them, or its workers wait for them: read per thread where it can be (see thread-times.ts).
 */
import { availableParallelism } from 'node:os';
import { processCpu } from './thread-times.js';

/** How often the CPUs are sampled while calls wait. */
const SAMPLE_MS = 20;
/** Below this share of all cores busy, the running calls are taken to be waiting, not computing. */
const IDLE = 0.5;
/** Above it, the limit steps back toward the floor... */
const BUSY = 0.85;
/**
 * ...once the CPUs have stayed that busy this long with no worker starting. New threads burn CPU
 * loading code on their first call (a module, a client's own helper thread) even when the calls
 * only wait; a step back on that would idle the very threads just started. Autoscalers hold a
 * scale-down the same way (a stabilization window).
 */
const STABLE_MS = 200;

/** CPU time the process has used and the wall-clock time, both in ms. */
export interface CpuReading {
  readonly cpu: number;
  readonly wall: number;
  /** CPU time the workers have asked for, running or waiting for a core (ms), where it can be read. */
  readonly demand?: number;
}

/** What a limit is told and asks about. */
export interface ThreadLimitHooks {
  /** Told when more calls may run. */
  readonly raised: () => void;
  /** Whether workers are still starting: their start-up burns CPU that says nothing about the calls. */
  readonly starting?: () => boolean;
  /** How many calls run now (compared with the limit). @default none */
  readonly running?: () => number;
  /** Reads the CPU clock. @default the process's CPU time and `performance.now()` */
  readonly read?: () => CpuReading;
  /** @default availableParallelism() */
  readonly cores?: number;
}

export class ThreadLimit {
  readonly floor: number;
  readonly ceiling: number;
  #value: number;
  #timer: NodeJS.Timeout | undefined;
  #last: CpuReading = { cpu: 0, wall: 0 };
  /**
   * Set when calls start waiting, and while workers start: the next sample only starts the clock,
   * since workers that just got their calls may not have woken up to them yet (an idle-looking
   * moment, not idle CPUs).
   */
  #settling = false;
  /** When the CPUs became busy and stayed so, no worker starting (undefined: they are not). */
  #busySince: number | undefined;
  /** The last sample judged found the CPUs idle: the limit grows on a second such sample in a row, not on one late timer. */
  #idleBefore = false;
  /** Calls wait for a thread now. */
  #waiting = false;
  /** Since when no call has waited and fewer calls than the limit have run, and the most that ran meanwhile (undefined: not so). */
  #slack: { since: number; most: number } | undefined;
  readonly #cores: number;
  readonly #raised: () => void;
  readonly #starting: () => boolean;
  readonly #running: () => number;
  readonly #now: () => CpuReading;

  /** `floor === ceiling` is a fixed limit. */
  constructor(floor: number, ceiling: number, { raised, starting = () => false, running = () => 0, read = processCpu, cores = availableParallelism() }: ThreadLimitHooks) {
    this.floor = floor;
    this.ceiling = ceiling;
    this.#value = floor;
    this.#raised = raised;
    this.#starting = starting;
    this.#running = running;
    this.#now = read;
    this.#cores = cores;
  }

  get value(): number {
    return this.#value;
  }

  get adaptive(): boolean {
    return this.ceiling > this.floor;
  }

  /**
   * Calls are waiting for a thread (`true`) or none is (`false`). Sampling runs meanwhile, and while
   * the limit is above its floor: it grows only while calls wait, and falls back once the CPUs stay
   * busy, or once the threads it added go unused (a burst of blocked calls is over).
   */
  waiting(waiting: boolean): void {
    if (!this.adaptive || waiting === this.#waiting) return;
    this.#waiting = waiting;
    this.#slack = undefined;
    if (!waiting) {
      if (this.#value <= this.floor) this.#stop();
      return;
    }
    this.#idleBefore = false; // what the CPUs did before these calls waited says nothing about them
    if (this.#timer !== undefined) return;
    this.#last = this.#now();
    this.#busySince = undefined;
    this.#settling = true;
    this.#timer = setInterval(() => this.#sample(), SAMPLE_MS);
    this.#timer.unref();
  }

  /** Back to the floor, e.g. when the pool has gone idle. */
  reset(): void {
    this.#value = this.floor;
    if (!this.#waiting) this.#stop();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sample(): void {
    const now = this.#now();
    const starting = this.#starting();
    if (starting || this.#settling) {
      this.#last = now;
      this.#busySince = undefined;
      this.#settling = starting; // the sample after a start only starts the clock too: the new worker is just getting its call
      return;
    }
    const wall = now.wall - this.#last.wall;
    // Busy if the process uses the CPUs, or its workers would if they got them.
    const used = Math.max(now.cpu - this.#last.cpu, now.demand === undefined || this.#last.demand === undefined ? 0 : now.demand - this.#last.demand);
    const busy = used / (wall * this.#cores);
    this.#last = now;
    if (busy <= BUSY) this.#busySince = undefined;
    else this.#busySince ??= now.wall - wall;
    const idle = busy < IDLE;
    const idleTwice = idle && this.#idleBefore;
    this.#idleBefore = idle;
    if (this.#waiting && idleTwice && this.#value < this.ceiling) {
      this.#value = Math.min(this.ceiling, this.#value * 2);
      this.#raised();
    } else if (this.#busySince !== undefined && now.wall - this.#busySince >= STABLE_MS && this.#value > this.floor) {
      this.#value = Math.max(this.floor, Math.ceil(this.#value / 2));
      this.#busySince = now.wall;
    } else if (!this.#waiting) this.#useLess(now.wall);
    if (!this.#waiting && this.#value <= this.floor) this.#stop();
  }

  /**
   * No call waits: once fewer calls than the limit have run for STABLE_MS, the limit falls to the
   * most that ran meanwhile (not below its floor). A burst of blocked calls that is over leaves no
   * room for calls that come next to run all at once, whatever they do.
   */
  #useLess(wall: number): void {
    const running = this.#running();
    if (running >= this.#value) {
      this.#slack = undefined;
      return;
    }
    this.#slack ??= { since: wall, most: running };
    this.#slack.most = Math.max(this.#slack.most, running);
    if (wall - this.#slack.since < STABLE_MS) return;
    this.#value = Math.max(this.floor, this.#slack.most);
    this.#slack = undefined;
  }
}

/** The ceiling of `maxThreads: 'auto'`: room for blocked calls, bounded like Python's executor. */
export function autoCeiling(cores = availableParallelism()): number {
  return Math.max(32, cores * 8);
}
