/**
 * How many calls a pool runs at once. Fixed, or (`maxThreads: 'auto'`) adaptive: while calls wait
 * for a thread, the limit grows if the CPUs are idle (the running calls are blocked on I/O, as a
 * legacy sync HTTP or database client is) and falls back toward one thread per core when they are
 * busy (CPU-bound work gains nothing from more threads than cores).
 */
import { availableParallelism } from 'node:os';

/** How often the CPUs are sampled while calls wait. */
const SAMPLE_MS = 20;
/** Below this share of all cores busy, the running calls are taken to be waiting, not computing. */
const IDLE = 0.5;
/** Above it, the limit steps back toward the floor. */
const BUSY = 0.85;

export class ThreadLimit {
  readonly floor: number;
  readonly ceiling: number;
  #value: number;
  #timer: NodeJS.Timeout | undefined;
  #last = { cpu: 0, wall: 0 };
  readonly #cores = availableParallelism();
  readonly #raised: () => void;
  readonly #starting: () => boolean;

  /**
   * `floor === ceiling` is a fixed limit. `raised` is told when more calls may run; `starting` says
   * whether workers are still starting up (their start-up burns CPU that says nothing about the calls).
   */
  constructor(floor: number, ceiling: number, raised: () => void, starting: () => boolean = () => false) {
    this.floor = floor;
    this.ceiling = ceiling;
    this.#value = floor;
    this.#raised = raised;
    this.#starting = starting;
  }

  get value(): number {
    return this.#value;
  }

  get adaptive(): boolean {
    return this.ceiling > this.floor;
  }

  /** Calls are waiting for a thread (`true`) or none is (`false`): sampling runs only meanwhile. */
  waiting(waiting: boolean): void {
    if (!this.adaptive) return;
    if (waiting && this.#timer === undefined) {
      this.#last = this.#now();
      this.#timer = setInterval(() => this.#sample(), SAMPLE_MS);
      this.#timer.unref();
    } else if (!waiting && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Back to the floor, e.g. when the pool has gone idle. */
  reset(): void {
    this.#value = this.floor;
  }

  #now(): { cpu: number; wall: number } {
    const { user, system } = process.cpuUsage();
    return { cpu: (user + system) / 1000, wall: performance.now() };
  }

  #sample(): void {
    const now = this.#now();
    if (this.#starting()) {
      this.#last = now;
      return;
    }
    const wall = now.wall - this.#last.wall;
    const busy = (now.cpu - this.#last.cpu) / (wall * this.#cores);
    this.#last = now;
    if (busy < IDLE && this.#value < this.ceiling) {
      this.#value = Math.min(this.ceiling, this.#value * 2);
      this.#raised();
    } else if (busy > BUSY && this.#value > this.floor) {
      this.#value = Math.max(this.floor, Math.ceil(this.#value / 2));
    }
  }
}

/** The ceiling of `maxThreads: 'auto'`: room for blocked calls, bounded like Python's executor. */
export function autoCeiling(cores = availableParallelism()): number {
  return Math.max(32, cores * 8);
}
