/**
 * The seeds' scenarios, side by side: `sync` (the blocking calls on the main thread), `tothread`
 * (the module-level `toThread` with default settings), and Python's `asyncio.to_thread` running
 * the same workloads (`python-sync` is its sequential run). A server in its own process answers
 * each request after 100 ms.
 */
import { defaultPool, gather, toThread } from '@tothread/core';
import { calibrate } from '../calibrate.js';
import { sendRequestSync } from '../legacy/http-client.js';
import { row, type Row, type Scenario } from '../scenario.js';
import { breakfast, coldThreads, counter, COUNTER_RUNS, freshThreadCpuMs, cpuBatch, requests, semaphore, warmThreadsCpu, type CaseResult, type SeedSizes } from '../seeds/node-cases.js';
import { coldBurstFloorMs } from '../seeds/cold-bound.js';
import { cpuBatchApart } from '../seeds/cpu-apart.js';
import { runPythonSeeds } from '../seeds/python.js';
import { startSlowServer } from '../seeds/slow-server.js';
import { hashChain, sleepSync } from '../workers/tasks.js';

const CASES = ['breakfast', 'counter', 'requests', 'semaphore', 'cpu'] as const;
type CaseName = (typeof CASES)[number];

/** The rows of one case for a pair of variants (`sequential` → `sync`, `offloaded` → `offloaded`). */
function caseRows(name: CaseName, result: CaseResult, sync: string, offloaded: string, withBaseline: boolean): Row[] {
  if (name === 'counter') return [row(`${sync}/${name}`, 'lag_max_ms', result.sequential), row(`${offloaded}/${name}`, 'lag_max_ms', result.offloaded)];
  return [
    row(`${sync}/${name}`, 's', result.sequential),
    row(`${offloaded}/${name}`, 's', result.offloaded),
    ...(withBaseline ? [row(`${sync}/${name}`, 'speedup', 1)] : []),
    row(`${offloaded}/${name}`, 'speedup', result.sequential / result.offloaded),
  ];
}

/**
 * The cold burst with no pool (one fresh raw thread per request), and the best any pool could do
 * from cold given what a fresh thread cost in that run and the threads already started.
 */
function coldRows(pooled: CaseResult, cold: { seconds: number; threadCpuMs: number }, requests: number, cores: number): Row[] {
  const requestMs = (pooled.sequential * 1000) / requests;
  const warm = pooled.warm ?? cores; // what warmUp starts
  const floorMs = coldBurstFloorMs({ requests, requestMs, warm, threadCpuMs: cold.threadCpuMs, cores });
  return [
    row('raw-cold/requests', 's', cold.seconds),
    row('raw-cold/requests', 'speedup', pooled.sequential / cold.seconds),
    row('raw-cold/requests', 'cpu_ms', cold.threadCpuMs),
    row('tothread/requests', 'threads', warm),
    row('best-from-cold/requests', 'speedup', (pooled.sequential * 1000) / floorMs),
  ];
}

/** Starts the default pool's threads and each thread's HTTP helper, so start-up is not measured. */
async function warmUp(url: string, cpus: number): Promise<void> {
  sendRequestSync(`${url}?delay=0`);
  await gather(...Array.from({ length: cpus }, () => toThread(sleepSync, 20)));
  await gather(...Array.from({ length: cpus }, () => toThread(sendRequestSync, `${url}?delay=50`)));
  await gather(...Array.from({ length: cpus }, () => toThread(hashChain, 10)));
}

/** `pnpm bench seeds`: the seeds' scenarios in Node (sync, tothread) and Python (asyncio.to_thread). */
export const seeds: Scenario = {
  name: 'seeds',
  about:
    `the seeds: breakfast (3 + 2 units of blocking sleep, gathered), a 100 ms counter while a 1 s blocking request runs (offloaded: the median worst lag of ${COUNTER_RUNS} runs), 20 blocking 100 ms requests gathered, 50 through a Semaphore(10), 8 x 50 ms of hashing; tothread = module-level toThread, default pool (maxThreads "auto": one thread per core, more while calls wait on idle CPUs); python = asyncio.to_thread; *-single-gc: the hashing batch again in a Node process of its own started with V8 --single-threaded-gc; cores: process CPU over wall time during the sequential run`,
  baseline: 'sync',
  headline: 'speedup',
  async run({ quick, cpus, progress, note }) {
    const cpuTaskMs = quick ? 20 : 50;
    const sizes: SeedSizes = quick
      ? { unitMs: 20, intervalMs: 50, blockMs: 300, requests: 8, semaphoreRequests: 12, permits: 4, cpuTasks: 4, hashRounds: calibrate(hashChain, 20_000, cpuTaskMs) }
      : { unitMs: 100, intervalMs: 100, blockMs: 1_000, requests: 20, semaphoreRequests: 50, permits: 10, cpuTasks: 8, hashRounds: calibrate(hashChain, 20_000, cpuTaskMs) };
    if (quick) note('--quick: smaller seeds (unit 20 ms, 8 requests, 12 through a Semaphore(4), 4 x 20 ms of hashing, 300 ms blocking call)');
    const server = await startSlowServer();
    const rows: Row[] = [];
    progress.begin(CASES.length + 5);
    try {
      progress.step('warm-up');
      await warmUp(server.url, cpus);
      const run: Record<CaseName, () => Promise<CaseResult>> = {
        breakfast: () => breakfast(sizes),
        counter: () => counter(sizes, server.url),
        requests: () => requests(sizes, server.url),
        semaphore: () => semaphore(sizes, server.url),
        cpu: () => cpuBatch(sizes),
      };
      const node = new Map<CaseName, CaseResult>();
      for (const name of CASES) {
        progress.step(`node: ${name}`);
        node.set(name, await run[name]());
      }
      progress.step('node: requests on cold raw threads, and what a fresh thread costs');
      const cold = { seconds: await coldThreads(sizes, server.url), threadCpuMs: await freshThreadCpuMs(server.url) };
      progress.step('node: the CPU batch on warm raw threads');
      const warmCpu = await warmThreadsCpu(sizes, cpus);
      note(`tothread's default pool: maxThreads 'auto', starting at ${defaultPool().maxThreads} (one per core)`);
      await defaultPool().close();
      progress.step('node: the CPU batch again, V8 GC on the JS threads only (--single-threaded-gc)');
      const singleGc = await cpuBatchApart(sizes, cpus, ['--single-threaded-gc']);
      progress.step('python: every case');
      const python = await runPythonSeeds(server.url, sizes, cpuTaskMs);
      if ('skipped' in python) note(`python skipped: ${python.skipped}`);
      else note(`python ${python.python}, asyncio.to_thread's default executor: ${python.executorThreads} threads`);
      for (const name of CASES) {
        rows.push(...caseRows(name, node.get(name)!, 'sync', 'tothread', true));
        if (name === 'requests') rows.push(...coldRows(node.get(name)!, cold, sizes.requests, cpus));
        if (name === 'cpu') {
          rows.push(row('tothread/cpu-busiest', 'threads', node.get(name)!.busiest ?? 0));
          rows.push(row('raw-warm/cpu', 's', warmCpu.offloaded), row('raw-warm/cpu', 'speedup', warmCpu.sequential / warmCpu.offloaded));
          rows.push(row('sync/cpu', 'cores', node.get(name)!.sequentialCores ?? 0));
          rows.push(...caseRows(name, singleGc, 'sync-single-gc', 'tothread-single-gc', false));
          rows.push(row('sync-single-gc/cpu', 'cores', singleGc.sequentialCores ?? 0));
        }
        const py = 'skipped' in python ? undefined : python.cases[name];
        if (py !== undefined) rows.push(...caseRows(name, py, 'python-sync', 'python', false));
      }
      return rows;
    } finally {
      await server.close();
    }
  },
};
