/** A pool's options: their shape, their defaults, and the one place they are checked. */
import { availableParallelism } from 'node:os';
import { SHARE_ENV, Worker, type ResourceLimits } from 'node:worker_threads';
import { autoCeiling } from './thread-limit.js';
import * as check from './validate.js';

const POOL_KEYS = ['minThreads', 'maxThreads', 'idleTimeout', 'maxQueue', 'queueFull', 'resourceLimits', 'env', 'execArgv', 'niceIncrement'] as const;
/** The lowest priority a Linux thread can have: nice 19, 19 steps below the default. */
const MAX_NICE_INCREMENT = 19;

/** Options of {@link createPool}. */
export interface PoolOptions {
  /**
   * Workers kept alive while idle. They never keep the process alive. With `maxThreads: 'auto'` it
   * may be more than one per core; the limit then starts there. @default 1
   */
  minThreads?: number;
  /**
   * Most calls running at once (one per worker); more wait in the queue. `'auto'` starts at one per
   * core and grows, up to `max(32, cores * 8)`, while calls wait (or a full queue turns them away)
   * and the CPUs are idle (the running calls are blocked on I/O), and falls back when the CPUs stay
   * busy for 200 ms with no worker starting. Busy: the process uses them, or (Linux) its workers
   * run or wait for a core. @default 'auto'
   */
  maxThreads?: number | 'auto';
  /** How long a worker above `minThreads` may stay idle before it exits, in ms. @default 10000 */
  idleTimeout?: number;
  /** Most calls waiting for a worker; see `queueFull` for what one more does. @default Infinity */
  maxQueue?: number;
  /**
   * What a call does when the queue is at `maxQueue`: reject with `QueueFullError`, or wait (first
   * come, first served, abortable like any call) until there is room. @default 'reject'
   */
  queueFull?: 'reject' | 'wait';
  /** V8 heap limits of each worker (`worker_threads` `resourceLimits`). @default Node's defaults */
  resourceLimits?: ResourceLimits;
  /** Environment of the workers, or `worker_threads.SHARE_ENV` to share the main thread's. @default a copy of process.env */
  env?: Record<string, string | undefined> | symbol;
  /** Node flags of the workers. @default process.execArgv (so loaders such as tsx carry over) */
  execArgv?: string[];
  /**
   * How many nice steps (0-19) below the main thread the workers run, on Linux: the kernel then lets
   * the main thread's event loop preempt a busy worker at once, so timers and I/O keep their pace
   * while every core computes (on an otherwise idle machine the workers lose no speed; against
   * other busy processes they get a smaller share). `0` runs them at the main thread's priority.
   * Ignored on other systems. Piscina's option of the same name, without its native addon.
   * @default 5
   */
  niceIncrement?: number;
}

/** Pool options once validated. */
export interface Resolved {
  readonly min: number;
  /** The floor and ceiling of the running-calls limit (equal when fixed). */
  readonly max: number;
  readonly ceiling: number;
  readonly idleTimeout: number;
  readonly maxQueue: number;
  readonly queueFull: 'reject' | 'wait';
  readonly niceIncrement: number;
  readonly rest: Pick<PoolOptions, 'resourceLimits' | 'env' | 'execArgv'>;
}

/** Validates pool options, with the message template every check shares. */
export function resolveOptions(options: unknown): Resolved {
  const raw = check.optionsObject('options', options);
  check.knownKeys('options', raw, POOL_KEYS);
  const auto = raw.maxThreads === undefined || raw.maxThreads === 'auto';
  if (!auto && typeof raw.maxThreads !== 'number') throw check.choiceError('maxThreads', "a whole number from 1 and up, or `'auto'`", raw.maxThreads);
  const fixed = auto ? undefined : (check.optionalInteger('maxThreads', raw.maxThreads, 1) as number);
  const ceiling = fixed ?? autoCeiling();
  const min = check.optionalInteger('minThreads', raw.minThreads, 0) ?? 1;
  if (min > ceiling) throw check.rangeError('minThreads', auto ? `at most the ceiling of \`maxThreads: 'auto'\` (${ceiling})` : `at most \`maxThreads\` (${ceiling})`, min);
  // 'auto' starts at one call per core, or per thread kept when minThreads asks for more.
  const max = fixed ?? Math.max(availableParallelism(), min);
  if (raw.execArgv !== undefined) checkExecArgv(raw.execArgv);
  if (raw.env !== undefined && raw.env !== SHARE_ENV && (typeof raw.env !== 'object' || raw.env === null)) {
    const error = check.typeError('env', 'an object of strings or worker_threads.SHARE_ENV', raw.env);
    // A symbol is the right type, the wrong value: SHARE_ENV is the one symbol taken.
    if (typeof raw.env === 'symbol') error.code = 'ERR_INVALID_ARG_VALUE';
    throw error;
  }
  if (raw.resourceLimits !== undefined) checkResourceLimits(raw.resourceLimits);
  return {
    min,
    max,
    ceiling,
    idleTimeout: check.optionalDuration('idleTimeout', raw.idleTimeout, true) ?? 10_000,
    maxQueue: raw.maxQueue === Infinity ? Infinity : (check.optionalInteger('maxQueue', raw.maxQueue, 0) ?? Infinity),
    queueFull: queueFullMode(raw.queueFull, raw.maxQueue),
    niceIncrement: check.optionalInteger('niceIncrement', raw.niceIncrement, 0, MAX_NICE_INCREMENT) ?? 5,
    rest: { resourceLimits: raw.resourceLimits, env: raw.env, execArgv: raw.execArgv } as Resolved['rest'],
  };
}

/** The smallest worker stack accepted, MB. */
const MIN_STACK_MB = 1;

const LIMIT_KEYS = ['maxYoungGenerationSizeMb', 'maxOldGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'] as const;

/** Node ignores a limit it does not know or cannot use: a typo would leave a worker with no cap at all. */
function checkResourceLimits(value: unknown): void {
  const limits = check.optionsObject('resourceLimits', value);
  check.knownKeys('resourceLimits', limits, LIMIT_KEYS);
  for (const key of LIMIT_KEYS) {
    const size = limits[key];
    if (size === undefined) continue;
    if (typeof size !== 'number') throw check.typeError(`resourceLimits.${key}`, 'a number of MB above 0', size);
    if (!(size > 0 && Number.isFinite(size))) throw check.rangeError(`resourceLimits.${key}`, 'a number of MB above 0', size);
    // Node checks no minimum: a worker whose stack overflows as it starts ends the whole process
    // (0.25 MB did, here; Node's default is 4).
    if (key === 'stackSizeMb' && size < MIN_STACK_MB) throw check.rangeError('resourceLimits.stackSizeMb', `a number of MB from ${MIN_STACK_MB} (a smaller stack can overflow as the worker starts, which ends the whole process; Node's default is 4)`, size);
  }
}

function queueFullMode(value: unknown, maxQueue: unknown): 'reject' | 'wait' {
  if (value !== undefined && value !== 'reject' && value !== 'wait') throw check.choiceError('queueFull', "`'reject'` or `'wait'`", value);
  // With no room at all there is nothing to wait for.
  if (value === 'wait' && maxQueue === 0) throw check.rangeError('maxQueue', "a whole number from 1 and up with queueFull: 'wait'", maxQueue);
  return value ?? 'reject';
}

/**
 * Node refuses some flags for threads only when a worker is made, and Piscina makes workers inside
 * its `run()`, where the failure would strand the call. So flags are checked here, once, by making
 * one worker (terminated at once).
 */
function checkExecArgv(execArgv: unknown): void {
  if (!(Array.isArray(execArgv) && execArgv.every((a) => typeof a === 'string'))) {
    throw check.typeError('execArgv', 'an array of strings', execArgv);
  }
  let probe: Worker;
  try {
    probe = new Worker('', { eval: true, execArgv });
  } catch (error) {
    throw Object.assign(
      new TypeError(
        `Expected \`execArgv\` to hold flags a worker thread accepts: ${(error as Error).message}. ` +
          'Per-process flags (such as --max-old-space-size) do not apply to threads: use `resourceLimits` for heap sizes',
        { cause: error },
      ),
      { code: 'ERR_INVALID_ARG_VALUE' },
    );
  }
  probe.unref();
  void probe.terminate();
}
