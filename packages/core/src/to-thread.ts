/**
 * The call forms: `toThread(fn, ...args)`, `threaded(fn)` and their `.with(options)` variants. They
 * only shape the call; the pool behind them does the work.
 */
import { callSettings, mergeSettings, type CallOptions, type CallSettings } from './call-options.js';
import { resolveFunction } from './fn/resolve.js';

// `any` in the parameter position is what lets every function type be assigned here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFunction = (...args: any[]) => unknown;

/** What a call form hands to its pool. */
export type Submit = (fn: unknown, args: readonly unknown[], settings: CallSettings, site: { stack?: string }) => Promise<unknown>;

/**
 * `toThread(fn, ...args)`: runs `fn(...args)` on a worker thread and resolves with its result.
 */
export interface ToThread {
  <F extends AnyFunction>(fn: F, ...args: Parameters<F>): Promise<Awaited<ReturnType<F>>>;
  /**
   * The same call with a signal, timeout or transfer list.
   *
   * @throws {TypeError | RangeError} when an option is invalid.
   * @example
   * await toThread.with({ timeout: 1000, signal })(parseSync, text)
   */
  with(options: CallOptions): ToThread;
}

/** The async twin of a sync function `F`. */
export interface Threaded<F extends AnyFunction> {
  (...args: Parameters<F>): Promise<Awaited<ReturnType<F>>>;
  /** The same function with more call options (a second signal combines with the first). */
  with(options: CallOptions): Threaded<F>;
}

/** Captures the caller's frames (formatted only if the call fails), starting below `from`. */
function callSite(from: Function): { stack?: string } {
  const site: { stack?: string } = {};
  Error.captureStackTrace(site, from);
  return site;
}

/** Builds a `toThread` over `submit`, with `settings` as its defaults. */
export function makeToThread(submit: Submit, settings: CallSettings = callSettings(undefined)): ToThread {
  const toThread = function toThread(fn: unknown, ...args: unknown[]): Promise<unknown> {
    return submit(fn, args, settings, callSite(toThread));
  } as ToThread;
  toThread.with = (options) => makeToThread(submit, mergeSettings(settings, callSettings(options)));
  return toThread;
}

/** Builds the async twin of `fn` over `submit`. */
export function makeThreaded<F extends AnyFunction>(fn: F, settings: CallSettings, submit: Submit): Threaded<F> {
  // Resolve now, so a function that can never run on a worker fails where it is wrapped; a module
  // lookup still in flight is awaited by the first call (which reports its error).
  const early = resolveFunction(fn);
  if (early instanceof Promise) early.catch(() => {});
  const threadedFn = function threaded(...args: unknown[]): Promise<unknown> {
    return submit(fn, args, settings, callSite(threadedFn));
  } as unknown as Threaded<F>;
  Object.defineProperty(threadedFn, 'name', { value: fn.name ? `${fn.name}Async` : 'threaded' });
  threadedFn.with = (options) => makeThreaded(fn, mergeSettings(settings, callSettings(options)), submit);
  return threadedFn;
}
