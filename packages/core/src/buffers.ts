/**
 * Node's Buffers across threads. Structured clone sends a Buffer as a plain Uint8Array, so a
 * `readFileSync(path)` run on a worker would come back without `toString('utf8')` or `equals()`.
 * Where one travels as a whole value (an argument, a result, a streamed value, a `map()` value),
 * its place is noted and the other side makes it a Buffer again, over the same memory: no copy.
 * Through Comlink (an instance's methods, callbacks), a transfer handler does the same (see comlink-port.ts).
 * A Buffer nested inside an object or array arrives as a Uint8Array, as structured clone sends it.
 */

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
