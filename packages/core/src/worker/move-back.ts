/**
 * Results that move back instead of being copied: a buffer that arrived transferred and is
 * returned (the caller gave it away), and buffers worker code marked with `transfer()`, returned
 * as the result or inside the plain objects, arrays, Maps and Sets it is made of.
 */
import type { TaskRequest, TaskResponse } from '../protocol.js';
import { trimmed } from '../buffers.js';
import { isPlainContainer, MARK_DEPTH } from '../containers.js';
import { moveMarks } from './context.js';

type Movable = { readonly [key: symbol]: unknown };
let move: ((value: Movable) => TaskResponse) | undefined;

function bufferOf(value: unknown): ArrayBuffer | undefined {
  if (value instanceof ArrayBuffer) return value;
  if (ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer) return value.buffer;
  return undefined;
}

/** The marked buffers in `value`, into `found` (each once). */
function findMarked(value: unknown, marks: WeakSet<object>, found: Set<ArrayBuffer>, seen: Set<object>, depth: number): void {
  if (typeof value !== 'object' || value === null || seen.has(value) || depth > MARK_DEPTH) return;
  const buffer = bufferOf(value);
  if (buffer !== undefined) {
    if (buffer.byteLength > 0 && (marks.has(value) || marks.has(buffer))) found.add(buffer);
    return;
  }
  if (!isPlainContainer(value) && !(value instanceof Map) && !(value instanceof Set)) return;
  seen.add(value);
  const children = value instanceof Map || value instanceof Set ? value.values() : Object.values(value);
  for (const child of children) findMarked(child, marks, found, seen, depth + 1);
}

/** The buffers marked with `transfer()` in `value` (a result, a streamed value); undefined when none is. */
export function markedBuffers(value: unknown): ArrayBuffer[] | undefined {
  const marks = moveMarks();
  if (marks.used !== true) return undefined;
  const found = new Set<ArrayBuffer>();
  findMarked(value, marks, found, new Set(), 0);
  return found.size > 0 ? [...found] : undefined;
}

/** The buffers of a response that move back; undefined when none does (most calls). */
function movedBuffers(request: TaskRequest, response: TaskResponse): ArrayBuffer[] | undefined {
  if (!response.ok) return undefined;
  const { value } = response;
  const buffer = bufferOf(value);
  if (buffer !== undefined && buffer.byteLength > 0 && request.moved === true && request.args.some((arg) => bufferOf(arg) === buffer)) return [buffer];
  return markedBuffers(value);
}

/**
 * A response as it is sent, and the buffers it moves: a result that is a view over a larger buffer
 * and does not move is copied out of it (see trimmed).
 */
export function outgoing(request: TaskRequest, response: TaskResponse): [TaskResponse, ArrayBuffer[] | undefined] {
  const buffers = movedBuffers(request, response);
  if (buffers !== undefined || !response.ok) return [response, buffers];
  const value = trimmed(response.value);
  return [value === response.value ? response : { ...response, value }, undefined];
}

/** A result whose buffers should move is wrapped for Piscina, which moves what `Piscina.move()` wraps. */
export function moveBack(request: TaskRequest, sent: TaskResponse): TaskResponse | Promise<unknown> {
  const [response, buffers] = outgoing(request, sent);
  if (buffers === undefined) return response;
  const wrapped: Movable = { [Symbol.for('Piscina.transferable')]: buffers, [Symbol.for('Piscina.valueOf')]: response };
  if (move !== undefined) return move(wrapped);
  return import('piscina').then(({ Piscina }) => {
    move = (value) => Piscina.move(value as never) as unknown as TaskResponse;
    return move(wrapped);
  });
}
