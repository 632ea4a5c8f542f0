import { describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { SHARE_ENV } from 'node:worker_threads';
import { createInstance, createPool, PoolClosedError, QueueFullError, timeout, TimeoutError, waitFor, WorkerExitError, wrapModule } from '@tothread/core';
import { hangFlag } from './fixtures/hangs-on-load.mjs';
import { firstTicket, firstTicketFour, firstTicketThree, firstTicketToo } from './fixtures/first-calls.mjs';
import { busyWaitSync, spinForever } from './fixtures/legacy-esm.mjs';
import { lookUp, lookUpTwice } from './fixtures/module-state.mjs';
import { settle, sleep, thrown, workersOf } from './helpers.js';


describe('options', () => {
  it('rejects invalid options with a message that says what was expected and what was given', () => {
    const error = thrown(() => createPool({ maxThreads: 0 }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toMatchObject({ code: 'ERR_OUT_OF_RANGE', message: 'Expected `maxThreads` to be a whole number from 1 and up, got `0` (number)' });
    expect(() => createPool({ maxThreads: 1.5 })).toThrow(RangeError);
    expect(() => createPool({ minThreads: 3, maxThreads: 2 })).toThrow(/Expected `minThreads` to be at most `maxThreads` \(2\), got `3`/);
    expect(() => createPool({ idleTimeout: -5 })).toThrow(RangeError);
    expect(() => createPool({ execArgv: '--inspect' as never })).toThrow(TypeError);
    expect(() => createPool({ threads: 2 } as never)).toThrow(/Unknown option `threads`/);
    // Node would ignore a limit it does not know or cannot use, and run the workers with no cap.
    expect(() => createPool({ resourceLimits: { maxOldSpaceSizeMb: 16 } as never })).toThrow(/Unknown option `maxOldSpaceSizeMb` in `resourceLimits`/);
    expect(() => createPool({ resourceLimits: { maxOldGenerationSizeMb: '16' as never } })).toThrow(TypeError);
    expect(() => createPool({ resourceLimits: { maxOldGenerationSizeMb: -5 } })).toThrow('Expected `resourceLimits.maxOldGenerationSizeMb` to be a number of MB above 0, got `-5` (number)');
    // Node takes these, and the first worker then fails (an unknown symbol), or ends the whole process (a tiny stack).
    expect(thrown(() => createPool({ env: Symbol('env') as never }))).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE', // a symbol, but not SHARE_ENV; before: ERR_INVALID_ARG_TYPE
      message: expect.stringMatching(/^Expected `env` to be an object of strings or worker_threads\.SHARE_ENV, got /),
    });
    expect(() => createPool({ env: SHARE_ENV })).not.toThrow();
    expect(() => createPool({ resourceLimits: { stackSizeMb: 0.25 } })).toThrow(/Expected `resourceLimits\.stackSizeMb` to be a number of MB from 1 \(a smaller stack can overflow as the worker starts, which ends the whole process/);
  });

  it('fails a call, or an instance, with WorkerExitError when Node cannot create a worker thread at all, and tries again at the next', async () => {
    await using pool = createPool({ maxThreads: 1, resourceLimits: { stackSizeMb: 1e9 } }); // more than the address space
    for (const attempt of [pool.toThread((x: number) => x, 1), pool.toThread((x: number) => x, 2), createInstance.with({ pool })('./fixtures/stateful.cjs', 'Inventory', 'x')]) {
      const error = (await settle(attempt)) as WorkerExitError;
      expect(error).toBeInstanceOf(WorkerExitError);
      expect(error.message).toMatch(/^No worker thread could start: Node could not create one \(.+\)\. Check the pool's resourceLimits \(stackSizeMb\)/);
      expect(error.cause).toMatchObject({ code: 'ERR_WORKER_INIT_FAILED' }); // before: this bare Error itself
    }
  });
});

describe('queue and stats', () => {
  it('serves calls in FIFO order and reports queued, running and completed calls', async () => {
    const pool = createPool({ maxThreads: 1 });
    const order: number[] = [];
    const calls = [0, 1, 2, 3, 4].map((i) => pool.toThread(busyWaitSync, 20 + i).then((ms) => order.push(ms - 20)));
    expect(pool.stats()).toMatchObject({ running: 1, queued: 4 });
    await Promise.all(calls);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(pool.stats()).toMatchObject({ running: 0, queued: 0, completed: 5, failed: 0, cancelled: 0, threads: 1 });
    await pool.close();
  });

  it('keeps call order when the first call of a module function, or of a facade\'s export, waits to be located: the calls after it start after it', async () => {
    await using pool = createPool({ maxThreads: 1 });
    await pool.toThread(() => 0); // its worker started
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const ticket = (c: Int32Array, ms: number): number => {
      const until = Date.now() + ms;
      while (Date.now() < until);
      return Atomics.add(c, 0, 1);
    };
    // Before: 0, 3, 1, 2: the calls made after it entered the queue while its module was located.
    expect(await Promise.all([pool.toThread(ticket, counter, 50), pool.toThread(firstTicket, counter), pool.toThread(ticket, counter, 0), pool.toThread(ticket, counter, 0)])).toEqual([0, 1, 2, 3]);
    const facade = wrapModule<typeof import('./fixtures/first-calls-facade.cjs')>('./fixtures/first-calls-facade.cjs', { pool });
    Atomics.store(counter, 0, 0);
    expect(await Promise.all([pool.toThread(ticket, counter, 50), facade.ticket(counter), pool.toThread(ticket, counter, 0)])).toEqual([0, 1, 2]);
  });

  it('refuses the later call, not the first call of a module function, when maxQueue is reached while that one is located', async () => {
    await using pool = createPool({ maxThreads: 1, maxQueue: 1 });
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const running = pool.toThread(busyWaitSync, 100);
    const first = settle(pool.toThread(firstTicketToo, counter));
    const later = settle(pool.toThread(busyWaitSync, 1));
    expect(pool.stats()).toMatchObject({ running: 1, queued: 2 }); // both count as queued while they wait their turn
    expect(await later).toBeInstanceOf(QueueFullError); // before: the first call was refused instead
    expect([await running, await first]).toEqual([100, 0]);
  });

  it('lets the calls made after a facade call whose module never finishes loading go ahead, and rejects that call at once when it is cancelled', { timeout: 20_000 }, async () => {
    const pool = createPool({ maxThreads: 2 });
    writeFileSync(hangFlag, '');
    try {
      const legacy = wrapModule<{ next: (x: number) => number }>('./fixtures/hangs-on-load.mjs', { pool });
      let stuck!: Promise<number>;
      const scope = settle(timeout(200, () => (stuck = legacy.next(1))));
      const later = pool.toThread((x: number) => x * 2, 21);
      expect(await scope).toBeInstanceOf(TimeoutError);
      // Before: it waited for the module for ever, the scope's cancel kept until then.
      expect(await Promise.race([settle(stuck), sleep(5_000).then(() => 'still pending')])).toBeInstanceOf(TimeoutError);
      // Before: it waited in line behind the facade call for ever.
      expect(await Promise.race([later, sleep(10_000).then(() => 'still pending')])).toBe(42);
      expect(pool.stats()).toMatchObject({ queued: 0, completed: 1 });
    } finally {
      rmSync(hangFlag, { force: true });
      await pool.destroy(); // its worker still loads the module
    }
  });

  it('lets go of the look-up when a facade stream waiting for a module that never finishes loading is left, its scope cancelled or its next() cancelled, so close() ends', { timeout: 30_000 }, async () => {
    const pool = createPool({ maxThreads: 2 });
    writeFileSync(hangFlag, '');
    try {
      const legacy = wrapModule<{ count: (n: number) => Generator<number> }>('./fixtures/hangs-on-load.mjs', { pool });
      expect(await settle(timeout(100, async () => {
        for await (const _ of legacy.count(2));
      }))).toBeInstanceOf(TimeoutError);
      expect(await settle(waitFor(legacy.count(2).next(), 100))).toBeInstanceOf(TimeoutError);
      const left = legacy.count(2);
      const order: string[] = [];
      const pending = left.next().then((result) => order.push(`next: ${JSON.stringify(result)}`));
      await sleep(50);
      await left.return!();
      order.push('return');
      await pending;
      expect(order).toEqual(['next: {"done":true}', 'return']); // before: that next() never settled
      // Before: the look-up ran on with its worker, and the process and close() waited for it for ever.
      expect(await Promise.race([pool.close(), sleep(10_000).then(() => 'still closing')])).toBeUndefined();
      expect(pool.stats()).toMatchObject({ running: 0, completed: 0, failed: 0 });
    } finally {
      rmSync(hangFlag, { force: true });
      await pool.destroy();
    }
  });

  it('stops the look-up of a facade export whose module never finishes loading once every call waiting for it has left, so close() ends', { timeout: 30_000 }, async () => {
    const pool = createPool({ maxThreads: 2 });
    writeFileSync(hangFlag, '');
    try {
      const legacy = wrapModule<{ next: (x: number) => number }>('./fixtures/hangs-on-load.mjs', { pool });
      const first = settle(timeout(100, () => legacy.next(1)));
      const second = settle(timeout(300, () => legacy.next(2)));
      expect(await first).toBeInstanceOf(TimeoutError);
      await sleep(50);
      expect(pool.stats()).toMatchObject({ running: 1 }); // the second call still waits for the look-up
      expect(await second).toBeInstanceOf(TimeoutError);
      // Before: the look-up ran on with its worker, and close() waited for it for ever.
      expect(await Promise.race([pool.close(), sleep(10_000).then(() => 'still closing')])).toBeUndefined();
      expect(pool.stats()).toMatchObject({ running: 0, cancelled: 2, failed: 0 }); // the two calls; not the look-up
    } finally {
      rmSync(hangFlag, { force: true });
      await pool.destroy();
    }
    // A module that loads in the end: a call that left does not stop the look-up of one that waits.
    await using slow = createPool({ maxThreads: 1 });
    const loading = wrapModule<{ quick: (x: number) => number }>('./fixtures/slow-load.mjs', { pool: slow });
    const gone = settle(timeout(20, () => loading.quick(1)));
    const stays = loading.quick(2);
    expect(await gone).toBeInstanceOf(TimeoutError);
    expect(await stays).toBe(3);
  });

  it('counts a call that waited in line and never entered the queue: cancelled when cancelled there, failed when the pool closed', async () => {
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const closing = createPool({ maxThreads: 1 });
    const first = settle(closing.toThread(firstTicketThree, counter));
    const behind = settle(closing.toThread((x: number) => x, 1));
    expect(closing.stats()).toMatchObject({ queued: 2 });
    await closing.close();
    expect([await first, await behind]).toEqual([expect.any(PoolClosedError), expect.any(PoolClosedError)]);
    expect(closing.stats()).toMatchObject({ queued: 0, failed: 2, cancelled: 0 }); // before: 0 and 0, as if they never were
    await using pool = createPool({ maxThreads: 1 });
    let call!: Promise<number>;
    expect(await settle(timeout(1, async () => void (await (call = pool.toThread(firstTicketFour, counter)))))).toBeInstanceOf(TimeoutError);
    await settle(call);
    await sleep(50);
    expect(pool.stats()).toMatchObject({ queued: 0, cancelled: 1 });
  });

  it('rejects a call beyond maxQueue with QueueFullError and drops nothing it accepted', async () => {
    const pool = createPool({ maxThreads: 1, maxQueue: 1 });
    const running = pool.toThread(busyWaitSync, 200);
    const queued = pool.toThread(busyWaitSync, 1);
    const refused = await settle(pool.toThread(busyWaitSync, 2));
    expect(refused).toBeInstanceOf(QueueFullError);
    expect((refused as QueueFullError).limit).toBe(1);
    expect(await Promise.all([running, queued])).toEqual([200, 1]);
    await pool.close();
  });
});

describe('close and destroy', () => {
  it('close() waits for running calls, rejects queued ones, and refuses new ones', async () => {
    const pool = createPool({ maxThreads: 1 });
    const running = pool.toThread(busyWaitSync, 300);
    const queued = settle(pool.toThread(busyWaitSync, 1));
    const closed = pool.close();
    expect(pool.state).toBe('closing');
    const late = await settle(pool.toThread(busyWaitSync, 1));
    expect(late).toBeInstanceOf(PoolClosedError);
    expect(await queued).toBeInstanceOf(PoolClosedError);
    // Neither ever ran: running them again elsewhere runs them once.
    expect([(late as PoolClosedError).started, ((await queued) as PoolClosedError).started]).toEqual([false, false]);
    expect(await running).toBe(300);
    await closed;
    expect(pool.state).toBe('closed');
    expect(pool.stats().threads).toBe(0);
  });

  it('refuses a call made before close() or destroy() but still locating its module function as a queued one, saying so', async () => {
    for (const [end, fn] of [['close', lookUp], ['destroy', lookUpTwice]] as const) {
      const pool = createPool({ maxThreads: 1 });
      const call = settle(pool.toThread(fn, 1)); // its first call: the export is located first
      const ended = pool[end]();
      const error = (await call) as Error;
      expect(error).toBeInstanceOf(PoolClosedError);
      expect(error.message).toMatch(end === 'close' ? /^The pool was closed before this call started: await the calls you need before close\(\)/ : /^The pool was destroyed before this call started/);
      await ended;
    }
  });

  it('close({ timeout }) stops a call still running when the timeout ends', async () => {
    const pool = createPool({ maxThreads: 1 });
    const stuck = settle(pool.toThread(spinForever));
    await pool.close({ timeout: 200 });
    const error = await stuck;
    expect(error).toBeInstanceOf(PoolClosedError);
    expect((error as Error).message).toMatch(/after waiting 200 ms/);
  });

  it('destroy() rejects running and queued calls with PoolClosedError at once, saying which had started', async () => {
    const pool = createPool({ maxThreads: 1 });
    const running = settle(pool.toThread(spinForever));
    const queued = settle(pool.toThread(busyWaitSync, 1));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await pool.destroy();
    expect(await running).toBeInstanceOf(PoolClosedError);
    expect(await queued).toBeInstanceOf(PoolClosedError);
    expect([((await running) as PoolClosedError).started, ((await queued) as PoolClosedError).started]).toEqual([true, false]);
    expect(pool.state).toBe('closed');
  });

  it('a second destroy(), or destroy() during close(), resolves only once the workers have exited', async () => {
    for (const first of ['destroy', 'close'] as const) {
      const pool = createPool({ minThreads: 2, maxThreads: 2 });
      const running = [settle(pool.toThread(spinForever)), settle(pool.toThread(spinForever))];
      await new Promise((resolve) => setTimeout(resolve, 100));
      const workers = workersOf(pool);
      let exited = 0;
      for (const worker of workers) worker.once('exit', () => exited++);
      const ending = first === 'destroy' ? pool.destroy() : pool.close({ timeout: 60_000 });
      await pool.destroy();
      expect(exited).toBe(2);
      expect(pool.state).toBe('closed');
      await ending;
      for (const call of running) expect(await call).toBeInstanceOf(PoolClosedError);
    }
  });

  it('closes at the end of an `await using` block', async () => {
    let escaped: ReturnType<typeof createPool> | undefined;
    {
      await using pool = createPool({ maxThreads: 1 });
      escaped = pool;
      expect(await pool.toThread(() => 'in scope')).toBe('in scope');
    }
    expect(escaped.state).toBe('closed');
  });
});

describe('a worker that dies', () => {
  it('rejects the call with WorkerExitError carrying the exit code, and the pool replaces the worker', async () => {
    const pool = createPool({ maxThreads: 1 });
    const error = await settle(pool.toThread(() => process.exit(7)));
    expect(error).toBeInstanceOf(WorkerExitError);
    expect((error as WorkerExitError).exitCode).toBe(7);
    expect(await pool.toThread(() => 'replaced')).toBe('replaced');
    expect(pool.stats().failed).toBe(1);
    await pool.close();
  });
});
