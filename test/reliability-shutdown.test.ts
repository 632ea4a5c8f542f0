import { describe, expect, it } from 'vitest';
import { createPool, gather, PoolClosedError, QueueFullError, TimeoutError } from '@tothread/core';
import { busyWaitSync } from './fixtures/legacy-esm.mjs';
import { fixture, runNode, settle, startNode } from './helpers.js';


/** Starts a fixture, waits for `busy`, sends SIGTERM, and resolves with how and when it ended. */
async function terminateWhileBusy(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; afterSignalMs: number }> {
  const { child, ended } = startNode(args, { cwd: fixture('.'), timeoutMs: 20_000 });
  let stdout = '';
  let sentAt = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (sentAt === 0 && stdout.includes('busy')) {
      sentAt = performance.now();
      child.kill('SIGTERM');
    }
  });
  const { code, signal } = await ended;
  return { code, signal, stdout, afterSignalMs: performance.now() - sentAt };
}

describe('shutdown, checked with child processes and their exit times', () => {
  it('a script with its own pool, never closed, exits by itself', async () => {
    const run = await runNode([fixture('pool-left-open.mjs')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('1,4,9,16');
    expect(run.ms).toBeLessThan(10_000);
  });

  it.each([
    ['free', ''],
    ['blocked for 40 ms every 5 ms', 'busy'],
  ])("writes a worker's console output before the result of the call that wrote it, alone, batched or streamed, a stream's end and error included (main thread %s)", async (_, mode) => {
    const run = await runNode([fixture('worker-logs.mjs'), mode]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(104);
    const late = Array.from({ length: 52 }, (_, i) => i).filter((i) => lines.indexOf(`log ${i}`) > lines.indexOf(`result ${i}`));
    expect(late).toEqual([]);
  });

  it('waits for output that moves, however slowly: 1 MB lines read at about 1.6 MB/s all come out, each before its result', async () => {
    const { child, ended } = startNode([fixture('worker-logs-large.mjs')], { cwd: fixture('.') });
    let stdout = '';
    child.stdout.pause();
    const reader = setInterval(() => (stdout += child.stdout.read(16_384)?.toString() ?? ''), 10);
    child.on('exit', () => {
      clearInterval(reader);
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    });
    expect((await ended).code).toBe(0);
    const lines = stdout.trim().split('\n').map((line) => line.slice(0, 10).trim());
    expect(lines).toEqual(['log 0 zzzz', 'result 0', 'log 1 zzzz', 'result 1', 'log 2 zzzz', 'result 2', 'log 3 zzzz', 'result 3']);
  });

  it('calls that log still answer when the main thread no longer writes its stdout (closed, EPIPE)', async () => {
    const run = await runNode([fixture('stdout-closed.mjs')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/done 100/);
    // Waiting for output that will never be written, each call would take 20 ms or more.
    expect(Number(/200 silent calls in (\d+) ms/.exec(run.stderr)?.[1])).toBeLessThan(2_000);
  });

  it("calls that log still answer when nobody reads the pipe behind the main thread's stdout (its stderr busy), and that wait is not their run time", async () => {
    const { child, ended } = startNode([fixture('stdout-unread.mjs')], { cwd: fixture('.') });
    let stderr = '';
    // stdout is not read until the fixture reports on stderr; then it is, so that it can exit.
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('unwritten')) child.stdout.resume();
    });
    expect((await ended).code, stderr).toBe(0);
    const report = /^(\{.*\}) in (\d+) ms, (\d+) bytes unwritten/m.exec(stderr);
    // 130 calls with a 200 ms timeout, sent alone then batched: none timed out waiting for output.
    expect(JSON.parse(report?.[1] ?? 'null'), stderr).toEqual({ ok: 130 });
    // The pipe did fill up: the main thread was left holding what it could not write.
    expect(Number(report?.[3])).toBeGreaterThan(0);
    // Each pool's worker waited about 0.5 s once, then stopped waiting (1.3 s here); not every call.
    expect(Number(report?.[2])).toBeLessThan(10_000);
  });

  it('a stream read in part, or not at all, does not keep the process alive once its worker is done', async () => {
    const run = await runNode([fixture('stream-read-in-part.mjs')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('0 function');
    expect(run.ms).toBeLessThan(10_000);
  });

  it('calls refused before they reach a worker leave no port open: a callback argument, a stream never iterated', async () => {
    const run = await runNode([fixture('refused-before-start.mjs')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('not needed');
    expect(run.ms).toBeLessThan(10_000);
  });

  it('SIGTERM during work ends the process, with or without a handler, and nothing keeps it alive', async () => {
    const handled = await terminateWhileBusy([fixture('signal-during-work.mjs'), 'handle']);
    expect(handled.stdout).toMatch(/destroyed/);
    expect(handled.code).toBe(0);
    expect(handled.afterSignalMs).toBeLessThan(5_000);
    const unhandled = await terminateWhileBusy([fixture('signal-during-work.mjs')]);
    expect(unhandled.signal).toBe('SIGTERM');
    expect(unhandled.afterSignalMs).toBeLessThan(5_000);
  });
});

describe("backpressure: a full queue rejects, or waits when asked (queueFull: 'wait')", () => {
  it('waits for room in order, and drops nothing', async () => {
    await using pool = createPool({ maxThreads: 1, maxQueue: 2, queueFull: 'wait' });
    const order: number[] = [];
    const calls = [0, 1, 2, 3, 4, 5].map((i) => pool.toThread(busyWaitSync, 20 + i).then((ms) => order.push(ms - 20)));
    expect(pool.stats()).toMatchObject({ running: 1, queued: 2 });
    await Promise.all(calls);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a call waiting for room can be aborted, and close() refuses the rest with PoolClosedError', async () => {
    const pool = createPool({ maxThreads: 1, maxQueue: 1, queueFull: 'wait' });
    const running = pool.toThread(busyWaitSync, 200);
    const queued = settle(pool.toThread(busyWaitSync, 1));
    const controller = new AbortController();
    const aborted = settle(pool.toThread.with({ signal: controller.signal })(busyWaitSync, 2));
    const waiting = settle(pool.toThread(busyWaitSync, 3));
    controller.abort('no longer needed');
    expect(await aborted).toBe('no longer needed');
    const closing = pool.close();
    expect(await waiting).toBeInstanceOf(PoolClosedError);
    expect(await running).toBe(200);
    expect(await queued).toBeInstanceOf(PoolClosedError);
    await closing;
    // Calls that ended while waiting for room count too: the aborted one as cancelled, the refused one as failed.
    expect(pool.stats()).toMatchObject({ completed: 1, cancelled: 1, failed: 2 });
  });

  it('a call waiting for room is cancelled through its promise, as gather() does: it never runs, and the next one takes its place', async () => {
    await using pool = createPool({ maxThreads: 1, maxQueue: 1, queueFull: 'wait' });
    const running = pool.toThread(busyWaitSync, 300);
    const queued = pool.toThread(busyWaitSync, 1);
    const group = gather(pool.toThread(busyWaitSync, 2), pool.toThread(busyWaitSync, 3));
    const next = pool.toThread(busyWaitSync, 4);
    expect(group.cancel('stop')).toBe(true);
    expect(await settle(group)).toBe('stop');
    expect([await running, await queued, await next]).toEqual([300, 1, 4]);
    expect(pool.stats()).toMatchObject({ completed: 3, cancelled: 2, queued: 0, running: 0 });
  });

  it("a timeout from 'call' counts the time a call waits for room in the queue", async () => {
    await using pool = createPool({ maxThreads: 1, maxQueue: 1, queueFull: 'wait' });
    const settledFirst: string[] = [];
    const running = pool.toThread(busyWaitSync, 800).then(() => settledFirst.push('running'));
    const queued = pool.toThread(busyWaitSync, 1);
    const timed = settle(pool.toThread.with({ timeout: 100, timeoutFrom: 'call' })(busyWaitSync, 2)).then((error) => {
      settledFirst.push('timed');
      return error;
    });
    const error = (await timed) as TimeoutError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ timeout: 100, message: '`busyWaitSync` timed out after 100 ms' });
    await Promise.all([running, queued]);
    expect(settledFirst).toEqual(['timed', 'running']); // it did not wait for a place to time out
    expect(pool.stats()).toMatchObject({ completed: 2, cancelled: 1, failed: 0 });
  });

  it("rejects with QueueFullError by default, naming the 'wait' option, which a pool that queues nothing needs a queue for", async () => {
    await using pool = createPool({ maxThreads: 1, maxQueue: 1 });
    const running = pool.toThread(busyWaitSync, 50);
    const queued = pool.toThread(busyWaitSync, 1);
    const error = (await settle(pool.toThread(busyWaitSync, 1))) as QueueFullError;
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error.message).toMatch(/\(maxQueue: 1\): .*pass queueFull: 'wait'/);
    expect(await Promise.all([running, queued])).toEqual([50, 1]);

    await using none = createPool({ maxThreads: 1, maxQueue: 0 });
    const busy = none.toThread(busyWaitSync, 50);
    const refused = (await settle(none.toThread(busyWaitSync, 1))) as QueueFullError;
    expect(refused).toBeInstanceOf(QueueFullError);
    expect(refused.message).toMatch(/queues nothing \(maxQueue: 0\): .*raise maxQueue \(with queueFull: 'wait' to wait for room\)/);
    expect(() => createPool({ maxQueue: 0, queueFull: 'wait' })).toThrow(RangeError); // the advice is to raise maxQueue first
    expect(await busy).toBe(50);
  });
});
