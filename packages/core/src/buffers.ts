/**
 * Node's Buffers across threads. Structured clone sends a Buffer as a plain Uint8Array, so a
 * `readFileSync(path)` run on a worker would come back without `toString('utf8')` or `equals()`.
 * Where one travels as a whole value (an argument, a result, a streamed value, a `map()` value),
 * its place is noted and the other side makes it a Buffer again, over the same memory: no copy.
 * Through Comlink (an instance's methods, callbacks), a transfer handler does the same (see comlink-port.ts).
 * In what a worker sends back (a result, a streamed value, a `map()` value), a Buffer nested in an
 * object, an array, a Map's value or an error's cause is noted too, by the check that the value can
 * be sent (see clone-check.ts, BufferNote);
 * so is one in a thrown value or an error's fields (see error-codec.ts);
 * one in a Set or a Map's key, or nested in an argument, arrives as a Uint8Array.
 */

import { types } from 'node:util';

/** True for a Node Buffer (a Uint8Array of Buffer's class). */
export function isBuffer(value: unknown): boolean {
  return value instanceof Uint8Array && Buffer.isBuffer(value);
}

/** A Buffer over the memory of `view` (a Buffer that crossed threads arrived as a Uint8Array). */
export function asBuffer(view: unknown): unknown {
  return view instanceof Uint8Array && !Buffer.isBuffer(view) ? Buffer.from(view.buffer, view.byteOffset, view.byteLength) : view;
}

/** The places of the Buffers among `values`, or undefined when there is none (most calls). */
export function bufferPlaces(values: readonly unknown[]): number[] | undefined {
  let places: number[] | undefined;
  for (let i = 0; i < values.length; i++) if (isBuffer(values[i])) (places ??= []).push(i);
  return places;
}

/** Makes the values at `places` Buffers again, in place. */
export function restoreBuffers(values: unknown[], places: readonly number[] | undefined): void {
  if (places === undefined) return;
  for (const place of places) values[place] = asBuffer(values[place]);
}

/** True for a view over less than half of its (non-shared) ArrayBuffer: {@link trimmed} copies it out. */
export function isSmallView(value: unknown): value is ArrayBufferView {
  return ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer && value.byteLength * 2 < value.buffer.byteLength;
}

/**
 * `value`, or for a view (a typed array, a Buffer, a DataView) that covers less than half of the
 * ArrayBuffer under it, a copy of only what it covers. Structured clone copies a view's whole
 * ArrayBuffer: a 1 KiB slice of an 8 MiB file would cost 8 MiB, and a small `Buffer.from(text)`
 * carries Node's 8 KiB pool slab. Shared memory is never copied. A Buffer comes out as a
 * Uint8Array (its flag makes it a Buffer again on the other side).
 */
export function trimmed<T>(value: T): T {
  if (!isSmallView(value)) return value;
  const { buffer, byteOffset, byteLength } = value;
  const copy = (buffer as ArrayBuffer).slice(byteOffset, byteOffset + byteLength);
  if (value instanceof DataView) return new DataView(copy) as T;
  // The built-in class of a typed array (a Buffer's is Uint8Array), as structured clone sends it.
  const View = (globalThis as unknown as Record<string, (new (buffer: ArrayBuffer) => T) | undefined>)[(value as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag]];
  return View === undefined ? value : new View(copy);
}

/** A place in a value where a view can be put back: its holder, and how to replace it there. */
type Put = ((view: Uint8Array) => void) | undefined;

/**
 * Visits the Uint8Arrays nested in `value` in the order the worker's check met them (clone-check.ts,
 * `find`: the same rules, on the same shape, which structured clone keeps). `put` replaces a view in
 * its holder (undefined where that would reorder: a Set, a Map's key).
 */
function eachView(value: unknown, visit: (view: Uint8Array, put: Put) => void, seen: Set<object>, put?: Put): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  if (ArrayBuffer.isView(value)) {
    if (types.isUint8Array(value)) visit(value, put);
    return;
  }
  // Kinds by what the object is, as the check and structured clone tell them (see clone-check.ts, find).
  if (types.isArrayBuffer(value) || types.isDate(value) || types.isRegExp(value) || types.isBoxedPrimitive(value) || types.isSharedArrayBuffer(value)) return;
  seen.add(value);
  if (types.isNativeError(value)) {
    if ('cause' in value) eachView(value.cause, visit, seen, (view) => void (value.cause = view));
    return;
  }
  if (types.isMap(value)) {
    const map = value as Map<unknown, unknown>;
    for (const [k, v] of map) {
      eachView(k, visit, seen);
      eachView(v, visit, seen, (view) => void map.set(k, view));
    }
    return;
  }
  if (types.isSet(value)) {
    for (const v of value as Set<unknown>) eachView(v, visit, seen);
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) eachView(record[key], visit, seen, (view) => void (record[key] = view));
}

/**
 * Worker side, for values sent apart from the check (a thrown value, an error's fields): the
 * places of the Buffers nested in `value`, in the order {@link restoreNested} counts views;
 * undefined when there is none.
 */
export function nestedBufferPlaces(value: unknown): number[] | undefined {
  let places: number[] | undefined;
  let at = 0;
  eachView(value, (view, put) => {
    if (put !== undefined && Buffer.isBuffer(view)) (places ??= []).push(at);
    at++;
  }, new Set());
  return places;
}

/**
 * Main side: a value as a worker sent it back (a result, a streamed value, a thrown value), a
 * Buffer again when it was one (`buffer`), with the Buffers nested in it restored (`nested`).
 */
export function received(value: unknown, buffer: true | undefined, nested: readonly number[] | undefined): unknown {
  return buffer ? asBuffer(value) : restoreNested(value, nested);
}

/**
 * Main side: makes the views that the worker's check of `value` noted as Buffers (`found`, see
 * clone-check.ts, BufferNote) Buffers again, in place, over the same memory.
 */
export function restoreNested<T>(value: T, found: readonly number[] | undefined): T {
  if (found === undefined) return value;
  const wanted = new Set(found);
  const made = new Map<Uint8Array, Buffer>(); // one Buffer for a view met twice, as it was one object
  let at = 0;
  eachView(value, (view, put) => {
    if (put !== undefined && wanted.has(at)) {
      let buffer = made.get(view);
      if (buffer === undefined) made.set(view, (buffer = asBuffer(view) as Buffer));
      put(buffer);
    }
    at++;
  }, new Set());
  return value;
}
