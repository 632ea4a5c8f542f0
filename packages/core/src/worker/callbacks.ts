/**
 * Callbacks from the main thread: each function argument arrives as a port, and becomes a Comlink
 * proxy that sync code can call (`onProgress(n)` posts at once; nothing waits). Before the call
 * answers, every callback invocation is waited for, so the main thread has seen them all first.
 */
import * as Comlink from 'comlink';
import { findUncloneable, pathLabel } from '../clone-check.js';
import { endpoint } from '../comlink-port.js';
import { CloneError } from '../errors.js';
import type { CallbackRef } from '../protocol.js';

/** The callbacks of one call: invocations still on their way, and how to let go of them. */
export interface Callbacks {
  settled(): Promise<void>;
  release(): void;
}

/** Puts a proxy at each callback's place in `args` (a fresh copy: this thread owns it). */
export function reviveCallbacks(args: unknown[], refs: readonly CallbackRef[]): Callbacks {
  const inFlight = new Set<Promise<unknown>>();
  const remotes: Array<Comlink.Remote<(...a: unknown[]) => unknown>> = [];
  for (const { path, port } of refs) {
    const remote = Comlink.wrap<(...a: unknown[]) => unknown>(endpoint(port));
    remotes.push(remote);
    const label = `callback ${pathLabel(path)}`;
    const proxy = (...callArgs: unknown[]): Promise<unknown> => {
      // Refused here, it would fail on its way and never reach the main thread: say so at once.
      for (let i = 0; i < callArgs.length; i++) {
        const bad = findUncloneable(callArgs[i], `${label} arguments[${i}]`);
        if (bad !== undefined) throw new CloneError(bad.path, bad.detail);
      }
      const reply = Promise.resolve(remote(...callArgs));
      const tracked = reply.catch(() => undefined); // a throwing callback stops the call from the main thread
      inFlight.add(tracked);
      void tracked.then(() => inFlight.delete(tracked));
      return reply;
    };
    let container = args as unknown as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) container = container[key] as Record<string | number, unknown>;
    container[path[path.length - 1]!] = proxy;
  }
  return {
    async settled() {
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
    release() {
      for (const remote of remotes) remote[Comlink.releaseProxy]();
      for (const { port } of refs) port.close();
    },
  };
}
