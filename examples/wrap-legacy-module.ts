/**
 * A whole legacy CommonJS module as a typed async facade, without touching its source.
 * `wrapModule<typeof import('./legacy/report.cjs')>` gives every export its async twin:
 *   parseCsvSync(text: string): string[][]  ->  (text: string) => Promise<string[][]>
 *   VERSION: string                         ->  PromiseLike<string>  (read with await)
 *   format.money(n: number): string         ->  (n: number) => Promise<string>
 *
 *   pnpm example wrap-legacy-module
 */
import { wrapModule } from '@tothread/core';
import { startCounter } from './support/counter.js';

const report = wrapModule<typeof import('./legacy/report.cjs')>('./legacy/report.cjs');

const csv = Array.from({ length: 400 }, (_, i) => `order-${i},${(i % 17) + 0.5}`).join('\n');
// Reading an export warms the pool: its worker starts and loads report.cjs, so what is timed below is the work.
const version = await report.VERSION;
const counter = startCounter(50, () => {});
const started = performance.now();
const rows = await report.parseCsvSync(csv);
const summary = await report.summariseSync(rows, 1);
const took = performance.now() - started;
const lags = counter.stop();

console.log(`report.cjs version ${version}, wrapped without changing it`);
console.log(`  parsed ${rows.length} rows; total ${await report.format.money(summary.total)}; fingerprint ${summary.fingerprint}`);
console.log(`  ${took.toFixed(0)} ms of legacy work on a worker; the main loop ticked ${lags.length} times meanwhile (worst lag ${Math.max(0, ...lags).toFixed(0)} ms)`);
