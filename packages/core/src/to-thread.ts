/**
 * The call forms: `toThread(fn, ...args)`, `threaded(fn)` and their `.with(options)` variants. They
 * only shape the call; the pool behind them does the work.
 */
import { callSettings, mergeSettings, type CallOptions, type CallSettings } from './call-options.js';
import { captureSite, LAZY, type Site } from './call-site.js';
import { markOffloaded, resolveFunction } from './fn/resolve.js';
import type { TaskExtra } from './pool.js';
import { openStream } from './stream.js';
import * as check from './validate.js';
import type { ArgsOf, AsyncSignatures, ResultOf } from './overloads.js';

// `any` in the parameter position is what lets every function type be assigned here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFunction = (...args: any[]) => unknown;

/** What a call form hands to its pool. */
export type Submit = (fn: unknown, args: readonly unknown[], settings: CallSettings, site: Site, task?: TaskExtra) => Promise<unknown>;

/**
 * What offloading a function returning `R` gives: a promise of its awaited result, or, for a
 * generator, an async iterator over its values (streamed as the worker produces them). A generator
 * function typed as returning an iterator (`IterableIterator<T>`) streams too; a plain function
 * typed so does not (iterating its call throws the call's error, or says to await it).
 */
export type Offloaded<R> = 0 extends 1 & R
  ? Promise<R>
  : [R] extends [never]
    ? Promise<never>
    : [R] extends [Generator<infer T, unknown, unknown> | AsyncGenerator<infer T, unknown, unknown> | IterableIterator<infer T> | AsyncIterableIterator<infer T>]
      ? AsyncIterableIterator<T>
      : Promise<Awaited<R>>;

/** Whether `fn` is a generator function (sync or async). */
function isGeneratorFunction(fn: unknown): boolean {
  const name = typeof fn === 'function' ? fn.constructor?.name : undefined;
  return name === 'GeneratorFunction' || name === 'AsyncGeneratorFunction';
}

/**
 * `toThread(fn, ...args)`: runs `fn(...args)` on a worker thread and resolves with its result.
 */
export interface ToThread {
  /** Typed by the signature `args` pick, for an overloaded `fn` too (see overloads.ts). */
  <F extends AnyFunction, const A extends ArgsOf<F>>(fn: F, ...args: A): Offloaded<ResultOf<F, A>>;
  /**
   * The same call with a signal, timeout or transfer list.
   *
   * @throws {TypeError | RangeError} when an option is invalid.
   * @example
   * await toThread.with({ timeout: 1000, signal })(parseSync, text)
   */
  with(options: CallOptions): ToThread;
}

/** The async twin of a sync function `F`: each of its signatures, made async. */
export type Threaded<F extends AnyFunction> = AsyncSignatures<F> & {
  /** The same function with more call options (a second signal combines with the first). */
  with(options: CallOptions): Threaded<F>;
};

/**
 * Submits a call. A generator's stream captures its site now (once for all its values); a plain
 * call finds its site only if it fails, from the code awaiting it (see call-site.ts and Pool).
 */
function offload(submit: Submit, from: Function, fn: unknown, args: readonly unknown[], settings: CallSettings, generator = isGeneratorFunction(fn)): unknown {
  if (generator) {
    const site = captureSite(from);
    return openStream((task) => submit(fn, args, settings, site, task), site);
  }
  const call = submit(fn, args, settings, LAZY) as Promise<unknown> & { [Symbol.asyncIterator]?: unknown };
  call[Symbol.asyncIterator] = notAStream; // a plain store: a defineProperty costs several times more per call
  return call;
}

/**
 * What `for await` over a plain call's promise runs. A function typed as returning an iterator gets
 * a stream type (see {@link Offloaded}), but only a generator function's calls stream: the loop
 * gets the call's own error (a returned iterator cannot come back: a CloneError with the fix) or a
 * TypeError saying to await the call, and the promise is never left unhandled.
 */
async function* notAStream(this: Promise<unknown>): AsyncGenerator<never, never> {
  await this;
  throw check.valueError(
    'Iterated a call whose function is not a generator function: its call gives a promise of the result, not a stream of values. Await it, or write the function as function* (or async function*) to stream what it yields',
  );
}

/** Builds a `toThread` over `submit`, with `settings` as its defaults. */
export function makeToThread(submit: Submit, settings: CallSettings = callSettings(undefined)): ToThread {
  const toThread = function toThread(fn: unknown, ...args: unknown[]): unknown {
    return offload(submit, toThread, fn, args, settings);
  } as ToThread;
  toThread.with = (options) => makeToThread(submit, mergeSettings(settings, callSettings(options)));
  return markOffloaded(toThread, 'toThread is how a call reaches a worker: call it on this thread, `await toThread(fn, ...args)`, rather than passing it to toThread');
}

/** Builds the async twin of `fn` over `submit`. */
export function makeThreaded<F extends AnyFunction>(fn: F, settings: CallSettings, submit: Submit): Threaded<F> {
  // Resolve now, so a function that can never run on a worker fails where it is wrapped; a module
  // lookup still in flight is awaited by the first call (which reports its error).
  const early = resolveFunction(fn);
  if (early instanceof Promise) early.catch(() => {});
  const generator = isGeneratorFunction(fn);
  const threadedFn = function threaded(...args: unknown[]): unknown {
    return offload(submit, threadedFn, fn, args, settings, generator);
  } as unknown as Threaded<F>;
  Object.defineProperty(threadedFn, 'name', { value: fn.name ? `${fn.name}Async` : 'threaded' });
  threadedFn.with = (options) => makeThreaded(fn, mergeSettings(settings, callSettings(options)), submit);
  const name = threadedFn.name;
  return markOffloaded(threadedFn, `\`${name}\`, made by threaded(), already runs on a worker thread when called: call it, \`await ${name}(...args)\`, instead of passing it to toThread`);
}
