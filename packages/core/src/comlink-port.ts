/** Comlink over a Node `MessagePort` (or Worker), on either thread. */
import type { TransferListItem } from 'node:worker_threads';
import * as Comlink from 'comlink';
import type { Endpoint } from 'comlink';
import { asBuffer, isBuffer, isSmallView, trimmed } from './buffers.js';
// @ts-expect-error comlink ships no declarations for its Node adapter
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

/** Anything Comlink's Node adapter accepts: a MessagePort, a Worker, `parentPort`. */
export interface NodePortLike {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  on(type: 'message', listener: (value: unknown) => void): unknown;
  off(type: 'message', listener: (value: unknown) => void): unknown;
}

/**
 * The Comlink endpoint of a Node port. Comlink joins the transfer lists of a call's arguments as
 * they are: one buffer marked in two arguments would be listed twice, which postMessage refuses.
 * It moves once. `posted` is told of each message once it is posted (one refused is not).
 */
export function endpoint(port: NodePortLike, posted?: (message: unknown) => void): Endpoint {
  const end = (nodeEndpoint as (port: NodePortLike) => Endpoint)(port);
  const post = end.postMessage.bind(end);
  end.postMessage = (message, transfer) => {
    post(message, transfer !== undefined && transfer.length > 1 ? [...new Set(transfer)] : transfer);
    posted?.(message);
  };
  return end;
}

/** What Comlink moves (its own name for a transfer list's items). */
type Movable = Parameters<typeof Comlink.transfer>[1][number];

/** What a value given to {@link moveWith} moves with: Comlink's own list is not read for a value a handler sends. */
const moves = new WeakMap<object, readonly TransferListItem[]>();

/** Marks `value`, an argument of a Comlink call, to move `transferables` instead of copying them. */
export function moveWith(value: object, transferables: readonly TransferListItem[]): void {
  Comlink.transfer(value, transferables as Movable[]);
  moves.set(value, transferables);
}

// A Buffer passed whole through Comlink (an argument of an instance's method or of a callback,
// or what one returns) is a Buffer again on the other side, over the same memory, as a call's are
// (see buffers.ts); unless it moves, one over less than half of its memory is sent as a copy of
// what it covers, as a call's result is (see trimmed), and so is any other such view: a 16-byte
// Buffer.from() would carry the 8 KiB slab it sits in, and a slice of a file the whole file.
// Registered on each thread that loads this module, in tothread's own copy of Comlink (bundled),
// so an app's own Comlink is left as it is.
Comlink.transferHandlers.set('tothread:buffer', {
  canHandle: (value): value is Buffer => isBuffer(value),
  serialize: (buffer: Buffer) => {
    const moved = moves.get(buffer);
    return [moved === undefined ? trimmed(buffer) : buffer, (moved ?? []) as Movable[]]; // structured clone sends it as a Uint8Array
  },
  deserialize: asBuffer,
});
Comlink.transferHandlers.set('tothread:view', {
  canHandle: (value): value is ArrayBufferView => isSmallView(value) && !isBuffer(value) && !moves.has(value),
  serialize: (view: ArrayBufferView) => [trimmed(view), []],
  deserialize: (view: unknown) => view,
});
