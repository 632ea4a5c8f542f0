import { describe, expect, it } from 'vitest';
import { createPool, ModuleLoadError, WorkerExitError, type Pool } from '@tothread/core';
import { busyWaitSync } from './fixtures/legacy-esm.mjs';
import { configuredSync } from './fixtures/worker-only-throw.mjs';
import { fixture, nextWarning, settle, sleep, workersOf } from './helpers.js';



/** Runs `fault` next to an untouched call on the other worker; checks replacement and stats. */
async function faultNextToWork(pool: Pool, fault: () => Promise<unknown>): Promise<unknown> {
  await Promise.all([pool.toThread(busyWaitSync, 30), pool.toThread(busyWaitSync, 30)]); // two live workers
  const before = pool.stats();
  const bystander = pool.toThread(busyWaitSync, 400);
  const outcome = await settle(fault());
  expect(await bystander).toBe(400); // the call on the other worker was not touched
  expect(await pool.toThread((x: number) => x * 2, 21)).toBe(42); // the pool replaced the worker and serves
  const after = pool.stats();
  expect(after.failed).toBe(before.failed + 1);
  expect(after.completed).toBe(before.completed + 2);
  expect(after).toMatchObject({ running: 0, queued: 0 });
  return outcome;
}

describe('a fault in one worker fails only its own call, and the pool replaces the worker', () => {
  it('process.exit() inside the task', async () => {
    await using pool = createPool({ minThreads: 2, maxThreads: 2 });
    const error = (await faultNextToWork(pool, () => pool.toThread(() => process.exit(42)))) as WorkerExitError;
    expect(error).toBeInstanceOf(WorkerExitError);
    expect(error.exitCode).toBe(42);
    expect(error.message).toMatch(/exited with code 42 before the call settled/);
  });

  it('an unhandled rejection inside the worker', async () => {
    await using pool = createPool({ minThreads: 2, maxThreads: 2 });
    const error = (await faultNextToWork(pool, () =>
      pool.toThread(async () => {
        void Promise.reject(new Error('a promise nobody handled'));
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        return 'never';
      }),
    )) as WorkerExitError;
    expect(error).toBeInstanceOf(WorkerExitError);
    expect(error.message).toMatch(/crashed \(a promise nobody handled\)/);
    expect((error.cause as Error).message).toBe('a promise nobody handled');
  });

  it('an out-of-memory kill through resourceLimits', async () => {
    await using pool = createPool({ minThreads: 2, maxThreads: 2, resourceLimits: { maxOldGenerationSizeMb: 32 } });
    const error = (await faultNextToWork(pool, () =>
      pool.toThread(() => {
        const hog: number[][] = [];
        for (;;) hog.push(new Array(100_000).fill(1.5));
      }),
    )) as WorkerExitError;
    expect(error).toBeInstanceOf(WorkerExitError);
    expect(error.message).toMatch(/ran out of memory before the call settled\. The pool replaces the worker\. Raise the pool's resourceLimits, or process the data in smaller pieces\.$/);
  });

  it('the worker killed from outside', async () => {
    await using pool = createPool({ minThreads: 2, maxThreads: 2 });
    const error = await faultNextToWork(pool, async () => {
      const call = pool.toThread(busyWaitSync, 5_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const victims = workersOf(pool);
      // The bystander runs 400 ms; the 5 s call is the other worker. Terminate that one only.
      await Promise.all(victims.slice(-1).map((w) => w.terminate()));
      return call;
    });
    expect(error).toBeInstanceOf(WorkerExitError);
  });
});

describe('faults that do not kill the worker come back as errors', () => {
  it('a stack overflow rejects with RangeError and the worker goes on', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    const error = await settle(pool.toThread(function recurse(n: number): number {
      return recurse(n + 1) + 1;
    }, 0));
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toMatch(/Maximum call stack size exceeded/);
    expect(pool.stats().threads).toBe(1);
    expect(await pool.toThread(() => 'same worker')).toBe('same worker');
  });

  it('a module that throws at its top level in the worker rejects with ModuleLoadError', async () => {
    await using pool = createPool({ maxThreads: 1 });
    const error = (await settle(pool.toThread(configuredSync))) as ModuleLoadError;
    expect(error).toBeInstanceOf(ModuleLoadError);
    expect((error.cause as Error).message).toMatch(/cannot load in a worker/);
    expect(await pool.toThread(() => 'serving')).toBe('serving');
  });
});

/** What `promise` settled with, or 'pending' if it had not after `ms` (a loaded machine gets plenty). */
function within(promise: Promise<unknown>, ms = 10_000): Promise<unknown> {
  return Promise.race([settle(promise), new Promise((resolve) => setTimeout(() => resolve('pending'), ms).unref())]);
}

describe('faults around a call, not in it', () => {
  it('a worker that fails while starting fails the calls waiting for it, and every later call tries afresh', async () => {
    for (const minThreads of [0, 1]) {
      await using pool = createPool({ minThreads, maxThreads: 2, execArgv: ['--require', fixture('throws-at-preload.cjs')] });
      for (let call = 0; call < 3; call++) {
        const error = (await within(pool.toThread((x: number) => x, call))) as WorkerExitError;
        expect(error).toBeInstanceOf(WorkerExitError);
        expect(error.message).toMatch(/^No worker thread could start to run .*: one crashed \(preload failed\) while starting/);
        expect((error.cause as Error).message).toBe('preload failed');
      }
      expect(pool.stats()).toMatchObject({ running: 0, queued: 0, failed: 3 });
    }
  });

  it('a worker terminated while starting leaves no call waiting for ever once the last worker dies too, and close() returns', async () => {
    const pool = createPool({ minThreads: 1, maxThreads: 2 });
    await pool.toThread(busyWaitSync, 1); // one worker, started
    const first = settle(pool.toThread(busyWaitSync, 300));
    const second = settle(pool.toThread((x: number) => x * 2, 21)); // Piscina starts a second worker for it
    const [running, starting] = workersOf(pool);
    // Piscina then replaces no worker that dies (it takes one dying before it was ready for a sign
    // that every worker would): the call waiting for the second one waited for ever, and close() too.
    await starting!.terminate();
    await running!.terminate();
    expect(await within(first)).toBeInstanceOf(WorkerExitError);
    expect(await within(second)).toBe(42);
    await expect(within(pool.close())).resolves.toBeUndefined();
  });

  it('a worker whose preload exits fails the calls waiting for it as unable to start, and close() returns', async () => {
    const pool = createPool({ minThreads: 0, maxThreads: 2, execArgv: ['--require', fixture('exits-at-preload.cjs')] });
    const outcomes = await Promise.all([0, 1, 2].map((i) => within(pool.toThread((x: number) => x, i))));
    // Before: the last call stayed pending (no 'error' to say the worker could not start), and close() too.
    for (const outcome of outcomes) {
      expect(outcome).toBeInstanceOf(WorkerExitError);
      expect((outcome as Error).message).toMatch(/^No worker thread could start to run/);
    }
    await expect(within(pool.close())).resolves.toBeUndefined();
  });

  it('a worker that crashes idle after its batch answered fails none of the calls that ran (their answers were on the way)', async () => {
    // A race: before the fix, 1-4 trials in 30 failed every call of the batch as "could not start".
    for (let trial = 0; trial < 50; trial++) {
      await using pool = createPool({ minThreads: 0, maxThreads: 1 });
      const leaveThrow = (i: number, last: number): number => {
        if (i === last) setImmediate(() => {
          throw new Error(`left behind by ${i}`);
        });
        return i;
      };
      for (let i = 0; i < 5; i++) await pool.toThread(leaveThrow, i, -1); // quick calls: they batch
      const outcomes = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => pool.toThread(leaveThrow, i, 29)));
      expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
    }
  });

  it('a call sent to a worker that a timer a finished call left behind kills before starting it runs on another, with a warning', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    const warnings: string[] = [];
    const onWarning = (warning: Error & { code?: string }): number => warnings.push(`${warning.code}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const started = new Int32Array(new SharedArrayBuffer(4 * 32));
      const leaveThrow = (round: number): number => {
        setTimeout(() => {
          throw new Error(`left behind by round ${round}`);
        }, 1);
        return round;
      };
      // 11 ms: above the batching limit, each goes alone, and the next is sent as the timer is due.
      const mark = (runs: Int32Array, i: number): number => {
        Atomics.add(runs, i, 1);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 11);
        return i;
      };
      const calls: Array<Promise<unknown>> = [];
      for (let round = 0; round < 8; round++) {
        calls.push(pool.toThread(leaveThrow, round));
        for (let k = 0; k < 4; k++) calls.push(pool.toThread(mark, started, round * 4 + k));
      }
      const outcomes = await Promise.allSettled(calls);
      // Before: 3 to 6 of the 32 failed with a WorkerExitError blaming them, never having started.
      expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
      // Each ran once: a call that answered as its worker died is not sent again (before: 1 in 30 twice).
      expect(Array.from(started)).toEqual(Array<number>(32).fill(1));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(warnings.length).toBeGreaterThan(0); // the error is said, not dropped
      expect(warnings.every((text) => /^TOTHREAD_WORKER_ERROR: A tothread worker failed outside any call: Error: left behind by round \d+$/.test(text))).toBe(true);
      // A call that moves something (here callback ports) cannot be sent again: what it moved went
      // with the worker. It fails with the worker's death, not a CloneError blaming its arguments.
      const withCallback = (onDone: () => void, ms: number): number => {
        onDone();
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
        return ms;
      };
      const moving: Array<Promise<unknown>> = [];
      for (let round = 8; round < 16; round++) {
        moving.push(pool.toThread(leaveThrow, round));
        for (let k = 0; k < 2; k++) moving.push(pool.toThread(withCallback, () => {}, 11));
      }
      for (const outcome of await Promise.allSettled(moving)) {
        if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(WorkerExitError);
      }
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a call sent to a worker that a timer left behind kills just after the call before answered runs on another (it is not blamed)', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    // Three functions (each call goes alone): the first leaves a check that throws once the second
    // has run, in the same turn of the worker's event loop as the second's answer leaves; the
    // third is sent as that answer arrives.
    const leaveCheck = (flag: Int32Array): string => {
      const check = (): void => {
        if (Atomics.load(flag, 0) === 1) throw new Error('left behind by leaveCheck');
        setImmediate(check);
      };
      setImmediate(check);
      return 'first';
    };
    const setFlag = (flag: Int32Array, runs: Int32Array): string => {
      Atomics.add(runs, 0, 1);
      Atomics.store(flag, 0, 1);
      return 'second';
    };
    const count = (runs: Int32Array): string => {
      Atomics.add(runs, 1, 1);
      return 'third';
    };
    for (let round = 0; round < 10; round++) {
      const flag = new Int32Array(new SharedArrayBuffer(4));
      const runs = new Int32Array(new SharedArrayBuffer(8));
      const outcomes = await Promise.allSettled([pool.toThread(leaveCheck, flag), pool.toThread(setFlag, flag, runs), pool.toThread(count, runs)]);
      // Before: the third failed every round, "crashed (left behind by leaveCheck)", never having started.
      expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : (outcome.reason as Error).message))).toEqual(['first', 'second', 'third']);
      expect(Array.from(runs)).toEqual([1, 1]);
    }
  });

  it('a call whose worker dies of what a call left behind after it answered, before its answer arrives, gets the answer the death carries, or fails saying so, and is not run again', async () => {
    const answerThenDie = async (said: object): Promise<unknown> => {
      await using pool = createPool({ minThreads: 1, maxThreads: 1 });
      const runs = new Int32Array(new SharedArrayBuffer(4));
      const call = pool.toThread((counter: Int32Array) => {
        Atomics.add(counter, 0, 1);
        return 'answered';
      }, runs);
      // The main thread is busy while the call answers, and learns of its worker's death first: the
      // worker's error names the last task it began, the pool's first, and carries its answer when
      // it still has it (as a worker marks what it dies of outside any call, see worker/strays.ts).
      const [worker] = workersOf(pool);
      const until = Date.now() + 10_000;
      while (Atomics.load(runs, 0) === 0 && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); // its answer is posted
      worker!.emit('error', Object.assign(new Error('thrown by a timer a call left behind'), { tothreadOutsideAnyCall: said }));
      const outcome = await settle(call);
      await sleep(200);
      expect(Atomics.load(runs, 0)).toBe(1); // before: 2, sent again as if it had never started
      expect(await pool.toThread((x: number) => x + 1, 1)).toBe(2); // the pool replaced the worker
      return outcome;
    };
    expect(await answerThenDie({ begun: 1, answer: { ok: true, value: 'carried by the death' } })).toBe('carried by the death');
    const error = (await answerThenDie({ begun: 1 })) as WorkerExitError;
    expect(error).toBeInstanceOf(WorkerExitError);
    expect(error.message).toMatch(/ran to the end, but its worker thread crashed \(thrown by a timer a call left behind\) before the answer reached this thread.*not run again/);
  });

  it('a call sent to a worker busy in a timer a call left behind runs on another, even when that call returned a bare SharedArrayBuffer', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    const answerLeaveSpin = (): { shared: SharedArrayBuffer } => {
      setTimeout(() => {
        const end = Date.now() + 150;
        while (Date.now() < end);
        throw new Error('left behind by answerLeaveSpin');
      }, 1);
      return { shared: new SharedArrayBuffer(8) };
    };
    const next = (runs: Int32Array): string => {
      Atomics.add(runs, 0, 1);
      return 'ran';
    };
    for (let round = 0; round < 3; round++) {
      await pool.toThread(answerLeaveSpin);
      await sleep(30); // its worker is busy in the timer, which then throws
      const runs = new Int32Array(new SharedArrayBuffer(4));
      // Before: a WorkerExitError blaming it (Node sends the worker's error with v8.serialize,
      // which refuses a bare SharedArrayBuffer: the mark saying what the worker began was lost).
      expect(await settle(pool.toThread(next, runs))).toBe('ran');
      expect(Atomics.load(runs, 0)).toBe(1);
    }
  });

  it('never runs a call twice when a microtask it left throws as its answer is on its way', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    const leaveMicrotask = async (runs: Int32Array, depth: number): Promise<string> => {
      Atomics.add(runs, 0, 1);
      let chain = Promise.resolve();
      for (let i = 0; i < depth; i++) chain = chain.then(() => {});
      void chain.then(() =>
        queueMicrotask(() => {
          throw new Error(`thrown ${depth} microtasks after the call`);
        }),
      );
      return 'answered';
    };
    for (const depth of [3, 4, 5, 6, 7, 7, 7, 8, 9, 10]) {
      const runs = new Int32Array(new SharedArrayBuffer(4));
      await settle(pool.toThread(leaveMicrotask, runs, depth)); // its answer, or the worker's death under it
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(Atomics.load(runs, 0)).toBe(1); // before: 2 at depth 7, sent again as if it had never started
    }
  });

  it("leaves a worker's own uncaughtException handler and its 'exit' listeners working", async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    const first = await pool.toThread(async () => {
      const { threadId } = await import('node:worker_threads');
      process.on('uncaughtException', () => ((globalThis as { swallowed?: number }).swallowed = ((globalThis as { swallowed?: number }).swallowed ?? 0) + 1));
      setTimeout(() => {
        throw new Error('swallowed by the handler');
      }, 1);
      return threadId;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const next = await pool.toThread(async () => [(await import('node:worker_threads')).threadId, (globalThis as { swallowed?: number }).swallowed]);
    expect(next).toEqual([first, 1]); // the same worker, kept alive by its handler
    const exited = new Int32Array(new SharedArrayBuffer(4));
    const error = await settle(pool.toThread(async (flag: Int32Array) => {
      process.removeAllListeners('uncaughtException');
      process.on('exit', () => Atomics.store(flag, 0, 1));
      setTimeout(() => {
        throw new Error('thrown during the call');
      }, 1);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }, exited));
    expect(error).toBeInstanceOf(WorkerExitError);
    expect(Atomics.load(exited, 0)).toBe(1); // the worker's 'exit' listener ran as it died
  });

  it('a rejection a finished call left behind is a warning, and the next call does not fail for it', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    const warned = nextWarning('TOTHREAD_UNHANDLED_REJECTION');
    expect(
      await pool.toThread(() => {
        void Promise.reject(new Error('left behind'));
        return 'answered';
      }),
    ).toBe('answered');
    const next = pool.toThread(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return 'not blamed';
    });
    expect(await next).toBe('not blamed');
    // One that also logs (its answer waits for its output) is not blamed either.
    expect(
      await pool.toThread(() => {
        void Promise.reject(new Error('left behind, logged'));
        console.log('a line');
        return 'answered too';
      }),
    ).toBe('answered too');
    // Nor one in a batch.
    const leaveAndLog = (i: number): number => {
      if (i === 5) void Promise.reject(new Error(`left behind by ${i}`));
      console.log(`call ${i}`);
      return i;
    };
    for (let i = 0; i < 10; i++) await pool.toThread(leaveAndLog, -1); // quick: its calls batch
    const batched = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => pool.toThread(leaveAndLog, i)));
    expect(batched.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
    expect((await warned)?.message).toMatch(/after the call that made it had answered .*left behind/s);
    expect(pool.stats()).toMatchObject({ completed: 33, failed: 0 });
  });

  it('a timer a finished call set fires while its worker is idle', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    await pool.toThread(() => void setTimeout(() => ((globalThis as { fired?: boolean }).fired = true), 0));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await pool.toThread(() => (globalThis as { fired?: boolean }).fired)).toBe(true);
  });
});
