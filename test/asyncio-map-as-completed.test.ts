import { afterAll, describe, expect, it } from 'vitest';
import { asCompleted, createPool, map } from '@tothread/core';
import { busyWaitSync } from './fixtures/legacy-esm.mjs';
import { throwValue } from './fixtures/errors.mjs';

const pool = createPool({ maxThreads: 2 });
afterAll(() => pool.close());
const settle = (promise: PromiseLike<unknown>): Promise<unknown> => Promise.resolve(promise).then((v) => v, (e: unknown) => e);

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
    const results = await collect(map(busyWaitSync, [200, 5], { pool, concurrency: 2, ordered: false }));
    expect(results).toEqual([5, 200]);
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

  it('consumes its input lazily, so an infinite generator works', async () => {
    let pulled = 0;
    function* naturals(): Generator<number> {
      for (let i = 0; ; i++) {
        pulled++;
        yield i;
      }
    }
    const out: number[] = [];
    for await (const value of map((n: number) => n * n, naturals(), { pool, concurrency: 2 })) {
      out.push(value);
      if (out.length === 5) break;
    }
    expect(out).toEqual([0, 1, 4, 9, 16]);
    expect(pulled).toBeLessThanOrEqual(5 + 4); // at most the window ahead of what was consumed
  });

  it('throws the first error from the loop', async () => {
    const error = await settle(collect(map(throwValue, [new SyntaxError('bad row')], { pool })));
    expect(error).toBeInstanceOf(SyntaxError);
  });

  it('rejects invalid options with the standard messages', async () => {
    expect(await settle(collect(map(busyWaitSync, [1], { concurrency: 0 })))).toBeInstanceOf(RangeError);
    expect(((await settle(collect(map(busyWaitSync, [1], { batch: 2 } as never)))) as Error).message).toMatch(/Unknown option `batch`/);
  });
});

describe('asCompleted', () => {
  it('yields values fastest first', async () => {
    expect(await collect(asCompleted([pool.toThread(busyWaitSync, 150), pool.toThread(busyWaitSync, 10)]))).toEqual([10, 150]);
  });

  it('throws a rejection from the loop and cancels the rest', async () => {
    const slow = pool.toThread(busyWaitSync, 5_000);
    const error = await settle(collect(asCompleted([slow, pool.toThread(throwValue, new Error('fast failure'))])));
    expect((error as Error).message).toBe('fast failure');
    expect((await settle(slow)) as Error).toMatchObject({ name: 'CancelledError' });
  });
});
