/**
 * One abort listener per signal, however many calls or waiters watch it: a signal shared by many
 * calls (one AbortController for a whole batch) would otherwise collect a listener per call, and
 * Node warns past ten.
 */

interface Watchers {
  readonly callbacks: Set<(reason: unknown) => void>;
  readonly listener: () => void;
}

const watched = new WeakMap<AbortSignal, Watchers>();

/** Calls `onAbort(signal.reason)` when `signal` aborts; returns how to stop watching. */
export function watchSignal(signal: AbortSignal, onAbort: (reason: unknown) => void): () => void {
  let entry = watched.get(signal);
  if (entry === undefined) {
    const callbacks = new Set<(reason: unknown) => void>();
    const listener = (): void => {
      watched.delete(signal);
      for (const callback of [...callbacks]) callback(signal.reason);
    };
    entry = { callbacks, listener };
    watched.set(signal, entry);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { callbacks, listener } = entry;
  callbacks.add(onAbort);
  return () => {
    callbacks.delete(onAbort);
    if (callbacks.size === 0 && watched.get(signal)?.callbacks === callbacks) {
      watched.delete(signal);
      signal.removeEventListener('abort', listener);
    }
  };
}
