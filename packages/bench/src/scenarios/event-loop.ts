/**
 * Is the main thread free while every worker is busy? Its event-loop lag (monitorEventLoopDelay,
 * 1 ms resolution) while one thread per core runs 10 ms CPU tasks back to back, against `sync`:
 * the same tasks on the main thread, one per macrotask so the loop gets a turn between them.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { calibrate } from '../calibrate.js';
import { openRunner } from '../pools.js';
import { row, type Row, type Scenario } from '../scenario.js';
import { median } from '../stats.js';
import { spin } from '../workers/tasks.js';

type Variant = 'tothread' | 'piscina' | 'sync';
const VARIANTS: readonly Variant[] = ['tothread', 'piscina', 'sync'];
const RESOLUTION_MS = 1;
const TASK_MS = 10;

interface Lag {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * The loop's lag while `work()` runs. The histogram records each 1 ms timer's whole interval, so
 * the resolution is taken off: lag is how much later than due the timer fired.
 */
async function lagWhile(work: () => Promise<unknown>): Promise<Lag> {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  await work();
  histogram.disable();
  const lag = (ns: number): number => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  return { p50: lag(histogram.percentile(50)), p99: lag(histogram.percentile(99)), max: lag(histogram.max) };
}

/** `pnpm bench event-loop`: the main thread's lag while every worker is busy. */
export const eventLoop: Scenario = {
  name: 'event-loop',
  about: `main-thread event-loop lag (monitorEventLoopDelay, ${RESOLUTION_MS} ms resolution, minus the resolution) while every worker runs ${TASK_MS} ms CPU tasks; sync runs the same tasks on the main thread, one per macrotask`,
  baseline: 'piscina',
  headline: 'lag_p99_ms',
  async run({ quick, cpus, progress }) {
    const rounds = quick ? 1 : 3;
    const busyMs = quick ? 500 : 2_000; // how long every worker is kept saturated
    const iterations = calibrate(spin, 2_000_000, TASK_MS);
    const tasks = Array.from({ length: (cpus * busyMs) / TASK_MS }, () => iterations);
    const lags = new Map(VARIANTS.map((v) => [v, [] as Lag[]]));
    progress.begin(rounds * VARIANTS.length);
    for (let round = 1; round <= rounds; round++) {
      for (const variant of VARIANTS) {
        progress.step(`round ${round}/${rounds}: ${variant}, ${tasks.length} tasks`);
        if (variant === 'sync') {
          lags.get(variant)!.push(
            await lagWhile(async () => {
              for (const n of tasks) {
                spin(n);
                await nextMacrotask();
              }
            }),
          );
          continue;
        }
        const runner = await openRunner(variant, cpus, 'spin');
        try {
          lags.get(variant)!.push(await lagWhile(() => Promise.all(tasks.map((n) => runner.call(n)))));
        } finally {
          await runner.close();
        }
      }
    }
    const rows: Row[] = [];
    for (const [variant, samples] of lags) {
      rows.push(
        row(variant, 'lag_p50_ms', median(samples.map((s) => s.p50))),
        row(variant, 'lag_p99_ms', median(samples.map((s) => s.p99))),
        row(variant, 'lag_max_ms', median(samples.map((s) => s.max))),
      );
    }
    return rows;
  },
};
