import { afterAll, describe, expect, it } from 'vitest';
import { CancelledError, cancelScope, createPool, createTask, gather, Queue, Semaphore, Task, waitFor } from '@tothread/core';
import { busyWaitSync } from './fixtures/legacy-esm.mjs';
import { throwValue } from './fixtures/errors.mjs';
import { runNode, settle, sleep } from './helpers.js';

const pool = createPool({ maxThreads: 2 });
afterAll(() => pool.close());

describe('gather', () => {
  it('resolves with results in argument order, whatever order they finish in', async () => {
    const results = await gather(pool.toThread(busyWaitSync, 120), () => pool.toThread(busyWaitSync, 10), Promise.resolve('plain'));
    expect(results).toEqual([120, 10, 'plain']);
  });

  it('rejects with the first failure while the other children go on, as asyncio does', async () => {
    const slow = pool.toThread(busyWaitSync, 200);
    const error = await settle(gather(slow, pool.toThread(throwValue, new RangeError('first'))));
    expect(error).toBeInstanceOf(RangeError);
    expect(await slow).toBe(200);
  });

  it('refuses options that are not an object, as gather.with(true) meaning returnExceptions would be silently ignored', () => {
    for (const bad of [true, 5, null, []]) expect(() => gather.with(bad as never)).toThrow(/^Expected `options` to be an options object/);
  });

  it('puts failures in their argument place with returnExceptions', async () => {
    const results = await gather.with({ returnExceptions: true })(pool.toThread(busyWaitSync, 5), pool.toThread(throwValue, new TypeError('bad')), () => 'sync value');
    expect(results[0]).toBe(5);
    expect(results[1]).toBeInstanceOf(TypeError);
    expect(results[2]).toBe('sync value');
  });

  it('is cancelled by its signal option', async () => {
    const controller = new AbortController();
    const all = gather.with({ signal: controller.signal })(() => sleep(10_000));
    controller.abort(new Error('stop'));
    expect(((await settle(all)) as Error).message).toBe('stop');
  });

  it('rejects something that is not awaitable with a TypeError naming its place', async () => {
    const error = await settle(gather(Promise.resolve(1), 42 as never));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('Expected `items[1]` to be a promise, a task or a function, got `42` (number)');
    // An array for the items themselves says how to pass them.
    const listed = await settle(gather([Promise.resolve(1)] as never));
    expect((listed as Error).message).toBe('Expected `items[0]` to be a promise, a task or a function, got `Array` (object): pass the items themselves, gather(...items)');
    expect((await settle(waitFor(7 as never, 10)) as Error).message).toBe('Expected `awaitable` to be a promise, a task or a function, got `7` (number)');
  });

  it('with its signal already aborted, stops the calls it was given: none is left running', async () => {
    const child = pool.toThread(busyWaitSync, 5_000);
    const all = gather.with({ signal: AbortSignal.abort(new Error('too late')) })(child);
    expect(((await settle(all)) as Error).message).toBe('too late');
    expect(((await settle(child)) as Error).message).toBe('too late');
    expect(pool.stats().running).toBe(0);
  });

  it('with something that is not awaitable, starts none of its functions and stops the calls it was given', async () => {
    let started = 0;
    const child = pool.toThread(busyWaitSync, 5_000);
    const all = gather(() => ++started, child, 42 as never);
    expect(await settle(all)).toBeInstanceOf(TypeError);
    expect(await settle(child)).toBeInstanceOf(TypeError);
    expect(started).toBe(0);
    expect(pool.stats().running).toBe(0);
  });
});

describe('tasks', () => {
  it('start at once, and report their state as they settle', async () => {
    const order: string[] = [];
    const task = createTask(async () => {
      order.push('started');
      return pool.toThread(busyWaitSync, 20);
    });
    order.push('created');
    expect(task).toBeInstanceOf(Task);
    expect(task.state).toBe('pending');
    expect(await task).toBe(20);
    expect(order).toEqual(['started', 'created']);
    expect(task.state).toBe('fulfilled');
    expect(task.done).toBe(true);
  });

  it('reject with CancelledError when awaited after cancel(), and cancel() after settling does nothing', async () => {
    const task = createTask(() => sleep(10_000));
    expect(task.cancel()).toBe(true);
    const error = await settle(task);
    expect(error).toBeInstanceOf(CancelledError);
    expect((error as CancelledError).code).toBe('ERR_TOTHREAD_CANCELLED');
    expect(task.state).toBe('cancelled');
    expect(task.cancel()).toBe(false);
    const done = createTask(() => 1);
    await done;
    expect(done.cancel()).toBe(false);
  });

  it('reject with the reason given to cancel()', async () => {
    const task = createTask((signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))));
    task.cancel('enough');
    expect(await settle(task)).toBe('enough');
  });

  it('report a gather that fails with nobody awaiting it as an unhandled rejection, as a failed task is', async () => {
    const script = `import { createTask, gather } from '@tothread/core';
process.on('unhandledRejection', (error) => console.log('unhandled:', error.message));
createTask(async () => { throw new Error('a task'); });
gather(async () => { throw new Error('a gather of a function'); });
gather(Promise.reject(new Error('a gather of a promise')));
const cancelled = gather(new Promise(() => {}));
cancelled.cancel();
setTimeout(() => console.log('end'), 100);`;
    const run = await runNode(['--input-type=module', '-e', script], { timeoutMs: 45_000 });
    expect(run.stdout.trim().split('\n').sort()).toEqual(['end', 'unhandled: a gather of a function', 'unhandled: a gather of a promise', 'unhandled: a task']); // before: the task's alone
  });

  it('are not reported as unhandled rejections when cancelled and never awaited', async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      createTask(() => sleep(10_000)).cancel();
      await sleep(50);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });

  it('end cancelled, not failed, when a CancelledError they awaited leaves them, as in asyncio (and are not reported unhandled)', async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const inner = createTask(() => sleep(10_000), { name: 'inner' });
      const outer = createTask(async () => {
        await inner;
        return 'never';
      });
      const failing = createTask(async () => {
        await sleep(1);
        throw new RangeError('its own failure');
      });
      const failed = settle(failing); // awaited: not unhandled
      inner.cancel();
      await sleep(50);
      expect([inner.state, outer.state]).toEqual(['cancelled', 'cancelled']);
      expect(await settle(outer)).toBeInstanceOf(CancelledError);
      expect(failing.state).toBe('rejected');
      expect(await failed).toBeInstanceOf(RangeError);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });
});

describe('waitFor', () => {
  it('resolves with the value when it comes in time, from a promise or a function', async () => {
    expect(await waitFor(pool.toThread(busyWaitSync, 10), 5_000)).toBe(10);
    expect(await waitFor(() => pool.toThread(busyWaitSync, 11), 5_000)).toBe(11);
  });

  it('in a scope already cancelled, rejects with its reason and stops the call it was given', async () => {
    const running = pool.toThread(busyWaitSync, 5_000); // made outside the scope: it runs
    await sleep(50);
    expect(pool.stats().running).toBe(1);
    const failed = await settle(
      cancelScope(async (scope) => {
        scope.cancel();
        await waitFor(running, 60_000);
      }),
    );
    expect(failed).toBeInstanceOf(CancelledError);
    expect(await settle(running)).toBeInstanceOf(CancelledError); // stopped, and its rejection observed
    expect(pool.stats().running).toBe(0);
  });

  it('ends with an enclosing scope that ends first, and its timer does not keep the process alive', async () => {
    const script = `import { timeout, waitFor } from '@tothread/core';
const started = performance.now();
await timeout(50, () => waitFor(new Promise(() => {}), 60_000)).catch((e) => console.log(e.name));
process.on('exit', () => console.log('exited after', Math.round(performance.now() - started) < 30_000 ? 'less than 30 s' : 'the 60 s timer'));`;
    const run = await runNode(['--input-type=module', '-e', script], { timeoutMs: 45_000 });
    expect(run.stdout.trim().split('\n')).toEqual(['TimeoutError', 'exited after less than 30 s']);
  });

  it('rejects a negative or non-finite deadline with a RangeError in the standard form', async () => {
    const error = await settle(waitFor(Promise.resolve(1), -1));
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe('Expected `ms` to be a number of milliseconds from 0 to 2147483647, got `-1` (number)');
    expect(await settle(waitFor(Promise.resolve(1), Number.NaN))).toBeInstanceOf(RangeError);
    // A call handed over with a bad deadline is stopped, not left running unobserved.
    expect(await settle(waitFor(pool.toThread(busyWaitSync, 5_000), -5))).toBeInstanceOf(RangeError);
    await sleep(50);
    expect(pool.stats().running).toBe(0);
  });
});

describe('a gather cancelled after its children settled, before it did', () => {
  it('gives back what its children took: queue items and a semaphore permit', async () => {
    const microtasks = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) await Promise.resolve();
    };
    for (let n = 0; n <= 8; n++) {
      const queue = new Queue<string>();
      const both = gather(queue.get(), queue.get());
      queue.putNowait('a');
      queue.putNowait('b');
      await microtasks(n);
      const cancelled = both.cancel();
      const outcome = await settle(both);
      await microtasks(20);
      // Before: cancel() true and a CancelledError at n = 1 and 2, with both items gone.
      if (cancelled) expect([outcome instanceof CancelledError, queue.size]).toEqual([true, 2]);
      else expect([outcome, queue.size]).toEqual([['a', 'b'], 0]);
    }
    for (let n = 0; n <= 8; n++) {
      const semaphore = new Semaphore(1);
      const held = await semaphore.acquire();
      const one = gather(semaphore.acquire());
      held.release();
      await microtasks(n);
      const cancelled = one.cancel();
      const outcome = await settle(one);
      await microtasks(20);
      if (!cancelled) (outcome as [{ release(): void }])[0].release();
      expect(semaphore.available).toBe(1); // before: 0 at n = 1, the permit lost for good
    }
  });
});

