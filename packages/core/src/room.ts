/**
 * Calls waiting for room in a full pool queue (`queueFull: 'wait'`): first come, first served,
 * abortable. A granted place is reserved for its caller until it takes it, so a newer call cannot
 * slip in between.
 */
import { locate, type Site } from './call-site.js';
import { timeoutError } from './call.js';
import type { CallSettings } from './call-options.js';
import { cancelAwaitable, cancellable, cancelledBy, quiet } from './cancel.js';
import type { TaskExtra } from './pool.js';
import type { FnRef } from './protocol.js';
import { WaitList } from './wait-list.js';

export class RoomQueue {
  readonly #line = new WaitList();
  #reserved = 0;

  /** Places granted but not yet taken. */
  get reserved(): number {
    return this.#reserved;
  }

  /** Calls still waiting. */
  get waiting(): number {
    return this.#line.size;
  }

  /** Waits for a place; rejects with the reason of the first of `signals` that aborts. */
  wait(...signals: Array<AbortSignal | undefined>): Promise<void> {
    return this.#line.wait(signals);
  }

  /** Grants places, oldest waiter first, while `hasRoom()` says there is one. */
  grant(hasRoom: () => boolean): void {
    while (this.#line.size > 0 && hasRoom()) {
      this.#reserved++;
      this.#line.grantNext();
    }
  }

  /** A granted place was taken (or given up). */
  take(): void {
    this.#reserved--;
  }

  /** Refuses every waiting call, e.g. when the pool closes. */
  refuseAll(reason: () => unknown): void {
    this.#line.refuseAll(reason);
  }
}

/** What a call waiting for room needs from its pool. */
export interface RoomHost {
  /** Queues the call once it has a place, `waited` ms after it was made; `shown` is the promise its caller holds. */
  enqueue(fn: FnRef, args: readonly unknown[], settings: CallSettings, scope: AbortSignal | undefined, site: Site, task: TaskExtra, waited: number, shown: Promise<unknown>): Promise<unknown>;
  /** Counts a call that ended before it was queued (see Pool#countRefused). */
  refused(error: unknown, signals: ReadonlyArray<AbortSignal | undefined>): void;
  /** Gives freed queue places to the calls waiting for them. */
  grant(): void;
}

/**
 * A call that waits for room in a full queue (`queueFull: 'wait'`) before it exists as a call. It
 * is cancelled as any call is (its promise, as gather and map do; its signal; its scope), and a
 * timeout from 'call' counts the wait. A place granted to a call that no longer wants it goes to
 * the next one in line.
 */
export function waitForRoom(room: RoomQueue, host: RoomHost, fn: FnRef, args: readonly unknown[], settings: CallSettings, scope: AbortSignal | undefined, site: Site, task: TaskExtra): Promise<unknown> {
  const own = new AbortController();
  const since = performance.now();
  const { timeout } = settings;
  let timer: NodeJS.Timeout | undefined;
  if (timeout !== undefined && settings.timeoutFrom === 'call') {
    timer = setTimeout(() => own.abort(locate(timeoutError(fn, timeout), site)), timeout);
    timer.unref();
  }
  let inner: Promise<unknown> | undefined;
  // A call that ends before it could be queued is counted here: its signal, scope or timeout may have ended it.
  const refused = (error: unknown): never => {
    host.refused(error, [settings.signal, scope, own.signal]);
    if (cancelledBy(error, [settings.signal, scope])) quiet(shown); // see Call#settle
    throw error;
  };
  const waited = room.wait(settings.signal, scope, own.signal).then(
    () => {
      clearTimeout(timer);
      try {
        if (own.signal.aborted) {
          room.take();
          throw own.signal.reason;
        }
        return (inner = host.enqueue(fn, args, settings, scope, site, task, performance.now() - since, shown));
      } catch (error) {
        host.grant(); // the place it was given is free again
        return refused(error);
      }
    },
    (error: unknown) => {
      clearTimeout(timer);
      return refused(error);
    },
  );
  const shown = cancellable(waited, site, (reason) => (inner === undefined ? own.abort(reason) : cancelAwaitable(inner, reason)));
  return shown;
}
