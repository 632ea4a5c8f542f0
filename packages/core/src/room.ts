/**
 * Calls waiting for room in a full pool queue (`queueFull: 'wait'`): first come, first served,
 * abortable. A granted place is reserved for its caller until it takes it, so a newer call cannot
 * slip in between.
 */

interface Waiter {
  readonly grant: () => void;
  readonly refuse: (reason: unknown) => void;
}

export class RoomQueue {
  readonly #waiters: Waiter[] = [];
  #reserved = 0;

  /** Places granted but not yet taken. */
  get reserved(): number {
    return this.#reserved;
  }

  /** Calls still waiting. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Waits for a place; rejects with the reason of the first of `signals` that aborts. */
  wait(...signals: Array<AbortSignal | undefined>): Promise<void> {
    const active = signals.filter((s): s is AbortSignal => s !== undefined);
    for (const signal of active) if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        done();
        reject(active.find((s) => s.aborted)?.reason);
      };
      const done = (): void => active.forEach((s) => s.removeEventListener('abort', onAbort));
      const waiter: Waiter = {
        grant: () => {
          done();
          this.#reserved++;
          resolve();
        },
        refuse: (reason) => {
          done();
          reject(reason);
        },
      };
      active.forEach((s) => s.addEventListener('abort', onAbort, { once: true }));
      this.#waiters.push(waiter);
    });
  }

  /** Grants places, oldest waiter first, while `hasRoom()` says there is one. */
  grant(hasRoom: () => boolean): void {
    while (this.#waiters.length > 0 && hasRoom()) this.#waiters.shift()!.grant();
  }

  /** A granted place was taken (or given up). */
  take(): void {
    this.#reserved--;
  }

  /** Refuses every waiting call, e.g. when the pool closes. */
  refuseAll(reason: () => unknown): void {
    for (const waiter of this.#waiters.splice(0)) waiter.refuse(reason());
  }
}
