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

/**
 * The Comlink endpoint of a Node port. Comlink joins the transfer lists of a call's arguments as
 * they are: one buffer marked in two arguments would be listed twice, which postMessage refuses.
 * It moves once.
 */
export function endpoint(port: NodePortLike): Endpoint {
  const end = (nodeEndpoint as (port: NodePortLike) => Endpoint)(port);
  const post = end.postMessage.bind(end);
  end.postMessage = (message, transfer) => post(message, transfer !== undefined && transfer.length > 1 ? [...new Set(transfer)] : transfer);
  return end;
}
