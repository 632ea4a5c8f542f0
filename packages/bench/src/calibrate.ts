/**
 * Turns "a task of N ms" into a fixed amount of work, measured once on the main thread, so every
 * variant runs exactly the same work (never a clock-bound spin, which would hide contention).
 */
import { median } from './stats.js';

/**
 * The `count` for which `work(count)` takes about `targetMs` on this thread: `work(probe)` is run
 * a few times after a warm-up and the median is scaled.
 *
 * @example
 * const iterations = calibrate(spin, 1_000_000, 10) // spin(iterations) takes ~10 ms
 */
export function calibrate(work: (count: number) => unknown, probe: number, targetMs: number): number {
  for (let i = 0; i < 3; i++) work(probe); // let the JIT optimise it first
  const timings = Array.from({ length: 7 }, () => {
    const start = performance.now();
    work(probe);
    return performance.now() - start;
  });
  return Math.max(1, Math.round((probe * targetMs) / median(timings)));
}
