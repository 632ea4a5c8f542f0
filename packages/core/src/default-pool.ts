/**
 * The module-level `toThread` and `threaded`, on a default pool created at the first call. Its
 * workers never keep the process alive: a script that offloads and ends exits by itself.
 */
import { callSettings, type CallOptions } from './call-options.js';
import { Pool } from './pool.js';
import { makeThreaded, makeToThread, type AnyFunction, type Submit, type Threaded, type ToThread } from './to-thread.js';

let current: Pool | undefined;

/**
 * The pool behind the module-level `toThread` and `threaded`, created on first use with the
 * default options (after it is closed, the next call creates a new one).
 *
 * @example
 * console.log(defaultPool().stats())
 */
export function defaultPool(): Pool {
  if (current === undefined || current.state !== 'open') current = new Pool();
  return current;
}

const submit: Submit = (fn, args, settings, site, task) => defaultPool().submit(fn, args, settings, site, task);

/**
 * Runs the blocking function `fn(...args)` on a worker thread and resolves with its result, like
 * Python's `asyncio.to_thread`. The main thread stays free meanwhile.
 *
 * `fn` can be a self-contained function (shipped by source, compiled once per worker) or a
 * function exported by a module, ESM or CommonJS (the worker imports that module).
 *
 * @throws {UnsupportedFunctionError} (as a rejection, before anything runs) when `fn` closes over
 *   local variables, is bound or native, or lives in the entry script; the message names the fix.
 * @throws {CloneError} when an argument cannot be copied to a worker; the message names the argument.
 * @example
 * import { parseSync } from './legacy.js'
 * const rows = await toThread(parseSync, text)
 * const sum = await toThread((n: number) => { let s = 0; for (let i = 0; i < n; i++) s += i; return s }, 1e9)
 */
export const toThread: ToThread = makeToThread(submit);

/**
 * Wraps a sync function once into its async twin on the default pool:
 * `threaded(fn)(...args)` is `toThread(fn, ...args)`, typed from `fn`.
 *
 * @param options defaults for every call (`signal`, `timeout`, `transfer`). @default {}
 * @throws {UnsupportedFunctionError} at once when `fn` can never run on a worker (bound, native, class).
 * @example
 * const sendRequestAsync = threaded(sendRequestSync, { timeout: 5000 })
 * const body = await sendRequestAsync('http://127.0.0.1:8080/')
 */
export function threaded<F extends AnyFunction>(fn: F, options?: CallOptions): Threaded<F> {
  return makeThreaded(fn, callSettings(options), submit);
}
