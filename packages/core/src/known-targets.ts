/**
 * Which functions the workers have most likely loaded. A target travels in full (its source or
 * module) until every worker has most likely seen it, then by id only; a worker that lacks it
 * answers `missing`, and the call is sent again in full.
 */
import { setBounded } from './bounded.js';
import type { FnRef } from './protocol.js';

/** Targets remembered at most; forgetting one only costs full sends. */
const LIMIT = 4096;

export class KnownTargets {
  readonly #sentInFull = new Map<number, number>();
  /** The short form of each target that travels so: one object for all its calls. */
  readonly #short = new Map<number, FnRef>();

  /** The target as it should travel to a pool of `threads` workers. */
  shorten(fn: FnRef, threads: number): FnRef {
    const sent = this.#sentInFull.get(fn.id) ?? 0;
    if (sent >= threads * 2) {
      let short = this.#short.get(fn.id);
      if (short === undefined) setBounded(this.#short, fn.id, (short = Object.freeze({ kind: 'known', id: fn.id })), LIMIT);
      return short;
    }
    if (this.#sentInFull.size >= LIMIT) this.#sentInFull.clear();
    this.#sentInFull.set(fn.id, sent + 1);
    return fn;
  }

  /** A worker lacked `target`: warm the workers with full sends of it again for a while. */
  missing(target: number): void {
    this.#sentInFull.delete(target);
  }
}
