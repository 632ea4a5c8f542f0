/**
 * The seeds' cases in Node: each runs its blocking workload on the main thread (`sequential`),
 * then offloaded through the module-level `toThread` with default settings (`offloaded`), exactly
 * as python/seeds.py does with asyncio.to_thread.
 */
import { Worker } from 'node:worker_threads';
import { defaultPool, gather, Semaphore, toThread } from '@tothread/core';
import { sendRequestSync } from '../legacy/http-client.js';
import { median, shares, sleep, timeMs } from '../stats.js';
import { hashChain, sleepSync } from '../workers/tasks.js';

/** One case's two numbers: seconds, or for the counter case the worst tick lag in ms. */
export interface CaseResult {
  readonly sequential: number;
  readonly offloaded: number;
  /** The most calls seen running at once on the default pool while offloaded (sampled every few ms). */
  readonly busiest?: number;
  /** Threads the default pool had started when the offloaded run began. */
  readonly warm?: number;
  /** CPU time of the whole process over wall time during the sequential run: above 1, V8's helper threads worked beside it. */
  readonly sequentialCores?: number;
}

/** The sizes of the cases (python/seeds.py takes the same as flags). */
export interface SeedSizes {
  readonly unitMs: number;
  readonly intervalMs: number;
  readonly blockMs: number;
  readonly requests: number;
  readonly semaphoreRequests: number;
  readonly permits: number;
  readonly cpuTasks: number;
  /** Rounds of `hashChain` that take the CPU task's duration (calibrated by the caller). */
  readonly hashRounds: number;
}

const seconds = async (fn: () => unknown): Promise<number> => (await timeMs(fn)) / 1000;

/** Resolves at a raw worker's next message; rejects if it fails first. */
function nextMessage(worker: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
}

/** Brewing coffee (3 units) and toasting a bagel (2 units), blocking sleeps. */
export async function breakfast({ unitMs }: SeedSizes): Promise<CaseResult> {
  return {
    sequential: await seconds(() => [sleepSync(3 * unitMs), sleepSync(2 * unitMs)]),
    offloaded: await seconds(() => gather(toThread(sleepSync, 3 * unitMs), toThread(sleepSync, 2 * unitMs))),
  };
}

/** The worst lateness (ms) of a counter ticking every `intervalMs` while `block()` runs. */
async function worstTickLagMs(intervalMs: number, block: () => unknown): Promise<number> {
  const start = performance.now();
  const lags: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  const schedule = (tick: number): void => {
    const due = start + tick * intervalMs;
    timer = setTimeout(() => {
      lags.push(Math.max(0, performance.now() - due));
      schedule(tick + 1);
    }, Math.max(0, due - performance.now()));
  };
  schedule(1);
  await block();
  await sleep(intervalMs); // late ticks fire now
  clearTimeout(timer);
  return Math.max(0, ...lags);
}

/**
 * Offloaded, a counter's worst lag is a few ms of timer and scheduling jitter, so one run of ten
 * ticks is mostly noise: the offloaded run is repeated and its median kept (python/seeds.py alike).
 */
export const COUNTER_RUNS = 5;

/** A counter ticking while one blocking request of `blockMs` runs (offloaded: the median of COUNTER_RUNS runs). */
export async function counter({ intervalMs, blockMs }: SeedSizes, url: string): Promise<CaseResult> {
  const slow = `${url}?delay=${blockMs}`;
  const sequential = await worstTickLagMs(intervalMs, () => sendRequestSync(slow));
  const offloaded: number[] = [];
  for (let run = 0; run < COUNTER_RUNS; run++) offloaded.push(await worstTickLagMs(intervalMs, () => toThread(sendRequestSync, slow)));
  return { sequential, offloaded: median(offloaded) };
}

/** `requests` blocking requests to the slow server: one after the other, then gathered. */
export async function requests({ requests: count }: SeedSizes, url: string): Promise<CaseResult> {
  const urls = Array.from({ length: count }, (_, i) => `${url}?r=${i}`);
  const sequential = await seconds(() => urls.map((u) => sendRequestSync(u)));
  const warm = defaultPool().stats().threads;
  return { sequential, warm, offloaded: await seconds(() => gather(...urls.map((u) => toThread(sendRequestSync, u)))) };
}

/**
 * Starts a fresh raw thread that sends one request with the legacy client; resolves with the
 * worker once it has the answer (the caller stops it).
 */
async function freshThread(url: string): Promise<Worker> {
  const client = new URL('../legacy/http-client.js', import.meta.url).href;
  const source = `const { parentPort, workerData } = require('node:worker_threads');
import(workerData.client).then(({ sendRequestSync }) => {
  sendRequestSync(workerData.url);
  parentPort.postMessage('answered');
});`;
  const worker = new Worker(source, { eval: true, workerData: { client, url } });
  try {
    await nextMessage(worker);
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return worker;
}

/** The floor of a cold burst with no pool at all: one fresh thread per request, all started at once. Seconds. */
export async function coldThreads({ requests: count }: SeedSizes, url: string): Promise<number> {
  const workers: Worker[] = [];
  const answered = async (i: number): Promise<void> => void workers.push(await freshThread(`${url}?cold=${i}`));
  try {
    return await seconds(() => Promise.all(Array.from({ length: count }, (_, i) => answered(i))));
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/**
 * What one new thread costs before it can block on a request: CPU ms (all threads of the process)
 * from starting a fresh raw thread to its first answer (it loads the client, which starts its
 * helper), `count` of them one after another so that none slows another down. Stopping them
 * afterwards is not counted: a pool does not pay that during a burst.
 */
export async function freshThreadCpuMs(url: string, count = 4): Promise<number> {
  let cpuMs = 0;
  for (let i = 0; i < count; i++) {
    const before = process.cpuUsage();
    const worker = await freshThread(`${url}?delay=0&fresh=${i}`);
    const { user, system } = process.cpuUsage(before);
    cpuMs += (user + system) / 1000;
    await worker.terminate();
  }
  return cpuMs / count;
}

/** `semaphoreRequests` requests, at most `permits` in flight through a Semaphore. */
export async function semaphore({ semaphoreRequests, permits }: SeedSizes, url: string): Promise<CaseResult> {
  const urls = Array.from({ length: semaphoreRequests }, (_, i) => `${url}?s=${i}`);
  const slots = new Semaphore(permits);
  return {
    sequential: await seconds(() => urls.map((u) => sendRequestSync(u))),
    offloaded: await seconds(() => Promise.all(urls.map((u) => slots.run(() => toThread(sendRequestSync, u))))),
  };
}

/** Rounds of the CPU batch: a 0.4 s batch is small against this machine's noise. */
const CPU_ROUNDS = 3;

/** Times `CPU_ROUNDS` paired runs and keeps the pair whose speedup is the median. */
async function medianPair(run: () => Promise<CaseResult>): Promise<CaseResult> {
  const pairs: CaseResult[] = [];
  for (let i = 0; i < CPU_ROUNDS; i++) pairs.push(await run());
  pairs.sort((a, b) => a.sequential / a.offloaded - b.sequential / b.offloaded);
  return pairs[Math.floor(pairs.length / 2)]!;
}

/**
 * A CPU-bound batch: `cpuTasks` hash chains, one after the other, then gathered (median of paired
 * rounds), watching how many run at once: the default pool must not grow while the CPUs are busy.
 */
export async function cpuBatch({ cpuTasks, hashRounds }: SeedSizes): Promise<CaseResult> {
  const tasks = Array.from({ length: cpuTasks }, () => hashRounds);
  let busiest = 0;
  const watch = setInterval(() => (busiest = Math.max(busiest, defaultPool().stats().running)), 2);
  try {
    const pair = await medianPair(async () => {
      const before = process.cpuUsage();
      const sequential = await seconds(() => tasks.map((rounds) => hashChain(rounds)));
      const { user, system } = process.cpuUsage(before);
      const sequentialCores = (user + system) / 1e6 / sequential;
      return { sequential, sequentialCores, offloaded: await seconds(() => gather(...tasks.map((rounds) => toThread(hashChain, rounds)))) };
    });
    return { ...pair, busiest };
  } finally {
    clearInterval(watch);
  }
}

/**
 * The floor of the CPU batch for any worker-thread pool: the same hash chains split over `threads`
 * raw worker threads, started and warmed up beforehand, no pool at all; each round times its own
 * sequential run right before, as the main thread's speed drifts while it warms up.
 */
export async function warmThreadsCpu({ cpuTasks, hashRounds }: SeedSizes, threads: number): Promise<CaseResult> {
  const tasksFile = new URL('../workers/tasks.js', import.meta.url).href;
  const source = `const { parentPort, workerData } = require('node:worker_threads');
import(workerData.tasksFile).then(({ hashChain }) => {
  hashChain(workerData.hashRounds);
  parentPort.postMessage('ready');
  parentPort.on('message', (count) => {
    for (let i = 0; i < count; i++) hashChain(workerData.hashRounds);
    parentPort.postMessage('done');
  });
});`;
  const workers = Array.from({ length: threads }, () => new Worker(source, { eval: true, workerData: { tasksFile, hashRounds } }));
  try {
    await Promise.all(workers.map(nextMessage));
    return await medianPair(async () => ({
      sequential: await seconds(() => Array.from({ length: cpuTasks }, () => hashChain(hashRounds))),
      offloaded: await seconds(() =>
        Promise.all(
          shares(cpuTasks, threads).map((count, k) => {
            const done = nextMessage(workers[k]!);
            workers[k]!.postMessage(count);
            return done;
          }),
        ),
      ),
    }));
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
