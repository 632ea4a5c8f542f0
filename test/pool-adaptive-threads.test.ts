import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { createPool } from '@tothread/core';

/** A blocked call, as a legacy sync client waiting on I/O is: no CPU used. It records how many run at once. */
function blockedCall(state: Int32Array, ms: number): number {
  const running = Atomics.add(state, 0, 1) + 1;
  let peak = Atomics.load(state, 1);
  while (running > peak && Atomics.compareExchange(state, 1, peak, running) !== peak) peak = Atomics.load(state, 1);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  Atomics.sub(state, 0, 1);
  return running;
}

describe("maxThreads: 'auto'", () => {
  it('grows past one thread per core while the running calls are blocked and the CPUs idle', async () => {
    await using pool = createPool({ maxThreads: 'auto' });
    const state = new Int32Array(new SharedArrayBuffer(8));
    await Promise.all(Array.from({ length: 24 }, () => pool.toThread(blockedCall, state, 300)));
    expect(Atomics.load(state, 1)).toBeGreaterThan(availableParallelism());
    expect(pool.maxThreads).toBe(availableParallelism()); // the floor it starts from
  });

  it('a fixed maxThreads never grows, however blocked the calls are', async () => {
    await using pool = createPool({ maxThreads: 2 });
    const state = new Int32Array(new SharedArrayBuffer(8));
    await Promise.all(Array.from({ length: 8 }, () => pool.toThread(blockedCall, state, 100)));
    expect(Atomics.load(state, 1)).toBe(2);
  });

  it("rejects maxThreads that is neither a whole number from 1 nor 'auto'", () => {
    expect(() => createPool({ maxThreads: 'many' as never })).toThrow("Expected `maxThreads` to be a whole number from 1 and up, or `'auto'`, got `many` (string)");
    expect(() => createPool({ maxThreads: 'many' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => createPool({ queueFull: 'drop' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: "Expected `queueFull` to be `'reject'` or `'wait'`, got `drop` (string)" }));
  });
});
