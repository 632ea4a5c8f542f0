import { afterAll, describe, expect, it } from 'vitest';
import { asCompleted, cancelScope, CloneError, createPool, map, PoolClosedError, Queue, timeout, TimeoutError, waitFor } from '@tothread/core';
import { napCounting, napOnThread } from './fixtures/map-costs.mjs';
import { busyWaitSync } from './fixtures/legacy-esm.mjs';
import { throwValue } from './fixtures/errors.mjs';
import { nextWarning, settle, sleep } from './helpers.js';

const pool = createPool({ maxThreads: 2 });
afterAll(() => pool.close());

/** Sleeps `ms` ms and returns it: it takes as long however busy the machine is, needing no CPU. */
const nap = (ms: number): number => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return ms;
};

/** An async input that gives 1, then holds its next item until `release()` (called as a test ends). */
function heldInput(): { input: () => AsyncGenerator<number>; release: () => void } {
  let release = (): void => {};
  async function* input(): AsyncGenerator<number> {
    yield 1;
    await new Promise<void>((resolve) => (release = resolve));
    yield 2;
  }
  return { input, release: () => release() };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

describe('map', () => {
  it('yields results in input order by default', async () => {
    expect(await collect(map(busyWaitSync, [60, 5, 30, 1], { pool, concurrency: 4 }))).toEqual([60, 5, 30, 1]);
  });

  it('yields results as they complete with ordered: false', async () => {
    // Item 0 waits (10 s at most) for the loop to have taken item 1's result, which it must take first.
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const results: string[] = [];
    const run = (item: Int32Array | null): string => (item === null ? 'quick' : Atomics.wait(item, 0, 0, 10_000) === 'timed-out' ? 'never let go' : 'let go');
    for await (const value of map(run, [gate, null], { pool, concurrency: 2, ordered: false })) {
      results.push(value);
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
    }
    expect(results).toEqual(['quick', 'let go']);
  });

  it('keeps at most `concurrency` calls in flight', async () => {
    const shared = new Int32Array(new SharedArrayBuffer(8)); // [running, peak]
    const track = (state: Int32Array): number => {
      const now = Atomics.add(state, 0, 1) + 1;
      let peak = Atomics.load(state, 1);
      while (now > peak && Atomics.compareExchange(state, 1, peak, now) !== peak) peak = Atomics.load(state, 1);
      const end = Date.now() + 20;
      while (Date.now() < end);
      Atomics.sub(state, 0, 1);
      return now;
    };
    const wide = createPool({ maxThreads: 4 });
    await collect(map(track, Array.from({ length: 12 }, () => shared), { pool: wide, concurrency: 2 }));
    await wide.close();
    expect(Atomics.load(shared, 1)).toBe(2);
  });

  it('consumes its input lazily, so an infinite generator works, and closes it on break', async () => {
    let pulled = 0;
    let closed = false;
    function* naturals(): Generator<number> {
      try {
        for (let i = 0; ; i++) {
          pulled++;
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    const out: number[] = [];
    for await (const value of map((n: number) => n * n, naturals(), { pool, concurrency: 2 })) {
      out.push(value);
      if (out.length === 5) break;
    }
    expect(out).toEqual([0, 1, 4, 9, 16]);
    // A few chunks ahead at most, never the whole input: the window (2 x concurrency chunks) of
    // chunks of at most 4096 items. How far chunks have grown by the break depends on how many came
    // back meanwhile (each one back lets the next grow 4x): ~100 to ~1,100 items on this machine.
    expect(pulled).toBeLessThanOrEqual(2 * 2 * 4096);
    expect(closed).toBe(true);
  });

  it('sends tiny items in chunks: far fewer messages than items, results still in order', async () => {
    const before = pool.stats().completed;
    const items = Array.from({ length: 20_000 }, (_, i) => i);
    const results = await collect(map((n: number) => n + 1, items, { pool }));
    expect(results).toEqual(items.map((n) => n + 1));
    expect(pool.stats().completed - before).toBeLessThan(items.length / 20);
  });

  it('sends items of a few ms in chunks too, sized by what they cost on the worker, so workers seldom wait between chunks', async () => {
    const before = pool.stats().completed;
    const items = Array.from({ length: 60 }, () => 2);
    // Each item takes 2 ms however busy the machine is (see nap); the time its chunk spends
    // travelling, which a loaded machine stretches, must not count as the items' cost.
    const results = await collect(map(nap, items, { pool }));
    expect(results).toEqual(items);
    // Chunks grow toward ~20 ms of work: 2 ms items travel several at a time, not one or two.
    expect(pool.stats().completed - before).toBeLessThan(items.length / 3);
  });

  it('keeps chunks sized by the items alone when the consumer holds up the main thread after every value', async () => {
    const before = pool.stats().completed;
    const items = Array.from({ length: 60 }, () => 2);
    for await (const ms of map(nap, items, { pool })) {
      const end = performance.now() + ms * 2; // a consumer doing blocking work with each value
      while (performance.now() < end);
    }
    // Chunks travel back late, but what the items cost on the worker did not change.
    expect(pool.stats().completed - before).toBeLessThan(items.length / 3);
  });

  it('yields the values before a failing item, then throws its error with its class', async () => {
    const seen: number[] = [];
    const error = await settle(
      (async () => {
        for await (const value of map((n: number) => {
          if (n === 3) throw new RangeError(`item ${n} is bad`);
          return n * 10;
        }, [0, 1, 2, 3, 4, 5], { pool, concurrency: 1 })) seen.push(value);
      })(),
    );
    expect(seen).toEqual([0, 10, 20]);
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe('item 3 is bad');
  });

  it('counts a chunk whose item threw as failed in stats()', async () => {
    await using solo = createPool({ maxThreads: 1 });
    const error = await settle(collect(map((n: number) => {
      if (n === 2) throw new Error('item 2 failed');
      return n;
    }, [0, 1, 2, 3], { pool: solo, concurrency: 1 })));
    expect((error as Error).message).toBe('item 2 failed');
    const { completed, failed, cancelled } = solo.stats();
    expect(failed).toBe(1);
    expect(completed + failed + cancelled).toBeGreaterThanOrEqual(2);
  });

  it('throws the first error from the loop', async () => {
    const error = await settle(collect(map(throwValue, [new SyntaxError('bad row')], { pool })));
    expect(error).toBeInstanceOf(SyntaxError);
  });

  it('yields each result of an async input as it is ready, so a queue fed by the loop itself works', async () => {
    const queue = new Queue<number>();
    queue.putNowait(1);
    const seen: number[] = [];
    for await (const value of map(busyWaitSync, queue, { pool })) {
      seen.push(value);
      if (value < 3) queue.putNowait(value + 1); // the next item depends on this result
      else queue.shutdown();
    }
    expect(seen).toEqual([1, 2, 3]);
  });

  it('gives a queue back the item it took but never sent when the loop is left, in its place', async () => {
    const queue = new Queue<number>();
    for (const item of [1, 2, 3]) queue.putNowait(item);
    for await (const value of map((x: number) => x, queue, { pool, concurrency: 1 })) {
      expect(value).toBe(1);
      await sleep(50); // meanwhile the map takes the next item from the queue
      break;
    }
    const left: number[] = [];
    while (!queue.empty()) left.push(queue.getNowait());
    expect(left).toEqual([2, 3]); // before: [3], item 2 taken and lost
  });

  it('lets the chunks running at close() finish and yields their values, then gives a queue back every item that never started, in order', async () => {
    for (const ordered of [true, false]) {
      const closing = createPool({ maxThreads: 1 });
      const queue = new Queue<number>();
      for (const item of [100, 1, 2, 3, 4, 5]) queue.putNowait(item);
      const seen: number[] = [];
      let ended: unknown;
      // Two chunks in flight on one thread: item 100 runs, item 1 waits in the pool's queue.
      const closed = sleep(50).then(() => closing.close());
      try {
        for await (const value of map(busyWaitSync, queue, { pool: closing, concurrency: 2, ordered })) seen.push(value);
      } catch (error) {
        ended = error;
      }
      await closed;
      expect(seen).toEqual([100]); // it ran to its end: close() waits for it, and so does the map
      expect(ended).toBeInstanceOf(PoolClosedError);
      expect((ended as PoolClosedError).started).toBe(false);
      const left: number[] = [];
      while (!queue.empty()) left.push(queue.getNowait());
      expect(left).toEqual([1, 2, 3, 4, 5]); // before: [2, 3, 4, 5] or fewer, the items taken lost
    }
  });

  it('gives a queue back, in order, every item it took and did not yield when its loop is left, so join() still ends', async () => {
    await using two = createPool({ maxThreads: 2 });
    const queue = new Queue<number>();
    for (let i = 0; i < 10; i++) queue.putNowait(i);
    // Item 0 is slow: ordered, the items after it run and come back while it runs, unyielded.
    const work = (x: number): number => {
      const end = Date.now() + (x === 0 ? 200 : 20);
      while (Date.now() < end);
      return x;
    };
    const seen: number[] = [];
    for await (const value of map(work, queue, { pool: two, concurrency: 2 })) {
      seen.push(value);
      queue.taskDone();
      break;
    }
    await sleep(50);
    const left: number[] = [];
    while (!queue.empty()) left.push(queue.getNowait());
    expect(seen).toEqual([0]);
    expect(left).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]); // before: [4, ..., 9], items 1-3 run and lost
    for (const _ of left) queue.taskDone();
    expect(await waitFor(queue.join(), 5_000).then(() => 'joined')).toBe('joined');
  });

  it('hears its signal while an async input is slow to produce its next item', async () => {
    const controller = new AbortController();
    const { input: slowInput, release } = heldInput();
    const seen: number[] = [];
    const loop = (async () => {
      for await (const value of map(busyWaitSync, slowInput(), { pool, signal: controller.signal })) {
        seen.push(value);
        controller.abort(new Error('enough'));
      }
    })();
    expect(((await settle(loop)) as Error).message).toBe('enough');
    expect(seen).toEqual([1]);
    release();
  });

  it('left while an async input produces its next item, does not wait for it, and warns with what closing the input threw then', async () => {
    let release = (): void => {};
    async function* input(): AsyncGenerator<number> {
      try {
        yield 1;
        await new Promise<void>((resolve) => (release = resolve));
        yield 2;
      } finally {
        throw new Error('cleanup failed'); // eslint-disable-line no-unsafe-finally
      }
    }
    const warned = nextWarning('TOTHREAD_LATE_INPUT_ERROR');
    const seen: number[] = [];
    for await (const value of map(busyWaitSync, input(), { pool })) {
      seen.push(value);
      await sleep(50); // the loop pulls the next item meanwhile
      break; // returns at once: the input's item may never come
    }
    expect(seen).toEqual([1]);
    release();
    const warning = await warned;
    expect(warning?.message).toMatch(/^map\(\) was left while its async input was producing an item; closing the input afterwards threw: Error: cleanup failed/); // before: dropped
  });

  it('hears the cancel scope it runs in while an async input is slow to produce its next item', async () => {
    const { input: slowInput, release } = heldInput();
    const seen: number[] = [];
    let loop: Promise<void> = Promise.resolve();
    const scoped = cancelScope((scope) => {
      loop = (async () => {
        for await (const value of map(busyWaitSync, slowInput(), { pool })) {
          seen.push(value);
          setTimeout(() => scope.cancel(new Error('enough')), 50); // while the loop waits for the input
        }
      })();
      return loop;
    });
    expect(((await settle(scoped)) as Error).message).toBe('enough');
    const ended = await Promise.race([settle(loop), sleep(2_000).then(() => 'still waiting for the input')]);
    expect((ended as Error).message).toBe('enough');
    expect(seen).toEqual([1]);
    release();
  });

  it('spreads the items after a chunk that turned costly over the workers, instead of running them one after another on one', async () => {
    const naps = [...Array<number>(20_000).fill(0), ...Array<number>(60).fill(15)];
    const threads = await collect(map(napOnThread, naps, { pool }));
    expect(threads).toHaveLength(naps.length);
    const costly = new Map<number, number>();
    for (const thread of threads.slice(20_000)) costly.set(thread, (costly.get(thread) ?? 0) + 1);
    // Cut after 60 ms, the chunk's rest goes to both workers (before: all 60 on one, ~0.9 s).
    expect(costly.size).toBe(2);
    expect(Math.min(...costly.values())).toBeGreaterThanOrEqual(10);
  });

  it('keeps the pieces of a cut chunk within `concurrency`', async () => {
    await using wide = createPool({ minThreads: 4, maxThreads: 4 });
    const counters = new Int32Array(new SharedArrayBuffer(8));
    const items = [...Array.from({ length: 5_000 }, () => ({ ms: 0, counters })), ...Array.from({ length: 40 }, () => ({ ms: 15, counters }))];
    expect(await collect(map(napCounting, items, { pool: wide, concurrency: 2 }))).toHaveLength(items.length);
    expect(Atomics.load(counters, 1)).toBeLessThanOrEqual(2); // before: 4, every thread, from one cut chunk
  });

  it('yields the values before an item that fails in the spread rest of a chunk, then its error, and stops the pieces after it', async () => {
    const naps = [...Array<number>(5_000).fill(0), ...Array<number>(40).fill(10)];
    naps[5_010] = -1; // throws
    const seen: number[] = [];
    const error = await settle(
      (async () => {
        for await (const value of map((ms: number) => {
          if (ms < 0) throw new RangeError(`bad nap ${ms}`);
          if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
          return ms;
        }, naps, { pool })) seen.push(value);
      })(),
    );
    expect(error).toBeInstanceOf(RangeError);
    expect(seen).toEqual(naps.slice(0, 5_010));
    await sleep(50);
    expect(pool.stats().running).toBe(0);
  });

  it('yields nothing more once its signal aborts or its cancel scope ends, not even values already back', async () => {
    const controller = new AbortController();
    let afterAbort = 0;
    const stopped = await settle(
      (async () => {
        for await (const value of map((n: number) => n, Array.from({ length: 50_000 }, (_, i) => i), { pool, signal: controller.signal })) {
          if (controller.signal.aborted) afterAbort++;
          if (value === 1_000) controller.abort(new Error('enough'));
        }
      })(),
    );
    expect((stopped as Error).message).toBe('enough');
    expect(afterAbort).toBe(0);
    let bodies = 0;
    let atDeadline = -1;
    const expired = await settle(
      timeout(100, async () => {
        for await (const _ of map((n: number) => n, Array.from({ length: 50_000 }, (_, i) => i), { pool })) {
          bodies++;
          if (bodies > 100) await sleep(1); // slower than the input: values wait, already back
        }
      }).catch((error: unknown) => {
        atDeadline = bodies;
        throw error;
      }),
    );
    expect(expired).toBeInstanceOf(TimeoutError);
    await sleep(300);
    expect(bodies).toBe(atDeadline);
  });

  it('yields the results of the items an input gave before it failed, then its error', async () => {
    function* brokenAfter(n: number): Generator<number> {
      for (let i = 0; i < n; i++) yield i;
      throw new Error('input broke');
    }
    async function* asyncBrokenAfter(n: number): AsyncGenerator<number> {
      yield* brokenAfter(n);
    }
    for (const input of [brokenAfter(10), asyncBrokenAfter(10)]) {
      const seen: number[] = [];
      const error = await settle((async () => {
        for await (const value of map((n: number) => n * 2, input, { pool })) seen.push(value);
      })());
      expect((error as Error).message).toBe('input broke');
      expect(seen).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    }
  });

  it('fails an item that cannot be sent, or whose value cannot be sent back, in its place, after every item before it', async () => {
    const items = Array.from({ length: 5_000 }, (_, i) => (i === 3_000 ? { bad: new WeakMap() } : { i }));
    const sent: unknown[] = [];
    const refused = (await settle((async () => {
      for await (const value of map((item: { i?: number }) => item.i, items, { pool })) sent.push(value);
    })())) as CloneError;
    expect(refused).toBeInstanceOf(CloneError);
    expect(refused.path).toBe('input[3000].bad');
    expect(sent).toEqual(Array.from({ length: 3_000 }, (_, i) => i));
    const back: unknown[] = [];
    const unsendable = (await settle((async () => {
      for await (const value of map((i: number) => (i === 3_000 ? { bad: () => i } : i), Array.from({ length: 5_000 }, (_, i) => i), { pool })) back.push(value);
    })())) as CloneError;
    expect(unsendable).toBeInstanceOf(CloneError);
    expect(unsendable.path).toBe('results[3000].bad'); // named by its item's place, as an item that cannot be sent
    expect(unsendable.message).toMatch(/^results\[3000\]\.bad cannot be sent back from the worker thread: it is a function \(`bad`\)\. Use plain data/);
    expect(back).toEqual(Array.from({ length: 3_000 }, (_, i) => i));
    // A callback among an item's values is the main thread's function, which cannot go back.
    const callback = (await settle(collect(map((item: object) => item, [{ id: 1, onDone: () => {} }], { pool })))) as CloneError;
    expect(callback.message).toContain('results[0].onDone cannot be sent back from the worker thread: it is a callback from the main thread, which can be called here but not sent back');
  });

  it('refuses a generator function\'s results saying that map() does not stream, not to write it as a generator function', async () => {
    const refused = (await settle((async () => {
      for await (const _ of map((function* (n: number) { yield n; }) as never, [1, 2] as never, { pool })); // its types refuse it too
    })())) as CloneError;
    expect(refused).toBeInstanceOf(CloneError);
    expect(refused.message).toMatch(/it is a generator object, and map\(\) sends back each item's result and does not stream/);
  });

  it('maps the characters of a string, as any iterable', async () => {
    expect(await collect(map((c: string) => c.toUpperCase(), 'abc', { pool }))).toEqual(['A', 'B', 'C']);
  });

  it('leaves the next item in a queue it was mapping over when its loop is left', async () => {
    const queue = new Queue<number>();
    queue.putNowait(1);
    for await (const value of map((n: number) => n * 10, queue, { pool })) if (value === 10) break;
    queue.putNowait(2);
    await sleep(20);
    expect(queue.size).toBe(1);
  });

  it('adds one abort listener to a signal however many loops share it', async () => {
    const signal = new AbortController().signal;
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      await Promise.all(Array.from({ length: 15 }, (_, i) => collect(map((n: number) => n, [i], { pool, signal }))));
      await sleep(10);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
  });

  it('rejects invalid options with the standard messages', async () => {
    expect(await settle(collect(map(busyWaitSync, [1], { concurrency: 0 })))).toBeInstanceOf(RangeError);
    expect(((await settle(collect(map(busyWaitSync, [1], { batch: 2 } as never)))) as Error).message).toMatch(/Unknown option `batch`/);
  });
});

describe('asCompleted', () => {
  it('yields values fastest first', async () => {
    // The first call waits (10 s at most) until the second has answered.
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const held = pool.toThread((flag: Int32Array) => (Atomics.wait(flag, 0, 0, 10_000) === 'timed-out' ? 'never let go' : 'let go'), gate);
    const quick = pool.toThread(() => 'quick').then((value) => {
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
      return value;
    });
    expect(await collect(asCompleted([held, quick]))).toEqual(['quick', 'let go']);
  });

  it('yields a promise given twice twice, and ends', async () => {
    const once = Promise.resolve(1);
    const seen: number[] = [];
    for await (const value of asCompleted([once, once, Promise.resolve(2)])) seen.push(value);
    expect(seen.sort()).toEqual([1, 1, 2]);
  });

  it('throws a rejection from the loop and cancels the rest', async () => {
    const slow = pool.toThread(busyWaitSync, 5_000);
    const error = await settle(collect(asCompleted([slow, pool.toThread(throwValue, new Error('fast failure'))])));
    expect((error as Error).message).toBe('fast failure');
    expect((await settle(slow)) as Error).toMatchObject({ name: 'CancelledError' });
  });

  it('stops and watches the calls an iterable handed over before it threw, and throws its error from the loop', async () => {
    const slow = pool.toThread(busyWaitSync, 5_000);
    const failed = Promise.reject(new Error('rejected item')); // unhandled, it would fail the run
    function* items(): Generator<Promise<unknown>> {
      yield slow;
      yield failed;
      throw new Error('iterable broke');
    }
    expect(((await settle(collect(asCompleted(items())))) as Error).message).toBe('iterable broke');
    expect(((await settle(slow)) as Error).message).toBe('iterable broke');
    await sleep(10);
  });

  it('with something that is not awaitable, starts none of its functions and stops the calls it was given', async () => {
    let started = 0;
    const slow = pool.toThread(busyWaitSync, 5_000);
    const error = await settle(collect(asCompleted([() => ++started, slow, 42 as never])));
    expect(error).toBeInstanceOf(TypeError);
    expect(await settle(slow)).toBeInstanceOf(TypeError);
    expect(started).toBe(0);
  });
});
