/**
 * Callbacks from the main thread: each function argument arrives as a port, and becomes a Comlink
 * proxy that sync code can call (`onProgress(n)` posts at once; nothing waits). Before the call
 * answers, every callback invocation is waited for, so the main thread has seen them all first.
 */
import * as Comlink from 'comlink';
import { findUncloneable, markRemoteCallback, pathLabel } from '../clone-check.js';
import { endpoint } from '../comlink-port.js';
import { CloneError } from '../errors.js';
import type { CallbackRef } from '../protocol.js';
import { warnMainThread } from './strays.js';

/** The callbacks of one call: invocations still on their way, and how to let go of them. */
export interface Callbacks {
  /** Invocations posted to the main thread so far (a stream's values say how many came before them). */
  readonly posted: number;
  settled(): Promise<void>;
  release(): void;
}

/** Comlink's message that calls the function behind a proxy. */
const APPLY = 'APPLY';

/**
 * A callback called after its call settled: a warning on the main thread, and a rejection for the
 * worker code that awaits it (handled, so one that does not is not an unhandled rejection).
 */
function lateCall(label: string): Promise<never> {
  const text = `${label} was called after its call had settled, and did not run: a callback runs only while its call does (await the work that calls it)`;
  warnMainThread('TOTHREAD_LATE_CALLBACK', text);
  const late = Promise.reject(new Error(text));
  late.catch(() => {});
  return late;
}

/** Puts a proxy at each callback's place in `args` (a fresh copy: this thread owns it). */
export function reviveCallbacks(args: unknown[], refs: readonly CallbackRef[]): Callbacks {
  const inFlight = new Set<Promise<unknown>>();
  const remotes: Array<Comlink.Remote<(...a: unknown[]) => unknown>> = [];
  let released = false;
  let posted = 0;
  const countApply = (message: unknown): void => {
    if ((message as { type?: unknown }).type === APPLY) posted++;
  };
  for (const { path, port } of refs) {
    // Counted once posted: one that failed on its way (refused by structured clone) never arrives.
    const remote = Comlink.wrap<(...a: unknown[]) => unknown>(endpoint(port, countApply));
    remotes.push(remote);
    const label = `callback ${pathLabel(path)}`;
    const proxy = (...callArgs: unknown[]): Promise<unknown> => {
      // Called after its call settled (from a timer the call left behind): the main thread has let
      // the callback go. Throwing would end the worker under whatever call runs next.
      if (released) return lateCall(label);
      // Refused here, it would fail on its way and never reach the main thread: say so at once.
      for (let i = 0; i < callArgs.length; i++) {
        const bad = findUncloneable(callArgs[i], `${label} arguments[${i}]`, 'to-main'); // nothing moves with a callback's arguments
        if (bad !== undefined) throw new CloneError(bad.path, bad.detail);
      }
      const reply = Promise.resolve(remote(...callArgs));
      const tracked = reply.catch(() => undefined); // a throwing callback stops the call from the main thread
      inFlight.add(tracked);
      void tracked.then(() => inFlight.delete(tracked));
      return reply;
    };
    markRemoteCallback(proxy);
    let container = args as unknown as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) container = container[key] as Record<string | number, unknown>;
    container[path[path.length - 1]!] = proxy;
  }
  return {
    get posted() {
      return posted;
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
    release() {
      released = true;
      for (const remote of remotes) remote[Comlink.releaseProxy]();
      for (const { port } of refs) port.close();
    },
  };
}
