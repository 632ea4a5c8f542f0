import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPool, TimeoutError, type Pool } from '@tothread/core';
import { awaitReportWhenCancelled, callsOnThisWorker, loopUntilCancelled, reportWhenCancelled, spinIgnoringCancel, waitUntilCancelled } from './fixtures/cooperative.mjs';
import { busyWaitSync } from './fixtures/legacy-esm.mjs';
import { settle } from './helpers.js';


async function eventually(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('the condition never came true');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let pool: Pool;
beforeEach(() => {
  pool = createPool({ minThreads: 1, maxThreads: 1 });
});
afterEach(() => pool.close());

describe('what a timeout counts', () => {
  it("with timeoutFrom: 'call', queue time counts and a call can time out before it starts", async () => {
    const first = pool.toThread(busyWaitSync, 400);
    const queued = await settle(pool.toThread.with({ timeout: 150, timeoutFrom: 'call' })(busyWaitSync, 10));
    expect(queued).toBeInstanceOf(TimeoutError);
    expect(await first).toBe(400); // the running call was not touched
  });

  it("rejects a timeoutFrom that is neither 'start' nor 'call'", () => {
    expect(() => pool.toThread.with({ timeoutFrom: 'queue' as never })).toThrow("Expected `options.timeoutFrom` to be `'start'` or `'call'`, got `queue` (string)");
    expect(() => pool.toThread.with({ timeoutFrom: 'queue' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' })); // a string, refused
    expect(() => pool.toThread.with({ timeoutFrom: 1 as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});

describe('grace period', () => {
  it('lets a cooperative sync loop notice the timeout, clean up and keep its worker', async () => {
    expect(await pool.toThread(callsOnThisWorker)).toBe(1);
    const cleanedUp = new SharedArrayBuffer(4);
    const started = Date.now();
    const error = await settle(pool.toThread.with({ timeout: 100, grace: 5_000 })(loopUntilCancelled, cleanedUp));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeLessThan(4_000); // rejected at the timeout, not after the grace
    await eventually(() => Atomics.load(new Int32Array(cleanedUp), 0) === 1);
    expect(await pool.toThread(callsOnThisWorker)).toBe(2); // same worker: it was not terminated
  });

  it('aborts cancelSignal() of an async call on a signal abort, and keeps its worker', async () => {
    expect(await pool.toThread(callsOnThisWorker)).toBe(1);
    const cleanedUp = new SharedArrayBuffer(4);
    const controller = new AbortController();
    const call = settle(pool.toThread.with({ signal: controller.signal, grace: 5_000 })(waitUntilCancelled, cleanedUp));
    setTimeout(() => controller.abort('stop'), 100);
    expect(await call).toBe('stop');
    await eventually(() => Atomics.load(new Int32Array(cleanedUp), 0) === 1);
    expect(await pool.toThread(callsOnThisWorker)).toBe(2);
  });

  it.each([
    ['a sync', reportWhenCancelled],
    ['an async', awaitReportWhenCancelled],
  ] as const)('delivers %s function\'s callbacks during the grace period, and keeps its worker', async (_kind, fn) => {
    expect(await pool.toThread(callsOnThisWorker)).toBe(1);
    const reports: string[] = [];
    const controller = new AbortController();
    const call = settle(pool.toThread.with({ signal: controller.signal, grace: 20_000 })(fn, (message: string) => reports.push(message)));
    setTimeout(() => controller.abort('stop'), 100);
    expect(await call).toBe('stop');
    await eventually(() => reports.length === 1);
    expect(reports).toEqual(['cleaned up']);
    const started = Date.now();
    expect(await pool.toThread(callsOnThisWorker)).toBe(2); // same worker, free once the function returned
    expect(Date.now() - started).toBeLessThan(10_000); // not held until the grace period ends
  });

  it('terminates a worker that ignores the cancellation once the grace period ends', async () => {
    expect(await pool.toThread(callsOnThisWorker)).toBe(1);
    const error = await settle(pool.toThread.with({ timeout: 100, grace: 200 })(spinIgnoringCancel));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(await pool.toThread(callsOnThisWorker)).toBe(1); // a new worker: the old one was stopped
  });

  it('never runs a call cancelled after it reached an idle worker but before its function started', async () => {
    await pool.toThread((x: number) => x, 0); // the worker is up and idle: the next call goes to it at once
    const rounds = 20;
    const ran = new Int32Array(new SharedArrayBuffer(4 * rounds));
    let notStarted = 0;
    let ranAfter = 0;
    for (let i = 0; i < rounds; i++) {
      const controller = new AbortController();
      const call = pool.toThread.with({ signal: controller.signal, grace: 200 })((flags: Int32Array, at: number) => Atomics.store(flags, at, 1), ran, i);
      controller.abort(new Error('cancelled'));
      const startedWhenCancelled = Atomics.load(ran, i) === 1;
      expect(await settle(call)).toMatchObject({ message: 'cancelled' });
      await new Promise((resolve) => setTimeout(resolve, 30));
      if (startedWhenCancelled) continue;
      notStarted++;
      if (Atomics.load(ran, i) === 1) ranAfter++;
    }
    // Before: every one of them ran. A worker that had read the flag just before it was set runs
    // its call (it had started, as far as it knew): that race is rare.
    expect(notStarted).toBeGreaterThan(rounds / 2);
    expect(ranAfter).toBeLessThanOrEqual(notStarted / 4);
  });
});
