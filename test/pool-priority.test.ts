import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createInstance, createPool } from '@tothread/core';
import { threadNice, type PriorityProbe } from './fixtures/priority.mjs';

const linux = process.platform === 'linux';

describe.runIf(linux)('workers run below the main thread, so its event loop preempts them', () => {
  it('pool workers run 5 nice steps below the main thread by default', async () => {
    await using pool = createPool({ maxThreads: 1 });
    expect(await pool.toThread(threadNice)).toBe(Math.min(19, threadNice() + 5));
  });

  it('niceIncrement sets the step; 0 keeps the workers at the main thread\'s priority', async () => {
    await using level = createPool({ maxThreads: 1, niceIncrement: 0 });
    await using lowest = createPool({ maxThreads: 1, niceIncrement: 19 });
    expect(await level.toThread(threadNice)).toBe(threadNice());
    expect(await lowest.toThread(threadNice)).toBe(19); // never below the lowest priority there is
  });

  it('createInstance workers run at the priority of their pool', async () => {
    await using pool = createPool({ maxThreads: 1, niceIncrement: 3 });
    await using probe = await createInstance.with({ pool })<typeof PriorityProbe>('./fixtures/priority.mjs', 'PriorityProbe');
    expect(await probe.nice()).toBe(Math.min(19, threadNice() + 3));
  });

  it("libuv's shared thread pool keeps the main thread's priority, even when a worker uses it first", async () => {
    // A fresh process, which has not started libuv's thread pool yet (this one has).
    const fixture = fileURLToPath(new URL('./fixtures/priority-libuv.cjs', import.meta.url));
    for (const mode of ['pool', 'instance']) {
      const { stdout } = await promisify(execFile)(process.execPath, [fixture, mode]);
      const { main, threads } = JSON.parse(stdout) as { main: number; threads: number[] };
      // Only the workers themselves run lower: the pool's one, and the instance's.
      expect(threads.filter((nice) => nice !== main)).toEqual(mode === 'pool' ? [main + 5] : [main + 5, main + 5]);
    }
  });
});

describe('the niceIncrement option', () => {
  it('rejects a step outside 0-19 with what was expected', () => {
    expect(() => createPool({ niceIncrement: 20 })).toThrow('Expected `niceIncrement` to be a whole number from 0 to 19, got `20` (number)');
    expect(() => createPool({ niceIncrement: -1 })).toThrow(RangeError);
    expect(() => createPool({ niceIncrement: '5' as never })).toThrow(TypeError);
  });
});
