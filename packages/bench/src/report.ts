/**
 * The output contract: `bench-results/<scenario>.json` (read by other tools), the same rows as a
 * table with a ratio against the baseline, and the chart beside the JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { RESULTS_DIR } from './paths.js';
import type { Row, Scenario } from './scenario.js';
import { renderChart } from './svg.js';

/** The JSON file of one scenario, exactly as saved. */
export interface ResultFile {
  readonly scenario: string;
  readonly node: string;
  readonly cpus: number;
  readonly rows: readonly Row[];
}

/** The case part of a variant name: `tothread/1ms` → `1ms`, `tothread` → ''. */
function caseOf(variant: string): string {
  const slash = variant.indexOf('/');
  return slash === -1 ? '' : variant.slice(slash);
}

/**
 * `row.value` divided by the baseline's value for the same case and metric, or undefined when the
 * baseline has no such row (or it is zero).
 */
function ratio(row: Row, rows: readonly Row[], baseline: string): number | undefined {
  const base = rows.find((r) => r.metric === row.metric && r.variant === `${baseline}${caseOf(row.variant)}`);
  return base === undefined || base.value === 0 ? undefined : row.value / base.value;
}

/** A number for humans: three significant digits, no exponent, thousands grouped. */
function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const digits = Number.isInteger(value) || Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** The rows as table cells: variant, metric, value, unit, ratio to the baseline. */
export function tableCells(scenario: Scenario, rows: readonly Row[]): string[][] {
  const header = ['variant', 'metric', 'value', 'unit', `vs ${scenario.baseline}`];
  const body = rows.map((row) => {
    const r = ratio(row, rows, scenario.baseline);
    return [row.variant, row.metric, formatNumber(row.value), row.unit, r === undefined ? '-' : `${r.toFixed(2)}x`];
  });
  return [header, ...body];
}

/** Renders the rows as an aligned plain-text table (numbers right-aligned). */
export function formatTable(scenario: Scenario, rows: readonly Row[]): string {
  const cells = tableCells(scenario, rows);
  const widths = cells[0]!.map((_, column) => Math.max(...cells.map((line) => line[column]!.length)));
  const numeric = new Set([2, 4]);
  return cells
    .map((line) => line.map((cell, column) => (numeric.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd())
    .join('\n');
}

/** Writes `<scenario>.json` and `<scenario>.svg` into bench-results/ and returns the JSON's path. */
export function writeResult(scenario: Scenario, rows: readonly Row[]): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const rounded = rows.map((row) => ({ ...row, value: Number(row.value.toPrecision(6)) }));
  const file: ResultFile = { scenario: scenario.name, node: process.version, cpus: availableParallelism(), rows: rounded };
  const path = join(RESULTS_DIR, `${scenario.name}.json`);
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, `${scenario.name}.svg`), renderChart(scenario, rounded));
  return path;
}
