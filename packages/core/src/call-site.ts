/**
 * Where a call was made, for the stack of an error it ends with. Capturing a stack at every call
 * costs more than everything else tothread does on the main thread (measured: ~4 of ~9 µs a call
 * under load), so a call that is awaited finds its site only if it fails, as V8's async stack
 * traces do: from the async functions awaiting it at that moment, free until then. Streams,
 * `map()` and facades capture their site when they start (one capture for many items).
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
 * awaiting this at the moment it fails (none if nothing awaits it yet). An async function, not a
 * `then`: V8 follows the awaiters of an async function reliably (through `Promise.all`, through
 * helpers that chain with `then`), and a `then` handler's less so.
 */
export async function awaitedAt<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    const how = typeof error === 'object' && error !== null ? unplaced.get(error) : undefined;
    if (how !== undefined) {
      unplaced.delete(error as object);
      // Only the awaiters locate the call: the synchronous frames here are the microtask runner's.
      const [head = '', ...frames] = (captureSite(awaitedAt).stack ?? '').split('\n');
      place(error as object, how, { stack: [head, ...frames.filter((line) => line.trimStart().startsWith('at async '))].join('\n') });
    }
    throw error;
  }
}

function place(error: object, how: Placement, site: Site): void {
  if (site === LAZY) {
    unplaced.set(error, how);
    return;
  }
  const frames = site.stack?.split('\n').slice(1).filter(visible) ?? [];
  if (how === 'locate') {
    const { name, message } = error as Error;
    setStack(error, [`${String(name)}: ${String(message)}`, ...frames]);
    return;
  }
  const own = (error as { stack?: unknown }).stack;
  if (typeof own === 'string' && frames.length > 0) setStack(error, [...own.split('\n').filter(visible), BOUNDARY, ...frames]);
}

function visible(line: string): boolean {
  return !HIDDEN_FRAMES.some((hidden) => line.includes(hidden));
}

function setStack(error: object, lines: readonly string[]): void {
  try {
    Object.defineProperty(error, 'stack', { value: lines.join('\n'), writable: true, configurable: true, enumerable: false });
  } catch {
    // A frozen error keeps its own stack: the error itself matters more than where it was awaited.
  }
}
