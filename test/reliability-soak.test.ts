import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { CancelScope, cancelScope, createInstance, createPool, createTask, gather, map, Queue, releaseInstance, Semaphore, TaskGroup, taskGroup, timeout, TimeoutError } from '@tothread/core';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The main thread's live heap: what the pool itself keeps (calls, batches, listeners), not garbage. */
const liveHeap = (): number => {
  gc();
  return process.memoryUsage().heapUsed;
};

it('50k calls with random cancellations and timeouts end with nothing pending, workers at the floor and the pool holding nothing', async () => {
  await using pool = createPool({ minThreads: 1, maxThreads: 2, idleTimeout: 100 });
  const spin = (): never => {
    for (;;);
  };
  let random = 42;
  const next = (): number => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const totals = { ok: 0, cancelled: 0, timedOut: 0 };
  let heapAfterWarmUp = 0;
  let rssAfterWarmUp = 0;
  const WINDOW = 500;
  for (let start = 0; start < 50_000; start += WINDOW) {
    const batch: Array<Promise<void>> = [];
    for (let i = start; i < start + WINDOW; i++) {
      const roll = next();
      if (roll < 0.04) {
        const controller = new AbortController();
        batch.push(pool.toThread.with({ signal: controller.signal })((n: number) => n, i).then(() => void totals.ok++, () => void totals.cancelled++));
        if (roll < 0.02) controller.abort();
        else queueMicrotask(() => controller.abort());
      } else if (roll < 0.0412) {
        batch.push(pool.toThread.with({ timeout: 5 })(spin).then(() => undefined, (e: unknown) => {
          expect(e).toBeInstanceOf(TimeoutError);
          totals.timedOut++;
        }));
      } else {
        batch.push(pool.toThread((n: number) => n + 1, i).then((v) => {
          expect(v).toBe(i + 1);
          totals.ok++;
        }));
      }
    }
    await Promise.all(batch);
    if (start === 10_000) {
      heapAfterWarmUp = liveHeap();
      rssAfterWarmUp = process.memoryUsage().rss;
    }
  }
  expect(totals.ok + totals.cancelled + totals.timedOut).toBe(50_000);
  expect(totals.timedOut).toBeGreaterThan(0);
  expect(totals.cancelled).toBeGreaterThan(0);
  const stats = pool.stats();
  expect(stats).toMatchObject({ running: 0, queued: 0 });
  expect(stats.completed + stats.cancelled + stats.failed).toBe(50_000);
  // Memory: the last 40k calls left nothing behind on the main thread. A leak of even 100 bytes a
  // call would add 4 MB to a live heap of ~8 MB.
  expect(liveHeap() - heapAfterWarmUp).toBeLessThan(2 * 2 ** 20);
  // RSS also counts the workers, started again after every timeout and cancel of a running call;
  // the allocator's per-thread arenas fill up to a plateau that Node 24 reaches later than Node 20
  // (measured: ~190 MB by 90k calls, flat to 400k). Only a gross native leak crosses this.
  expect(process.memoryUsage().rss / rssAfterWarmUp).toBeLessThan(2);
  // Idle workers above minThreads exit after idleTimeout: back to the floor.
  const deadline = Date.now() + 10_000;
  while (pool.stats().threads > 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(pool.stats().threads).toBe(1);
});

it("keeps nothing on the main thread for the calls of a long-lived createInstance handle", async () => {
  await using pool = createPool({ maxThreads: 1 });
  const inventory = await createInstance.with({ pool })('./fixtures/stateful.cjs', 'Inventory', 'shop');
  const calls = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await inventory.addSync('sku', 1);
  };
  await calls(2_000);
  const before = liveHeap();
  await calls(10_000);
  // Each call once left ~300 bytes until the instance was released (a reaction on a promise that
  // lived as long as the worker): 3 MB here.
  expect(liveHeap() - before).toBeLessThan(2 ** 20);
  expect(await inventory.countSync()).toBe(12_000);
  await releaseInstance(inventory);
});

/** The live heap once weak references to what was let go have been cleared too. */
const settledHeap = async (): Promise<number> => {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return process.memoryUsage().heapUsed;
};

it('keeps nothing per task or timeout() run under a long-lived signal or scope (Node 20 and 22 keep ~60-180 bytes per AbortSignal.any)', async () => {
  const lifelong = new AbortController().signal;
  const N = 30_000;
  const run = async (): Promise<void> => {
    for (let i = 0; i < N; i++) await createTask(() => i, { signal: lifelong });
    await cancelScope(async () => {
      for (let i = 0; i < N; i++) await timeout(60_000, () => i);
    }, { signal: lifelong });
  };
  await run();
  const before = await settledHeap();
  await run();
  expect((await settledHeap()) - before).toBeLessThan(N * 2 * 15);
});

it('stops following a long-lived signal once the calls that finished tasks, gathers and groups left running have ended', async () => {
  await using pool = createPool({ maxThreads: 1 });
  const lifelong = new AbortController().signal;
  const calls: Array<Promise<unknown>> = [];
  const leave = (): void => void calls.push(pool.toThread((ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms), 20));
  for (let i = 0; i < 20; i++) {
    await createTask(() => void createTask(leave), { signal: lifelong });
    await gather.with({ signal: lifelong })(leave, () => Promise.reject(new Error('first failure'))).catch(() => {});
    await cancelScope(() => taskGroup((group) => void group.create(leave)), { signal: lifelong });
  }
  // Still relayed while the calls run (one listener, however many watch), then let go of.
  expect(getEventListeners(lifelong, 'abort')).toHaveLength(1);
  await Promise.all(calls);
  await new Promise((resolve) => setImmediate(resolve));
  expect(getEventListeners(lifelong, 'abort')).toHaveLength(0);
});

it('follows a long-lived signal again while work a finished task starts later runs, and lets it go once that work has ended', async () => {
  await using pool = createPool({ maxThreads: 1 });
  const lifelong = new AbortController().signal;
  const sleepSync = (ms: number): string => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  let later!: Promise<unknown[]>;
  let begun!: () => void;
  const begin = new Promise<void>((resolve) => (begun = resolve));
  await createTask(() => void setTimeout(() => {
    later = Promise.all([pool.toThread(sleepSync, 100), ...Array.from({ length: 50 }, () => pool.toThread(sleepSync, 0))]);
    begun();
  }, 20), { signal: lifelong });
  expect(getEventListeners(lifelong, 'abort')).toHaveLength(0); // the task is over, and nothing of it pending
  await begin;
  expect(getEventListeners(lifelong, 'abort')).toHaveLength(1); // its later calls follow it, through one listener
  await later;
  await new Promise((resolve) => setImmediate(resolve));
  expect(getEventListeners(lifelong, 'abort')).toHaveLength(0);
});

it('holds no listener on a long-lived signal for tasks that ran in a shared scope whose own work goes on, or that left a map() loop half-read', async () => {
  await using pool = createPool({ maxThreads: 1 });
  const lifelong = new AbortController().signal;
  const app = new CancelScope(); // run in by every task, with a wait of its own that never ends
  const background = new Queue<number>();
  const waiting = app.run(() => background.get());
  for (let i = 0; i < 20; i++) {
    await createTask(() => app.run(() => i), { signal: lifelong });
    await createTask(async () => {
      const rows = map((x: number) => x + 1, [1, 2, 3], { pool })[Symbol.asyncIterator]();
      await rows.next(); // and dropped, never returned
    }, { signal: lifelong });
  }
  await new Promise((resolve) => setTimeout(resolve, 200)); // the chunks left running end
  expect(getEventListeners(lifelong, 'abort')).toHaveLength(0); // before: 1, kept for good
  app.cancel();
  await waiting.catch(() => {});
});

it('keeps nothing per task group closed under a long-lived scope (Node 20 and 22 kept ~90-260 bytes each)', async () => {
  const lifelong = new CancelScope({ signal: new AbortController().signal });
  const N = 20_000;
  const run = (): Promise<void> =>
    lifelong.run(async () => {
      for (let i = 0; i < N; i++) await taskGroup((group) => void group.create(() => i));
      for (let i = 0; i < N; i++) {
        await using group = new TaskGroup();
        group.create(() => i);
      }
      for (let i = 0; i < N; i++) void new TaskGroup(); // made, never used
    });
  await run();
  const before = await settledHeap();
  await run();
  expect((await settledHeap()) - before).toBeLessThan(N * 3 * 15);
});

it('keeps nothing per wait that leaves an idle queue or a held semaphore (each get or acquire ended by its signal)', async () => {
  const queue = new Queue<number>();
  const semaphore = new Semaphore(1);
  const held = await semaphore.acquire(); // nobody is ever served: every waiter leaves
  const N = 20_000;
  const run = async (): Promise<void> => {
    for (let i = 0; i < N; i += 1_000) {
      const waits: Array<Promise<unknown>> = [];
      for (let k = 0; k < 1_000; k++) {
        const controller = new AbortController();
        waits.push(queue.get({ signal: controller.signal }), semaphore.acquire({ signal: controller.signal }));
        controller.abort();
      }
      await Promise.allSettled(waits);
    }
  };
  await run();
  const before = await settledHeap();
  await run();
  // Before: the line kept every waiter that left it until someone was served: ~1.6 KB per wait
  // here, 67 MB for these 40,000 (/tmp/s22/wl4.mjs: 335 MB for 200,000).
  expect((await settledHeap()) - before).toBeLessThan(5_000_000);
  held.release();
});
