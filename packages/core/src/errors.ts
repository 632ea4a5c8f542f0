/**
 * Every error tothread itself throws. Each class has a fixed `name` and a stable `code`, so callers
 * can branch with `instanceof` or on `error.code` across package copies.
 */

/** Codes of the errors tothread throws. */
export type ErrorCode =
  | 'ERR_TOTHREAD_TIMEOUT'
  | 'ERR_TOTHREAD_POOL_CLOSED'
  | 'ERR_TOTHREAD_UNSUPPORTED_FUNCTION'
  | 'ERR_TOTHREAD_WORKER_EXITED'
  | 'ERR_TOTHREAD_QUEUE_FULL'
  | 'ERR_TOTHREAD_UNCLONEABLE';

/**
 * Base class of every error tothread throws (not of the errors your own functions throw: those come
 * back with their own class).
 *
 * @example
 * try { await toThread(parseSync, text) } catch (error) {
 *   if (error instanceof ToThreadError) console.error(error.code)
 * }
 */
export class ToThreadError extends Error {
  override name = 'ToThreadError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * A call ran longer than its `timeout`. The function was stopped: the worker running it was
 * terminated and replaced.
 *
 * @example
 * await toThread.with({ timeout: 1000 })(spin).catch((e) => e instanceof TimeoutError) // true
 */
export class TimeoutError extends ToThreadError {
  override name = 'TimeoutError';
  /** The timeout that fired, in milliseconds. */
  readonly timeout: number;

  constructor(what: string, timeout: number, options?: { cause?: unknown }) {
    super('ERR_TOTHREAD_TIMEOUT', `${what} timed out after ${timeout} ms`, options);
    this.timeout = timeout;
  }
}

/**
 * The pool was closed or destroyed: it takes no new calls, and calls still queued or running when
 * it was destroyed are rejected with this error.
 */
export class PoolClosedError extends ToThreadError {
  override name = 'PoolClosedError';

  constructor(message = 'The pool is closed: create a new pool, or make the call before close()') {
    super('ERR_TOTHREAD_POOL_CLOSED', message);
  }
}

/** Why a function cannot be run on a worker thread. */
export type UnsupportedReason =
  | 'not-a-function'
  | 'closure'
  | 'bound'
  | 'native'
  | 'class'
  | 'generator'
  | 'entry-script'
  | 'not-exported';

/**
 * A function that cannot be run on a worker as it is: a closure over local variables, a bound or
 * native function, a class, or a function of the entry script. Thrown before anything is sent to a
 * worker; the message names the problem and the fix.
 */
export class UnsupportedFunctionError extends ToThreadError {
  override name = 'UnsupportedFunctionError';
  readonly reason: UnsupportedReason;
  /** For `reason: 'closure'`: the names the function uses from its surrounding scope. */
  readonly freeVariables: readonly string[];

  constructor(reason: UnsupportedReason, message: string, freeVariables: readonly string[] = []) {
    super('ERR_TOTHREAD_UNSUPPORTED_FUNCTION', message);
    this.reason = reason;
    this.freeVariables = freeVariables;
  }
}

/**
 * The worker running the call exited before the call settled: `process.exit()` in the function, a
 * crash, an out-of-memory kill through `resourceLimits`, or a termination from outside.
 * The pool replaces the worker; other calls are not affected.
 */
export class WorkerExitError extends ToThreadError {
  override name = 'WorkerExitError';
  /** The worker's exit code, when it is known. */
  readonly exitCode: number | undefined;

  constructor(message: string, exitCode?: number, options?: { cause?: unknown }) {
    super('ERR_TOTHREAD_WORKER_EXITED', message, options);
    this.exitCode = exitCode;
  }
}

/** The pool's queue is at `maxQueue`: the call was not accepted. Nothing was dropped silently. */
export class QueueFullError extends ToThreadError {
  override name = 'QueueFullError';
  readonly maxQueue: number;

  constructor(maxQueue: number) {
    super(
      'ERR_TOTHREAD_QUEUE_FULL',
      `The pool's queue is full (maxQueue: ${maxQueue}): wait for calls to settle, raise maxQueue, or limit concurrency with a Semaphore`,
    );
    this.maxQueue = maxQueue;
  }
}

/**
 * An argument (or a result) cannot be copied to another thread by the structured clone algorithm:
 * a function, a class instance with private state, a socket... `path` says which one.
 */
export class CloneError extends ToThreadError {
  override name = 'CloneError';
  /** Where the value sits, e.g. `args[1].handler`. */
  readonly path: string;

  constructor(path: string, detail: string, options?: { cause?: unknown }) {
    const where = path.startsWith('result') ? 'cannot be sent back from the worker thread' : 'cannot be sent to a worker thread';
    super(
      'ERR_TOTHREAD_UNCLONEABLE',
      `${path} ${where}: ${detail}. Use plain data (objects, arrays, strings, numbers, Map, Set, Date, typed arrays) instead`,
      options,
    );
    this.path = path;
  }
}
