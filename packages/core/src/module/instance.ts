/**
 * `createInstance()`: stateful legacy code (a parser configured once, a sync database handle, a
 * cache) kept alive in one dedicated worker, driven through a typed remote whose methods are
 * async. Built on Comlink; a guard around Comlink's proxy rejects every pending call if the worker
 * dies, and lets the worker keep the process alive only while calls are pending.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { rebuildThrown } from '../call.js';
import { marksIn } from '../args.js';
import { bufferPlaces } from '../buffers.js';
import { awaitedAt, LAZY, stitch } from '../call-site.js';
import { currentSignal, onCancel } from '../cancel.js';
import { findUncloneable, type Uncloneable } from '../clone-check.js';
import { endpoint, moveWith } from '../comlink-port.js';
import { defaultPool } from '../default-pool.js';
import { THROWN_KEY } from '../error-codec.js';
import { CloneError, InstanceError, PoolClosedError } from '../errors.js';
import { Pool } from '../pool.js';
import type { Adopted } from '../pool-ending.js';
import { watchSignal } from '../signal-watch.js';
import { startFailure, startLibuvThreads } from '../workers.js';
import { UNCLONEABLE_RESULT, type WireThrown } from '../protocol.js';
import type { InstanceData, InstanceReady } from '../worker/instance-entry.js';
import { markOffloaded } from '../fn/resolve.js';
import * as check from '../validate.js';
import { jsonAware, notConstructible, readOnly } from './remote-member.js';
import { callerUrl, resolveSpecifier } from './specifier.js';

const INSTANCE_FILE = fileURLToPath(new URL('./instance-worker.js', import.meta.url));

// What a method returns that cannot be sent back arrives as where it is and why (see
// worker/instance-entry.ts): its call rejects with a CloneError. Nothing sent from here uses it.
Comlink.transferHandlers.set(UNCLONEABLE_RESULT, {
  canHandle: (_value): _value is never => false,
  serialize: () => [undefined, []],
  deserialize: (bad) => {
    const { path, detail } = bad as Uncloneable;
    throw new CloneError(path, detail);
  },
});

/** Any class, for `createInstance` without a type argument: the remote is then untyped. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMaker = abstract new (...args: any[]) => any;

/** The instance type a class or init function `C` makes. */
export type InstanceOf<C> = C extends abstract new (...args: never) => infer I ? I : C extends (...args: never) => infer R ? Awaited<R> : never;

/** The arguments `C` takes. */
export type InstanceArgs<C> = C extends abstract new (...args: infer A) => unknown ? A : C extends (...args: infer A) => unknown ? A : never;

/**
 * A remote instance: every method returns a promise, every property is read with `await`.
 * `await using` releases it (or call {@link releaseInstance}).
 */
export type Instance<T> = Comlink.Remote<T> & AsyncDisposable;

/** Options of `createInstance.with()`. */
export interface InstanceOptions {
  /** The pool whose lifetime (close/destroy) and worker options (resourceLimits, env, execArgv) the instance shares. @default the default pool */
  pool?: Pool;
}

interface Guarded {
  readonly release: () => Promise<void>;
}

const guards = new WeakMap<object, Guarded>();

/**
 * Creates an instance of the class (or the result of the init function) exported as `exportName`
 * by `specifier`, in a dedicated worker, and resolves with its typed remote. Calls are served in
 * order on that worker. Releasing the remote, or closing its pool, ends the worker; if the worker
 * dies, every pending call rejects with an `InstanceError`.
 *
 * @throws {ModuleNotFoundError} when the specifier leads nowhere; {@link ExportError} when the export
 *   is missing or builds nothing; {@link CloneError} when an argument cannot be sent; the class's own
 *   error when its constructor throws.
 * @example
 * import type { Database } from './legacy/db.cjs'
 * await using db = await createInstance<typeof Database>('./legacy/db.cjs', 'Database', ':memory:')
 * await db.insertSync({ id: 1 })
 * const count = await db.countSync()
 */
export function createInstance<C = AnyMaker>(specifier: string, exportName: string, ...args: InstanceArgs<C>): Promise<Instance<InstanceOf<C>>> {
  return startCancellable<C>({}, specifier, exportName, args as unknown[], callerUrl(createInstance));
}

/**
 * `createInstance` with options.
 *
 * @example
 * const parser = await createInstance.with({ pool })<typeof Parser>('./parser.js', 'Parser', config)
 */
createInstance.with = (options: InstanceOptions) => {
  const withOptions = <C = AnyMaker>(specifier: string, exportName: string, ...args: InstanceArgs<C>): Promise<Instance<InstanceOf<C>>> =>
    startCancellable<C>(options, specifier, exportName, args as unknown[], callerUrl(withOptions));
  return withOptions;
};

/**
 * Releases a remote from `createInstance()` and ends its worker; calls after it reject with
 * `InstanceError`.
 *
 * @throws {TypeError} (as a rejection) when `remote` did not come from `createInstance()`.
 * @example
 * const db = await createInstance<typeof Database>('./db.cjs', 'Database', path)
 * try { await db.insertSync(row) } finally { await releaseInstance(db) }
 */
export function releaseInstance(remote: object): Promise<void> {
  const guard = guards.get(remote);
  if (guard === undefined) return Promise.reject(check.typeError('remote', 'a remote from createInstance()', remote));
  return guard.release();
}

/**
 * Rethrows what a method threw as the worker's error whole (see instance-entry.ts), or as it came;
 * its stack is the worker's frames, then those of the code awaiting the call (see awaitedAt).
 */
async function rebuild(error: unknown): Promise<never> {
  const wire = typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[THROWN_KEY] : undefined;
  if (wire === undefined) throw error;
  const thrown = await rebuildThrown(wire as WireThrown);
  stitch(thrown, LAZY);
  throw thrown;
}

/**
 * @throws {CloneError} naming the first argument a worker could not receive, with its path.
 * `proxied` lets Comlink proxies through (Comlink.proxy(): they travel as ports).
 */
function refuseUncloneable(args: readonly unknown[], proxied = false): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (proxied && (typeof arg === 'object' || typeof arg === 'function') && arg !== null && Comlink.proxyMarker in arg) continue;
    const bad = findUncloneable(arg, `args[${i}]`);
    if (bad === undefined) continue;
    const hint = proxied && bad.fn ? ": an instance's methods take no callbacks (toThread() and wrapModule() calls do)" : '';
    throw new CloneError(bad.path, bad.detail + hint);
  }
}

/** How an instance that is still starting is stopped (see {@link startCancellable}). */
interface StartCancel {
  cancelled?: { readonly reason: unknown };
  /** Set while the worker starts. */
  terminate?: () => void;
}

function cancelStart(start: StartCancel, reason: unknown): void {
  if (start.cancelled !== undefined) return;
  start.cancelled = { reason };
  start.terminate?.();
}

/**
 * {@link start}, stopped while the instance starts by the cancel scope it is made in, or by what
 * holds its promise (waitFor, gather, asCompleted): its worker is terminated, and the promise
 * rejects with the reason. Once the instance is ready, neither reaches it.
 */
function startCancellable<C>(options: InstanceOptions, specifier: string, exportName: string, args: unknown[], from: string | undefined): Promise<Instance<InstanceOf<C>>> {
  const cancel: StartCancel = {};
  const started = start<C>(options, specifier, exportName, args, from, cancel);
  onCancel(started, (reason) => cancelStart(cancel, reason));
  return started;
}

async function start<C>(options: InstanceOptions, specifier: string, exportName: string, args: unknown[], from: string | undefined, cancel: StartCancel): Promise<Instance<InstanceOf<C>>> {
  const raw = check.optionsObject('options', options);
  check.knownKeys('options', raw, ['pool']);
  if (raw.pool !== undefined && !(raw.pool instanceof Pool)) throw check.typeError('options.pool', 'a Pool from createPool()', raw.pool);
  if (typeof exportName !== 'string' || exportName === '') throw check.typeError('exportName', 'the name of an export (use "default" for a default export)', exportName);
  const url = resolveSpecifier(specifier, from);
  refuseUncloneable(args);
  const pool = (raw.pool as Pool | undefined) ?? defaultPool();
  if (pool.state !== 'open') throw new PoolClosedError('The pool is closed: createInstance() needs an open pool');
  const scope = currentSignal();
  if (scope?.aborted) throw scope.reason;
  const buffers = bufferPlaces(args); // Buffers among the arguments are Buffers again in the worker
  const data: InstanceData = { ref: { url, path: exportName.split('.'), format: 'esm' }, args, ...(buffers && { buffers }), niceIncrement: pool.niceIncrement };
  startLibuvThreads(data.niceIncrement);
  let worker: Worker;
  try {
    worker = new Worker(INSTANCE_FILE, { ...pool.workerOptions(), workerData: data });
  } catch (error) {
    throw startFailure(error);
  }
  const label = `the \`${exportName}\` instance of ${url}`;
  /** Set once the worker is ended on purpose (released, its pool closed): what its running calls get. */
  let ending: Error | undefined;
  /** Why the worker is gone, once it is; and how each pending wait hears of it (removed as it settles). */
  let died: Error | undefined;
  const onDeath = new Set<(error: Error) => void>();
  // Node hands over the answers a dying worker had posted in the same turn as its 'exit' (or
  // 'error'), and Comlink settles each one a few promise steps later: the death is reported only
  // once those steps have run, so a call answered before the crash keeps its answer.
  const die = (error: Error): void =>
    void setImmediate(() => {
      died ??= ending ?? error;
      for (const reject of onDeath) reject(died);
      onDeath.clear();
    });
  worker.once('error', (error) => die(new InstanceError(`The worker of ${label} crashed: ${error.message}. Pending calls are rejected; create a new instance`, { cause: error })));
  let started = false;
  worker.once('exit', (code) =>
    die(
      new InstanceError(
        started
          ? `The worker of ${label} exited (code ${code}). Pending calls are rejected; create a new instance`
          : code === 0
            ? `The worker of ${label} exited (code 0) before the instance was ready: its constructor or init function called process.exit(0), or returned a promise that never settles (nothing was left pending in the worker to settle it)`
            : `The worker of ${label} exited (code ${code}) before the instance was ready: its module, as it loaded, or its constructor or init function ended the thread (process.exit(), or a fatal error)`,
      ),
    ),
  );
  /**
   * `work()`, or the worker's death if it comes first. Each wait listens for the death only while
   * it is pending: a reaction on one promise that lives as long as the instance would keep every
   * call's promises alive until the worker ends.
   */
  const unlessDead = <T>(work: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (died !== undefined) return reject(died);
      onDeath.add(reject);
      const settled = (): boolean => onDeath.delete(reject);
      let working: Promise<T>;
      try {
        working = work();
      } catch (error) {
        settled();
        return reject(error);
      }
      working.then(
        (value) => void (settled() && resolve(value)),
        (error: unknown) => void (settled() && reject(error)),
      );
    });
  // The pool owns the worker from its start: close() waits for the constructor as for a running
  // call, then stops it (destroy() at once), and the instance is refused with why.
  const starting = unlessDead(() => new Promise<InstanceReady>((resolve) => worker.once('message', resolve)));
  const stopStart = (message: string): Promise<void> => {
    ending ??= new PoolClosedError(message);
    return worker.terminate().then(() => undefined);
  };
  let pending = 0;
  const idle: Array<() => void> = [];
  let lent: Adopted = {
    drained: () => starting.then(() => undefined, () => undefined),
    stop: stopStart,
  };
  const untrack = pool.adopt({ drained: () => lent.drained(), stop: (message) => lent.stop(message) }); // open: checked above, nothing awaited since
  cancel.terminate = () => void worker.terminate();
  const unwatch = scope === undefined ? () => {} : watchSignal(scope, (reason) => cancelStart(cancel, reason));
  try {
    const ready = await starting;
    if (cancel.cancelled !== undefined) throw cancel.cancelled.reason;
    if (ready.tothread === 'failed') throw await rebuildThrown(ready.thrown);
    if (pool.state !== 'open') throw new PoolClosedError(`The pool was closed while ${label} started: create it on an open pool`);
    started = true;
  } catch (error) {
    untrack();
    await worker.terminate();
    throw cancel.cancelled !== undefined ? cancel.cancelled.reason : error;
  } finally {
    unwatch();
    cancel.terminate = undefined;
  }
  lent = {
    drained: () => (pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => idle.push(resolve))),
    stop: (message) => release(new PoolClosedError(message, { started: true })), // its calls were sent to its thread
  };
  const remote = Comlink.wrap<InstanceOf<C>>(endpoint(worker as never));
  worker.unref(); // after Comlink listens (listening refs the worker): an idle instance never keeps the process alive
  /** Ends the worker; its running calls fail with `why`. */
  const release = async (why: Error = new InstanceError(`${label} was released while this call was running`)): Promise<void> => {
    if (ending !== undefined) return;
    ending = why;
    untrack();
    remote[Comlink.releaseProxy]();
    await worker.terminate();
  };
  // Each call races the worker's death, and holds the process open only while it is pending. A
  // closing pool takes no new calls: it waits for those running (see Pool#close).
  const race = <T>(work: () => Promise<T>): Promise<T> => {
    if (ending instanceof PoolClosedError || (ending === undefined && pool.state !== 'open')) return Promise.reject(new PoolClosedError(`The pool of ${label} was closed: create a new instance on an open pool`));
    if (ending !== undefined) return Promise.reject(new InstanceError(`${label} was released: create a new instance`));
    if (pending++ === 0) worker.ref();
    return awaitedAt(
      unlessDead(() => work().catch(rebuild)).finally(() => {
        if (--pending > 0) return;
        worker.unref();
        for (const resolve of idle.splice(0)) resolve();
      }),
    );
  };
  const guard = (node: unknown, root: boolean): object =>
    markOffloaded(new Proxy(function remoteMember() {}, {
      get(_target, key) {
        if (key === Symbol.asyncDispose && root) return () => release();
        // Read in a string context (a template, String(), +): a name, never a call to the worker.
        if (key === Symbol.toPrimitive) return () => (root ? label : `a member of ${label}`);
        if (key === 'then') return root ? undefined : (onValue?: (v: unknown) => unknown, onError?: (e: unknown) => unknown) => race(() => Promise.resolve(node)).then(onValue, onError);
        if (typeof key === 'symbol') return undefined;
        // Once released, Comlink's proxy throws on any access: the guard answers instead.
        const member = guard(ending !== undefined ? undefined : (node as Record<string, unknown>)[key], false);
        return key === 'toJSON' ? jsonAware(member) : member;
      },
      apply(_target, _this, callArgs: unknown[]) {
        try {
          refuseUncloneable(callArgs, true);
        } catch (error) {
          return Promise.reject(error);
        }
        for (const arg of callArgs) {
          const moved = marksIn(arg); // transfer(): its buffers move, as for a toThread() call
          if (moved.length > 0) moveWith(arg as object, moved);
        }
        return race(() => Promise.resolve((node as (...a: unknown[]) => unknown)(...callArgs)));
      },
      ...readOnly((key) => `\`${String(key)}\` of ${root ? label : `a member of ${label}`}`, 'Call a method of the instance that changes it'),
      ...notConstructible(root ? label : `a member of ${label}`, 'Call its methods: `await instance.name(...args)`'),
    }), root ? `T${label.slice(1)} is not a function to offload: call its methods, \`await instance.name(...args)\`` : `A method of ${label} already runs on its worker thread when called: call it, \`await instance.name(...args)\`, instead of passing it to toThread`);
  const facade = guard(remote, true);
  guards.set(facade, { release });
  return facade as Instance<InstanceOf<C>>;
}
