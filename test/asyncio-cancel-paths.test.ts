import { afterAll, describe, expect, it } from 'vitest';
import {
  asCompleted,
  CancelledError,
  CancelScope,
  cancelScope,
  createPool,
  createTask,
  gather,
  limit,
  map,
  Queue,
  Semaphore,
  shield,
  TaskGroupError,
  taskGroup,
  timeout,
  TimeoutError,
  waitFor,
  wrapModule,
} from '@tothread/core';
import { spinForever } from './fixtures/legacy-esm.mjs';
import { spinWhileBound } from './fixtures/module-bound-spin.mjs';
import { lookUp } from './fixtures/module-state.mjs';
import { nextWarning, runNode, settle, sleep } from './helpers.js';

// One worker: the call after each cancellation can only be served if the spinning worker was
// really stopped, so a path that leaves the loop running makes its test hang, not pass.
const pool = createPool({ minThreads: 1, maxThreads: 1 });
afterAll(() => pool.close());

const later = (ms: number, fn: () => void): void => void setTimeout(fn, ms);

async function expectStoppedAndServing(): Promise<void> {
  expect(await pool.toThread((a: number, b: number) => a * b, 6, 7)).toBe(42);
}

describe('a call nobody awaits', () => {
  it('is not an unhandled rejection when its own scope or signal cancels it (running, queued, waiting for room or in line); a failure of its own still is', async () => {
    const script = `import { cancelScope, createPool, timeout, wrapModule } from '@tothread/core';
process.on('unhandledRejection', (e) => console.log('unhandled:', e.message));
const pool = createPool({ maxThreads: 1, maxQueue: 1, queueFull: 'wait' });
const spin = () => { for (;;); };
const legacy = wrapModule(${JSON.stringify(new URL('./fixtures/slow-load.mjs', import.meta.url).href)}, { pool });
await timeout(100, async () => {
  legacy.quick(1); // in line until its module has loaded (150 ms)
  pool.toThread(spin); // running
  pool.toThread(spin); // queued
  pool.toThread(spin); // waiting for room
  await new Promise(() => {});
}).catch((e) => console.log('scope:', e.name));
await cancelScope(async (scope) => {
  scope.cancel();
  pool.toThread(spin); // made in a scope cancelled already
}).catch((e) => console.log('scope:', e.name));
const controller = new AbortController();
pool.toThread.with({ signal: controller.signal })(spin);
setTimeout(() => controller.abort(new Error('stop')), 50);
await new Promise((resolve) => setTimeout(resolve, 500));
pool.toThread(() => { throw new Error('a failure of its own'); });
await new Promise((resolve) => setTimeout(resolve, 500));
const { completed, failed, cancelled } = pool.stats();
console.log(JSON.stringify({ completed, failed, cancelled }));
await pool.close();`;
    const run = await runNode(['--input-type=module', '-e', script], { timeoutMs: 45_000 });
    // Before: each dropped call cancelled by the scope or signal was an unhandled rejection (a crash without a listener).
    expect(run.stdout.trim().split('\n')).toEqual(['scope: TimeoutError', 'scope: CancelledError', 'unhandled: a failure of its own', '{"completed":0,"failed":1,"cancelled":5}']);
  });
});

describe('every cancellation path stops a running sync loop in its worker, and the pool serves the next call', () => {
  it('a timeout() scope', async () => {
    const error = await settle(timeout(200, async () => pool.toThread(spinForever)));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).toBe('The timeout() scope timed out after 200 ms');
    await expectStoppedAndServing();
  });

  it('a cancel scope cancelled from outside', async () => {
    const run = cancelScope(async (scope) => {
      later(100, () => scope.cancel());
      return pool.toThread(spinForever);
    });
    expect(await settle(run)).toBeInstanceOf(CancelledError);
    await expectStoppedAndServing();
  });

  it('a timeout() around a scope made before it (a scope follows the one it runs in)', async () => {
    const inner = new CancelScope();
    const error = await settle(timeout(200, () => inner.run(() => pool.toThread(spinForever))));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(inner.cancelled).toBe(true);
    await expectStoppedAndServing();
  });

  it('an explicit signal inside a scope (either one cancels)', async () => {
    const controller = new AbortController();
    const run = cancelScope(async () => pool.toThread.with({ signal: controller.signal })(spinForever));
    later(100, () => controller.abort('explicit'));
    expect(await settle(run)).toBe('explicit');
    await expectStoppedAndServing();
  });

  it('waitFor() on a toThread() promise', async () => {
    expect(await settle(waitFor(pool.toThread(spinForever), 150))).toBeInstanceOf(TimeoutError);
    await expectStoppedAndServing();
  });

  it('cancelling a task', async () => {
    const task = createTask(() => pool.toThread(spinForever));
    later(100, () => task.cancel());
    expect(await settle(task)).toBeInstanceOf(CancelledError);
    expect(task.state).toBe('cancelled');
    await expectStoppedAndServing();
  });

  it('cancelling a gather cancels its children', async () => {
    const all = gather(pool.toThread(spinForever), () => pool.toThread(spinForever));
    later(100, () => all.cancel());
    expect(await settle(all)).toBeInstanceOf(CancelledError);
    await expectStoppedAndServing();
  });

  it('cancelling a gather stops the waitFor(), timeout(), cancelScope() or taskGroup() it holds and the call inside; so do leaving asCompleted and an outer waitFor', async () => {
    const group = (): Promise<void> => taskGroup((tasks) => void tasks.create(() => pool.toThread(spinForever)));
    for (const hold of [() => waitFor(pool.toThread(spinForever), 60_000), () => timeout(60_000, () => pool.toThread(spinForever)), () => cancelScope(() => pool.toThread(spinForever)), group]) {
      const all = gather(hold());
      later(100, () => all.cancel());
      expect(await settle(all)).toBeInstanceOf(CancelledError);
      await expectStoppedAndServing(); // before: the call ran on until the inner deadline, or for ever
    }
    for await (const first of asCompleted([waitFor(pool.toThread(spinForever), 60_000), sleep(100).then(() => 'first')])) {
      expect(first).toBe('first');
      break;
    }
    await expectStoppedAndServing();
    expect(await settle(waitFor(waitFor(pool.toThread(spinForever), 60_000), 100))).toBeInstanceOf(TimeoutError);
    await expectStoppedAndServing();
    expect(await settle(waitFor(group(), 100))).toBeInstanceOf(TimeoutError); // before: the group's task ran on for ever
    await expectStoppedAndServing();
    const task = createTask(group);
    later(100, () => task.cancel());
    expect(await settle(task)).toBeInstanceOf(CancelledError);
    await expectStoppedAndServing();
  });

  it('a timeout() stops work that outlives the task, gather or group it was started in, however deep, and work that these start later', async () => {
    const starts: Array<[string, () => unknown]> = [
      // a call a task started and did not await: the task has ended, the call runs on
      ['a call left running by a finished task', () => void createTask(() => void pool.toThread(spinForever))],
      ['a grandchild task of a finished task', () => void createTask(() => void createTask(() => pool.toThread(spinForever)))],
      // the gather rejects with its first failure; the other child goes on, as in asyncio
      ['a child of a failed gather()', () => void settle(gather(() => pool.toThread(spinForever), () => Promise.reject(new Error('first failure'))))],
      ['a call left running by a task of a closed task group', () => taskGroup((tasks) => void tasks.create(() => void pool.toThread(spinForever)))],
      ['a call left running by a finished cancelScope()', () => cancelScope(() => void pool.toThread(spinForever))],
      // work the ended scope starts later, when nothing of it was pending any more
      ['a call a finished task starts from a timer', () => void createTask(() => void setTimeout(() => void pool.toThread(spinForever), 20))],
      ['a call a finished cancelScope() starts after its last pending call ended', () => cancelScope(() => void settle((async () => {
        await pool.toThread((x: number) => x, 1);
        await sleep(20);
        await pool.toThread(spinForever);
      })()))],
      ['a task a finished task starts from a timer', () => void createTask(() => void setTimeout(() => void createTask(() => pool.toThread(spinForever)), 20))],
      // a scope of your own, made in a finished task, whose run() goes on
      ['a new CancelScope() a finished task runs', () => void createTask(() => void settle(new CancelScope().run(() => pool.toThread(spinForever))))],
      ['a new CancelScope() a finished task runs from a timer', () => void createTask(() => void setTimeout(() => void settle(new CancelScope().run(() => pool.toThread(spinForever))), 20))],
    ];
    for (const [what, begin] of starts) {
      const outcome = await settle(
        timeout(150, async () => {
          await begin();
          await new Promise(() => {}); // the timeout's own body goes on until its deadline
        }),
      );
      expect(outcome, what).toBeInstanceOf(TimeoutError);
      // Before: the call escaped the timeout and spun on, holding the pool's only worker.
      expect(await settle(waitFor(pool.toThread((a: number, b: number) => a * b, 6, 7), 5_000)), what).toBe(42);
    }
  });

  it("a timeout() stops a module function's first call, or a facade's, that a finished task makes later, which waits while the function is located", async () => {
    const facade = wrapModule<typeof import('./fixtures/module-bound-spin.mjs')>(new URL('./fixtures/module-bound-spin.mjs', import.meta.url).href, { pool });
    for (const [what, first] of [['toThread()', () => pool.toThread(spinWhileBound)], ['a facade', () => facade.spinWhileBound()]] as const) {
      const outcome = await settle(
        timeout(150, async () => {
          void createTask(() => void setTimeout(() => void first(), 20)); // its first call: located meanwhile
          await new Promise(() => {});
        }),
      );
      expect(outcome, what).toBeInstanceOf(TimeoutError);
      expect(await settle(waitFor(pool.toThread((a: number, b: number) => a * b, 6, 7), 5_000)), what).toBe(42); // before: the call spun on
    }
  });

  it('a timeout() stops a call a finished task left waiting for room in a full queue (queueFull: wait)', async () => {
    const small = createPool({ maxThreads: 1, maxQueue: 1, queueFull: 'wait' });
    try {
      await small.toThread((x: number) => x, 1);
      const sleepSync = (ms: number): string => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      let later!: Promise<unknown>;
      const outcome = await settle(
        timeout(300, async () => {
          await createTask(() => {
            // The pool's thread and its queue are taken from outside the scope: the call waits for room.
            void shield(() => void [settle(small.toThread(sleepSync, 100)), settle(small.toThread(sleepSync, 10))]);
            later = settle(small.toThread(spinForever));
          });
          await new Promise(() => {});
        }),
      );
      expect(outcome).toBeInstanceOf(TimeoutError);
      expect(await settle(waitFor(later, 3_000))).toBe(outcome); // before: it ran on, after the room it waited for came
    } finally {
      await small.destroy();
    }
  });

  it('work a finished task starts after its enclosing timeout() fired is refused with the timeout', async () => {
    let later!: Promise<unknown>;
    let made!: () => void;
    const making = new Promise<void>((resolve) => (made = resolve));
    const outcome = await settle(
      timeout(50, async () => {
        await createTask(() => void setTimeout(() => {
          later = settle(pool.toThread((x: number) => x, 1));
          made();
        }, 150));
        await new Promise(() => {});
      }),
    );
    expect(outcome).toBeInstanceOf(TimeoutError);
    await making;
    expect(await later).toBe(outcome); // before: it ran, and answered 1
  });

  it('a failure in a task group cancels its siblings', async () => {
    const error = await settle(
      taskGroup(async (group) => {
        group.create(() => pool.toThread(spinForever));
        group.create(async () => {
          await new Promise((resolve) => setTimeout(resolve, 100));
          throw new Error('sibling failed');
        });
      }),
    );
    expect(error).toBeInstanceOf(TaskGroupError);
    expect((error as TaskGroupError).errors.map((e) => (e as Error).message)).toEqual(['sibling failed']);
    await expectStoppedAndServing();
  });

  it('leaving a map() loop early', async () => {
    const inputs = [0, 1];
    const seen: number[] = [];
    // Concurrency 2: when 0 comes back, 1 is already handed to the worker and spinning.
    const zeroOrSpin = (n: number): number => {
      if (n === 0) return n;
      for (;;);
    };
    for await (const value of map(zeroOrSpin, inputs, { pool, concurrency: 2 })) {
      seen.push(value);
      expect(pool.stats().running).toBe(1);
      break;
    }
    expect(seen).toEqual([0]);
    await expectStoppedAndServing();
  });

  it('waitFor on a limit()-wrapped call, and a call still waiting for its permit never starts', async () => {
    let started = 0;
    const spinLimited = limit(1, () => (started++, pool.toThread(spinForever)));
    const running = spinLimited();
    const queued = spinLimited();
    expect(await settle(waitFor(queued, 50))).toBeInstanceOf(TimeoutError);
    expect(await settle(waitFor(running, 200))).toBeInstanceOf(TimeoutError);
    await expectStoppedAndServing();
    expect(started).toBe(1);
  });

  it('cancelling a gather of Semaphore.run() calls', async () => {
    const slots = new Semaphore(1);
    const group = gather(slots.run(() => pool.toThread(spinForever)), slots.run(() => pool.toThread(spinForever)));
    later(100, () => group.cancel());
    expect(await settle(group)).toBeInstanceOf(CancelledError);
    await expectStoppedAndServing();
    expect(slots.available).toBe(1);
  });
});

describe('cancel scopes', () => {
  it('warn of an error that cancelled work throws while it cleans up, which its caller, cancelled already, cannot get', async () => {
    const rollback = (what: string) => async (): Promise<never> => {
      try {
        await pool.toThread(spinForever); // stopped by the cancel
      } finally {
        await shield(() => sleep(30));
        throw new Error(`${what} rollback failed`);
      }
      throw new Error('not reached');
    };
    let warned = nextWarning('TOTHREAD_LATE_CLEANUP_ERROR');
    expect(await settle(timeout(50, rollback('timeout')))).toBeInstanceOf(TimeoutError); // at the deadline, as before
    expect((await warned)?.message).toMatch(/went on and threw after its caller had the cancellation \(cleaning up, say\): Error: timeout rollback failed/); // before: no trace of it
    warned = nextWarning('TOTHREAD_LATE_CLEANUP_ERROR');
    const task = createTask(rollback('task'));
    await sleep(50);
    task.cancel();
    expect(await settle(task)).toBeInstanceOf(CancelledError);
    expect((await warned)?.message).toMatch(/Error: task rollback failed/);
    // A task group has it as one of its failures: no warning then.
    warned = nextWarning('TOTHREAD_LATE_CLEANUP_ERROR', 500);
    const grouped = await settle(taskGroup((group) => {
      group.create(rollback('group'));
      group.create(async () => { await sleep(50); throw new Error('a failure'); });
    }));
    expect(((grouped as TaskGroupError).errors as Error[]).map((e) => e.message).sort()).toEqual(['a failure', 'group rollback failed']);
    expect(await warned).toBeUndefined();
  });

  it('let cleanup in a finally offload and wait inside shield() once their scope is cancelled, where a bare call is refused', async () => {
    const seen: unknown[] = [];
    const queue = new Queue<string>();
    queue.putNowait('item');
    let cleaned!: () => void;
    const cleanedUp = new Promise<void>((resolve) => (cleaned = resolve));
    const error = await settle(
      timeout(100, async () => {
        try {
          await pool.toThread(spinForever);
        } finally {
          seen.push(await settle(pool.toThread((x: number) => x + 1, 1))); // refused: the scope stays cancelled
          seen.push(await shield(() => pool.toThread((x: number) => x + 1, 1)));
          seen.push(await shield(() => queue.get()));
          cleaned();
        }
      }),
    );
    await cleanedUp; // timeout() rejects at once; the cleanup goes on after
    expect(error).toBeInstanceOf(TimeoutError);
    expect(seen[0]).toBe(error);
    expect(seen.slice(1)).toEqual([2, 'item']);
    expect(((await settle(shield('not a function' as never))) as Error).message).toMatch(/Expected `fn` to be a function/);
  });

  it("leave shield()'s call running however its promise is used: returned from a scope or a task, or handed to waitFor", async () => {
    const shielded = (): Promise<string> => shield(() => pool.toThread(async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end);
      return 'ran to its end';
    }, 200));
    const inScope = shielded();
    expect(await settle(timeout(20, () => inScope))).toBeInstanceOf(TimeoutError);
    expect(await inScope).toBe('ran to its end');
    const inWait = shielded();
    expect(await settle(waitFor(inWait, 20))).toBeInstanceOf(TimeoutError);
    expect(await inWait).toBe('ran to its end');
    let inTask!: Promise<string>;
    const task = createTask(() => (inTask = shielded()));
    task.cancel();
    expect(await settle(task)).toBeInstanceOf(CancelledError);
    expect(await inTask).toBe('ran to its end');
  });

  it("refuse a call made once they are cancelled with their reason, the caller's own cancel, even on a pool that has closed", async () => {
    const closed = createPool();
    await closed.close();
    const reason = new Error('stop');
    let call: Promise<unknown> | undefined;
    await settle(
      cancelScope((scope) => {
        scope.cancel(reason);
        call = closed.toThread(() => 1);
      }),
    );
    expect(await settle(call!)).toBe(reason); // before: PoolClosedError
    // A call still in line, its function being located, when its scope is cancelled and its pool closes.
    const closing = createPool();
    const scope = new CancelScope();
    await scope.run(() => void (call = closing.toThread(lookUp, 0)));
    scope.cancel(reason);
    await closing.close();
    expect(await settle(call!)).toBe(reason); // before: PoolClosedError, unhandled
  });

  it('adds one abort listener to a scope\'s signal however many runs, or scopes run inside it, watch it', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const scope = new CancelScope();
      await Promise.all(Array.from({ length: 15 }, () => scope.run(() => sleep(5))));
      const inner = Array.from({ length: 15 }, () => new CancelScope());
      await timeout(1_000, () => Promise.all(inner.map((s) => s.run(() => sleep(5)))));
      await sleep(10);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
  });
});
