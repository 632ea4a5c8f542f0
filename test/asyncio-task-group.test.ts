import { setTimeout } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { CancelledError, CancelScope, createPool, createTask, TaskGroup, TaskGroupClosedError, TaskGroupError, taskGroup, timeout, TimeoutError } from '@tothread/core';
import { busyWaitSync } from './fixtures/legacy-esm.mjs';
import { settle, sleep } from './helpers.js';

const pool = createPool({ maxThreads: 2 });
afterAll(() => pool.close());

describe('task groups', () => {
  it('wait for every task, and resolve with what the body returned', async () => {
    const finished: number[] = [];
    const value = await taskGroup(async (group) => {
      group.create(async () => finished.push(await pool.toThread(busyWaitSync, 80)));
      group.create(async () => finished.push(await pool.toThread(busyWaitSync, 20)));
      return 'body value';
    });
    expect(value).toBe('body value');
    expect(finished.sort()).toEqual([20, 80]);
  });

  it('aggregate every failure, in the order they happened, in a TaskGroupError', async () => {
    const error = (await settle(
      taskGroup(async (group) => {
        group.create(async () => {
          throw new TypeError('first');
        });
        group.create(async () => {
          throw new RangeError('second');
        });
      }),
    )) as TaskGroupError;
    expect(error).toBeInstanceOf(TaskGroupError);
    expect(error).toBeInstanceOf(AggregateError);
    expect(error.code).toBe('ERR_TOTHREAD_TASK_GROUP');
    expect(error.errors.map((e) => (e as Error).message)).toEqual(['first', 'second']);
    expect(error.message).toBe('The task group failed (2 errors): TypeError: first; RangeError: second');
  });

  it('cancel the other tasks when the body fails, and report only the body failure', async () => {
    let cancelled = false;
    const error = (await settle(
      taskGroup(async (group) => {
        group.create(async (signal) => {
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
          cancelled = true;
        });
        await sleep(20);
        throw new Error('body failed');
      }),
    )) as TaskGroupError;
    expect(cancelled).toBe(true);
    expect(error.errors.map((e) => (e as Error).message)).toEqual(['body failed']);
  });

  it('count a failure once when the body awaits the task that failed', async () => {
    const error = (await settle(
      taskGroup(async (group) => {
        const task = group.create(async () => {
          throw new Error('once');
        });
        await task;
      }),
    )) as TaskGroupError;
    expect(error.errors).toHaveLength(1);
  });

  it('do not count a task cancelled on its own as a failure', async () => {
    await taskGroup(async (group) => {
      const task = group.create(() => sleep(300)); // the group waits for it to end: not offloaded, it is not stopped
      task.cancel();
    });
  });

  it('do not count a CancelledError the body lets out as a failure: its tasks are cancelled, and the cancellation goes on up, as in asyncio', async () => {
    const elsewhere = createTask(() => new Promise(() => {}));
    elsewhere.cancel();
    let sibling!: Promise<unknown>;
    const error = await settle(taskGroup(async (group) => {
      sibling = settle(group.create(() => pool.toThread(busyWaitSync, 10_000)));
      await elsewhere; // a CancelledError, not caught
    }));
    expect(error).toBeInstanceOf(CancelledError); // before: a TaskGroupError listing it as a failure
    expect(await sibling).toBeInstanceOf(CancelledError);
  });

  it('refuse new tasks once finished, with TaskGroupClosedError', async () => {
    let escaped: TaskGroup | undefined;
    await taskGroup((group) => {
      escaped = group;
    });
    expect(() => escaped!.create(() => 1)).toThrow(TaskGroupClosedError);
  });

  it('reject with the reason of an enclosing scope cancelled from outside, after stopping their tasks', async () => {
    let after: unknown = 'not reached';
    const grouped = timeout(200, async () => {
      const total = await taskGroup(async (group) => (await group.create(() => pool.toThread(busyWaitSync, 5_000))) + 1);
      after = total; // never: the group rejected
    });
    expect(await settle(grouped)).toBeInstanceOf(TimeoutError);
    expect(after).toBe('not reached');
    expect(pool.stats().running).toBe(0); // its task was stopped, not left running
  });

  it('reject with the reason of an enclosing scope even when the body only started tasks', async () => {
    let group: Promise<unknown> = Promise.resolve();
    const scoped = timeout(200, async () => {
      group = taskGroup((g) => void g.create(() => pool.toThread(busyWaitSync, 5_000)));
      await group;
    });
    expect(await settle(scoped)).toBeInstanceOf(TimeoutError);
    expect(await settle(group)).toBeInstanceOf(TimeoutError); // not resolved: its work was not done
  });

  it('follow the scope they were made in from their first use: made in a scope cancelled since, their task is cancelled and wait() rejects with its reason', async () => {
    const scope = new CancelScope();
    const group = await scope.run(() => new TaskGroup());
    const reason = new Error('shutting down');
    scope.cancel(reason);
    const task = group.create(() => pool.toThread(busyWaitSync, 5_000));
    expect(await settle(task)).toBe(reason);
    expect(task.state).toBe('cancelled');
    expect(await settle(group.wait())).toBe(reason);
    expect(group.signal.reason).toBe(reason);
  });

  it('stop their running tasks when the scope they were made in is cancelled later, body or not', async () => {
    const scope = new CancelScope();
    const group = await scope.run(() => new TaskGroup());
    const task = group.create(() => pool.toThread(busyWaitSync, 5_000));
    await sleep(50);
    const reason = new Error('shutting down');
    scope.cancel(reason);
    expect(await settle(group.wait())).toBe(reason);
    expect(await settle(task)).toBe(reason);
    expect(pool.stats().running).toBe(0);
  });

  it('wait for a cancelled task to finish cleaning up, and report an error its cleanup throws', async () => {
    const events: string[] = [];
    const failed = await settle(
      taskGroup((group) => {
        group.create(async () => {
          try {
            await pool.toThread(busyWaitSync, 5_000);
          } catch (cancelled) {
            await sleep(100);
            events.push('cleaned up');
            throw new Error('rollback failed', { cause: cancelled });
          }
        });
        group.create(async () => {
          await sleep(20);
          throw new Error('boom');
        });
      }),
    );
    events.push('group settled');
    expect(events).toEqual(['cleaned up', 'group settled']);
    expect(failed).toBeInstanceOf(TaskGroupError);
    expect((failed as TaskGroupError).errors.map((e) => (e as Error).message)).toEqual(['boom', 'rollback failed']);
  });

  it("do not count the AbortError of a Node API given a cancelled task's signal as a failure", async () => {
    const failed = await settle(
      taskGroup((group) => {
        group.create((signal) => setTimeout(5_000, null, { signal }));
        group.create(async () => {
          await sleep(20);
          throw new Error('boom');
        });
      }),
    );
    expect((failed as TaskGroupError).errors.map((e) => (e as Error).message)).toEqual(['boom']);
    const alone = await taskGroup((group) => {
      const task = group.create((signal) => setTimeout(5_000, null, { signal }));
      task.cancel();
      return 'done';
    });
    expect(alone).toBe('done'); // a task cancelled on its own is not a failure
    const own = await settle(
      taskGroup((group) => {
        group.create(async (signal) => {
          await setTimeout(5_000, null, { signal }).catch(() => {
            throw Object.assign(new Error('rollback failed'), { name: 'AbortError' }); // its own, not the signal's
          });
        });
        group.create(async () => {
          await sleep(20);
          throw new Error('boom');
        });
      }),
    );
    expect((own as TaskGroupError).errors.map((e) => (e as Error).message)).toEqual(['boom', 'rollback failed']);
  });

  it("do not count the body's AbortError from a Node API given the group's signal as a failure", async () => {
    const failed = await settle(
      taskGroup(async (group) => {
        group.create(async () => {
          await sleep(20);
          throw new Error('boom');
        });
        await setTimeout(5_000, null, { signal: group.signal });
      }),
    );
    expect((failed as TaskGroupError).errors.map((e) => (e as Error).message)).toEqual(['boom']);
    const reason = new Error('outer reason');
    const outer = new CancelScope();
    const scoped = outer.run(() => taskGroup(async (group) => void (await setTimeout(5_000, null, { signal: group.signal }))));
    await sleep(20);
    outer.cancel(reason);
    expect(await settle(scoped)).toBe(reason); // the scope's reason goes on up, not a TaskGroupError
  });

  it('keep a task another task of the group created when that task is cancelled: tasks belong to the group, as in asyncio', async () => {
    const result = await taskGroup(async (group) => {
      let child: PromiseLike<number> = Promise.resolve(0);
      const parent = group.create(async () => {
        child = group.create(() => pool.toThread(busyWaitSync, 50));
        await sleep(5_000);
      });
      await sleep(20);
      parent.cancel();
      return child;
    });
    expect(result).toBe(50);
  });

  it('wait at the end of an `await using` block', async () => {
    const finished: string[] = [];
    {
      await using group = new TaskGroup();
      group.create(async () => {
        await sleep(30);
        finished.push('task');
      });
    }
    expect(finished).toEqual(['task']);
  });
});
