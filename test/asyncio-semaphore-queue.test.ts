import { describe, expect, it } from 'vitest';
import { asCompleted, CancelledError, cancelScope, CancelScope, createTask, gather, limit, Queue, QueueEmptyError, QueueFullError, QueueShutDownError, Semaphore, timeout, TimeoutError, waitFor } from '@tothread/core';
import { settle, sleep } from './helpers.js';


describe('Semaphore', () => {
  it('lets at most n holders in, and serves waiters first come, first served', async () => {
    const semaphore = new Semaphore(2);
    const order: number[] = [];
    let holders = 0;
    let peak = 0;
    await Promise.all(
      [0, 1, 2, 3, 4, 5].map(async (i) => {
        using _permit = await semaphore.acquire();
        order.push(i);
        peak = Math.max(peak, ++holders);
        await sleep(10);
        holders--;
      }),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(semaphore.available).toBe(2);
  });

  it('removes an aborted waiter and keeps serving the others in order', async () => {
    const semaphore = new Semaphore(1);
    const held = await semaphore.acquire();
    const controller = new AbortController();
    const aborted = settle(semaphore.acquire({ signal: controller.signal }));
    const next = semaphore.acquire();
    expect(semaphore.waiting).toBe(2);
    controller.abort(new Error('gave up'));
    expect(((await aborted) as Error).message).toBe('gave up');
    expect(semaphore.waiting).toBe(1);
    held.release();
    held.release(); // a second release is harmless
    (await next).release();
    expect(semaphore.available).toBe(1);
  });

  it('lets 100,000 waiters leave the line when their signal aborts in time that grows with the line, not its square', async () => {
    const semaphore = new Semaphore(1);
    const queue = new Queue<number>();
    const held = await semaphore.acquire();
    const controller = new AbortController();
    const waits = Array.from({ length: 100_000 }, (_, i) => (i % 2 ? semaphore.acquire({ signal: controller.signal }) : queue.get({ signal: controller.signal })));
    const started = performance.now();
    controller.abort(new Error('give up'));
    const outcomes = await Promise.all(waits.map(settle));
    // Each leaving waiter searched the whole line before: ~5.6 s here, against ~0.4 s now (the bound leaves room for a loaded machine).
    expect(performance.now() - started).toBeLessThan(2_500);
    expect(outcomes.every((outcome) => (outcome as Error).message === 'give up')).toBe(true);
    expect(semaphore.waiting).toBe(0);
    held.release();
    expect(semaphore.available).toBe(1); // no waiter left in the line to take it
  });

  it('serves 100,000 waiting getters one by one in time that grows with the line, not its square, first come first served', async () => {
    const queue = new Queue<number>();
    const gets = Array.from({ length: 100_000 }, () => queue.get());
    const started = performance.now();
    for (let i = 0; i < gets.length; i++) queue.putNowait(i);
    const got = await Promise.all(gets);
    // Serving the head of the line shifted it, or walked a Set's holes: ~8 s and ~2.5 s here, against ~0.16 s now.
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(got.every((value, i) => value === i)).toBe(true);
  });

  it('keeps no permit for an acquire() that waitFor gave up on, or that a cancelled gather got', async () => {
    const semaphore = new Semaphore(1);
    const held = await semaphore.acquire();
    expect(await settle(waitFor(semaphore.acquire(), 20))).toBeInstanceOf(TimeoutError);
    expect(semaphore.waiting).toBe(0);
    held.release();
    expect(semaphore.available).toBe(1);
    const granted = gather(semaphore.acquire());
    granted.cancel();
    expect(await settle(granted)).toBeInstanceOf(CancelledError);
    expect(semaphore.available).toBe(1);
  });

  it('keeps the permit an asCompleted() loop handed out before it was left', async () => {
    const semaphore = new Semaphore(1);
    let held: { release(): void } | undefined;
    for await (const permit of asCompleted([semaphore.acquire(), new Promise<never>(() => {})])) {
      held = permit as { release(): void };
      break;
    }
    expect(semaphore.available).toBe(0);
    expect(semaphore.tryAcquire()).toBeUndefined();
    held!.release();
    expect(semaphore.available).toBe(1);
  });

  it('refuses a semaphore of 0 with a RangeError in the standard form', () => {
    expect(() => new Semaphore(0)).toThrow('Expected `permits` to be a whole number from 1 and up, got `0` (number)');
    expect(() => new Semaphore(0)).toThrow(RangeError);
    expect(() => limit(0, () => 1)).toThrow('Expected `concurrency` to be a whole number from 1 and up, got `0` (number)');
  });

  it('refuses a run() of something not a function at once, even while every permit is held', async () => {
    const semaphore = new Semaphore(1);
    await semaphore.acquire();
    const error = await settle(semaphore.run(5 as never));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('Expected `fn` to be a function, got `5` (number)');
  });

  it('limit(n, fn) keeps at most n calls of fn running', async () => {
    let running = 0;
    let peak = 0;
    const limited = limit(3, async (ms: number) => {
      peak = Math.max(peak, ++running);
      await sleep(ms);
      running--;
      return ms;
    });
    expect(await Promise.all([5, 10, 15, 20, 25, 30, 35].map((ms) => limited(ms)))).toEqual([5, 10, 15, 20, 25, 30, 35]);
    expect(peak).toBe(3);
  });
});

describe('Queue', () => {
  it('hands items out first in, first out', async () => {
    const queue = new Queue<number>();
    for (const i of [1, 2, 3]) await queue.put(i);
    expect([await queue.get(), await queue.get(), await queue.get()]).toEqual([1, 2, 3]);
  });

  it('makes put() wait while the queue is at maxsize (backpressure)', async () => {
    const queue = new Queue<string>({ maxsize: 1 });
    await queue.put('a');
    let putDone = false;
    const put = queue.put('b').then(() => (putDone = true));
    await sleep(20);
    expect(putDone).toBe(false);
    expect(queue.full()).toBe(true);
    expect(await queue.get()).toBe('a');
    await put;
    expect(putDone).toBe(true);
    expect(() => queue.putNowait('c')).toThrow(QueueFullError);
  });

  it('throws QueueEmptyError from getNowait() on an empty queue', () => {
    expect(() => new Queue().getNowait()).toThrow(QueueEmptyError);
  });

  it('resolves join() once every item got taskDone(), and refuses extra taskDone() calls', async () => {
    const queue = new Queue<number>();
    await queue.put(1);
    await queue.put(2);
    let joined = false;
    const join = queue.join().then(() => (joined = true));
    await queue.get();
    queue.taskDone();
    await sleep(5);
    expect(joined).toBe(false);
    await queue.get();
    queue.taskDone();
    await join;
    expect(() => queue.taskDone()).toThrow(RangeError);
    expect(() => queue.taskDone()).toThrow('taskDone() was called more times than items were put: call it once for each item taken with get()');
  });

  it('takes nothing for a get() or put() whose signal or cancel scope has already ended', async () => {
    const queue = new Queue<string>();
    queue.putNowait('a');
    const stopped = AbortSignal.abort(new Error('stop'));
    expect(((await settle(queue.get({ signal: stopped }))) as Error).message).toBe('stop');
    expect(((await settle(queue.put('b', { signal: stopped }))) as Error).message).toBe('stop');
    const scoped = settle(cancelScope((scope) => {
      scope.cancel(new Error('scope ended'));
      return queue.get();
    }));
    expect(((await scoped) as Error).message).toBe('scope ended');
    expect(queue.size).toBe(1);
    expect(queue.getNowait()).toBe('a');
  });

  it('loses no item or permit to a task or scope cancelled in the tick it was served, and passes the wake-up on', async () => {
    const queue = new Queue<string>();
    let scope!: CancelScope;
    const run = settle(cancelScope((s) => {
      scope = s;
      return queue.get();
    }));
    const next = queue.get(); // waits behind it
    queue.putNowait('x');
    scope.cancel();
    expect(await run).toBeInstanceOf(CancelledError);
    expect(await next).toBe('x');

    const semaphore = new Semaphore(1);
    const held = await semaphore.acquire();
    let outer!: CancelScope;
    const waiter = cancelScope((s) => {
      outer = s;
      return createTask(() => semaphore.acquire());
    });
    held.release();
    outer.cancel();
    expect(await settle(waiter)).toBeInstanceOf(CancelledError);
    expect(semaphore.available).toBe(1);

    // From an async function too, whose promise is not the acquire() (before: the permit was lost).
    const again = await semaphore.acquire();
    const inAsync = cancelScope(async (s) => {
      const acquired = semaphore.acquire();
      again.release();
      s.cancel();
      return acquired;
    });
    expect(await settle(inAsync)).toBeInstanceOf(CancelledError);
    await sleep(0);
    expect([semaphore.available, semaphore.waiting]).toEqual([1, 0]);
  });

  it('answers cancel() with false once a task has its value, and then neither gives the value back nor loses it', async () => {
    const queue = new Queue<string>();
    let got!: Promise<string>;
    const task = createTask(() => (got = queue.get()));
    // The task's promise settles a tick before its state says so: cancel in that tick.
    const cancelled = got.then(() => task.cancel());
    queue.putNowait('x');
    expect(await settle(task)).toBe('x');
    expect(await cancelled).toBe(false);
    expect(queue.size).toBe(0);
  });

  it('puts back an item served in the very tick its loop was left, and answers a second next() as done', async () => {
    const queue = new Queue<string>();
    const iterator = queue[Symbol.asyncIterator]();
    const first = iterator.next();
    const second = iterator.next();
    queue.putNowait('order-1');
    await Promise.resolve(); // served, not yet handed to next()
    await iterator.return();
    expect(await first).toEqual({ done: true, value: undefined });
    expect(await second).toEqual({ done: true, value: undefined });
    queue.putNowait('order-2');
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.size).toBe(2);
    expect(queue.getNowait()).toBe('order-1');
  });

  it('has the async generator interface: throw() ends the loop with the error, and await using closes it', async () => {
    const queue = new Queue<number>();
    const iterator = queue[Symbol.asyncIterator]();
    const waiting = iterator.next();
    await expect(iterator.throw(new Error('stop'))).rejects.toThrow('stop');
    expect(await waiting).toEqual({ done: true, value: undefined });
    {
      await using loop = queue[Symbol.asyncIterator]();
      queue.putNowait(1);
      expect(await loop.next()).toEqual({ done: false, value: 1 });
    }
    queue.putNowait(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.size).toBe(1);
  });

  it('takes no item for a next() that waitFor gave up on', async () => {
    const queue = new Queue<number>();
    const iterator = queue[Symbol.asyncIterator]();
    expect(await settle(waitFor(iterator.next(), 10))).toBeInstanceOf(TimeoutError);
    queue.putNowait(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.size).toBe(1);
    expect(await iterator.next()).toEqual({ done: false, value: 1 });
  });

  it('leaves the next item in the queue when a loop over it is left while it waits', async () => {
    const queue = new Queue<number>();
    const loop = (async () => {
      for await (const item of queue) if (item === 1) break;
    })();
    queue.putNowait(1);
    await loop;
    const iterator = queue[Symbol.asyncIterator]();
    const waiting = iterator.next();
    await iterator.return!();
    expect(await waiting).toEqual({ done: true, value: undefined });
    queue.putNowait(2);
    expect(queue.size).toBe(1);
    expect(queue.getNowait()).toBe(2);
  });

  it('after shutdown(), rejects put() and lets get() drain before rejecting', async () => {
    const queue = new Queue<number>();
    await queue.put(1);
    queue.shutdown();
    expect(await settle(queue.put(2))).toBeInstanceOf(QueueShutDownError);
    expect(await queue.get()).toBe(1);
    expect(await settle(queue.get())).toBeInstanceOf(QueueShutDownError);
  });

  it('loses no item to a get() that waitFor gave up on, even one woken in the same tick', async () => {
    const queue = new Queue<string>();
    expect(await settle(waitFor(queue.get(), 20))).toBeInstanceOf(TimeoutError);
    await queue.put('kept');
    expect(queue.getNowait()).toBe('kept');
    // Woken by a put, then cancelled before it ran: the item goes to the next getter.
    const first = gather(queue.get());
    const second = queue.get();
    queue.putNowait('handed on');
    first.cancel();
    expect(await settle(first)).toBeInstanceOf(CancelledError);
    expect(await second).toBe('handed on');
  });

  it('puts back the items several get()s had taken in their order, when an asCompleted() loop is left or a gather cancelled', async () => {
    const queue = new Queue<string>();
    for (const item of ['a', 'b', 'c', 'd', 'e']) queue.putNowait(item);
    for await (const item of asCompleted([queue.get(), queue.get(), queue.get(), queue.get()])) {
      expect(item).toBe('a');
      break;
    }
    const left = (): string[] => Array.from({ length: queue.size }, () => queue.getNowait());
    expect(left()).toEqual(['b', 'c', 'd', 'e']); // before: d, c, b, e
    for (const item of ['a', 'b', 'c', 'd', 'e']) queue.putNowait(item);
    const gathered = gather(queue.get(), queue.get(), queue.get());
    gathered.cancel();
    expect(await settle(gathered)).toBeInstanceOf(CancelledError);
    expect(left()).toEqual(['a', 'b', 'c', 'd', 'e']); // before: c, b, a, d, e
  });

  it('puts back, at the head, an item a get() had taken when an asCompleted() loop was left or a gather cancelled', async () => {
    const queue = new Queue<string>();
    queue.putNowait('a');
    queue.putNowait('b');
    for await (const item of asCompleted([queue.get(), queue.get()])) {
      expect(item).toBe('a');
      queue.taskDone();
      break;
    }
    expect(queue.size).toBe(1); // 'b', taken by the get() the loop never handed out, is back
    queue.putNowait('c');
    const gathered = gather(queue.get(), new Promise<never>(() => {}));
    await sleep(10); // its get() has taken 'b'
    gathered.cancel();
    expect(await settle(gathered)).toBeInstanceOf(CancelledError);
    expect([queue.getNowait(), queue.getNowait()]).toEqual(['b', 'c']);
    queue.taskDone();
    queue.taskDone();
    await queue.join(); // nothing was lost, so every item can be marked done
    // The same for a get() a function returns (a task runs it), cancelled before or after it settled.
    queue.putNowait('d');
    const task = createTask(() => queue.get()); // its get() takes 'd' at once; the task settles later
    task.cancel();
    expect(await settle(task)).toBeInstanceOf(CancelledError);
    expect(queue.size).toBe(1);
    queue.putNowait('e');
    for await (const item of asCompleted([() => queue.get(), () => queue.get()])) {
      expect(item).toBe('d');
      break;
    }
    expect([queue.size, queue.getNowait()]).toEqual([1, 'e']);
  });

  it('does not add the item of a put() that waitFor gave up on', async () => {
    const queue = new Queue<string>({ maxsize: 1 });
    queue.putNowait('a');
    expect(await settle(waitFor(queue.put('b'), 20))).toBeInstanceOf(TimeoutError);
    expect(queue.getNowait()).toBe('a');
    await sleep(10);
    expect(queue.size).toBe(0);
  });

  it('ends a join() with its signal, or with the enclosing cancel scope', async () => {
    const queue = new Queue<string>();
    queue.putNowait('never done');
    const controller = new AbortController();
    const joined = settle(queue.join({ signal: controller.signal }));
    controller.abort(new Error('gave up'));
    expect(await joined).toMatchObject({ message: 'gave up' });
    expect(await settle(timeout(20, () => queue.join()))).toBeInstanceOf(TimeoutError);
    const joining = queue.join();
    const waiting = gather(joining);
    waiting.cancel();
    expect(await settle(joining)).toBeInstanceOf(CancelledError); // it left the line, not just the gather
    queue.getNowait();
    queue.taskDone();
    await queue.join(); // a join still waiting would now be released too
  });

  it('aborts a waiting get() with its signal', async () => {
    const controller = new AbortController();
    const waiting = settle(new Queue<number>().get({ signal: controller.signal }));
    controller.abort('no more');
    expect(await waiting).toBe('no more');
  });

  it('shutdown(true) drops the items, releases join() and rejects waiting getters', async () => {
    const queue = new Queue<number>();
    await queue.put(1);
    const join = queue.join();
    const getter = new Queue<number>();
    const blocked = settle(getter.get());
    queue.shutdown(true);
    getter.shutdown(true);
    await join;
    expect(queue.size).toBe(0);
    expect(await blocked).toBeInstanceOf(QueueShutDownError);
  });

  it('ends `for await` iteration when shut down and empty', async () => {
    const queue = new Queue<number>({ maxsize: 2 });
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const item of queue) seen.push(item);
    })();
    for (const i of [1, 2, 3, 4]) await queue.put(i);
    queue.shutdown();
    await consumer;
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('ends every waiting consumer once the last item put before shutdown() is taken', async () => {
    const queue = new Queue<string>();
    const consume = async (): Promise<string[]> => {
      const got: string[] = [];
      for await (const item of queue) got.push(item);
      return got;
    };
    const consumers = [consume(), consume()];
    await sleep(10); // both wait on the empty queue
    queue.putNowait('last');
    queue.shutdown();
    const ended = await Promise.all(consumers);
    expect(ended.flat()).toEqual(['last']);
  });

  it('rejects a negative maxsize with a RangeError', () => {
    expect(() => new Queue({ maxsize: -1 })).toThrow('Expected `maxsize` to be a whole number from 0 and up, got `-1` (number)');
  });
});
