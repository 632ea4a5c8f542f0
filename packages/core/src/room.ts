/**
 * Calls waiting for room in a full pool queue (`queueFull: 'wait'`): first come, first served,
 * abortable. A granted place is reserved for its caller until it takes it, so a newer call cannot
 * slip in between.
 */
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
