import { describe, expect, it } from 'vitest';
import { createInstance, createPool, timeout, TimeoutError, transfer, waitFor, wrapModule } from '@tothread/core';
import { echoBytes } from './fixtures/buffers.mjs';
import { spinForever } from './fixtures/legacy-esm.mjs';
import type * as streams from './fixtures/streams.mjs';
import { fixture, runNode, settle, sleep } from './helpers.js';

// Regressions for defects a second read found; each test fails on the old code.
describe('a second read: cancellation, streams and processes that end', () => {
  it('a call that moves a buffer still works on a worker that replaced one stopped by a timeout', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    for (let i = 0; i < 5; i++) await pool.toThread(echoBytes, new Uint8Array(8)); // the short form is in use now
    expect(await settle(pool.toThread.with({ timeout: 50 })(spinForever))).toBeInstanceOf(TimeoutError);
    const back = await pool.toThread(echoBytes, transfer(new Uint8Array(16).fill(9)));
    expect(back).toEqual(new Uint8Array(16).fill(9));
  });

  it('an instance that is created and never called does not keep the process alive', async () => {
    const run = await runNode([fixture('instance-never-called.mjs')], { timeoutMs: 15_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('created');
  });

  it('createInstance and wrapModule refuse a specifier that is not a string', async () => {
    expect(await settle(createInstance(undefined as unknown as string, 'X'))).toBeInstanceOf(TypeError);
    expect(() => wrapModule(42 as unknown as string)).toThrow(TypeError);
  });

  it("refuses queueFull: 'wait' with maxQueue 0, which could never grant a place", () => {
    expect(() => createPool({ maxQueue: 0, queueFull: 'wait' })).toThrow(RangeError);
  });

  it('a facade generator call iterated later does not surface an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const legacy = wrapModule<typeof streams>('./fixtures/streams.mjs');
      const rows = legacy.asyncRows(2);
      await sleep(100); // the export is described meanwhile
      const seen: unknown[] = [];
      for await (const row of rows) seen.push(row);
      expect(seen).toHaveLength(2);
      await sleep(20);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a facade stream closed before its export is described never starts', async () => {
    const legacy = wrapModule<typeof streams>('./fixtures/streams.mjs');
    const shared = new SharedArrayBuffer(8);
    const iterator = legacy.produce(1_000_000, shared)[Symbol.asyncIterator]();
    const first = iterator.next();
    await iterator.return!();
    expect(await first).toEqual({ value: undefined, done: true });
    await sleep(200);
    expect(Atomics.load(new Int32Array(shared), 0)).toBe(0); // the generator never ran
  });

  it('two next() calls at once on a stream both settle, in order', async () => {
    await using pool = createPool({ maxThreads: 1 });
    const iterator = pool.toThread(function* three() {
      yield 1;
      yield 2;
      yield 3;
    });
    const [a, b] = await Promise.all([iterator.next(), iterator.next()]);
    expect([a.value, b.value].sort()).toEqual([1, 2]);
    await iterator.return!();
  });

  it('waitFor stops a facade call (the work, not only the wait)', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    const legacy = wrapModule<{ spinForever: () => never }>('./fixtures/legacy-esm.mjs', { pool });
    expect(await settle(waitFor(legacy.spinForever(), 150))).toBeInstanceOf(TimeoutError);
    expect(await pool.toThread(() => 'served')).toBe('served'); // one worker: the loop was stopped
  });

  it("one caller's cancelled scope does not fail another caller of the same export", async () => {
    const legacy = wrapModule<{ busyWaitSync: (ms: number) => number }>('./fixtures/legacy-esm.mjs');
    const a = settle(timeout(1, () => legacy.busyWaitSync(50)));
    const b = legacy.busyWaitSync(5);
    expect(await a).toBeInstanceOf(TimeoutError);
    expect(await b).toBe(5);
  });
});
