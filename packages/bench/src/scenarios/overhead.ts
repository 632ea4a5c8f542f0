/**
 * The cost of one trivial call (`x + 1`) through each pool: sequential round-trip latency
 * (tinybench, p50 and p99) and throughput with 1000 calls in flight, after one unmeasured burst of
 * the same size. Every pool has one thread per core; variants take turns within each round and the
 * median of the rounds is kept.
 * `tothread-timeout` makes the same calls with a timeout (never reached), which counts run time.
 */
import { openRunner, type PoolVariant, type Runner } from '../pools.js';
import { row, type Row, type Scenario } from '../scenario.js';
import { latencyMs, median, throughput } from '../stats.js';
import { increment } from '../workers/tasks.js';

const POOLED: readonly PoolVariant[] = ['tothread', 'piscina', 'tinypool', 'workerpool', 'poolifier', 'raw'];
const IN_FLIGHT = 1000;
/** A timeout no call reaches: what the bookkeeping of a timeout costs. */
const TIMED = { timeout: 60_000 };

/** The sync variant: the same function called directly, promise-wrapped for the throughput loop. */
const syncRunner: Runner = { call: (x) => Promise.resolve(increment(x)), close: () => Promise.resolve() };

/** `pnpm bench overhead`: the cost of a trivial call through every pool, baseline Piscina. */
export const overhead: Scenario = {
  name: 'overhead',
  about: `a trivial call: sequential round trip (tinybench p50/p99) and throughput with ${IN_FLIGHT} in flight (after one unmeasured burst); pools of one thread per core`,
  baseline: 'piscina',
  headline: 'p50_us',
  async run({ quick, cpus, progress }) {
    // Five rounds: a round trip here swings by tens of µs between moments (target 1 has read 0.89x to
    // 1.48x with three), and the median of more rounds is steadier for every variant alike.
    const rounds = quick ? 1 : 5;
    const timeMs = quick ? 150 : 600;
    const calls = quick ? 3_000 : 30_000;
    const variants = [...POOLED, 'tothread-timeout', 'sync'] as const;
    const samples = new Map(variants.map((v) => [v, { p50: [] as number[], p99: [] as number[], rate: [] as number[] }]));
    progress.begin(rounds * variants.length);
    for (let round = 1; round <= rounds; round++) {
      for (const variant of variants) {
        progress.step(`round ${round}/${rounds}: ${variant}`);
        const runner =
          variant === 'sync' ? syncRunner : variant === 'tothread-timeout' ? await openRunner('tothread', cpus, 'increment', TIMED) : await openRunner(variant, cpus);
        try {
          const fn = variant === 'sync' ? () => increment(1) : () => runner.call(1);
          const { p50, p99 } = await latencyMs(variant, fn, { timeMs });
          const sample = samples.get(variant)!;
          sample.p50.push(p50 * 1000);
          sample.p99.push(p99 * 1000);
          // Steady state, as in a long-running process: the same burst once unmeasured first, so
          // that no variant is timed while V8 still compiles its main-thread code (a fresh
          // process's first bursts through tothread read 150-220k calls/s, later ones 280-380k).
          await throughput((i) => runner.call(i), calls, IN_FLIGHT);
          sample.rate.push(await throughput((i) => runner.call(i), calls, IN_FLIGHT));
        } finally {
          await runner.close();
        }
      }
    }
    const rows: Row[] = [];
    for (const [variant, sample] of samples) {
      rows.push(row(variant, 'p50_us', median(sample.p50)), row(variant, 'p99_us', median(sample.p99)), row(variant, 'calls_per_s', median(sample.rate)));
    }
    return rows;
  },
};
