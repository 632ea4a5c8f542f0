import { afterAll, describe, expect, it } from 'vitest';
import { createPool, TimeoutError } from '@tothread/core';
import { busyWaitSync, spinForever } from './fixtures/legacy-esm.mjs';
import { settle, thrown } from './helpers.js';

const pool = createPool({ minThreads: 1, maxThreads: 1 });
afterAll(() => pool.close());


describe('timeout', () => {
  it('stops a running infinite loop when its timeout fires, and the pool keeps serving', async () => {
    const error = await settle(pool.toThread.with({ timeout: 300 })(spinForever));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeout).toBe(300);
    expect((error as TimeoutError).code).toBe('ERR_TOTHREAD_TIMEOUT');
    expect((error as TimeoutError).message).toBe('`spinForever` timed out after 300 ms');
    expect(await pool.toThread((a: number) => a + 1, 41)).toBe(42);
  });

  it('counts only run time: a call that waited in the queue longer than its timeout still completes', async () => {
    const first = pool.toThread(busyWaitSync, 700);
    const second = pool.toThread.with({ timeout: 500 })(busyWaitSync, 50);
    expect(await Promise.all([first, second])).toEqual([700, 50]);
  });

  it('applies to every call of a threaded() function', async () => {
    const bounded = pool.threaded(spinForever, { timeout: 200 });
    await expect(bounded()).rejects.toBeInstanceOf(TimeoutError);
    await expect(bounded()).rejects.toBeInstanceOf(TimeoutError);
    expect(await pool.toThread(() => 'still serving')).toBe('still serving');
  });
});

describe('signal', () => {
  it('stops a running infinite loop when its signal aborts, rejecting with signal.reason', async () => {
    const controller = new AbortController();
    const reason = new Error('user pressed cancel');
    const call = pool.toThread.with({ signal: controller.signal })(spinForever);
    setTimeout(() => controller.abort(reason), 200);
    expect(await settle(call)).toBe(reason);
    expect(await pool.toThread((s: string) => s.toUpperCase(), 'ok')).toBe('OK');
  });

  it('removes an aborted queued call without disturbing the call running on the worker', async () => {
    const controller = new AbortController();
    const running = pool.toThread(busyWaitSync, 300);
    const queued = pool.toThread.with({ signal: controller.signal })(busyWaitSync, 1);
    expect(pool.stats()).toMatchObject({ running: 1, queued: 1 });
    controller.abort();
    const reason = await settle(queued);
    expect(reason).toBeInstanceOf(DOMException);
    expect((reason as DOMException).name).toBe('AbortError');
    expect(pool.stats().queued).toBe(0);
    expect(await running).toBe(300); // the worker was not terminated
  });

  it('rejects at once with the reason when the signal is already aborted', async () => {
    const fresh = createPool();
    const reason = new Error('too late');
    expect(await settle(fresh.toThread.with({ signal: AbortSignal.abort(reason) })(busyWaitSync, 1))).toBe(reason);
    expect(fresh.stats().threads).toBe(0);
    await fresh.close();
  });

  it('combines a threaded() signal with a per-call signal: either one cancels', async () => {
    const outer = new AbortController();
    const inner = new AbortController();
    const call = pool.threaded(spinForever, { signal: outer.signal }).with({ signal: inner.signal })();
    setTimeout(() => inner.abort('inner'), 100);
    expect(await settle(call)).toBe('inner');
  });

  it('ignores an abort that comes after the call settled', async () => {
    const controller = new AbortController();
    expect(await pool.toThread.with({ signal: controller.signal })((n: number) => n * 2, 4)).toBe(8);
    controller.abort();
    expect(await pool.toThread(() => 'fine')).toBe('fine');
  });
});

describe('bad call options', () => {
  it('rejects a negative, infinite or non-numeric timeout, and unknown options, with the standard message', () => {
    const negative = thrown(() => pool.toThread.with({ timeout: -1 }));
    expect(negative).toBeInstanceOf(RangeError);
    expect(negative.message).toBe('Expected `options.timeout` to be a number of milliseconds from 0 to 2147483647, got `-1` (number)');
    expect(() => pool.toThread.with({ timeout: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => pool.toThread.with({ timeout: 2 ** 31 })).toThrow(RangeError); // Node would fire it after 1 ms
    expect(() => pool.toThread.with({ timeout: Number.NaN })).toThrow(RangeError);
    const text = thrown(() => pool.toThread.with({ timeout: '5' as never }));
    expect(text).toBeInstanceOf(TypeError);
    expect(text).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', message: 'Expected `options.timeout` to be a number of milliseconds, got `5` (string)' });
    expect(() => pool.toThread.with({ signal: {} as never })).toThrow(TypeError);
    expect(() => pool.toThread.with({ timout: 5 } as never)).toThrow(/Unknown option `timout`/);
  });
});
