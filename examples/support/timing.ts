/** Small helpers the examples share: timing, and starting a pool's workers before measuring. */
import type { Pool } from '@tothread/core';
import { sleepSync } from '../legacy/kitchen.cjs';

/** Runs `fn` and returns its result with the wall time in seconds. */
export async function timed<T>(fn: () => T | PromiseLike<T>): Promise<{ value: T; seconds: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - start) / 1000 };
}

/**
 * Starts `threads` workers by keeping that many calls in flight at once, so what an example
 * measures next is the work, not thread start-up (which loads tsx too when run under tsx).
 * `first`, when given, runs once in each worker after that: a client's own start-up (a helper
 * thread, a connection pool) is not what is measured either.
 */
export async function warmUp(pool: Pool, threads: number, first?: () => Promise<unknown>): Promise<number> {
  const { seconds } = await timed(async () => {
    await Promise.all(Array.from({ length: threads }, () => pool.toThread(sleepSync, 50)));
    if (first) await Promise.all(Array.from({ length: threads }, first));
  });
  return seconds;
}
