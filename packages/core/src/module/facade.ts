/**
 * `wrapModule()`: a whole legacy module as a typed async facade, without loading it on this thread
 * or touching its source. Each property path of the facade names an export; calling it runs the
 * export on a worker, awaiting it reads a value export, and a generator export streams.
 */
import { captureSite, LAZY, type Site } from '../call-site.js';
import { callSettings, mergeSettings } from '../call-options.js';
import { cancelAwaitable, currentSignal, onCancel, withdrawal, withoutSignal } from '../cancel.js';
import { watchSignal } from '../signal-watch.js';
import { CancelledError, ExportError } from '../errors.js';
import { defaultPool } from '../default-pool.js';
import { markOffloaded, newTargetId } from '../fn/resolve.js';
import { Pool } from '../pool.js';
import type { ExportKind, FnRef } from '../protocol.js';
import { openStream } from '../stream.js';
import type { AnyFunction } from '../to-thread.js';
import type { AsyncSignatures } from '../overloads.js';
import * as check from '../validate.js';
import { jsonAware, notConstructible, readOnly } from './remote-member.js';
import { callerUrl, resolveSpecifier } from './specifier.js';

/** An export as the facade offers it. */
export type Wrapped<V> = 0 extends 1 & V
  ? any // eslint-disable-line @typescript-eslint/no-explicit-any -- an untyped module stays untyped
  : V extends abstract new (...args: never) => unknown
    ? never // a class: use createInstance()
    : V extends AnyFunction
      ? [keyof V] extends [never]
        ? AsyncSignatures<V>
        : AsyncSignatures<V> & Facade<V> // functions and values set on it (`glob.sync`), as a namespace's
      : V extends object
        ? Facade<V> & PromiseLike<V>
        : PromiseLike<V>;

/**
 * The async facade of a module type `M` (write it `typeof import('./legacy.js')`): each function
 * `(...a) => R` becomes `(...a) => Promise<Awaited<R>>` (each signature of an overloaded one; a
 * generator: an async iterator of its values), an object export is a namespace of the same, and
 * any other value is read with `await`.
 */
export type Facade<M> = { readonly [K in keyof M as K extends string ? K : never]: Wrapped<M[K]> } & CallableDefault<M>;

/**
 * A CommonJS module that is a function (`module.exports = fn`, typed `export = fn`) is called as
 * `facade.default(...)`, its `module.exports`; its own properties are the facade's other members.
 */
type CallableDefault<M> = 0 extends 1 & M ? unknown : M extends AnyFunction ? ('default' extends keyof M ? unknown : { readonly default: AsyncSignatures<M> }) : unknown;

/** Options of {@link wrapModule}. */
export interface WrapModuleOptions<M = unknown> {
  /** The pool the calls run on. @default the default pool */
  pool?: Pool;
  /** A timeout for every call (ms of run time). Per call, wrap calls in `timeout()` instead. @default none */
  timeout?: number;
  /** Exports the facade leaves out (reading them gives `undefined`). @default [] */
  skip?: readonly (keyof M & string)[];
}

/** A facade call's site, captured when it is made (below the facade's own frames, which are hidden). */
const site = (): Site => captureSite(site);

/**
 * Wraps the module at `specifier` as an async facade. The specifier is resolved as the calling
 * file's own `import` would: a relative path, a `file:` URL, an absolute path, a package name, or a
 * Node built-in (`'node:zlib'`). The module is loaded only in workers, on first use.
 *
 * @throws {ModuleNotFoundError} when the specifier leads nowhere (nothing is started).
 * @throws {TypeError | RangeError} on invalid options.
 * @example
 * const legacy = wrapModule<typeof import('./legacy/report.cjs')>('./legacy/report.cjs')
 * const rows = await legacy.parseSync(text)          // Promise<Row[]>, typed from the module
 * const version = await legacy.VERSION               // a value export
 * const zlib = wrapModule<typeof import('node:zlib')>('node:zlib')
 * const packed = await zlib.gzipSync(buffer)
 */
export function wrapModule<M>(specifier: string, options?: WrapModuleOptions<M>): Facade<M> {
  const raw = check.optionsObject('options', options);
  check.knownKeys('options', raw, ['pool', 'timeout', 'skip']);
  if (raw.pool !== undefined && !(raw.pool instanceof Pool)) throw check.typeError('options.pool', 'a Pool from createPool()', raw.pool);
  const skip = raw.skip ?? [];
  if (!Array.isArray(skip) || !skip.every((name) => typeof name === 'string')) throw check.typeError('options.skip', 'an array of export names', skip);
  const settings = callSettings(raw.timeout === undefined ? undefined : { timeout: raw.timeout }, 'options');
  const url = resolveSpecifier(specifier, callerUrl(wrapModule));
  if (/\.json$/i.test(url)) {
    throw check.valueError(`${url} is JSON data, which has no functions to offload: read it with JSON.parse(readFileSync(…)), or import it with { with: { type: 'json' } }`);
  }
  const poolOf = (): Pool => (raw.pool as Pool | undefined) ?? defaultPool();

  const targets = new Map<string, FnRef>();
  const kinds = new Map<string, Lookup>();
  const nodes = new Map<string, unknown>();
  const target = (path: readonly string[]): FnRef => {
    const key = path.join('\0');
    let ref = targets.get(key);
    // Called as a method, as `module.obj.method()` would be on this thread: `this` is what holds it.
    if (ref === undefined) targets.set(key, (ref = { kind: 'module', id: newTargetId(), url, path, format: 'esm', asMethod: true }));
    return ref;
  };
  /**
   * The look-up of the kind of the export at `path`, made once for every caller. No caller's scope
   * may cancel it for the others; each holds it while it waits (see {@link hold}).
   */
  const describe = (path: readonly string[]): Lookup => {
    const key = path.join('\0');
    let lookup = kinds.get(key);
    if (lookup === undefined) {
      const abandon = new AbortController();
      const own = mergeSettings(settings, callSettings({ signal: abandon.signal }));
      const kind = withoutSignal(() => poolOf().submit(undefined, [], own, site(), { op: 'describe', ref: target(path) })) as Promise<ExportKind>;
      const entry: Lookup = (lookup = { key, kind, abandon, waiting: 0, done: false });
      kinds.set(key, entry);
      const end = (): void => void (entry.done = true);
      kind.then(end, () => {
        end();
        if (kinds.get(key) === entry) kinds.delete(key); // not cached: the next call asks again
      });
    }
    return lookup;
  };
  /**
   * Holds `lookup` for a caller; returns how the caller lets go of it. Once every caller has let go
   * before it ends (a module that hangs as it loads, and the calls waiting for it cancelled), it is
   * stopped, and its worker with it.
   */
  const hold = (lookup: Lookup, name: string): (() => void) => {
    lookup.waiting++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--lookup.waiting > 0 || lookup.done) return;
      if (kinds.get(lookup.key) === lookup) kinds.delete(lookup.key); // a call made from now on asks again
      lookup.abandon.abort(withdrawal(new CancelledError(`Every call of \`${name}\` of ${url} left before its module had loaded`)));
    };
  };

  const invoke = (path: readonly string[], args: unknown[]): unknown => {
    if (path.length === 0) {
      const named = `The facade of ${url} is not a function: call its exports by name (facade.parse(…)); a module that exports one function (module.exports = fn) is called as facade.default(…)`;
      return Promise.reject(check.valueError(named));
    }
    const pool = poolOf();
    const ref = target(path);
    const name = path.join('.');
    const lookup = describe(path);
    const { kind } = lookup;
    // waitFor, gather and asCompleted can stop it, even before it reaches the pool. Awaited, it
    // finds its site only if it fails, as a toThread() call does (the pool's promise for a LAZY
    // site does that).
    // It takes its place in the pool's line now: calls made after it enter the queue after it,
    // though its export's kind is known only later (see Pool#enqueueInLine).
    const located = kind.then((k) => {
      // Not counted as a failed call: the stream, if it is iterated, is the call (see withdrawal).
      if (k === 'generator') throw withdrawal(new ExportError(url, name, 'generator', `\`${name}\` of ${url} is a generator function: iterate it with for await (const value of facade.${name}(...)) instead of awaiting it`));
      return ref;
    });
    // What it rejects with reaches the caller through the call; a call the pool refused at once
    // (closed, or its scope cancelled) never looks at it, and it must not be an unhandled rejection.
    located.catch(() => {});
    // It lets go of the look-up if it leaves before entering the queue (cancelled, or refused).
    const call = pool.submit(undefined, args, settings, LAZY, { ref: located, left: hold(lookup, name) });
    // A generator is iterated, not awaited: that call's rejection is for whoever awaits it.
    kind.then((k) => k === 'generator' && call.catch(() => {}), () => {});
    // A real promise (for a function export), iterable too (for a generator export): which one
    // the export is, only the worker knows.
    let stream: AsyncIterableIterator<unknown> | undefined;
    /** Iterated, not awaited: the stream, opened on first use; `at` is the frame the caller's site is found below. */
    const iterated = (at: Function): AsyncIterableIterator<unknown> => {
      if (stream !== undefined) return stream;
      // The stream holds the look-up before the call made for awaiting lets go of it (were nobody
      // left holding it, it would be stopped).
      const held = hold(lookup, name);
      // The call made for awaiting is cancelled (iterated at once, as by for await, it has not
      // reached the pool yet, so it never runs), and the stream reports its own errors.
      cancelAwaitable(call, withdrawal(new CancelledError(`\`${name}\` was iterated, not awaited`)));
      call.catch(() => {});
      const where = captureSite(at); // the for await, once for all the values
      return (stream = lazyStream(kind, name, url, where, (task) => pool.submit(undefined, args, settings, where, { ...task, ref }), held));
    };
    // An async iterator too (for await, or next() by hand), as its type says.
    return Object.defineProperties(call, {
      [Symbol.asyncIterator]: { value: function iterate() { return iterated(iterate); } },
      next: { value: function next() { return iterated(next).next(); } },
      return: { value: function stop() { return iterated(stop).return!(); } },
    });
  };

  const node = (path: readonly string[]): unknown => {
    const key = path.join('\0');
    let existing = nodes.get(key);
    if (existing !== undefined) return existing;
    existing = new Proxy(function facadeMember() {}, {
      get(_target, key) {
        // Read in a string context (a template, String(), +): a name, never a call to the worker.
        if (key === Symbol.toPrimitive) return () => described;
        if (typeof key === 'symbol') return undefined;
        if (key === 'toJSON') return jsonAware(node([...path, key]));
        if (key === 'then') {
          // The facade itself is not a promise (so it can be returned from async functions);
          // anything below it reads the export's value.
          if (path.length === 0) return undefined;
          return (onValue?: (v: unknown) => unknown, onError?: (e: unknown) => unknown) =>
            poolOf().submit(undefined, [], settings, site(), { op: 'read', ref: target(path) }).then(onValue, onError);
        }
        if (path.length === 0 && skip.includes(key)) return undefined;
        return node([...path, key]);
      },
      apply(_target, _this, args: unknown[]) {
        return invoke(path, args);
      },
      ...readOnly(
        (key) => `\`${[...path, String(key)].join('.')}\` of the facade of ${url}`,
        'Call a function of the module that changes it (each worker has its own copy of the module), or keep an instance with createInstance()',
      ),
      ...notConstructible(
        path.length === 0 ? `the facade of ${url}` : `\`${path.join('.')}\` of the facade of ${url}`,
        path.length === 0
          ? `To keep an instance of a class it exports, create it in a worker of its own: await createInstance('${url}', 'default', ...args)`
          : `A function export is called without new: await facade.${path.join('.')}(...args). To keep an instance of a class it exports, create it in a worker of its own: await createInstance('${url}', '${path.join('.')}', ...args)`,
      ),
    });
    const named = path.join('.');
    const described = path.length === 0 ? `the facade of ${url}` : `\`${named}\` of the facade of ${url}`;
    const refused =
      path.length === 0
        ? `The facade of ${url} is not a function to offload: call its exports, \`await facade.name(...args)\`, instead of passing it to toThread`
        : `${described} already runs on a worker thread when called: call it, \`await facade.${named}(...args)\`, instead of passing it to toThread`;
    nodes.set(key, markOffloaded(existing as Function, refused));
    return existing;
  };
  return node([]) as Facade<M>;
}

/** The look-up of an export's kind, shared by the calls waiting for it. */
interface Lookup {
  readonly key: string;
  readonly kind: Promise<ExportKind>;
  /** Stops the look-up (not counted in the pool's stats: the calls that left are). */
  readonly abandon: AbortController;
  /** Calls waiting for it. */
  waiting: number;
  /** Settled. */
  done: boolean;
}

/** The result of a stream that has ended: a new one each time, as a generator's. */
const done = (): IteratorReturnResult<undefined> => ({ value: undefined, done: true });

/**
 * A stream that starts once the export is known to be a generator. Until then it holds the
 * export's look-up (`release` lets go of it, once the look-up ends): leaving the stream
 * (`return()`), a cancelled `next()` (waitFor, gather) or the cancel scope it was made in lets go
 * at once, and the `next()` calls waiting settle, so that a module that hangs as it loads keeps
 * nothing waiting.
 */
function lazyStream(
  kind: Promise<ExportKind>,
  name: string,
  url: string,
  site: Site,
  start: Parameters<typeof openStream>[0],
  release: () => void,
): AsyncIterableIterator<unknown> {
  let inner: AsyncIterableIterator<unknown> | undefined;
  /** Left before it could start: by return() (nothing to throw), or cancelled (the first next() waiting throws the reason). */
  let left: { cancelled?: { reason: unknown } } | undefined;
  let wake!: () => void;
  const leaving = new Promise<void>((resolve) => (wake = resolve));
  let unwatch = (): void => {};
  const leave = (how: NonNullable<typeof left>): void => {
    if (left !== undefined || inner !== undefined) return;
    left = how;
    unwatch();
    release();
    wake();
  };
  const scope = currentSignal();
  if (scope?.aborted) leave({ cancelled: { reason: scope.reason } });
  else if (scope !== undefined) unwatch = watchSignal(scope, (reason) => leave({ cancelled: { reason } }));
  // Known: the look-up is over, and the stream itself hears the scope from then on.
  const known = (): void => {
    unwatch();
    release();
  };
  kind.then(known, known);
  const open = async (): Promise<AsyncIterableIterator<unknown> | undefined> => {
    if (inner === undefined && left === undefined) {
      // Left, the look-up is stopped as it is let go of (its rejection says so): that is not this stream's error.
      await Promise.race([kind, leaving]).catch((error: unknown) => {
        if (left === undefined) throw error;
      });
    }
    if (left !== undefined) {
      const { cancelled } = left;
      left = {}; // one next() throws the reason; the stream has ended for those after it
      if (cancelled !== undefined) throw cancelled.reason;
      return undefined;
    }
    if ((await kind) !== 'generator') throw new ExportError(url, name, 'not-a-generator', `\`${name}\` of ${url} is not a generator function: await it instead of iterating it`);
    return (inner ??= openStream(start, site));
  };
  /** The last next() asked for: return() waits for those still waiting for the look-up, so results come in the order they were asked for. */
  let last: Promise<unknown> = Promise.resolve();
  const iterator: AsyncIterableIterator<unknown> = {
    next: () => {
      const result = open().then((opened) => opened?.next() ?? done());
      onCancel(result, (reason) => leave({ cancelled: { reason } }));
      last = result.catch(() => {});
      return result;
    },
    return: async () => {
      if (inner !== undefined) return inner.return!();
      leave({});
      await last;
      return done();
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
