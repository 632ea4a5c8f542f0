/**
 * The pool's FIFO of calls waiting for a worker. A cancelled call stays where it is and is dropped
 * when it reaches the head, so a cancel costs O(1) however long the queue.
 */
import type { Call } from './call.js';

export class CallQueue {
  #items: Array<Call | undefined> = [];
  #head = 0;
  /** Calls still waiting (cancelled ones are not counted). */
  size = 0;

  push(call: Call): void {
    this.#items.push(call);
    this.size++;
  }

  /** The first call still waiting, left in place. */
  peek(): Call | undefined {
    while (this.#head < this.#items.length) {
      const call = this.#items[this.#head];
      if (call?.state === 'queued') return call;
      this.#items[this.#head++] = undefined;
    }
    return undefined;
  }

  /** Takes the first call still waiting; only when `size > 0`. */
  take(): Call {
    const call = this.peek()!;
    this.#items[this.#head++] = undefined;
    this.size--;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    return call;
  }

  /**
   * Puts calls a worker never started back at the head, in call order. Calls put back earlier may
   * sit at the head already (from another batch taken back in the same turn, say): those made
   * before the last of these are merged in, so no call starts ahead of an older one. Everything
   * further back was queued after all of them.
   */
  unshift(calls: readonly Call[]): void {
    if (calls.length === 0) return;
    const last = calls[calls.length - 1]!.seq;
    const interleaved: Call[] = [];
    for (let next = this.peek(); next !== undefined && next.seq < last; next = this.peek()) interleaved.push(this.take());
    const merged = interleaved.length === 0 ? calls : [...calls, ...interleaved].sort((a, b) => a.seq - b.seq);
    for (let i = merged.length - 1; i >= 0; i--) {
      if (this.#head > 0) this.#items[--this.#head] = merged[i];
      else this.#items.unshift(merged[i]);
    }
    this.size += merged.length;
  }

  /** A waiting call was cancelled. Once none waits, the places of cancelled ones are let go at once. */
  dropped(): void {
    if (this.size > 0 && --this.size > 0) return;
    this.#items = [];
    this.#head = 0;
  }

  /** Empties the queue and returns the calls that were still waiting. */
  clear(): Call[] {
    const waiting = this.#items.slice(this.#head).filter((call): call is Call => call?.state === 'queued');
    this.#items = [];
    this.#head = 0;
    this.size = 0;
    return waiting;
  }
}
