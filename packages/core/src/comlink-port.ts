/** Comlink over a Node `MessagePort` (or Worker), on either thread. */
import type { Endpoint } from 'comlink';
// @ts-expect-error comlink ships no declarations for its Node adapter
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

/** Anything Comlink's Node adapter accepts: a MessagePort, a Worker, `parentPort`. */
export interface NodePortLike {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  on(type: 'message', listener: (value: unknown) => void): unknown;
  off(type: 'message', listener: (value: unknown) => void): unknown;
}

/** The Comlink endpoint of a Node port. */
export function endpoint(port: NodePortLike): Endpoint {
  return (nodeEndpoint as (port: NodePortLike) => Endpoint)(port);
}
