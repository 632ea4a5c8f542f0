/** Small statistics and timing helpers shared by the scenarios. */
import { Bench, hrtimeNowTimestampProvider } from 'tinybench';

/** How long tinybench runs a task: at least `timeMs` and `iterations`, after a warm-up of at least `warmupMs` and `warmupIterations`. */
export interface LatencyBudget {
  readonly timeMs: number;
  readonly iterations?: number;
  readonly warmupMs?: number;
  readonly warmupIterations?: number;
}

/**
 * p50 and p99 of `fn`'s latency in ms, from a tinybench run (sequential: one call at a time).
 *
 * @throws {Error} when `fn` throws (tinybench `throws: true`) or the run does not complete.
 */
export async function latencyMs(name: string, fn: () => unknown, { timeMs, iterations, warmupMs = timeMs / 4, warmupIterations }: LatencyBudget): Promise<{ p50: number; p99: number }> {
  const bench = new Bench({
    time: timeMs,
    warmupTime: warmupMs,
    ...(iterations !== undefined && { iterations }),
    ...(warmupIterations !== undefined && { warmupIterations }),
    timestampProvider: hrtimeNowTimestampProvider,
    throws: true,
  });
  bench.add(name, fn);
  await bench.run();
  const result = bench.tasks[0]?.result;
  if (result?.state !== 'completed') throw new Error(`tinybench did not complete ${name}: ${result?.state ?? 'no task'}`);
  return { p50: result.latency.p50, p99: result.latency.p99 };
}

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
