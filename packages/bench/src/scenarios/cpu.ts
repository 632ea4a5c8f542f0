/**
 * CPU-bound tasks of 1 ms and 10 ms (a fixed amount of xorshift work, calibrated once on the main
 * thread), N of them at once on a pool of one thread per core, against the same N run one after
 * the other on the main thread (`sync`). Speedup is paired per round, median of the rounds.
 *
 * Two references with no pool at all: `raw`, bare threads sent one message per task (all at once,
 * round-robin), and `raw-loop`, each bare thread sent its share of the tasks in one message: no
 * per-task message, so what the cores can give here at the time of the run.
 */
import { calibrate } from '../calibrate.js';
import { openRunner, type RawRunner } from '../pools.js';
import { row, type Row, type Scenario } from '../scenario.js';
import { median, shares, timeMs } from '../stats.js';
import { spin } from '../workers/tasks.js';

type Variant = 'sync' | 'tothread' | 'piscina' | 'raw' | 'raw-loop';
const VARIANTS: readonly Variant[] = ['sync', 'tothread', 'piscina', 'raw', 'raw-loop'];

interface Case {
  readonly label: string;
  readonly iterations: number;
  readonly tasks: number;
}

/** `pnpm bench cpu`: speedup of CPU-bound tasks over the main thread. */
export const cpu: Scenario = {
  name: 'cpu',
  about: 'N CPU tasks of 1 ms and 10 ms (fixed work, calibrated once) submitted at once; speedup over running them on the main thread',
  baseline: 'sync',
  headline: 'speedup',
  async run({ quick, cpus, progress }) {
    const rounds = quick ? 1 : 3;
    const perCaseMs = quick ? 200 : 2_000; // sequential work per case and round
    const cases: Case[] = [1, 10].map((ms) => ({ label: `${ms}ms`, iterations: calibrate(spin, 2_000_000, ms), tasks: perCaseMs / ms }));
    const ms = new Map<string, number[]>();
    const speedups = new Map<string, number[]>();
    const push = (map: Map<string, number[]>, key: string, value: number): void => void map.set(key, [...(map.get(key) ?? []), value]);
    progress.begin(rounds * VARIANTS.length);
    for (let round = 1; round <= rounds; round++) {
      const syncMs = new Map<string, number>();
      for (const variant of VARIANTS) {
        progress.step(`round ${round}/${rounds}: ${variant}`);
        // raw-loop runs on the same warmed bare threads as raw, one message per thread.
        const runner = variant === 'sync' ? undefined : await openRunner(variant === 'raw-loop' ? 'raw' : variant, cpus, 'spin');
        try {
          for (const c of cases) {
            const work = Array.from({ length: c.tasks }, () => c.iterations);
            const elapsed =
              runner === undefined
                ? await timeMs(() => work.map(spin))
                : variant === 'raw-loop'
                  ? await timeMs(() => Promise.all(shares(c.tasks, cpus).map((count) => (runner as RawRunner).loop(c.iterations, count))))
                  : await timeMs(() => Promise.all(work.map((n) => runner.call(n))));
            if (variant === 'sync') syncMs.set(c.label, elapsed);
            push(ms, `${variant}/${c.label}`, elapsed);
            push(speedups, `${variant}/${c.label}`, syncMs.get(c.label)! / elapsed);
          }
        } finally {
          await runner?.close();
        }
      }
    }
    const rows: Row[] = [];
    for (const c of cases) {
      for (const variant of VARIANTS) {
        const key = `${variant}/${c.label}`;
        rows.push(row(key, 'speedup', median(speedups.get(key)!)), row(key, 'ms', median(ms.get(key)!)));
      }
    }
    return rows;
  },
};
