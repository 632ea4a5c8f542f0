import { describe, expect, it } from 'vitest';
import { createPool, TimeoutError } from '@tothread/core';
import { step, workAfterFlag } from './fixtures/batching.mjs';
import { busyWaitSync } from './fixtures/legacy-esm.mjs';
import { settle, sleep, workersOf } from './helpers.js';

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Records every way a promise settles: a double settle would show as two entries. */
function watch(promise: Promise<unknown>, log: Outcome[]): Promise<void> {
  return promise.then(
    (value) => void log.push({ ok: true, value }),
    (error: unknown) => void log.push({ ok: false, error }),
  );
}

describe('cancellation races settle each call exactly once and leak nothing', () => {
  it('aborts arriving around the moment calls complete', async () => {
    await using pool = createPool({ minThreads: 2, maxThreads: 2 });
    const outcomes: Outcome[] = [];
    const watched: Array<Promise<void>> = [];
    for (let i = 0; i < 200; i++) {
      const controller = new AbortController();
      const reason = new Error(`abort ${i}`);
      watched.push(watch(pool.toThread.with({ signal: controller.signal })((n: number) => n + 1, i), outcomes));
      const when = i % 4;
      if (when === 0) queueMicrotask(() => controller.abort(reason));
      else if (when === 1) setImmediate(() => controller.abort(reason));
      else if (when === 2) setTimeout(() => controller.abort(reason), i % 3);
      else void Promise.resolve().then(() => controller.abort(reason));
    }
    await Promise.all(watched);
    expect(outcomes).toHaveLength(200);
    for (const outcome of outcomes) {
      if (outcome.ok) expect(typeof outcome.value).toBe('number');
      else expect((outcome.error as Error).message).toMatch(/^abort \d+$/);
    }
    const stats = pool.stats();
    expect(stats).toMatchObject({ running: 0, queued: 0 });
    expect(stats.completed + stats.cancelled).toBe(200);
    expect(await pool.toThread(() => 'after the storm')).toBe('after the storm');
    expect(pool.stats().threads).toBeLessThanOrEqual(2);
  });

  it('one abort for many queued and running calls rejects them all, and the pool recovers', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 2 });
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on('warning', onWarning);
    const controller = new AbortController();
    const calls = Array.from({ length: 300 }, (_, i) => pool.toThread.with({ signal: controller.signal })(busyWaitSync, i % 2 ? 50 : 1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort(new Error('everything off'));
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.every((o) => o.status === 'fulfilled' || (o.reason as Error).message === 'everything off')).toBe(true);
    process.off('warning', onWarning);
    expect(warnings).not.toContain('MaxListenersExceededWarning'); // one listener per signal, not per call
    expect(pool.stats()).toMatchObject({ running: 0, queued: 0 });
    expect(await pool.toThread(() => 'recovered')).toBe('recovered');
    expect(workersOf(pool).length).toBeLessThanOrEqual(2);
  });

  it('calls sharing one signal that had not started when it aborted reject with its reason, none resolving with a value it ran for after abort()', async () => {
    await using pool = createPool({ minThreads: 2, maxThreads: 2 });
    const n = 400;
    const idle = new Int32Array(new SharedArrayBuffer(4));
    const ignored = new Int32Array(new SharedArrayBuffer(4 * n));
    let late = 0;
    for (let round = 0; round < 8; round++) {
      // Measured quick (they batch), and both workers started.
      for (let k = 0; k < 2; k++) await Promise.all(Array.from({ length: 200 }, (_, i) => pool.toThread(workAfterFlag, idle, ignored, i)));
      const flag = new Int32Array(new SharedArrayBuffer(4));
      const started = new Int32Array(new SharedArrayBuffer(4 * n));
      const controller = new AbortController();
      const calls = Array.from({ length: n }, (_, i) => settle(pool.toThread.with({ signal: controller.signal })(workAfterFlag, flag, started, i)));
      await sleep(8); // batches are running on both workers
      Atomics.store(flag, 0, 1);
      controller.abort(new Error('all off'));
      const outcomes = await Promise.all(calls);
      // Before: 0 to 99 in all (16 and 99 in two runs of three, 5 rounds each), read from shared
      // memory as another call's cancel read the answers behind it, before their own cancel.
      late += outcomes.filter((outcome, i) => Atomics.load(started, i) === 1 && outcome === i).length;
      expect(outcomes.every((outcome, i) => outcome === i || (outcome as Error).message === 'all off')).toBe(true);
    }
    expect(late).toBe(0);
    expect(pool.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('calls of a signal whose abort event another listener stopped still all settle', async () => {
    await using pool = createPool({ minThreads: 2, maxThreads: 2 });
    const idle = new Int32Array(new SharedArrayBuffer(4));
    const ignored = new Int32Array(new SharedArrayBuffer(4 * 400));
    for (let k = 0; k < 2; k++) await Promise.all(Array.from({ length: 200 }, (_, i) => pool.toThread(workAfterFlag, idle, ignored, i))); // they batch
    const controller = new AbortController();
    controller.signal.addEventListener('abort', (event) => event.stopImmediatePropagation()); // tothread's listener never runs
    const calls = Array.from({ length: 400 }, (_, i) => settle(pool.toThread.with({ signal: controller.signal })(workAfterFlag, idle, ignored, i)));
    await sleep(5);
    controller.abort(new Error('off'));
    // Before (the commit that held back answers read for calls of an aborted signal): ~330 stayed
    // pending for good. Each settles: with its value, or with the reason once its answer is read.
    const outcomes = await Promise.race([Promise.all(calls), sleep(10_000).then(() => 'pending')]);
    expect(outcomes).not.toBe('pending');
    expect((outcomes as unknown[]).every((outcome, i) => outcome === i || (outcome as Error).message === 'off')).toBe(true);
    expect(pool.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('timed calls in batches, among calls that hang and aborts: each settles once, only the hung ones time out', async () => {
    await using pool = createPool({ minThreads: 2, maxThreads: 2 });
    const counts = new Int32Array(new SharedArrayBuffer(1500 * 4));
    for (let i = 0; i < 3; i++) await pool.toThread(step, new Int32Array(new SharedArrayBuffer(4)), 0); // measured: quick
    const hangs = (i: number): boolean => i % 250 === 125;
    const outcomes: Array<Outcome & { i: number }> = [];
    const watched: Array<Promise<void>> = [];
    for (let i = 0; i < 1500; i++) {
      const controller = new AbortController();
      const call = pool.toThread.with({ timeout: 300, signal: controller.signal })(step, counts, i, hangs(i) ? 60_000 : 0);
      watched.push(call.then((value) => void outcomes.push({ i, ok: true, value }), (error: unknown) => void outcomes.push({ i, ok: false, error })));
      if (i % 97 === 3) setImmediate(() => controller.abort(new Error(`abort ${i}`)));
    }
    await Promise.all(watched);
    expect(outcomes).toHaveLength(1500); // each call settled exactly once
    for (const outcome of outcomes) {
      if (hangs(outcome.i)) expect((outcome as { error: unknown }).error).toBeInstanceOf(TimeoutError);
      else if (!outcome.ok) expect((outcome.error as Error).message).toBe(`abort ${outcome.i}`); // never a timeout: a wait in a batch does not count
      else expect(Atomics.load(counts, outcome.i)).toBe(1);
    }
    expect(counts.every((n) => n <= 1)).toBe(true); // nothing ran twice
    expect(pool.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('timeouts firing while calls are still queued remove only those calls', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    const running = pool.toThread(busyWaitSync, 300);
    const queued = Array.from({ length: 20 }, () => pool.toThread.with({ timeout: 50, timeoutFrom: 'call' })(busyWaitSync, 1));
    const outcomes = await Promise.allSettled(queued);
    expect(outcomes.every((o) => o.status === 'rejected' && (o.reason as Error).name === 'TimeoutError')).toBe(true);
    expect(await running).toBe(300); // the worker running it was never touched
  });

  it('cancelling a call never terminates a worker that runs someone else’s call', async () => {
    await using pool = createPool({ minThreads: 2, maxThreads: 2 });
    for (let round = 0; round < 15; round++) {
      const controller = new AbortController();
      const other = pool.toThread(busyWaitSync, 60);
      const cancelled = pool.toThread.with({ signal: controller.signal })(busyWaitSync, 5_000);
      setTimeout(() => controller.abort(), 20);
      const [otherOutcome, cancelledOutcome] = await Promise.allSettled([other, cancelled]);
      expect(otherOutcome).toEqual({ status: 'fulfilled', value: 60 });
      expect(cancelledOutcome.status).toBe('rejected');
    }
    expect(pool.stats()).toMatchObject({ running: 0, queued: 0, failed: 0, cancelled: 15, completed: 15 });
  });
});
