/**
 * The shape every scenario shares: the rows it measures (the output contract other tools read),
 * what it compares against, and what it is given to run.
 */
import type { Progress } from './progress.js';

/** The metric names, one per meaning. */
export type Metric =
  | 'p50_us'
  | 'p99_us'
  | 'calls_per_s'
  | 'items_per_s'
  | 'speedup'
  | 'lag_p50_ms'
  | 'lag_p99_ms'
  | 'lag_max_ms'
  | 'ms'
  | 'cpu_ms'
  | 's'
  | 'rss_mb'
  | 'heap_mb'
  | 'threads'
  | 'cores';

/** The unit printed and saved beside each metric. */
export const UNITS: Readonly<Record<Metric, string>> = {
  p50_us: 'µs',
  p99_us: 'µs',
  calls_per_s: 'calls/s',
  items_per_s: 'items/s',
  speedup: 'x',
  lag_p50_ms: 'ms',
  lag_p99_ms: 'ms',
  lag_max_ms: 'ms',
  ms: 'ms',
  cpu_ms: 'ms',
  s: 's',
  rss_mb: 'MB',
  heap_mb: 'MB',
  threads: 'threads',
  cores: 'cores',
};

/** Metrics where a bigger number is the better one (the rest are costs). */
export const HIGHER_IS_BETTER: ReadonlySet<Metric> = new Set(['calls_per_s', 'items_per_s', 'speedup']);

/**
 * One measurement. `variant` is `name` or `name/case` (`tothread/1ms`): the ratio column divides
 * each row by the baseline's row of the same case and metric.
 */
export interface Row {
  readonly variant: string;
  readonly metric: Metric;
  readonly value: number;
  readonly unit: string;
}

/** What a scenario gets to run with. */
export interface Context {
  /** Shrink every count so the whole suite takes about a minute. */
  readonly quick: boolean;
  /** os.availableParallelism(): the pool size of every pooled variant. */
  readonly cpus: number;
  readonly progress: Progress;
  /** A remark printed under the scenario's table (not saved in the JSON). */
  note(text: string): void;
}

/** A benchmark scenario: one file under `scenarios/`. */
export interface Scenario {
  readonly name: string;
  /** One sentence: what is measured and how, for the table's heading and the summary. */
  readonly about: string;
  /** The variant name every ratio is relative to. */
  readonly baseline: string;
  /** The metric the SVG chart draws. */
  readonly headline: Metric;
  run(context: Context): Promise<Row[]>;
}

/** Builds a row with the metric's unit. */
export function row(variant: string, metric: Metric, value: number): Row {
  return { variant, metric, value, unit: UNITS[metric] };
}
