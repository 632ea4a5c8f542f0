/**
 * CPU-bound tasks of 1 ms and 10 ms (a fixed amount of xorshift work, calibrated once on the main
 * thread), N of them at once on a pool of one thread per core, against the same N run one after
 * the other on the main thread (`sync`). Speedup is paired per round, median of the rounds.
 *
 * `tothread-map` runs the same tasks through tothread's `map()`, which sends them in chunks and
 * answers per chunk. Two references with no pool at all: `raw`, bare threads sent one message per
 * task (all at once, round-robin), and `raw-loop`, each bare thread sent its share of the tasks in
 * one message: no per-task message, so what the cores can give here at the time of the run.
 */
import { calibrate } from '../calibrate.js';
import { openRunner, type RawRunner, type Runner, type TothreadRunner } from '../pools.js';
import { row, type Row, type Scenario } from '../scenario.js';
import { median, shares, timeMs } from '../stats.js';
import { spin } from '../workers/tasks.js';

type Variant = 'sync' | 'tothread' | 'tothread-map' | 'piscina' | 'raw' | 'raw-loop';
const VARIANTS: readonly Variant[] = ['sync', 'tothread', 'tothread-map', 'piscina', 'raw', 'raw-loop'];

/** The pool each variant runs on: tothread-map on a tothread pool, raw-loop on bare threads. */
const POOL_OF = { tothread: 'tothread', 'tothread-map': 'tothread', piscina: 'piscina', raw: 'raw', 'raw-loop': 'raw' } as const;

/** Runs `tasks` tasks of `iterations` through `variant`'s `runner`, on `cpus` threads. */
function runAll(variant: Exclude<Variant, 'sync'>, runner: Runner, iterations: number, tasks: number, cpus: number): Promise<unknown> {
  const work = Array.from({ length: tasks }, () => iterations);
  if (variant === 'tothread-map') return (runner as TothreadRunner).map(work);
  if (variant === 'raw-loop') return Promise.all(shares(tasks, cpus).map((count) => (runner as RawRunner).loop(iterations, count)));
  return Promise.all(work.map((n) => runner.call(n)));
}

interface Case {
  readonly label: string;
  readonly iterations: number;
  readonly tasks: number;
}

/** `pnpm bench cpu`: speedup of CPU-bound tasks over the main thread. */
export const cpu: Scenario = {
  name: 'cpu',
  about: 'N CPU tasks of 1 ms and 10 ms (fixed work, calibrated once) submitted at once (a toThread call each, or one map() over them); speedup over running them on the main thread',
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
        const runner = variant === 'sync' ? undefined : await openRunner(POOL_OF[variant], cpus, 'spin');
        try {
          for (const c of cases) {
            const elapsed =
              variant === 'sync' || runner === undefined
                ? await timeMs(() => Array.from({ length: c.tasks }, () => spin(c.iterations)))
                : await timeMs(() => runAll(variant, runner, c.iterations, c.tasks, cpus));
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
