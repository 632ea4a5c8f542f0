/** Runs python/seeds.py (asyncio.to_thread) with the same sizes, when python3 is on the machine. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PACKAGE_DIR } from '../paths.js';
import type { CaseResult, SeedSizes } from './node-cases.js';

/** What the Python side printed. */
export interface PythonResult {
  readonly python: string;
  readonly executorThreads: number;
  readonly cases: Readonly<Record<string, CaseResult>>;
}

const run = promisify(execFile);

/**
 * Runs the Python scenarios against `url` and resolves with their results, or with why they did
 * not run: python3 is not on the machine.
 *
 * @throws {Error} when python3 is there but the script fails or prints what cannot be read: a
 *   broken comparison must fail the bench (and CI), not quietly read "not run".
 */
export async function runPythonSeeds(url: string, sizes: SeedSizes, cpuTaskMs: number): Promise<PythonResult | { skipped: string }> {
  const flags = {
    '--url': url,
    '--unit-ms': sizes.unitMs,
    '--interval-ms': sizes.intervalMs,
    '--block-ms': sizes.blockMs,
    '--requests': sizes.requests,
    '--semaphore-requests': sizes.semaphoreRequests,
    '--permits': sizes.permits,
    '--cpu-tasks': sizes.cpuTasks,
    '--cpu-task-ms': cpuTaskMs,
  };
  const args = [`${PACKAGE_DIR}python/seeds.py`, ...Object.entries(flags).flatMap(([flag, value]) => [flag, String(value)])];
  try {
    const { stdout } = await run('python3', args, { timeout: 120_000 });
    const parsed = JSON.parse(stdout) as { python: string; executor_threads: number; cases: Record<string, CaseResult> };
    return { python: parsed.python, executorThreads: parsed.executor_threads, cases: parsed.cases };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { skipped: 'python3 is not on this machine' };
    throw new Error(`python/seeds.py failed: ${String(error)}`, { cause: error });
  }
}
