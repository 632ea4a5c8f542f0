import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createPool, TimeoutError, WorkerExitError, type Pool } from '@tothread/core';
import { argsFor, countArgs, countOrBox, gotArgs, lengthOf, mark, MIXED_VALUES, objectEvery, pick, same, slowStep, step, textAtOne, textOf, TEXTS, throwsAtOne, ticket } from './fixtures/batching.mjs';
import { busy, quick } from './fixtures/slow-load.mjs';
import { hangFlag, next } from './fixtures/hangs-on-load.mjs';
import { dieFlag, plusOne } from './fixtures/dies-on-load.mjs';
import { nextWarning, settle, sleep, workersOf } from './helpers.js';

const counter = (n: number): Int32Array => new Int32Array(new SharedArrayBuffer(n * 4));

/** Runs `call` (by default, `step`) alone a few times, so the pool knows it is quick and batches its calls from then on. */
async function warm(pool: Pool, call: () => Promise<unknown> = () => pool.toThread(step, counter(1), 0)): Promise<void> {
  for (let i = 0; i < 3; i++) await call();
}

/**
 * A one-thread pool that knows `fn` is quick, whose worker is then replaced with `flag` raised:
 * the next worker loads `fn`'s module anew, and the flag makes the load hang or fail.
 */
async function reloadWithFlag(fn: (x: number) => number, flag: string): Promise<Pool> {
  const pool = createPool({ minThreads: 1, maxThreads: 1 });
  await warm(pool, () => pool.toThread(fn, 0));
  writeFileSync(flag, '');
  expect(await settle(pool.toThread(() => process.exit(3)))).toBeInstanceOf(WorkerExitError);
  return pool;
}

/**
 * What the pool's workers post beside their tasks (answers by message, rings) comes in `ms` late,
 * in order, while their tasks' ends and the answers of calls sent alone (on Piscina's own channel)
 * come at once.
 */
function postsComeLate(pool: Pool, ms = 20): void {
  for (const worker of workersOf(pool)) {
    const emit = worker.emit.bind(worker);
    worker.emit = (event: string | symbol, ...args: unknown[]): boolean => {
      if (event !== 'message') return emit(event, ...args);
      setTimeout(() => emit(event, ...args), ms);
      return true;
    };
  }
}

/** Resolves once call `i` has started on a worker. */
async function started(counts: Int32Array, i: number): Promise<void> {
  while (Atomics.load(counts, i) === 0) await new Promise((resolve) => setTimeout(resolve, 2));
}

/**
 * Call 0 takes the only worker, then `call(i)` makes calls 1-10, which queue behind it and so travel
 * to the worker as one batch. Resolves, once call 0 has answered, with calls 1-10.
 */
async function queuedBehindOne(pool: Pool, counts: Int32Array, call: (i: number) => Promise<number>): Promise<Array<Promise<number>>> {
  const first = pool.toThread(step, counts, 0, 0);
  const calls = Array.from({ length: 10 }, (_, k) => call(k + 1));
  await first;
  return calls;
}

/**
 * Calls 1-10 of {@link queuedBehindOne}, once call 5 was stopped while running: the calls before it
 * answered on its worker, the calls after it on another, and every call ran exactly once.
 */
function expectOnlyCall5Stopped(outcomes: ReadonlyArray<PromiseSettledResult<number>>, counts: Int32Array): void {
  const before = outcomes.slice(0, 4).map((o) => (o as PromiseFulfilledResult<number>).value);
  const after = outcomes.slice(5).map((o) => (o as PromiseFulfilledResult<number>).value);
  expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(9);
  expect(new Set(before).size).toBe(1);
  expect(after.every((thread) => thread !== before[0])).toBe(true);
  expect([...counts].slice(1, 11)).toEqual(Array(10).fill(1)); // nothing ran twice, nothing was lost
}

describe('quick calls that queue up travel to a worker in batches', () => {
  it('every call runs exactly once, in order, and answers with its own value', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    await warm(pool);
    const log = counter(1);
    const answers = await Promise.all(Array.from({ length: 2000 }, (_, i) => pool.toThread(ticket, log, i)));
    expect(Atomics.load(log, 0)).toBe(2000);
    expect(answers).toEqual(Array.from({ length: 2000 }, (_, i) => [i, i])); // ran in call order, each its own answer
    expect(pool.stats()).toMatchObject({ completed: 2003, running: 0, queued: 0 });
  });

  it('calls returning numbers, booleans, null or undefined answer in shared memory: exact values, in call order, a few rings for all of them', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    await warm(pool, () => pool.toThread(pick, 0));
    const messages = { 'tothread:reply': 0, 'tothread:ring': 0 };
    for (const worker of workersOf(pool)) {
      worker.on('message', (message: unknown) => {
        if (Array.isArray(message) && message[0] in messages) messages[message[0] as keyof typeof messages]++;
      });
    }
    const n = MIXED_VALUES.length * 100;
    const order: number[] = [];
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => pool.toThread(pick, i).then((value) => (order.push(i), value))));
    expect(answers.filter((value, i) => !Object.is(value, MIXED_VALUES[i % MIXED_VALUES.length]) && typeof value !== 'object')).toEqual([]);
    expect(answers.filter((value) => typeof value === 'object' && value !== null)).toEqual(Array(200).fill(null).flatMap(() => [[1], { a: 1 }]).slice(0, 200));
    expect(order).toEqual(Array.from({ length: n }, (_, i) => i)); // one worker: answers settle in call order, whichever way they came
    // An array, an object and a bigint answer by message (in a batch; a call sent alone answers
    // with its task), and so does the string until the pool has seen this function return one: at
    // most 4 calls in 15. The other 11 answer in shared memory and share rings.
    expect(messages['tothread:reply'], JSON.stringify(messages)).toBeLessThanOrEqual((n * 4) / 15);
    // A ring goes with an answer in shared memory written while no ring was on its way, so never
    // more rings than such answers; how many answers share one depends on how busy this machine
    // is (the next test makes them share one for certain).
    expect(messages['tothread:ring'], JSON.stringify(messages)).toBeGreaterThan(0);
    expect(messages['tothread:ring'], JSON.stringify(messages)).toBeLessThanOrEqual(n - messages['tothread:reply']);
  });

  it('answers written while a ring is on its way share that ring: a batch answered while the main thread is busy rings once', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    const counts = counter(12);
    await warm(pool, () => pool.toThread(countOrBox, counts, 0, -1));
    let rings = 0;
    let marked = (): void => {};
    for (const worker of workersOf(pool)) {
      worker.on('message', (message: unknown) => {
        if (Array.isArray(message) && message[0] === 'tothread:ring') rings++;
        if (Array.isArray(message) && message[0] === 'tothread-test:mark') marked();
      });
    }
    // Call 0 takes the worker; calls 1-11 queue behind it and go as one batch once it answers.
    const first = pool.toThread(countOrBox, counts, 0, 11);
    const calls = Array.from({ length: 11 }, (_, k) => pool.toThread(countOrBox, counts, k + 1, 11));
    await first;
    // The batch is on its way: the main thread now blocks until call 11 has started (so calls 1-10
    // have written their answers: a worker answers a call before it takes the next), reading
    // nothing meanwhile. Call 11 answers by message: it rings nothing, whenever it answers.
    const until = Date.now() + 10_000;
    while (Atomics.load(counts, 11) === 0 && Date.now() < until);
    expect([...counts].slice(1)).toEqual(Array(11).fill(1));
    expect(await Promise.all(calls)).toEqual([...Array.from({ length: 10 }, (_, k) => k + 1), [11]]);
    // The batch's answers may settle at its task's end, before its ring comes in (on the worker's own
    // port): a mark posted on that port after the batch comes after every ring it sent.
    await Promise.all([new Promise<void>((resolve) => (marked = resolve)), pool.toThread(mark)]);
    expect(rings).toBe(1);
  });

  it('calls of a function seen to return short strings answer in shared memory, every string exact, a longer one by message', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    await warm(pool, () => pool.toThread(textOf, 0)); // sent alone: the pool sees it return a string
    let replies = 0;
    for (const worker of workersOf(pool)) worker.on('message', (message: unknown) => void (Array.isArray(message) && message[0] === 'tothread:reply' && replies++));
    const n = TEXTS.length * 200;
    const order: number[] = [];
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => pool.toThread(textOf, i).then((text) => (order.push(i), text))));
    expect(answers.flatMap((text, i) => (text === TEXTS[i % TEXTS.length] ? [] : [[i, text]]))).toEqual([]);
    expect(order).toEqual(Array.from({ length: n }, (_, i) => i));
    // Only the 65-unit string, 1 call in 8, needs a message (in a batch; a call sent alone answers with its task).
    expect(replies).toBeLessThanOrEqual(n / TEXTS.length);
  });

  it('each call of a batch gets exactly its own arguments, whether its calls take as many arguments as one another or not', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    let rings = 0;
    /** `n` calls made by `call(i)`, all queued at once; throws if none went in a batch (a call sent alone answers with its task, no ring). */
    const inBatches = async <T,>(call: (i: number) => Promise<T>): Promise<T[]> => {
      await warm(pool, () => call(0));
      rings = 0;
      const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) => call(i)));
      expect(rings).toBeGreaterThan(0);
      return answers;
    };
    await warm(pool, () => pool.toThread(countArgs));
    for (const worker of workersOf(pool)) worker.on('message', (message: unknown) => void (Array.isArray(message) && message[0] === 'tothread:ring' && rings++));
    const wrong = (answers: number[]): number[] => answers.flatMap((got, i) => (got === i ? [] : [i]));
    // As many arguments each (three, one or none): they travel one after another in one list.
    expect(wrong(await inBatches((i) => pool.toThread(gotArgs, i, 1, ...argsFor(i, 1))))).toEqual([]); // call i ran with call i's arguments, all of them, exactly
    expect(wrong(await inBatches((i) => pool.toThread(same, i)))).toEqual([]);
    expect(await inBatches(() => pool.toThread(countArgs))).toEqual(Array(1000).fill(0));
    // Two to five each: one list per call.
    expect(wrong(await inBatches((i) => pool.toThread(gotArgs, i, null, ...argsFor(i))))).toEqual([]);
  });

  it('on one thread, answers settle in call order across the two channels: batches ending before their answers by message came, and a call sent alone after them', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    await warm(pool, () => pool.toThread(objectEvery, 1, 100));
    // The next batch runs and ends before the answers of the one before have all come in.
    postsComeLate(pool);
    const order: string[] = [];
    const n = 2000;
    const batched = Array.from({ length: n }, (_, i) => pool.toThread(objectEvery, i, 100).then(() => order.push(`batched ${i}`)));
    // Another function, never measured: it travels alone, behind the batches, and answers on
    // Piscina's channel while some of their answers are still on the worker's port.
    const alone = pool.toThread(same, 'alone').then((value) => order.push(value));
    await Promise.all([...batched, alone]);
    expect(order).toEqual([...Array.from({ length: n }, (_, i) => `batched ${i}`), 'alone']);
    expect(pool.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('a call sent alone keeps its answer while it waits for the batches before it: its timeout firing meanwhile does not override it', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    await warm(pool, () => pool.toThread(objectEvery, 1, 3));
    postsComeLate(pool, 1_000);
    const batched = Array.from({ length: 50 }, (_, i) => pool.toThread(objectEvery, i, 3));
    // It answers within a few ms, then waits ~1 s for the batches' answers by message; its
    // timeout (counted from the call) fires in between.
    const alone = pool.toThread.with({ timeout: 500, timeoutFrom: 'call' })(same, 'alone');
    expect(await settle(alone)).toBe('alone');
    await Promise.all(batched);
    expect(pool.stats()).toMatchObject({ running: 0, queued: 0, failed: 0, cancelled: 0 });
  });

  it('a call of a batch that throws settles before the calls behind it, though its error is rebuilt after they answered', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    await warm(pool, () => pool.toThread(throwsAtOne, 0));
    for (let round = 0; round < 5; round++) {
      const busy = pool.toThread(step, counter(1), 0, 30); // holds the worker: the next calls go as one batch
      const order: number[] = [];
      const calls = Array.from({ length: 10 }, (_, i) => pool.toThread(throwsAtOne, i).finally(() => order.push(i)));
      await busy;
      await Promise.allSettled(calls);
      expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
  });

  it('cancelling a call whose answer comes by message does not strand the answers in shared memory behind it', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    await warm(pool, () => pool.toThread(textAtOne, 0));
    for (let round = 0; round < 30; round++) {
      const busy = pool.toThread(step, counter(1), 0, 30);
      const controller = new AbortController();
      const calls = Array.from({ length: 10 }, (_, i) => pool.toThread.with(i === 1 ? { signal: controller.signal } : {})(textAtOne, i));
      // Cancelled as call 0 settles: often after the batch ended, with its answer still on the way.
      void calls[0]!.then(() => controller.abort(new Error('not needed')));
      await busy;
      const outcomes = await Promise.race([Promise.allSettled(calls), sleep(5_000).then(() => 'stranded' as const)]);
      expect(outcomes, `round ${round}`).not.toBe('stranded');
      const values = (outcomes as Array<PromiseSettledResult<unknown>>).map((o) => (o.status === 'fulfilled' ? o.value : 'cancelled'));
      expect([values[0], ...values.slice(2)]).toEqual([0, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
  });

  it('a cancelled call the worker has not reached is skipped without stopping the worker', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    await warm(pool);
    const counts = counter(12);
    const controller = new AbortController();
    const calls = await queuedBehindOne(pool, counts, (i) => pool.toThread.with(i === 7 ? { signal: controller.signal } : {})(step, counts, i, i === 1 ? 400 : 0));
    await started(counts, 1); // call 1 blocks; calls 2-10 wait behind it in its batch
    controller.abort(new Error('not needed'));
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes[6]).toMatchObject({ status: 'rejected', reason: { message: 'not needed' } });
    expect(Atomics.load(counts, 7)).toBe(0);
    const threads = outcomes.filter((o) => o.status === 'fulfilled').map((o) => (o as PromiseFulfilledResult<number>).value);
    expect(new Set(threads).size).toBe(1); // one worker ran them all: none was stopped
    expect([...counts].slice(1, 11)).toEqual([1, 1, 1, 1, 1, 1, 0, 1, 1, 1]);
  });

  it('cancelling a running call stops only it: the calls before keep their values, the calls after run on a new worker', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    await warm(pool);
    const counts = counter(12);
    const controller = new AbortController();
    const calls = await queuedBehindOne(pool, counts, (i) =>
      i === 5 ? pool.toThread.with({ signal: controller.signal })(step, counts, i, 60_000) : pool.toThread(step, counts, i, 0),
    );
    await started(counts, 5);
    controller.abort(new Error('stop that one'));
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes[4]).toMatchObject({ status: 'rejected', reason: { message: 'stop that one' } });
    expectOnlyCall5Stopped(outcomes, counts);
  });

  it("calls with a timeout batch too, and a call's timeout counts its own run time, not its wait behind the calls before it", async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    await warm(pool);
    const counts = counter(12);
    // Call 1 runs 600 ms; calls 2-10, allowed 200 ms each, wait behind it in the same batch.
    const calls = await queuedBehindOne(pool, counts, (i) => pool.toThread.with(i === 1 ? {} : { timeout: 200 })(step, counts, i, i === 1 ? 600 : 0));
    await started(counts, 1);
    const { running, queued } = pool.stats();
    expect(running + queued).toBe(10);
    expect(running).toBeGreaterThan(1); // calls 1-10 travel together (ten, or fewer when a loaded machine makes step look slower), not one by one
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(10);
    expect(new Set(outcomes.map((o) => (o as PromiseFulfilledResult<number>).value)).size).toBe(1); // no worker was stopped
    expect([...counts].slice(1, 11)).toEqual(Array(10).fill(1));
  });

  it('a call in a batch that runs past its timeout is stopped: the calls before keep their values, the calls after run on a new worker', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    await warm(pool);
    const counts = counter(12);
    const calls = await queuedBehindOne(pool, counts, (i) => pool.toThread.with({ timeout: 300 })(step, counts, i, i === 5 ? 60_000 : 0));
    const outcomes = await Promise.allSettled(calls);
    expect((outcomes[4] as PromiseRejectedResult).reason).toBeInstanceOf(TimeoutError);
    expect((outcomes[4] as PromiseRejectedResult).reason).toMatchObject({ timeout: 300, message: '`step` timed out after 300 ms' });
    expectOnlyCall5Stopped(outcomes, counts);
    expect(pool.stats()).toMatchObject({ running: 0, queued: 0, cancelled: 1 });
  });

  it('a worker that dies mid-batch fails only the call it was running; the calls it never started run elsewhere', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    await warm(pool);
    const counts = counter(12);
    const calls = await queuedBehindOne(pool, counts, (i) => pool.toThread(step, counts, i, 0, i === 4 ? 3 : 0));
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes[3]).toMatchObject({ status: 'rejected' });
    expect((outcomes[3] as PromiseRejectedResult).reason).toBeInstanceOf(WorkerExitError);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(9);
    expect([...counts].slice(1, 11)).toEqual(Array(10).fill(1));
    expect(pool.stats()).toMatchObject({ running: 0, queued: 0, failed: 1 });
  });

  it('a slow call inside a batch does not hold back the quick calls behind it while another worker is free', async () => {
    await using pool = createPool({ minThreads: 2, maxThreads: 2 });
    await warm(pool);
    const counts = counter(40);
    const done: number[] = [];
    const calls = Array.from({ length: 40 }, (_, i) => pool.toThread(step, counts, i, i === 10 ? 1500 : 0).then(() => done.push(i)));
    await Promise.all(calls);
    expect(done.at(-1)).toBe(10); // every quick call finished before the slow one
    expect([...counts]).toEqual(Array(40).fill(1));
  });

  it('a slow call inside a batch does not hold back the calls behind it while new calls keep the queue full', async () => {
    await using pool = createPool({ minThreads: 2, maxThreads: 2 });
    await warm(pool);
    await pool.toThread(slowStep, counter(1), 0, 0); // located once: the blockers below start at once
    const blockers = [0, 1].map(() => pool.toThread(slowStep, counter(1), 0, 100)); // both workers busy
    const counts = counter(22);
    const done: number[] = [];
    // Call 1 turns slow; calls 2-21 queue right behind it, so they travel in its batch.
    let slowDone = false;
    const slow = pool.toThread(step, counts, 1, 1500).then(() => {
      slowDone = true;
      return done.length; // how many of the calls behind it had answered by then
    });
    const behind = Array.from({ length: 20 }, (_, k) => pool.toThread(step, counts, k + 2, 0).then(() => done.push(k + 2)));
    // Meanwhile new 4 ms calls arrive faster than the other worker can run them: the queue is never empty.
    const stream = counter(4000);
    const more: Array<Promise<unknown>> = [];
    for (let n = 0; !slowDone && n < 4000; n += 10) {
      for (let k = n; k < n + 10; k++) more.push(pool.toThread(step, stream, k, 4));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.all([...blockers, ...behind, ...more]);
    expect(await slow).toBe(20); // every call behind the slow one answered before it did
    expect([...counts].slice(1)).toEqual(Array(21).fill(1));
    expect(stream.slice(0, more.length).every((n) => n === 1)).toBe(true);
  });

  it('calls of a function that costs more than 10 ms never batch: they wait in the queue, not behind a busy worker', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    for (let i = 0; i < 3; i++) await pool.toThread(slowStep, counter(1), 0, 15); // measured: slow
    await warm(pool); // measured: quick
    // Call 0 holds the only worker while calls 1-5 queue; call 1 then holds it while we look.
    const queueBehind = async (fn: typeof step, ms: number): Promise<ReturnType<Pool['stats']>> => {
      const counts = counter(6);
      const calls = Array.from({ length: 6 }, (_, i) => pool.toThread(fn, counts, i, i === 1 ? 300 : ms));
      await started(counts, 1);
      const stats = pool.stats();
      await Promise.all(calls);
      return stats;
    };
    expect(await queueBehind(slowStep, 15)).toMatchObject({ running: 1, queued: 4 });
    expect(await queueBehind(step, 0)).toMatchObject({ running: 5, queued: 0 }); // a quick one: calls 1-5 in one batch
  });

  it("a batch too big for its worker's memory is sent again call by call, not formed again forever", async () => {
    await using pool = createPool({ maxThreads: 2, resourceLimits: { maxOldGenerationSizeMb: 48 } });
    for (let i = 0; i < 3; i++) await pool.toThread(lengthOf, 'x'); // measured: quick
    const text = (i: number): string => String(i % 10).repeat(1 << 20); // 1 MB each: 64 of them do not fit
    const calls = Array.from({ length: 200 }, (_, i) => pool.toThread(lengthOf, text(i)));
    const stuck = new Promise<'stuck'>((resolve) => setTimeout(resolve, 40_000, 'stuck').unref());
    expect(await Promise.race([Promise.all(calls), stuck])).toEqual(Array.from({ length: 200 }, () => 1 << 20));
  });

  it("a function's first call, which loads its module, does not make it look slow: its very next calls batch", async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    await pool.toThread(quick, 0); // loads the module: 150 ms of its own, before quick runs
    const blocker = pool.toThread(busy, 200);
    const calls = Array.from({ length: 10 }, (_, i) => pool.toThread(quick, i));
    await blocker;
    // The worker was freed and the calls were sent before this line: together, not one by one (as
    // they would be if the load counted as the call's cost). How many go in the first batch
    // depends on the cost measured for that one call, which a loaded machine inflates (CI once
    // saw 7 of 10).
    const { running, queued } = pool.stats();
    expect(running + queued).toBe(10);
    expect(running).toBeGreaterThan(1);
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it("a timed call in a batch is stopped even while its worker hangs loading the function's module", async () => {
    await using pool = await reloadWithFlag(next, hangFlag); // every new worker hangs as it loads the module
    try {
      const calls = Array.from({ length: 5 }, (_, i) => settle(pool.toThread.with({ timeout: 150 })(next, i)));
      // The first goes alone, the others in batches (each stopped in turn, its later calls sent again).
      for (const outcome of await Promise.all(calls)) expect(outcome).toBeInstanceOf(TimeoutError);
    } finally {
      rmSync(hangFlag, { force: true });
    }
    expect(await pool.toThread(next, 1)).toBe(2);
  });

  it("a worker that dies loading a batch's module fails none of its calls: they run elsewhere", async () => {
    await using pool = await reloadWithFlag(plusOne, dieFlag); // the next worker dies once as it loads the module
    const ran = counter(1);
    const blocker = pool.toThread(step, ran, 0, 100); // another module: the worker runs it first
    const calls = Array.from({ length: 5 }, (_, i) => pool.toThread(plusOne, i)); // one batch, behind the blocker
    await blocker;
    expect(Atomics.load(ran, 0)).toBe(1);
    expect(await Promise.all(calls)).toEqual([1, 2, 3, 4, 5]);
    expect(existsSync(dieFlag)).toBe(false); // the batch's worker did die loading the module
  });

  it('close() waits for the answers of a batch still on their way', async () => {
    const pool = createPool({ minThreads: 1, maxThreads: 1 });
    await warm(pool);
    const counts = counter(200);
    const outcomes = Promise.allSettled(Array.from({ length: 200 }, (_, i) => pool.toThread(step, counts, i, 0)));
    await new Promise((resolve) => setImmediate(resolve));
    await pool.close();
    const settled = await outcomes;
    const ran = [...counts].filter((n) => n === 1).length;
    // Calls queued at close() are refused; every call that ran answers with its value.
    expect(ran).toBeGreaterThan(0);
    expect(settled.filter((o) => o.status === 'fulfilled')).toHaveLength(ran);
    expect(counts.every((n) => n <= 1)).toBe(true);
  });
});

describe('destroy() and batches', () => {
  it('destroy() keeps the values of the calls that ran, their answers unread in shared memory, and fails only the rest', async () => {
    const pool = createPool({ minThreads: 1, maxThreads: 1 });
    await warm(pool);
    const counts = counter(100);
    // Call 10 blocks its worker; calls 1-10 travel in one batch (one would need to cost 2 ms for them not to).
    const outcomes = Promise.allSettled(Array.from({ length: 100 }, (_, i) => pool.toThread(step, counts, i, i === 10 ? 10_000 : 0)));
    while (pool.stats().running < 2) await new Promise((resolve) => setImmediate(resolve)); // the batch is sent
    // No turn of the event loop while call 10 starts: the answers of calls 1-9 stay unread in shared
    // memory. On a loaded machine call 10 may travel in a later batch, which only a turn sends: the
    // loop turns then, every 200 ms, and those answers may be read (the outcome must be the same).
    while (Atomics.load(counts, 10) === 0) {
      const until = Date.now() + 200;
      while (Atomics.load(counts, 10) === 0 && Date.now() < until);
      if (Atomics.load(counts, 10) === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const destroyed = pool.destroy();
    const settled = await outcomes;
    await destroyed;
    expect(settled.slice(0, 10).filter((o) => o.status === 'rejected')).toEqual([]);
    expect(settled.slice(10).every((o) => o.status === 'rejected' && (o.reason as Error).name === 'PoolClosedError')).toBe(true);
  });
});

describe('a worker that fails between the calls of a batch', () => {
  it('is warned about, not replaced without a word, and every call still answers with its value', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    const leaveATimer = (i: number, at: number): number => {
      if (i === at) setTimeout(() => { throw new Error(`left behind by call ${i}`); }, 0);
      return i;
    };
    for (let i = 0; i < 3; i++) await pool.toThread(leaveATimer, i, -1);
    const warned = nextWarning('TOTHREAD_WORKER_ERROR');
    const values = await Promise.all(Array.from({ length: 500 }, (_, i) => pool.toThread(leaveATimer, i, 100)));
    expect(values).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect((await warned)?.message).toMatch(/A tothread worker failed outside any call: Error: left behind by call 100/);
  });
});

describe('calls sent alone', () => {
  it('a brief call wakes the main thread as it starts, a slow one does not: one early message each, none', async () => {
    await using pool = createPool({ minThreads: 1, maxThreads: 1 });
    const counts = counter(1);
    // Measured: brief (the estimate is a moving average: a call the kernel paused on a loaded machine weighs for a few calls).
    for (let i = 0; i < 30; i++) await pool.toThread(step, counts, 0, 0);
    for (let i = 0; i < 3; i++) await pool.toThread(slowStep, counts, 0, 5); // measured: 5 ms
    let early = 0;
    for (const worker of workersOf(pool)) worker.on('message', (message: unknown) => void (Array.isArray(message) && message[0] === 'tothread:started' && early++));
    for (let i = 0; i < 20; i++) await pool.toThread(step, counts, 0, 0);
    // It travels apart from the answer, which may overtake it: let the last ones arrive.
    const settled = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, 50));
    await settled();
    // All 20 on a quiet machine; a call the kernel pauses on a loaded one looks slow for a few calls.
    expect(early).toBeGreaterThan(10);
    const afterBrief = early;
    for (let i = 0; i < 5; i++) await pool.toThread(slowStep, counts, 0, 5);
    await settled();
    expect(early).toBe(afterBrief);
  });
});
