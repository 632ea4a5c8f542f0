/**
 * Cancellation plumbing shared by the pool and the asyncio-style tools: the ambient cancel signal
 * (carried by AsyncLocalStorage, so every offloaded call inside a scope sees it without passing a
 * signal by hand), and a registry that can cancel a plain `toThread()` promise.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { awaitedAt, LAZY, type Site } from './call-site.js';
import { CancelledError } from './errors.js';

const ambient = new AsyncLocalStorage<AbortSignal>();
/** A constructor that returns the object it is given: lets {@link stamp} stamp any object. */
const Identity = function (target: object) {
  return target;
} as unknown as new (target: object) => object;

/** A value kept on objects of any kind, without a table: see {@link stamp}. */
interface Stamp<T> {
  set(target: object, value: T): void;
  get(target: object): T | undefined;
}

/**
 * A private field stamped on objects, which costs a plain property store on the hot path (a
 * defineProperty cost ~6x more, a WeakMap entry ~5x, and a WeakMap holding one per call or task
 * grows its table by tens of thousands between collections), stays out of console.log and of
 * spreads (a copy of a Task must not cancel it), and changes nothing that other code can observe on
 * the object.
 */
function stamp<T>(): Stamp<T> {
  return class Stamped extends Identity {
    #value: T;

    private constructor(target: object, value: T) {
      super(target);
      this.#value = value;
    }

    static set(target: object, value: T): void {
      if (#value in target) (target as Stamped).#value = value;
      else new Stamped(target, value);
    }

    static get(target: object): T | undefined {
      return #value in target ? (target as Stamped).#value : undefined;
    }
  };
}

/** Where a cancellable promise keeps its canceller (every call has one). */
const Canceller = stamp<Cancels>();

/**
 * What cancels a target: a function, or an object with a `cancel` method (a call is its own
 * canceller, so that none is made for it per call).
 */
export type Cancels = ((reason: unknown) => void) | { cancel(reason: unknown): void };

/** A scope that follows its parents only while work inside it is pending (see CancelScope.oneRun). */
export interface Rejoins {
  /** Follows its parents again, if it had let them go, while the work starting now is pending. */
  rejoin(): void;
}

/** The scope of {@link Rejoins} a one-run scope's signal (what the ambient context carries) is stamped with. */
const RejoinStamp = stamp<Rejoins>();

/** Has `scope`, whose signal is `signal`, rejoin its parents whenever work starts inside it (see {@link currentSignal}). */
export function registerRejoin(signal: AbortSignal, scope: Rejoins): void {
  RejoinStamp.set(signal, scope);
}

/** Has the scope of `signal` follow its parents again (see {@link Rejoins}); nothing for other signals. */
export function rejoin(signal: AbortSignal): void {
  RejoinStamp.get(signal)?.rejoin();
}

/**
 * The signal of the innermost cancel scope around the caller, if any. What asks for it is about to
 * start work in that scope (a call, a wait, an inner scope): a scope that had let its parents go
 * (its run over, nothing of it pending) follows them again while that work is pending, so that an
 * enclosing `timeout()` still stops work it starts later (after a timer, say).
 */
export function currentSignal(): AbortSignal | undefined {
  const signal = ambient.getStore();
  if (signal !== undefined) rejoin(signal);
  return signal;
}

/** Runs `fn` with `signal` as the ambient cancel signal of everything it starts. */
export function withSignal<T>(signal: AbortSignal, fn: () => T): T {
  return ambient.run(signal, fn);
}

/** Runs `fn` outside any cancel scope: for work shared by several callers, which none may cancel alone. */
export function withoutSignal<T>(fn: () => T): T {
  return ambient.exit(fn);
}

/** Makes `target` cancellable through {@link cancelAwaitable}. */
export function onCancel(target: object, cancel: Cancels): void {
  Canceller.set(target, cancel);
}

/** Makes `to` cancel as `from` does (a promise derived from a call's own); returns `to`. */
export function relayCancel<T extends object>(from: object, to: T): T {
  const cancel = Canceller.get(from);
  if (cancel !== undefined) Canceller.set(to, cancel);
  return to;
}

/** Cancels a `toThread()` promise, a task or a gather; returns false for anything else. */
export function cancelAwaitable(target: unknown, reason: unknown): boolean {
  if ((typeof target !== 'object' && typeof target !== 'function') || target === null) return false;
  const cancel = Canceller.get(target);
  if (cancel === undefined) return false;
  if (typeof cancel === 'function') cancel(reason);
  else cancel.cancel(reason);
  return true;
}

/**
 * What a call form gets back: the call's promise, cancellable through `cancel`. A call whose site
 * is found only if it fails ({@link LAZY}) gets its promise as its awaiters see it (awaitedAt),
 * made here so that it is the one promise a call form needs.
 */
export function cancellable(promise: Promise<unknown>, site: Site, cancel: Cancels): Promise<unknown> {
  const awaited = site === LAZY ? awaitedAt(promise) : promise;
  onCancel(awaited, cancel);
  return awaited;
}

const ignore = (): void => {};

/** Reasons tothread withdraws its own calls with (see {@link withdrawal}). */
const withdrawals = new WeakSet<object>();

/**
 * Marks `reason` as tothread withdrawing a call of its own making, which the user never asked for
 * as such: a facade call iterated rather than awaited (its stream is the user's call), an export's
 * look-up every caller has left. A call cancelled with it is not counted in `stats()`.
 */
export function withdrawal<T extends object>(reason: T): T {
  withdrawals.add(reason);
  return reason;
}

/** True for a reason made by {@link withdrawal}. */
export function isWithdrawal(reason: unknown): boolean {
  return typeof reason === 'object' && reason !== null && withdrawals.has(reason);
}

/** True when `error` is the reason of one of `signals`: what ended the work is a cancel, not a failure of its own. */
export function cancelledBy(error: unknown, signals: ReadonlyArray<AbortSignal | undefined>): boolean {
  for (let i = 0; i < signals.length; i++) if (signals[i]?.aborted && signals[i]!.reason === error) return true;
  return false;
}

/**
 * Whether `error` says the work was cancelled: the reason `signal` carried, a CancelledError, or the
 * AbortError a Node API given the signal rejects with (`timers/promises`, `events.once`: its `cause`
 * is the reason). An error of the work's own that wraps the reason (a failed rollback) is a failure.
 */
export function isCancellation(error: unknown, signal: AbortSignal): boolean {
  if (error instanceof CancelledError || cancelledBy(error, [signal])) return true;
  const abort = error as { name?: unknown; cause?: unknown } | null;
  return signal.aborted && abort?.name === 'AbortError' && abort.cause === signal.reason;
}

/**
 * Keeps `promise`, rejected with its own signal's or scope's reason, from being reported as an
 * unhandled rejection: whoever cancelled it has that reason already (a scope's promise rejects
 * with it), as asyncio does not report a cancelled task nobody awaits. Awaited, it still rejects.
 */
export function quiet(promise: Promise<unknown>): void {
  promise.catch(ignore);
}

/**
 * `first.then(next)`, cancellable from the start: a cancel that comes before `next` has run makes
 * the result reject with its reason (`next` never runs), and goes to `first` too when this chain
 * `owns` it (a permit; not a lookup other calls share); after, it goes to the promise `next`
 * returned. For calls that must wait for something (a module lookup, an export's kind, a permit)
 * before they exist as calls.
 */
export function thenCancellable<A, B>(first: PromiseLike<A>, next: (value: A) => Promise<B>, owns = false): Promise<B> {
  let early: { reason: unknown } | undefined;
  let inner: Promise<B> | undefined;
  const chained = Promise.resolve(first).then((value) => {
    if (early !== undefined) throw early.reason;
    return (inner = next(value));
  });
  onCancel(chained, (reason) => {
    if (inner !== undefined) return void cancelAwaitable(inner, reason);
    early ??= { reason };
    if (owns) cancelAwaitable(first, reason);
  });
  return chained;
}

/**
 * The signal Piscina is given for each task: a few fields instead of an AbortController, so that
 * every call can be stopped (queued: removed; running: its worker terminated) at almost no cost.
 */
export class TaskSignal {
  aborted = false;
  reason: unknown = undefined;
  #listener: (() => void) | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    this.#listener = listener;
  }

  removeEventListener(): void {
    this.#listener = undefined;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.();
  }
}
