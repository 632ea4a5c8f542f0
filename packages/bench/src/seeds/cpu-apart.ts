/**
 * The seeds' CPU batch again, in a Node process of its own started with extra flags: the same
 * `cpuBatch` through the default pool, so that a flag's effect (e.g. V8's `--single-threaded-gc`)
 * is measured beside the default run, in the same bench run. Run as a script, it prints the
 * batch's result as JSON.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { defaultPool, gather, toThread } from '@tothread/core';
import { hashChain } from '../workers/tasks.js';
import { cpuBatch, type CaseResult, type SeedSizes } from './node-cases.js';

const run = promisify(execFile);
const self = fileURLToPath(import.meta.url);

/** Runs the CPU batch in `node <flags> cpu-apart.js` and resolves with its result. */
export async function cpuBatchApart(sizes: SeedSizes, cpus: number, flags: readonly string[]): Promise<CaseResult> {
  const { stdout } = await run(process.execPath, [...flags, self, JSON.stringify({ sizes, cpus })], { timeout: 120_000 });
  return JSON.parse(stdout) as CaseResult;
}

if (process.argv[1] === self) {
  const { sizes, cpus } = JSON.parse(process.argv[2]!) as { sizes: SeedSizes; cpus: number };
  // As the scenario's warm-up does: the default pool's threads are started before the batch.
  await gather(...Array.from({ length: cpus }, () => toThread(hashChain, 10)));
  process.stdout.write(JSON.stringify(await cpuBatch(sizes)));
  await defaultPool().close();
}
