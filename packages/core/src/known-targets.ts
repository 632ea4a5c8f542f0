/**
 * Which functions the workers have most likely loaded. A target travels in full (its source or
 * module) until every worker has most likely seen it, then by id only; a worker that lacks it
 * answers `missing`, and the call is sent again in full.
 */
import type { FnRef } from './protocol.js';

/** Targets remembered at most; forgetting one only costs full sends. */
const LIMIT = 4096;

export class KnownTargets {
  readonly #sentInFull = new Map<number, number>();

  /** The target as it should travel to a pool of `threads` workers. */
  shorten(fn: FnRef, threads: number): FnRef {
    const sent = this.#sentInFull.get(fn.id) ?? 0;
    if (sent >= threads * 2) return { kind: 'known', id: fn.id };
    if (this.#sentInFull.size >= LIMIT) this.#sentInFull.clear();
    this.#sentInFull.set(fn.id, sent + 1);
    return fn;
  }

  /** A worker lacked `target`: warm the workers with full sends of it again for a while. */
  missing(target: number): void {
    this.#sentInFull.delete(target);
  }
}
