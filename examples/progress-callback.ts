/**
 * A long sync computation reporting progress through a callback: the callback runs on the main
 * thread while the computation is still going, and the main loop stays free.
 *
 *   pnpm example progress-callback
 */
import { toThread } from '@tothread/core';
import { countPrimesSync } from './legacy/primes.cjs';

const LIMIT = Number(process.env.PRIMES_LIMIT ?? 3_000_000);
const started = performance.now();
const seen: string[] = [];
const count = await toThread(countPrimesSync, LIMIT, (percent: number) => {
  seen.push(`${percent}%@${(performance.now() - started).toFixed(0)}ms`);
  console.log(`  progress ${String(percent).padStart(3)}% at ${(performance.now() - started).toFixed(0)} ms`);
});
const took = performance.now() - started;
console.log(`${count} primes below ${LIMIT}, in ${took.toFixed(0)} ms; ${seen.length} progress reports arrived while it ran`);
