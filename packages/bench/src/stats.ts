/** Small statistics and timing helpers shared by the scenarios. */

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** The `p`th percentile of `values` (linear interpolation between ranks); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

/** Runs `fn` and resolves with its wall time in ms. */
export async function timeMs(fn: () => unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Completes `total` calls of `call`, keeping `inFlight` of them running at once, and resolves with
 * the calls per second.
 */
export async function throughput(call: (i: number) => Promise<unknown>, total: number, inFlight: number): Promise<number> {
  let started = 0;
  const start = performance.now();
  const lane = async (): Promise<void> => {
    while (started < total) await call(started++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, lane));
  return total / ((performance.now() - start) / 1000);
}

/** The resident set size of this process in MB. */
export function rssMb(): number {
  return process.memoryUsage.rss() / 2 ** 20;
}

/** `tasks` split over `threads` as evenly as can be: how many each thread takes. */
export function shares(tasks: number, threads: number): number[] {
  return Array.from({ length: threads }, (_, i) => Math.floor(tasks / threads) + (i < tasks % threads ? 1 : 0));
}
