/**
 * Every pooled variant behind one small interface, so a scenario measures them all with the same
 * loop. Each has `size` threads, started and warmed before it is handed out.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { createPool, map, type CallOptions } from '@tothread/core';
import { Piscina } from 'piscina';
import { FixedThreadPool } from 'poolifier';
import { Tinypool } from 'tinypool';
import workerpool from 'workerpool';
import { distFile } from './paths.js';
import { RUNNER_TASKS } from './workers/tasks.js';

/** A pool that runs one task function, whatever library is underneath. */
export interface Runner {
  call(arg: number): Promise<number>;
  close(): Promise<void>;
}

/** tothread can also run the task over many arguments with its `map()`: resolves when all are done. */
export interface TothreadRunner extends Runner {
  map(args: readonly number[]): Promise<void>;
}

/** Bare threads (`raw`) can also run a task `count` times on one thread in one message (spread round-robin). */
export interface RawRunner extends Runner {
  loop(arg: number, count: number): Promise<number>;
}

/** The pooled variants. `raw` is bare worker_threads: `size` workers, calls spread round-robin. */
export type PoolVariant = 'tothread' | 'piscina' | 'tinypool' | 'workerpool' | 'poolifier' | 'raw';

/** The functions a runner can run; only tothread, piscina and raw run more than `increment`. */
export type TaskName = keyof typeof RUNNER_TASKS;

/**
 * Starts `variant` with `size` threads for `task`, and warms it: every thread has run the task.
 * `options` (tothread only) go with every call, as `pool.toThread.with(options)`.
 *
 * @throws {TypeError} when the variant has no worker file for `task` (only tothread, piscina and raw run `spin`), or takes no `options`.
 */
export async function openRunner(variant: PoolVariant, size: number, task: TaskName = 'increment', options?: CallOptions): Promise<Runner> {
  if (task !== 'increment' && variant !== 'tothread' && variant !== 'piscina' && variant !== 'raw') {
    throw new TypeError(`Expected \`task\` to be \`increment\` for ${variant}, got \`${task}\``);
  }
  if (options !== undefined && variant !== 'tothread') throw new TypeError(`Expected no call options for ${variant}: only tothread takes them`);
  const runner = await start(variant, size, task, options);
  await warmUp((arg) => runner.call(arg), size, task === 'spin' ? 10_000 : 1);
  return runner;
}

/**
 * Makes every one of `size` threads start, load its code and get hot: several calls per thread at
 * once, twice, before anything is measured.
 */
export async function warmUp(call: (arg: number) => Promise<unknown>, size: number, arg: number): Promise<void> {
  for (let round = 0; round < 2; round++) await Promise.all(Array.from({ length: size * 4 }, () => call(arg)));
}

async function start(variant: PoolVariant, size: number, task: TaskName, options?: CallOptions): Promise<Runner> {
  switch (variant) {
    case 'tothread': {
      const pool = createPool({ minThreads: size, maxThreads: size });
      const fn = RUNNER_TASKS[task];
      const toThread = options === undefined ? pool.toThread : pool.toThread.with(options);
      const runner: TothreadRunner = {
        call: (arg) => toThread(fn, arg),
        async map(args) {
          for await (const _ of map(fn, args, { pool }));
        },
        close: () => pool.close(),
      };
      return runner;
    }
    case 'piscina': {
      const pool = new Piscina({ filename: distFile('workers/piscina.js'), minThreads: size, maxThreads: size });
      const name = task === 'increment' ? 'default' : task;
      return { call: (arg) => pool.run(arg, { name }) as Promise<number>, close: () => pool.destroy() };
    }
    case 'tinypool': {
      const pool = new Tinypool({ filename: distFile('workers/tinypool.js'), minThreads: size, maxThreads: size });
      return { call: (arg) => pool.run(arg) as Promise<number>, close: () => pool.destroy() };
    }
    case 'workerpool': {
      const pool = workerpool.pool(distFile('workers/workerpool.js'), { minWorkers: size, maxWorkers: size, workerType: 'thread' });
      return { call: (arg) => pool.exec('increment', [arg]) as Promise<number>, close: async () => void (await pool.terminate()) };
    }
    case 'poolifier': {
      const pool = new FixedThreadPool<number, number>(size, distFile('workers/poolifier.js'));
      return { call: (arg) => pool.execute(arg), close: () => settleWithin(pool.destroy(), 2_000) };
    }
    case 'raw':
      return startRaw(size, task);
  }
}

/**
 * Waits for `destroyed`, at most `ms`. poolifier's destroy() can miss a worker's 'exit' event and
 * never settle although its threads are gone (about one destroy in ten on the 2-core machine this
 * was written on); the pending timer also holds the event loop open while it waits.
 */
function settleWithin(destroyed: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    destroyed.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Bare worker_threads running `task`: a MessageChannel per worker, calls spread round-robin, ids matched by a map. */
function startRaw(size: number, task: TaskName = 'increment'): RawRunner {
  const pending = new Map<number, (value: number) => void>();
  const lanes = Array.from({ length: size }, () => {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(distFile('workers/raw.js'), { workerData: { port: port2, task }, transferList: [port2] });
    port1.on('message', ([id, value]: [number, number]) => {
      pending.get(id)?.(value);
      pending.delete(id);
    });
    return { worker, port: port1 };
  });
  let nextId = 0;
  const send = (message: readonly number[]): Promise<number> => {
    const id = nextId++;
    return new Promise((resolve) => {
      pending.set(id, resolve);
      lanes[id % size]!.port.postMessage([id, ...message]);
    });
  };
  return {
    call: (arg) => send([arg]),
    loop: (arg, count) => send([arg, count]),
    async close() {
      for (const lane of lanes) lane.port.close();
      await Promise.all(lanes.map((lane) => lane.worker.terminate()));
    },
  };
}
