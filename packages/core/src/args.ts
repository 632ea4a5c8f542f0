/**
 * Preparing a call's arguments for the trip: function arguments become callbacks served from this
 * thread over their own port (with Comlink), values marked with `transfer()` move instead of
 * being copied, and anything else that cannot be cloned is refused with its path. The caller's
 * objects are never changed: containers on the way to a function are copied.
 */
import { MessageChannel, type MessagePort, type TransferListItem } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { findUncloneable, pathLabel } from './clone-check.js';
import { endpoint } from './comlink-port.js';
import { isPlainContainer, MARK_DEPTH } from './containers.js';
import { transferList } from './call-options.js';
import { CloneError } from './errors.js';
import * as check from './validate.js';
import type { CallbackRef } from './protocol.js';

const marks = new WeakMap<object, readonly TransferListItem[]>();

/**
 * Marks `value` so that, passed as an argument, its buffers (or ports) move to the worker instead
 * of being copied; they become unusable on this thread. Returns `value`.
 *
 * @param transferables what moves. @default `[value]` for an ArrayBuffer or MessagePort, `[value.buffer]` for a typed array or DataView
 * @throws {TypeError} when nothing transferable can be derived from `value` (a SharedArrayBuffer, shared already, among them).
 * @example
 * await toThread(compressSync, transfer(bytes)) // bytes.buffer moves, no copy
 */
export function transfer<T extends object>(value: T, transferables?: readonly TransferListItem[]): T {
  // Only an object can carry the mark (a WeakMap key), with or without `transferables`.
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) {
    throw check.typeError('value', 'an ArrayBuffer, a typed array, a DataView or a MessagePort, or an object holding what `transferables` lists', value);
  }
  let list = transferList('transferables', transferables);
  if (list === undefined) {
    if (value instanceof ArrayBuffer || isPort(value)) list = [value as TransferListItem];
    else if (ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer) list = [value.buffer];
    else {
      const shared = value instanceof SharedArrayBuffer || (ArrayBuffer.isView(value) && value.buffer instanceof SharedArrayBuffer);
      const hint = shared ? 'a SharedArrayBuffer, or a view of one, is shared, never moved: pass it without transfer()' : 'or `transferables` to be given';
      throw check.typeError('value', `an ArrayBuffer, a typed array, a DataView or a MessagePort (${hint})`, value);
    }
  }
  marks.set(value, list);
  return value;
}

function isPort(value: object): boolean {
  return typeof (value as { postMessage?: unknown }).postMessage === 'function' && typeof (value as { close?: unknown }).close === 'function';
}

type Path = Array<string | number>;

/** Where a function among a call's arguments becomes a callback (see scan). */
const CALLBACK_PLACES = `a function becomes a callback as an argument, or inside plain objects and arrays up to ${MARK_DEPTH} levels deep that do not refer to themselves (not in a class instance, Map or Set): pass it nearer the top, as its own argument say`;

/** Finds functions and transfer marks inside plain objects and arrays. */
function scan(value: unknown, path: Path, functions: Array<{ path: Path; fn: Function }>, moved: TransferListItem[], depth: number): void {
  if (typeof value === 'function') {
    functions.push({ path, fn: value });
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const mark = marks.get(value);
  if (mark !== undefined) moved.push(...mark);
  if (depth >= MARK_DEPTH || !isPlainContainer(value)) return;
  for (const key of Object.keys(value)) {
    scan((value as Record<string, unknown>)[key], [...path, Array.isArray(value) ? Number(key) : key], functions, moved, depth + 1);
  }
}

/** What `value` moves with: its transfer() marks, and those of the plain containers in it. */
export function marksIn(value: unknown): TransferListItem[] {
  const moved: TransferListItem[] = [];
  scan(value, [], [], moved, 0);
  return moved;
}

/** Copies the containers along `path` and puts `null` where the function was. */
function cutOut(root: unknown[], path: Path): void {
  let container = root as unknown as Record<string | number, unknown>;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    const child = container[key] as object;
    const copy = Array.isArray(child) ? [...child] : Object.assign(Object.create(Object.getPrototypeOf(child) as object | null) as object, child);
    container[key] = copy;
    container = copy as Record<string | number, unknown>;
  }
  container[path[path.length - 1]!] = null;
}

/** This thread's ends of the callback ports of calls that have settled (see {@link closeCallbacks}). */
const closed = new WeakSet<MessagePort>();

/**
 * Closes this thread's ends of a settled call's callback ports. A callback invocation the worker
 * posted before is still delivered (Node delivers what was queued): it does not run, since the
 * call it belonged to is over (its rejection may be the very failure of a callback).
 */
export function closeCallbacks(ports: readonly MessagePort[]): void {
  for (let i = 0; i < ports.length; i++) {
    closed.add(ports[i]!);
    ports[i]!.close();
  }
}

/** Where a callback that throws is reported: set by the pool once the call exists. */
export interface CallbackFailures {
  report: (path: string, error: unknown) => void;
}

/** Runs a callback invocation and counts it, however it ends. */
function countedRun(run: (...callArgs: unknown[]) => unknown, callArgs: unknown[], counted: CallbackCount): unknown {
  try {
    return run(...callArgs);
  } finally {
    counted.count++;
    counted.ran();
  }
}

/** How many invocations of a call's callbacks have run here: a stream's values wait for theirs (see StreamMessage). */
export interface CallbackCount {
  count: number;
  /** Told after each one has run. */
  readonly ran: () => void;
}

/** Arguments ready to post, and what must go with them. */
export interface PreparedArgs {
  readonly args: readonly unknown[];
  readonly callbacks: readonly CallbackRef[] | undefined;
  readonly transfer: readonly TransferListItem[];
  /** This thread's ends of the callback ports: close them when the call settles. */
  readonly ports: readonly MessagePort[];
  /** With callbacks: where one that throws is reported (the call should then stop). */
  readonly failures: CallbackFailures | undefined;
}

/**
 * Prepares `args`: undefined when they travel as they are (primitives only, the common case, which
 * then costs no object). A callback that throws is reported to `failures` of the result; each
 * invocation that runs is counted in `counted`, if given.
 *
 * @throws {CloneError} naming the first argument that cannot be sent.
 */
export function prepareArgs(args: readonly unknown[], counted?: CallbackCount): PreparedArgs | undefined {
  let functions: Array<{ path: Path; fn: Function }> | undefined;
  let moved: TransferListItem[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    // The common case, primitives, costs one typeof.
    if ((typeof arg === 'object' && arg !== null) || typeof arg === 'function') {
      functions ??= [];
      moved ??= [];
      scan(arg, [i], functions, moved, 0);
    } else if (typeof arg === 'symbol') {
      throw new CloneError(`args[${i}]`, `it is a symbol (${String(arg)})`);
    }
  }
  if (functions === undefined || moved === undefined) return undefined;
  let sent = args as unknown[];
  const callbacks: CallbackRef[] = [];
  const ports: MessagePort[] = [];
  const failures: CallbackFailures = { report: () => {} }; // set by the pool once the call exists
  if (functions.length > 0) {
    sent = [...args];
    for (const { path, fn } of functions) {
      cutOut(sent, path);
      const label = pathLabel(path);
      const { port1, port2 } = new MessageChannel();
      // What it returns goes back to the worker: one that cannot be copied fails the callback as a
      // throw does, named by its place (Comlink alone would send "Unserializable return value").
      const sendable = (value: unknown): unknown => {
        const bad = findUncloneable(value, `callback ${label} result`);
        if (bad !== undefined) throw new CloneError(bad.path, bad.detail);
        return value;
      };
      const failed = (error: unknown): never => {
        failures.report(label, error);
        throw error;
      };
      const run = (...callArgs: unknown[]): unknown => {
        if (closed.has(port1)) throw new Error(`callback ${label} was called after its call had settled, and did not run`);
        try {
          const value: unknown = fn(...callArgs);
          const thenable = typeof (value as PromiseLike<unknown> | null)?.then === 'function'; // awaited, as Comlink would
          return thenable ? Promise.resolve(value).then(sendable).then(undefined, failed) : sendable(value);
        } catch (error) {
          return failed(error);
        }
      };
      Comlink.expose(counted === undefined ? run : (...callArgs: unknown[]) => countedRun(run, callArgs, counted), endpoint(port1));
      ports.push(port1);
      callbacks.push({ path, port: port2 });
      moved.push(port2);
    }
  }
  for (let i = 0; i < sent.length; i++) {
    const bad = findUncloneable(sent[i], `args[${i}]`);
    if (bad !== undefined) {
      for (const port of ports) port.close();
      // Every function scan() reached is a callback now: this one sits where callbacks are not looked for.
      throw new CloneError(bad.path, bad.fn ? `${bad.detail}, where it cannot become a callback: ${CALLBACK_PLACES}` : bad.detail);
    }
  }
  return { args: sent, callbacks: callbacks.length > 0 ? callbacks : undefined, transfer: moved, ports, failures: callbacks.length > 0 ? failures : undefined };
}
