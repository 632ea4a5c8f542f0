/**
 * Where a call was made, for the stack of an error it ends with. Capturing a stack at every call
 * costs more than everything else tothread does on the main thread (measured: ~4 of ~9 µs a call
 * under load), so a call that is awaited finds its site only if it fails, as V8's async stack
 * traces do: from the async functions awaiting it at that moment, free until then (module facades
 * too). Streams and `map()` capture their site when they start (one capture for many items).
 */
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

/** A call site: captured frames, or {@link LAZY} (found when the call fails). */
export interface Site {
  readonly stack?: string;
}

/** The site of a call whose awaiters are its site (see {@link awaitedAt}). */
export const LAZY: Site = Object.freeze({});

/** How an error is given its call site: as its whole stack (made on the main thread), or below the worker's frames. */
type Placement = 'locate' | 'stitch';

const OWN_DIR = dirname(fileURLToPath(import.meta.url));
const HIDDEN_FRAMES = [OWN_DIR, '/piscina/dist/'];
const BOUNDARY = '    --- the worker thread above, the toThread() call site below ---';
/** Errors of lazy calls waiting for their site. */
const unplaced = new WeakMap<object, Placement>();

/** Captures the frames below `from` now (up to `Error.stackTraceLimit`). */
export function captureSite(from: Function): Site {
  const site: { stack?: string } = {};
  Error.captureStackTrace(site, from);
  return site;
}

/** Gives an error made on the main thread (timeout, pool closed) the call site's frames as its stack. */
export function locate<E extends Error>(error: E, site: Site): E {
  place(error, 'locate', site);
  return error;
}

/** Appends the call site's frames to the stack of an error thrown in the worker. */
export function stitch(error: unknown, site: Site): void {
  if (typeof error === 'object' && error !== null) place(error, 'stitch', site);
}

/**
 * `promise`, settled the same way; an error of a lazy call gets the frames of the async functions
 * awaiting this at the moment it fails. With none to show (nothing awaits it yet, or only
 * tothread's own combinators do), the error is left for {@link placeLeftover}, or keeps its own
 * stack. A `then`, not an async function: V8 follows the awaiters of a native promise chain just
 * as far (Node 20 to 24), for a fraction of the memory (every call has one).
 */
export function awaitedAt<T>(promise: Promise<T>): Promise<T> {
  return promise.then(undefined, placeFailure);
}

/** The rejection handler of {@link awaitedAt}. */
function placeFailure(error: unknown): never {
  if (typeof error === 'object' && error !== null && unplaced.has(error)) placeLeftover(error, awaiters(captureSite(placeFailure)));
  throw error;
}

/**
 * Gives `site` to an error of a lazy call that has no call site yet: for tothread's combinators
 * (tasks, gather, asCompleted), which capture their own site once and hide the awaiters' frames.
 */
export function placeLeftover(error: unknown, site: Site): void {
  if (typeof error !== 'object' || error === null) return;
  const how = unplaced.get(error);
  // A site with nothing to show (a task started inside gather, say) leaves it to an outer one.
  if (how !== undefined && place(error, how, site)) unplaced.delete(error);
}

/**
 * The awaiters in a site captured as a call fails: only its `at async` frames (the synchronous ones
 * are the microtask runner's), and not the line of a `Promise.all` between them.
 */
function awaiters(site: Site): Site {
  if (typeof site.stack !== 'string') return {}; // an Error.prepareStackTrace may return anything
  const [head = '', ...frames] = site.stack.split('\n');
  return { stack: [head, ...frames.filter((line) => line.trimStart().startsWith('at async ') && !/at async Promise\.(all|any|allSettled|race) /.test(line))].join('\n') };
}

/** Gives `error` the frames of `site`; false when there are none to give (the error keeps its own stack). */
function place(error: object, how: Placement, site: Site): boolean {
  const own = (error as { stack?: unknown }).stack;
  if (site === LAZY) {
    unplaced.set(error, how);
    // Until a site is found, a worker's error shows the user's frames only, not tothread's or Piscina's.
    if (how === 'stitch' && typeof own === 'string') setStack(error, own.split('\n').filter(visible));
    return true;
  }
  const frames = typeof site.stack === 'string' ? site.stack.split('\n').slice(1).filter(visible) : [];
  if (frames.length === 0) return false;
  if (how === 'locate') {
    const { name, message } = error as Error;
    setStack(error, [`${String(name)}: ${String(message)}`, ...frames]);
  } else if (typeof own === 'string') {
    setStack(error, [...own.split('\n').filter(visible), BOUNDARY, ...frames]);
  }
  return true;
}

/** Node's own frames and native ones (`Array.map`, `new Promise`) never locate a call. */
const INTERNAL_FRAME = /\(node:|^\s*at node:|\(<anonymous>\)$/;

function visible(line: string): boolean {
  return !HIDDEN_FRAMES.some((hidden) => line.includes(hidden)) && !INTERNAL_FRAME.test(line);
}

function setStack(error: object, lines: readonly string[]): void {
  try {
    Object.defineProperty(error, 'stack', { value: lines.join('\n'), writable: true, configurable: true, enumerable: false });
  } catch {
    // A frozen error keeps its own stack: the error itself matters more than where it was awaited.
  }
}
