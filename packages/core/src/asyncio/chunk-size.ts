/**
 * How many items the next chunk of a `map()` takes: enough for about TARGET_CHUNK_MS of work on a
 * worker, judged from what the last chunk cost there, growing step by step from one item.
 */

/**
 * How long a chunk should take: long enough that the round trip between two chunks (a worker idles
 * while its answer travels and the next chunk comes back, ~0.2-0.4 ms on a busy 2-core machine) is a
 * small share of it, as for batched calls. At 3 ms, 1 ms items reached 1.71-1.80x on 2 cores; at 20
 * ms, 1.89-1.91x. Stopping is not slower: a running chunk is stopped by terminating its worker.
 */
export const TARGET_CHUNK_MS = 20;
/**
 * A chunk that has run this long stops after its current item and sends back what it has: its
 * items cost far more than the chunk before it, whose cost sized it, and the rest of them are
 * spread over the workers instead of running one after another on this one.
 */
export const CUT_MS = TARGET_CHUNK_MS * 3;
/** The most items a chunk of a sync input takes. */
export const MAX_CHUNK = 4096;
/** A chunk holds at most this many times the items of the chunk it was sized from, so a misjudged cost cannot overshoot far. */
export const GROWTH = 4;

/**
 * The size of the next chunk after one of `items` items ran `ms` ms on its worker (the check of its
 * values for the trip back included): about TARGET_CHUNK_MS of work, at most GROWTH times `items`,
 * and from 1 to `max`.
 */
export function nextChunkSize(items: number, ms: number, max: number): number {
  const perItem = Math.max(ms / items, 0.001);
  return Math.max(1, Math.min(max, items * GROWTH, Math.round(TARGET_CHUNK_MS / perItem)));
}
