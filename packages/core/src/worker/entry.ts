/**
 * The worker side: Piscina loads this file in every worker thread and calls the default export
 * once per task. It rebuilds or imports the function once per worker, runs it, and reports how it
 * settled as a `TaskResponse` (never by throwing, so errors keep every field).
 */
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { findUncloneable } from '../clone-check.js';
import { encodeThrown } from '../error-codec.js';
import { findPath } from '../fn/find-path.js';
import type { CtorRef, ExportRef, FnRef, StartedMessage, TaskRequest, TaskResponse } from '../protocol.js';
import { checkCancelled, setContext, type TaskContext } from './context.js';

const require = createRequire(import.meta.url);

interface Loaded {
  readonly fn: Function;
  /** The module the function came from, searched for the classes of the errors it throws. */
  readonly module: { readonly root: unknown; readonly ref: ExportRef } | undefined;
}

const loaded = new Map<number, Loaded>();
const LOADED_LIMIT = 4096;

/** Bounded, so a program that generates functions cannot grow a worker without end. */
function remember(id: number, entry: Loaded): void {
  if (loaded.size >= LOADED_LIMIT) loaded.delete(loaded.keys().next().value as number);
  loaded.set(id, entry);
}

// Tools rewrite plain code into calls of module-local helpers: esbuild (tsx) keeps function names
// with `__name`, vite (vitest) turns `import()` into `__vite_ssr_dynamic_import__()`. A function
// shipped by source may contain them, so the worker provides both.
const g = globalThis as { __name?: unknown; __vite_ssr_dynamic_import__?: unknown };
g.__name ??= (target: Function, value: string) => Object.defineProperty(target, 'name', { value, configurable: true });
g.__vite_ssr_dynamic_import__ ??= (specifier: string) => import(specifier);

function compile(ref: Extract<FnRef, { kind: 'source' }>): Loaded {
  const label = (ref.name || 'anonymous').replace(/[^\w$.-]/g, '_');
  // Indirect eval: global scope, strict like the ES modules and TypeScript output most functions come from.
  const value: unknown = (0, eval)(`"use strict";${ref.source}\n//# sourceURL=tothread-fn:${label}`);
  // A method is read from its descriptor: reading the property could run a getter.
  const fn = ref.method ? Object.getOwnPropertyDescriptor(value as object, Reflect.ownKeys(value as object)[0]!)?.value : value;
  return { fn: fn as Function, module: undefined };
}

async function importRoot(ref: ExportRef): Promise<unknown> {
  return ref.format === 'cjs' ? require(fileURLToPath(ref.url)) : import(ref.url);
}

async function load(ref: Extract<FnRef, { kind: 'module' }>): Promise<Loaded> {
  const root = await importRoot(ref);
  let value: unknown = root;
  for (const key of ref.path) value = (value as Record<string, unknown> | undefined)?.[key];
  if (typeof value !== 'function') {
    throw new TypeError(`${ref.url} has no function at \`${ref.path.join('.') || 'module.exports'}\` in this worker`);
  }
  return { fn: value, module: { root, ref } };
}

function locateCtor(entry: Loaded | undefined): (ctor: Function) => CtorRef | undefined {
  return (ctor) => {
    if (entry?.module === undefined) return undefined;
    const path = findPath(entry.module.root, ctor);
    return path === undefined ? undefined : { kind: 'export', url: entry.module.ref.url, format: entry.module.ref.format, path };
  };
}

function failed(thrown: unknown, entry: Loaded | undefined): TaskResponse {
  return { ok: false, thrown: encodeThrown(thrown, locateCtor(entry)) };
}

/** Whatever goes wrong while reporting is itself reported: the worker never dies of a report. */
function guarded(report: () => TaskResponse, entry: Loaded | undefined): TaskResponse {
  try {
    return report();
  } catch (error) {
    try {
      return failed(error, entry);
    } catch {
      return { ok: false, thrown: { kind: 'value', value: 'tothread could not report how the call ended' } };
    }
  }
}

/** A result that structured clone would refuse is reported as such, instead of killing the worker. */
function succeeded(value: unknown): TaskResponse {
  if ((typeof value === 'object' && value !== null) || typeof value === 'function' || typeof value === 'symbol') {
    const bad = findUncloneable(value, 'result');
    if (bad !== undefined) return { ok: false, uncloneable: bad };
  }
  return { ok: true, value };
}

function call(entry: Loaded, args: readonly unknown[]): TaskResponse | Promise<TaskResponse> {
  const { fn } = entry;
  let value: unknown;
  let thenable = false;
  try {
    value = fn(...args); // a plain call: `this` is undefined, as in `fn(...args)` on the main thread
    thenable = value !== null && typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
  } catch (error) {
    return guarded(() => failed(error, entry), entry);
  }
  if (thenable) {
    return Promise.resolve(value).then(
      (settled) => guarded(() => succeeded(settled), entry),
      (error: unknown) => guarded(() => failed(error, entry), entry),
    );
  }
  return guarded(() => succeeded(value), entry);
}

/**
 * Runs one task. A call with a grace period gets a cancellation context: the flag is shared with
 * the main thread, and while an async call waits, a light poll turns the flag into an abort.
 */
export default function runTask(request: TaskRequest): TaskResponse | Promise<TaskResponse> {
  if (request.started !== undefined) parentPort?.postMessage(['tothread:started', request.started] satisfies StartedMessage);
  if (request.cancelFlag === undefined) {
    setContext(undefined);
    return start(request);
  }
  const context: TaskContext = { flag: request.cancelFlag, controller: undefined };
  setContext(context);
  const result = start(request);
  if (!(result instanceof Promise)) return result;
  const poll = setInterval(() => checkCancelled(context), CANCEL_POLL_MS);
  return result.finally(() => clearInterval(poll));
}

const CANCEL_POLL_MS = 10;

function start(request: TaskRequest): TaskResponse | Promise<TaskResponse> {
  const { fn: ref, args } = request;
  let entry = loaded.get(ref.id);
  if (entry !== undefined) return call(entry, args);
  if (ref.kind === 'source') {
    try {
      entry = compile(ref);
    } catch (error) {
      return guarded(() => failed(error, undefined), undefined);
    }
    remember(ref.id, entry);
    return call(entry, args);
  }
  return load(ref).then(
    (value) => {
      remember(ref.id, value);
      return call(value, args);
    },
    (error: unknown) => guarded(() => failed(error, undefined), undefined),
  );
}
