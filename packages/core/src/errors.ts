/**
 * Every error tothread itself throws. Each class has a fixed `name` and a stable `code`, so callers
 * can branch with `instanceof` or on `error.code` across package copies.
 */
import { inspect } from 'node:util';

/** Codes of the errors tothread throws. */
export type ErrorCode =
  | 'ERR_TOTHREAD_TIMEOUT'
  | 'ERR_TOTHREAD_POOL_CLOSED'
  | 'ERR_TOTHREAD_UNSUPPORTED_FUNCTION'
  | 'ERR_TOTHREAD_WORKER_EXITED'
  | 'ERR_TOTHREAD_QUEUE_FULL'
  | 'ERR_TOTHREAD_UNCLONEABLE'
  | 'ERR_TOTHREAD_CANCELLED'
  | 'ERR_TOTHREAD_TASK_GROUP'
  | 'ERR_TOTHREAD_TASK_GROUP_CLOSED'
  | 'ERR_TOTHREAD_QUEUE_EMPTY'
  | 'ERR_TOTHREAD_QUEUE_SHUT_DOWN'
  | 'ERR_TOTHREAD_MODULE_NOT_FOUND'
  | 'ERR_TOTHREAD_MODULE_LOAD'
  | 'ERR_TOTHREAD_EXPORT'
  | 'ERR_TOTHREAD_CALLBACK'
  | 'ERR_TOTHREAD_INSTANCE';

/**
 * Base class of every error tothread throws (not of the errors your own functions throw: those come
 * back with their own class).
 *
 * @example
 * try { await toThread(parseSync, text) } catch (error) {
 *   if (error instanceof ToThreadError) console.error(error.code)
 * }
 */
export class ToThreadError<C extends ErrorCode = ErrorCode> extends Error {
  override name = 'ToThreadError';
  /** Each class's own, e.g. `'ERR_TOTHREAD_TIMEOUT'` for a `TimeoutError`. */
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
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
export class TimeoutError extends ToThreadError<'ERR_TOTHREAD_TIMEOUT'> {
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
 *
 * @example
 * await pool.close()
 * await pool.toThread(fn).catch((e) => e instanceof PoolClosedError) // true
 */
export class PoolClosedError extends ToThreadError<'ERR_TOTHREAD_POOL_CLOSED'> {
  override name = 'PoolClosedError';
  /**
   * Whether the call had reached a thread when the pool stopped it: `false` means it never ran (it
   * was made after `close()`, or still queued), so running it again elsewhere runs it once.
   * @default false
   */
  readonly started: boolean;

  constructor(message = 'The pool is closed: create a new pool, or make the call before close()', options?: { started?: boolean }) {
    super('ERR_TOTHREAD_POOL_CLOSED', message);
    this.started = options?.started ?? false;
  }
}

/** Why a function cannot be run on a worker thread. */
export type UnsupportedReason =
  | 'closure'
  | 'bound'
  | 'native'
  | 'class'
  | 'accessor'
  | 'unparsable'
  | 'entry-script'
  | 'offloaded';

/**
 * A function that cannot be run on a worker as it is: a closure over local variables, a bound or
 * native function, a class, or a function of the entry script. Thrown before anything is sent to a
 * worker; the message names the problem and the fix.
 *
 * @example
 * const rate = 2
 * await toThread((x) => x * rate, 1).catch((e) => e.freeVariables) // ['rate']
 */
export class UnsupportedFunctionError extends ToThreadError<'ERR_TOTHREAD_UNSUPPORTED_FUNCTION'> {
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
 *
 * @example
 * await toThread(() => process.exit(3)).catch((e) => e.exitCode) // 3
 */
export class WorkerExitError extends ToThreadError<'ERR_TOTHREAD_WORKER_EXITED'> {
  override name = 'WorkerExitError';
  /** The worker's exit code, when it is known. */
  readonly exitCode: number | undefined;

  constructor(message: string, exitCode?: number, options?: { cause?: unknown }) {
    super('ERR_TOTHREAD_WORKER_EXITED', message, options);
    this.exitCode = exitCode;
  }
}

/**
 * A queue is at its limit: a pool's `maxQueue`, or a `Queue`'s `maxsize` for `putNowait()`.
 * The item was not accepted; nothing was dropped silently.
 *
 * @example
 * const pool = createPool({ maxThreads: 1, maxQueue: 0 })
 * pool.toThread(slowSync); await pool.toThread(fastSync).catch((e) => e.limit) // 0
 */
export class QueueFullError extends ToThreadError<'ERR_TOTHREAD_QUEUE_FULL'> {
  override name = 'QueueFullError';
  /** The limit that was reached. */
  readonly limit: number;

  constructor(limit: number, message: string) {
    super('ERR_TOTHREAD_QUEUE_FULL', message);
    this.limit = limit;
  }
}

/**
 * `Queue#getNowait()` found the queue empty.
 *
 * @example
 * new Queue().getNowait() // throws QueueEmptyError
 */
export class QueueEmptyError extends ToThreadError<'ERR_TOTHREAD_QUEUE_EMPTY'> {
  override name = 'QueueEmptyError';

  constructor() {
    super('ERR_TOTHREAD_QUEUE_EMPTY', 'The queue is empty: use `await queue.get()` to wait for an item');
  }
}

/**
 * The `Queue` was shut down: `put()` always rejects, `get()` once the queue is empty.
 *
 * @example
 * queue.shutdown(); await queue.put(1).catch((e) => e instanceof QueueShutDownError) // true
 */
export class QueueShutDownError extends ToThreadError<'ERR_TOTHREAD_QUEUE_SHUT_DOWN'> {
  override name = 'QueueShutDownError';

  constructor(message: string) {
    super('ERR_TOTHREAD_QUEUE_SHUT_DOWN', message);
  }
}

/**
 * A task, scope or gather was cancelled without a reason of its own. (With a reason, the
 * rejection is that reason, as with `AbortSignal`.)
 *
 * @example
 * const task = createTask(() => toThread(slowSync)); task.cancel()
 * await task.catch((e) => e instanceof CancelledError) // true
 */
export class CancelledError extends ToThreadError<'ERR_TOTHREAD_CANCELLED'> {
  override name = 'CancelledError';

  constructor(message = 'The task was cancelled') {
    super('ERR_TOTHREAD_CANCELLED', message);
  }
}

/**
 * A `TaskGroup` was used after it finished: create its tasks inside the group's callback.
 *
 * @example
 * let group; await taskGroup((g) => { group = g })
 * group.create(fn) // throws TaskGroupClosedError
 */
export class TaskGroupClosedError extends ToThreadError<'ERR_TOTHREAD_TASK_GROUP_CLOSED'> {
  override name = 'TaskGroupClosedError';

  constructor() {
    super(
      'ERR_TOTHREAD_TASK_GROUP_CLOSED',
      'The task group has finished and takes no new tasks: create tasks before its callback returns, or start a new group',
    );
  }
}

/**
 * One or more tasks of a `TaskGroup` failed (asyncio's `ExceptionGroup`). The others were
 * cancelled, their workers stopped, and waited for; `errors` holds the failures, in the order they
 * happened.
 *
 * @example
 * await taskGroup(async (g) => { g.create(failingSync) }).catch((e) => e.errors) // [the failure]
 */
export class TaskGroupError extends AggregateError {
  override name = 'TaskGroupError';
  readonly code = 'ERR_TOTHREAD_TASK_GROUP' as const;

  constructor(errors: readonly unknown[]) {
    // The body's own failure is among them: they are the group's errors, not only its tasks'.
    super(errors, `The task group failed (${errors.length} error${errors.length === 1 ? '' : 's'}): ${errors.map(summary).join('; ')}`);
  }
}

function summary(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** What every CloneError's message ends with. */
const PLAIN_DATA = '. Use plain data (objects, arrays, strings, numbers, Map, Set, Date, typed arrays) instead';

/**
 * An argument (or a result) cannot be copied to another thread by the structured clone algorithm:
 * a function, a class instance with private state, a socket... `path` says which one.
 *
 * @example
 * await toThread((o) => o, { cache: new WeakMap() }).catch((e) => e.path) // 'args[0].cache'
 */
export class CloneError extends ToThreadError<'ERR_TOTHREAD_UNCLONEABLE'> {
  override name = 'CloneError';
  /** Where the value sits, e.g. `args[1].handler`, `result.rows`, or `callback args[1] arguments[0].meta` (what worker code passed a callback). */
  readonly path: string;

  constructor(path: string, detail: string, options?: { cause?: unknown }) {
    const where = path.startsWith('result') || path.startsWith('streamed')
      ? 'cannot be sent back from the worker thread'
      : path.startsWith('callback')
        ? / result\b/.test(path) ? 'cannot be sent back to the worker thread' : 'cannot be sent to the main thread'
        : 'cannot be sent to a worker thread';
    super(
      'ERR_TOTHREAD_UNCLONEABLE',
      `${path} ${where}: ${detail}${PLAIN_DATA}`,
      options,
    );
    this.path = path;
    details.set(this, detail);
  }
}

/** What each CloneError found wrong, for {@link cloneErrorAt}. */
const details = new WeakMap<CloneError, string>();

/** What a CloneError found wrong: as it was given, or read back from the message of one rebuilt from a worker's. */
function detailOf(error: CloneError): string {
  const known = details.get(error);
  if (known !== undefined) return known;
  const text = error.message.endsWith(PLAIN_DATA) ? error.message.slice(0, -PLAIN_DATA.length) : error.message;
  const colon = text.startsWith(error.path) ? text.indexOf(': ', error.path.length) : -1;
  return colon === -1 ? text : text.slice(colon + 2);
}

/** The same refusal as `error`, of the value at `path` (map() names an item by its place in its input). */
export function cloneErrorAt(error: CloneError, path: string): CloneError {
  return new CloneError(path, detailOf(error), error.cause === undefined ? undefined : { cause: error.cause });
}

/**
 * `wrapModule()` or `createInstance()` was given a module that cannot be found from the caller.
 *
 * @example
 * wrapModule('./no-such-file.js') // throws ModuleNotFoundError
 */
export class ModuleNotFoundError extends ToThreadError<'ERR_TOTHREAD_MODULE_NOT_FOUND'> {
  override name = 'ModuleNotFoundError';
  readonly specifier: string;

  constructor(specifier: string, from: string, options?: { cause?: unknown }) {
    // An installed package whose `exports` leave the subpath out: installing it again will not help.
    const unexported = (options?.cause as { code?: unknown } | undefined)?.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED';
    const fix = unexported
      ? "its package is installed, but its package.json `exports` do not offer that subpath: use one it exports (see that package.json)"
      : 'check the path (relative to the calling file, with its extension) or install the package';
    super('ERR_TOTHREAD_MODULE_NOT_FOUND', `Cannot find module \`${specifier}\` from ${from}: ${fix}`, options);
    this.specifier = specifier;
  }
}

/**
 * A module failed to load in a worker: it threw at its top level, or has a syntax error. `cause` is that error.
 *
 * @example
 * await wrapModule('./throws-on-load.js').f().catch((e) => e.cause) // the module's own error
 */
export class ModuleLoadError extends ToThreadError<'ERR_TOTHREAD_MODULE_LOAD'> {
  override name = 'ModuleLoadError';
  readonly url: string;

  constructor(url: string, options?: { cause?: unknown }) {
    const detail = options?.cause instanceof Error ? `${options.cause.name}: ${options.cause.message}` : String(options?.cause);
    super('ERR_TOTHREAD_MODULE_LOAD', `${url} failed to load in the worker thread (${detail})`, options);
    this.url = url;
  }
}

/** Why an export cannot be used as asked. */
/**
 * What is wrong with an export: `'missing'`; `'not-a-function'` (a value called); `'not-a-value'` (a
 * function read); `'not-constructible'` (given to `createInstance()`); `'generator'` (a generator
 * function awaited: iterate it); `'not-a-generator'` (a plain function iterated: await it).
 */
export type ExportProblem = 'missing' | 'not-a-function' | 'not-a-value' | 'not-constructible' | 'generator' | 'not-a-generator';

/**
 * A module export is missing, or is used the wrong way: a value called as a function, a function
 * read as a value, a non-class given to `createInstance()`, a generator function awaited or a plain
 * function iterated.
 *
 * @example
 * await wrapModule('./legacy.js').parseSnyc(text).catch((e) => e.problem) // 'missing'
 */
export class ExportError extends ToThreadError<'ERR_TOTHREAD_EXPORT'> {
  override name = 'ExportError';
  readonly url: string;
  /** The export's path, e.g. `utils.parse`. */
  readonly exportPath: string;
  readonly problem: ExportProblem;

  constructor(url: string, exportPath: string, problem: ExportProblem, message: string) {
    super('ERR_TOTHREAD_EXPORT', message);
    this.url = url;
    this.exportPath = exportPath;
    this.problem = problem;
  }
}

/**
 * A callback passed to an offloaded call threw on the main thread. The call was stopped; `cause` is what it threw.
 *
 * @example
 * await toThread(reportSync, () => { throw new Error('ui gone') }).catch((e) => e.path) // 'args[1]'
 */
export class CallbackError extends ToThreadError<'ERR_TOTHREAD_CALLBACK'> {
  override name = 'CallbackError';
  /** Where the callback was in the arguments, e.g. `args[1]` or `args[0].onProgress`. */
  readonly path: string;

  constructor(path: string, options?: { cause?: unknown }) {
    const { cause } = options ?? {};
    const detail = cause instanceof Error ? cause.message : inspect(cause, { depth: 1, breakLength: Infinity });
    const returned = cause instanceof CloneError && cause.path.startsWith('callback');
    super(
      'ERR_TOTHREAD_CALLBACK',
      returned
        ? `The callback at ${path} returned what cannot be sent back (${detail}): the call was stopped`
        : `The callback at ${path} threw (${detail}): the call was stopped. Catch errors inside callbacks you hand to a worker`,
      options,
    );
    this.path = path;
  }
}

/**
 * A `createInstance()` remote cannot take calls: its worker crashed, or the remote was released.
 *
 * @example
 * await releaseInstance(db); await db.countSync().catch((e) => e instanceof InstanceError) // true
 */
export class InstanceError extends ToThreadError<'ERR_TOTHREAD_INSTANCE'> {
  override name = 'InstanceError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TOTHREAD_INSTANCE', message, options);
  }
}

/**
 * Emits the warning `code`: `what`, then what was thrown (an error's stack), for a failure that
 * comes when nobody is left to be handed it (work that went on after its caller left).
 */
export function warnThrown(code: string, what: string, thrown: unknown): void {
  const detail = thrown instanceof Error ? (thrown.stack ?? String(thrown)) : String(thrown);
  process.emitWarning(`${what}: ${detail}`, { code });
}
