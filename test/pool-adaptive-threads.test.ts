import { spawn } from 'node:child_process';
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

/** A computing call (no wall-clock loop: under contention it takes as long as the CPU it gets). It records how many run at once. */
function computingCall(state: Int32Array, iterations: number): number {
  const running = Atomics.add(state, 0, 1) + 1;
  let peak = Atomics.load(state, 1);
  while (running > peak && Atomics.compareExchange(state, 1, peak, running) !== peak) peak = Atomics.load(state, 1);
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x + i * i) % 1_000_003;
  Atomics.sub(state, 0, 1);
  return x;
}

describe("maxThreads: 'auto'", () => {
  it('grows for blocked calls, and not for computing ones, while other processes keep the CPUs busy', async () => {
    const cores = availableParallelism();
    // Each ends by itself too, should this process be killed before it kills them.
    const hogs = Array.from({ length: cores }, () => spawn(process.execPath, ['-e', 'const end = Date.now() + 30_000; while (Date.now() < end);'], { stdio: 'ignore' }));
    try {
      await using pool = createPool({ maxThreads: 'auto' });
      const blocked = new Int32Array(new SharedArrayBuffer(8));
      await Promise.all(Array.from({ length: 24 }, () => pool.toThread(blockedCall, blocked, 300)));
      expect(Atomics.load(blocked, 1)).toBeGreaterThan(cores); // they need no CPU: the hogs do not hold them back
      await using computing = createPool({ maxThreads: 'auto' });
      const busy = new Int32Array(new SharedArrayBuffer(8));
      await Promise.all(Array.from({ length: 40 }, () => computing.toThread(computingCall, busy, 1_000_000)));
      // Waiting for a core is not being blocked: at most a doubling from a moment the starved main thread left a worker idle.
      expect(Atomics.load(busy, 1)).toBeLessThanOrEqual(cores * 4);
    } finally {
      for (const hog of hogs) hog.kill();
    }
  });

  it('grows past one thread per core while the running calls are blocked and the CPUs idle', async () => {
    await using pool = createPool({ maxThreads: 'auto' });
    const state = new Int32Array(new SharedArrayBuffer(8));
    await Promise.all(Array.from({ length: 24 }, () => pool.toThread(blockedCall, state, 300)));
    expect(Atomics.load(state, 1)).toBeGreaterThan(availableParallelism());
    expect(pool.maxThreads).toBe(availableParallelism()); // the floor it starts from
  });

  it('takes a minThreads above one per core, and starts from it; one past its ceiling is refused', async () => {
    const cores = availableParallelism();
    await using pool = createPool({ minThreads: cores + 2 });
    expect(pool.maxThreads).toBe(cores + 2);
    const state = new Int32Array(new SharedArrayBuffer(8));
    await Promise.all(Array.from({ length: cores + 2 }, () => pool.toThread(blockedCall, state, 300)));
    expect(Atomics.load(state, 1)).toBeGreaterThan(cores);
    expect(() => createPool({ minThreads: 10_000 })).toThrow(/^Expected `minThreads` to be at most the ceiling of `maxThreads: 'auto'` \(\d+\), got `10000`/);
  });

  it('grows with no room to queue too (maxQueue: 0): a call turned away wanted a thread', async () => {
    await using pool = createPool({ maxQueue: 0 });
    const state = new Int32Array(new SharedArrayBuffer(8));
    const calls: Array<Promise<unknown>> = [];
    for (let i = 0; i < 60; i++) {
      calls.push(pool.toThread(blockedCall, state, 300).catch((error: Error) => error.name));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.all(calls);
    expect(Atomics.load(state, 1)).toBeGreaterThan(availableParallelism());
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
