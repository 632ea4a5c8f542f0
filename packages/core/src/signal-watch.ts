/**
 * One abort listener per signal, however many calls or waiters watch it: a signal shared by many
 * calls (one AbortController for a whole batch) would otherwise collect a listener per call, and
 * Node warns past ten. It tells every watcher's `first` before any `onAbort`: the calls of a
 * signal that have not started are all stopped where they wait before stopping one that runs
 * frees a worker, and while workers go on taking calls.
 */

type OnAbort = (reason: unknown) => void;

interface Watchers {
  readonly callbacks: Set<OnAbort>;
  readonly first: Set<OnAbort>;
  readonly listener: () => void;
  /** Told once the last watcher has gone (or the signal has aborted): see {@link whenUnwatched}. */
  readonly idle: Set<() => void>;
}

const watched = new WeakMap<AbortSignal, Watchers>();

/**
 * Calls `onAbort(signal.reason)` when `signal` aborts, and `first(signal.reason)` before the
 * `onAbort` of any watcher; returns how to stop watching.
 */
export function watchSignal(signal: AbortSignal, onAbort: OnAbort, first?: OnAbort): () => void {
  let entry = watched.get(signal);
  if (entry === undefined) {
    const callbacks = new Set<OnAbort>();
    const firsts = new Set<OnAbort>();
    const idle = new Set<() => void>();
    const listener = (): void => {
      watched.delete(signal);
      for (const callback of [...firsts]) callback(signal.reason);
      for (const callback of [...callbacks]) callback(signal.reason);
      for (const callback of idle) callback();
    };
    entry = { callbacks, first: firsts, listener, idle };
    watched.set(signal, entry);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { callbacks, listener, idle } = entry;
  callbacks.add(onAbort);
  if (first !== undefined) entry.first.add(first);
  const firsts = entry.first;
  return () => {
    callbacks.delete(onAbort);
    if (first !== undefined) firsts.delete(first);
    if (callbacks.size === 0 && watched.get(signal)?.callbacks === callbacks) {
      watched.delete(signal);
      signal.removeEventListener('abort', listener);
      for (const callback of idle) callback();
    }
  };
}

/**
 * Calls `onIdle` once nothing watches `signal` any more, or it aborts: at once when nothing
 * watches it now. A cancel scope whose own run has ended keeps relaying its parents' cancel until
 * then, as what still watches its signal is work started inside it (calls, waits, inner scopes).
 */
export function whenUnwatched(signal: AbortSignal, onIdle: () => void): void {
  const entry = watched.get(signal);
  if (entry === undefined) onIdle();
  else entry.idle.add(onIdle);
}
