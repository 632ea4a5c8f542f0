import { afterAll, describe, expect, it } from 'vitest';
import type { MessagePort } from 'node:worker_threads';
import { CallbackError, CloneError, createPool, ExportError, map, timeout, TimeoutError, transfer, WorkerExitError, wrapModule } from '@tothread/core';
import { askTheMainThread, crunchSync, reportJustBeforeReturning, reportThenThrow, spinWhileReporting, sumBytes } from './fixtures/progress.mjs';
import type * as streams from './fixtures/streams.mjs';
import { asyncRows, cleanupFails, countThenSum, failAfter, produce, rowsOf, rowsUntilCancelled } from './fixtures/streams.mjs';
import { echoBytes, keptLength, makeBytes, makeNested, markedSlice, slicesOfLarge, streamBytes, transferNotABuffer } from './fixtures/buffers.mjs';
import { nextWarning, settle, sleep, thrown, workersOf } from './helpers.js';

const pool = createPool({ minThreads: 1, maxThreads: 2 });
afterAll(() => pool.close());

describe('callbacks across threads', () => {
  it('delivers progress callbacks while the sync task runs, not all at the end', async () => {
    const started = performance.now();
    const arrivals: Array<{ step: number; at: number }> = [];
    const result = await pool.toThread(crunchSync, 5, 100, (step: number) => arrivals.push({ step, at: performance.now() - started }));
    const finished = performance.now() - started;
    expect(result).toBe('crunched');
    expect(arrivals.map((a) => a.step)).toEqual([1, 2, 3, 4, 5]);
    // The first step ends at ~100 ms of a ~500 ms task: it was seen long before the result.
    expect(arrivals[0]!.at).toBeLessThan(finished - 150);
  });

  it('delivers every callback made just before the task returns, before its result', async () => {
    const events: string[] = [];
    expect(await pool.toThread(reportJustBeforeReturning, { onEvent: (e: string) => events.push(e) })).toBe('returned');
    expect(events).toHaveLength(50);
  });

  it('delivers every callback made before the function throws, before the rejection', async () => {
    const events: number[] = [];
    const error = await settle(pool.toThread(reportThenThrow, (n: number) => events.push(n)));
    expect((error as Error).message).toBe('failed after reporting');
    expect(events).toHaveLength(500);
  });

  it('lets async worker code await what a callback returns', async () => {
    expect(await pool.toThread(askTheMainThread, async (n: number) => n + 0.5)).toBe(43);
  });

  it('stops the call with CallbackError naming the argument when a callback throws', async () => {
    const error = (await settle(pool.toThread(spinWhileReporting, () => {
      throw new Error('the progress bar is gone');
    }))) as CallbackError;
    expect(error).toBeInstanceOf(CallbackError);
    expect(error.path).toBe('args[0]');
    expect((error.cause as Error).message).toBe('the progress bar is gone');
    expect(await pool.toThread(() => 'serving')).toBe('serving'); // the spinning worker was stopped
  });

  it('runs none of the callback calls already on their way once a callback has stopped the call, or a signal has', async () => {
    const report = (n: number, onProgress: (k: number) => void): void => {
      for (let k = 0; k < n; k++) onProgress(k); // all posted at once, before any has run
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    };
    const seen: number[] = [];
    const error = await settle(pool.toThread(report, 10, (k: number) => {
      seen.push(k);
      if (k === 2) throw new Error('sink failed');
    }));
    expect(error).toBeInstanceOf(CallbackError);
    await sleep(100);
    expect(seen).toEqual([0, 1, 2]); // before: the 7 calls after the one that threw ran too
    const controller = new AbortController();
    const afterAbort: number[] = [];
    const aborted = settle(pool.toThread.with({ signal: controller.signal })(report, 50, (k: number) => {
      if (k === 0) controller.abort(new Error('enough'));
      else afterAbort.push(k);
    }));
    expect(await aborted).toMatchObject({ message: 'enough' });
    await sleep(100);
    expect(afterAbort).toEqual([]);
  });

  it("counts a call a callback stopped as failed, and shows a thrown object's fields", async () => {
    const solo = createPool({ maxThreads: 1 });
    try {
      const error = (await settle(solo.toThread(spinWhileReporting, () => {
        throw { status: 500 }; // eslint-disable-line no-throw-literal
      }))) as CallbackError;
      expect(error).toBeInstanceOf(CallbackError);
      expect(error.message).toContain('threw ({ status: 500 })');
      expect(solo.stats()).toMatchObject({ failed: 1, cancelled: 0 }); // its frames: see call-sites.mjs
    } finally {
      await solo.close();
    }
  });

  it('stops the call with a CallbackError naming the place of what a callback returned that cannot go back to the worker', async () => {
    const ask = async (question: (n: number) => unknown): Promise<unknown> => question(1);
    // A thenable that is not a Promise is awaited, as Comlink does.
    expect(await pool.toThread(ask, () => ({ then: (resolve: (v: number) => void) => resolve(42) }))).toBe(42);
    for (const answer of [() => ({ retries: 3, log() {} }), async () => ({ retries: 3, log() {} })]) {
      const error = (await settle(pool.toThread(ask, answer))) as CallbackError;
      expect(error).toBeInstanceOf(CallbackError);
      expect(error.message).toMatch(/^The callback at args\[0\] returned what cannot be sent back/);
      expect(error.cause).toBeInstanceOf(CloneError);
      expect((error.cause as CloneError).path).toBe('callback args[0] result.log');
      expect((error.cause as CloneError).message).toContain('cannot be sent back to the worker thread: it is a function');
    }
  });

  it('throws a CloneError in the worker when a callback is given what cannot reach the main thread', async () => {
    const seen: unknown[] = [];
    const report = (rows: number[], options: { onRow: (row: unknown) => void }): string => {
      for (const row of rows) options.onRow({ row, meta: { retry() {} } });
      return 'imported';
    };
    const error = (await settle(pool.toThread(report, [1, 2], { onRow: (row: unknown) => seen.push(row) }))) as CloneError;
    expect(error).toBeInstanceOf(CloneError);
    expect(error.path).toBe('callback args[1].onRow arguments[0].meta.retry');
    expect(error.message).toMatch(/cannot be sent to the main thread: it is a function/);
    expect(seen).toEqual([]);
  });

  it('keeps a Buffer a Buffer across threads, as an argument, a result, a batched result, a streamed value and a map() value', async () => {
    expect(await pool.toThread((bytes: Buffer) => [Buffer.isBuffer(bytes), bytes.toString('utf8')], Buffer.from('héllo'))).toEqual([true, 'héllo']);
    const made = await pool.toThread((text: string) => Buffer.from(text), 'abc');
    expect(Buffer.isBuffer(made) && made.toString('utf8')).toBe('abc'); // before: a Uint8Array, whose toString gives '97,98,99'
    const quick = (i: number): Buffer => Buffer.from(String(i));
    for (let i = 0; i < 5; i++) await pool.toThread(quick, i); // measured quick: its calls batch
    const batched = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.toThread(quick, i)));
    expect(batched.every((bytes, i) => Buffer.isBuffer(bytes) && bytes.toString() === String(i))).toBe(true);
    // Buffer arguments of quick calls batch too, each a Buffer in its slot.
    const read = (bytes: Buffer, n: number): string => (Buffer.isBuffer(bytes) ? bytes.toString('utf8') : 'not a Buffer') + n;
    for (let i = 0; i < 5; i++) await pool.toThread(read, Buffer.from('w'), i);
    const readBatched = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.toThread(read, Buffer.from(`b${i}`), i)));
    expect(readBatched).toEqual(Array.from({ length: 40 }, (_, i) => `b${i}${i}`));
    const streamed: unknown[] = [];
    for await (const chunk of pool.toThread(function* (parts: string[]) {
      for (const part of parts) yield Buffer.from(part);
    }, ['a', 'b'])) streamed.push(chunk);
    expect(streamed.map((chunk) => Buffer.isBuffer(chunk) && chunk.toString())).toEqual(['a', 'b']);
    const mapped: unknown[] = [];
    for await (const bytes of map((text: string) => Buffer.from(text), ['x', 'y', 'z'], { pool })) mapped.push(bytes);
    expect(mapped.map((bytes) => Buffer.isBuffer(bytes) && bytes.toString())).toEqual(['x', 'y', 'z']);
  });

  it('keeps a Buffer nested in a result a Buffer (in an object, an array, a Map value, an error cause), beside plain Uint8Arrays, as spawnSync returns them', async () => {
    const run = await pool.toThread(async () => (await import('node:child_process')).spawnSync(process.execPath, ['-e', 'process.stdout.write("out")']));
    expect([Buffer.isBuffer(run.stdout), run.stdout.toString(), Buffer.isBuffer(run.output[1])]).toEqual([true, 'out', true]); // before: '111,117,116'
    const mixed = await pool.toThread(() => {
      const shared = Buffer.from('shared');
      return {
        list: [new Uint8Array([1]), shared, { deeper: [Buffer.from('deep')] }],
        again: shared,
        byName: new Map([['k', Buffer.from('in a map')]]),
        failure: new Error('wrapped', { cause: Buffer.from('cause') }),
        members: new Set([Buffer.from('in a set')]),
      };
    });
    const { list, again, byName, failure, members } = mixed;
    expect([Buffer.isBuffer(list[0]), list[0]]).toEqual([false, new Uint8Array([1])]); // a plain Uint8Array stays one
    expect([list[1], (list[2] as { deeper: Buffer[] }).deeper[0], byName.get('k'), failure.cause].map((b) => Buffer.isBuffer(b) && b.toString())).toEqual(['shared', 'deep', 'in a map', 'cause']);
    expect(again).toBe(list[1]); // one Buffer sent twice is one Buffer here, as structured clone keeps it one object
    expect([...members].map((b) => Buffer.isBuffer(b))).toEqual([false]); // in a Set, replacing it would reorder the Set: documented
    const streamed: unknown[] = [];
    for await (const row of pool.toThread(function* () {
      yield { bytes: Buffer.from('s1') };
      return [Buffer.from('s2')];
    })) streamed.push(row);
    expect(streamed.map((row) => Buffer.isBuffer((row as { bytes: unknown }).bytes))).toEqual([true]);
    const mapped: unknown[] = [];
    for await (const row of map((text: string) => ({ text, bytes: Buffer.from(text) }), ['x', 'y'], { pool })) mapped.push(row);
    expect(mapped.map((row) => Buffer.isBuffer((row as { bytes: unknown }).bytes) && (row as { bytes: Buffer }).bytes.toString())).toEqual(['x', 'y']);
    const quick = (i: number): { bytes: Buffer } => ({ bytes: Buffer.from(String(i)) });
    for (let i = 0; i < 5; i++) await pool.toThread(quick, i); // measured quick: its calls batch
    const batched = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.toThread(quick, i)));
    expect(batched.every(({ bytes }, i) => Buffer.isBuffer(bytes) && bytes.toString() === String(i))).toBe(true);
  });

  it("keeps a Buffer a Buffer in what a call throws: execSync's stderr, an error's fields and cause, a thrown Buffer, in a stream and a map() too", async () => {
    const failed = await settle(pool.toThread(async () => (await import('node:child_process')).execSync('echo oops >&2; exit 3', { stdio: 'pipe' })));
    const { status, stderr } = failed as { status: number; stderr: Buffer };
    expect([status, Buffer.isBuffer(stderr), stderr.toString()]).toEqual([3, true, 'oops\n']); // before: '111,111,112,115,10'
    const fields = (await settle(pool.toThread(() => {
      throw Object.assign(new Error('with fields', { cause: Buffer.from('cause') }), { body: Buffer.from('body'), nested: { list: [new Uint8Array([1]), Buffer.from('deep')] } });
    }))) as Error & { body: Buffer; nested: { list: Uint8Array[] } };
    expect([fields.cause, fields.body, fields.nested.list[1]].map((b) => Buffer.isBuffer(b) && b.toString())).toEqual(['cause', 'body', 'deep']);
    expect(Buffer.isBuffer(fields.nested.list[0])).toBe(false); // a plain Uint8Array stays one
    const raw = await settle(pool.toThread(() => {
      throw Buffer.from('raw');
    }));
    expect([Buffer.isBuffer(raw), String(raw)]).toEqual([true, 'raw']);
    const inStream = await settle((async () => {
      for await (const _ of pool.toThread(function* () {
        yield 1;
        throw Object.assign(new Error('stream failed'), { body: Buffer.from('s') });
      }));
    })());
    expect(Buffer.isBuffer((inStream as { body: unknown }).body)).toBe(true);
    const inMap = await settle((async () => {
      for await (const _ of map((text: string) => {
        throw Object.assign(new Error('item failed'), { body: Buffer.from(text) });
      }, ['m'], { pool }));
    })());
    expect(Buffer.isBuffer((inMap as { body: unknown }).body)).toBe(true);
  });

  it('sends a small view of a larger buffer as the bytes it covers only: a result, a batched result, a streamed value and a map() value', async () => {
    // Structured clone copies a view's whole ArrayBuffer: before, each of these carried 8 KiB (a
    // small Buffer's pool slab) or 8 MiB.
    const made = await pool.toThread((text: string) => Buffer.from(text), 'abc');
    expect([Buffer.isBuffer(made), made.toString(), made.buffer.byteLength]).toEqual([true, 'abc', 3]);
    const doubles = await pool.toThread(() => {
      const large = new Float64Array(1 << 20);
      large[5] = 2.5;
      return large.subarray(5, 9);
    });
    expect([doubles.constructor.name, Array.from(doubles), doubles.buffer.byteLength]).toEqual(['Float64Array', [2.5, 0, 0, 0], 32]);
    const view = await pool.toThread(() => new DataView(new ArrayBuffer(1 << 16), 8, 4));
    expect([view.constructor.name, view.byteLength, view.buffer.byteLength]).toEqual(['DataView', 4, 4]);
    const quick = (i: number): Buffer => Buffer.from(String(i));
    for (let i = 0; i < 5; i++) await pool.toThread(quick, i); // measured quick: its calls batch
    const batched = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.toThread(quick, i)));
    expect(batched.every((bytes, i) => Buffer.isBuffer(bytes) && bytes.toString() === String(i) && bytes.buffer.byteLength === bytes.length)).toBe(true);
    const stream = pool.toThread(slicesOfLarge, 3)[Symbol.asyncIterator]();
    const streamed: Array<IteratorResult<Buffer, Float64Array>> = [];
    for (let i = 0; i < 4; i++) streamed.push(await stream.next());
    expect(streamed.slice(0, 3).map(({ value }) => [Buffer.isBuffer(value), value.length, value.buffer.byteLength, value[0]])).toEqual(Array(3).fill([true, 1024, 1024, 97]));
    const returned = streamed[3]!; // what the generator returned, at the end
    expect([returned.done, returned.value.length, returned.value.buffer.byteLength]).toEqual([true, 16, 128]);
    const mapped: Buffer[] = [];
    for await (const bytes of map((text: string) => Buffer.from(text), ['x', 'y'], { pool })) mapped.push(bytes);
    expect(mapped.map((bytes) => [Buffer.isBuffer(bytes), bytes.toString(), bytes.buffer.byteLength])).toEqual([[true, 'x', 1], [true, 'y', 1]]);
    // A view marked with transfer() moves its whole buffer, as before: nothing is copied.
    const moved = await pool.toThread(markedSlice, 1 << 20);
    expect([moved.length, moved.buffer.byteLength]).toEqual([4, 1 << 20]);
  });

  it('refuses a function where it cannot become a callback (too deep, in an object that refers to itself, in a Map) saying where callbacks go', async () => {
    const cyclic: Record<string, unknown> = { onProgress: () => {} };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { onProgress: () => {} };
    for (let i = 0; i < 8; i++) deep = { level: deep };
    for (const arg of [cyclic, deep, { hooks: new Map([['done', () => {}]]) }]) {
      const error = (await settle(pool.toThread((x: unknown) => typeof x, arg))) as CloneError;
      expect(error).toBeInstanceOf(CloneError);
      // Before: only "it is a function (`onProgress`). Use plain data …", though functions are callbacks elsewhere.
      expect(error.message).toMatch(/it is a function.*, where it cannot become a callback: a function becomes a callback as an argument, or inside plain objects and arrays up to 8 levels deep that do not refer to themselves/);
    }
  });

  it('passes a callback a small view of a large buffer as a copy of the bytes it covers', async () => {
    const seen: Array<[boolean, number, number]> = [];
    await pool.toThread(
      (report: (bytes: Uint8Array | Float32Array) => void) => {
        report(Buffer.from('hi'));
        report(new Float32Array(1 << 20).subarray(0, 2));
      },
      (bytes: Uint8Array | Float32Array) => void seen.push([Buffer.isBuffer(bytes), bytes.length, bytes.buffer.byteLength]),
    );
    expect(seen).toEqual([[true, 2, 2], [false, 2, 8]]); // before: the worker's 8 KiB pool slab, and 4 MiB
  });

  it("keeps a Buffer a Buffer through a callback: one the worker passes it, and one it returns", async () => {
    const chunks: unknown[] = [];
    const seen = await pool.toThread(
      async (onChunk: (chunk: Buffer) => void, ask: () => Promise<Buffer>) => {
        onChunk(Buffer.from('chunk'));
        const answer = await ask();
        return Buffer.isBuffer(answer) && answer.toString();
      },
      (chunk) => chunks.push(Buffer.isBuffer(chunk) && chunk.toString()),
      async () => Buffer.from('answer'),
    );
    expect(chunks).toEqual(['chunk']);
    expect(seen).toBe('answer');
  });

  it('moves a transferred buffer back when it is the result, and a result marked in the worker', async () => {
    const single = createPool({ minThreads: 1, maxThreads: 1 });
    const bytes = new Uint8Array(4096).fill(3);
    const back = await single.toThread(echoBytes, transfer(bytes));
    expect(back).toEqual(new Uint8Array(4096).fill(3));
    expect(await single.toThread(keptLength)).toBe(0); // detached in the worker: it moved back
    const made = await single.toThread(makeBytes, 2048);
    expect(made).toEqual(new Uint8Array(2048).fill(7));
    expect(await single.toThread(keptLength)).toBe(0);
    await single.toThread(echoBytes, new Uint8Array(1024)); // not transferred: copied both ways
    expect(await single.toThread(keptLength)).toBe(1024);
    await single.close();
  });

  it('moves buffers marked in the worker inside a returned object, array or Map, and in streamed values', async () => {
    await using single = createPool({ minThreads: 1, maxThreads: 1 });
    const made = await single.toThread(makeNested, 1024);
    expect(made.data).toEqual(new Uint8Array(1024).fill(5));
    expect(made.parts[0]).toBe(made.byName.get('again')); // one buffer reached twice moves once
    expect(await single.toThread(keptLength)).toBe(0); // detached in the worker: it moved
    const chunks: number[] = [];
    for await (const { chunk } of single.toThread(streamBytes, 512, 3)) chunks.push(chunk[0]!, chunk.length);
    expect(chunks).toEqual([0, 512, 1, 512, 2, 512]);
    expect(await single.toThread(keptLength)).toBe(0);
  });

  it('moves a buffer marked with transfer() instead of copying it', async () => {
    const bytes = new Uint8Array(1 << 16).fill(2);
    expect(await pool.toThread(sumBytes, transfer(bytes))).toBe(2 << 16);
    expect(bytes.byteLength).toBe(0); // detached here: it moved
    expect(() => transfer({} as object)).toThrow(TypeError);
    const view = new Uint8Array(4);
    expect(() => transfer({ view }, [view as never])).toThrow('Expected `transferables[0]` to be an ArrayBuffer or a MessagePort: for a typed array or DataView, list its `.buffer`');
  });

  it('names what was wrong when transfer() is given no object, or a transfer list holds one that carries buffers', async () => {
    // Before: bare TypeErrors from reading .postMessage of undefined, or from a WeakMap key.
    for (const bad of [undefined, null, 5]) expect(thrown(() => transfer(bad as never))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^Expected `value` to be an ArrayBuffer, a typed array, a DataView or a MessagePort, or an object holding what `transferables` lists/) });
    expect(thrown(() => transfer(5 as never, [new ArrayBuffer(1)]))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    const buffer = new ArrayBuffer(8);
    const listed = thrown(() => pool.toThread.with({ transfer: [{ buffer }] as never })((b: { buffer: ArrayBuffer }) => b, { buffer }));
    expect(listed).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', message: 'Expected `options.transfer[0]` to be an ArrayBuffer or a MessagePort: list the buffers themselves, not an object or array holding them, got `Object` (object)' });
    const inWorker = (await settle(pool.toThread(transferNotABuffer, 5))) as Error & { code?: string };
    expect(inWorker).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/^Expected `value` to be an ArrayBuffer, or a typed array or DataView over one/) });
  });

  it('blames the arguments, not options.transfer, when a port marked with transfer() has already moved', async () => {
    await using single = createPool({ minThreads: 1, maxThreads: 1 });
    const { port1, port2 } = new MessageChannel();
    expect(await single.toThread((port: MessagePort) => void port.close(), transfer(port2))).toBeUndefined();
    port1.close();
    const again = (await settle(single.toThread((port: MessagePort) => void port.close(), transfer(port2)))) as CloneError;
    expect(again).toBeInstanceOf(CloneError);
    expect(again.path).toBe('args');
    expect(again.message).toMatch(/^args cannot be sent to a worker thread: an argument, or what transfer\(\) marked among them, was refused/);
  });

  it('refuses a buffer that has already moved, marked or listed, with CloneError before dispatch, and keeps serving', async () => {
    await using single = createPool({ minThreads: 1, maxThreads: 1 });
    const bytes = new Uint8Array(8).fill(1);
    expect(await single.toThread(sumBytes, transfer(bytes))).toBe(8);
    // Node would drop the message of a moved buffer sent again without a word: the call would never answer.
    const marked = (await settle(single.toThread(sumBytes, transfer(bytes)))) as CloneError;
    expect(marked).toBeInstanceOf(CloneError);
    expect(marked.path).toBe('args[0]');
    expect(marked.message).toMatch(/its ArrayBuffer was already moved to another thread/);
    const view = new DataView(new ArrayBuffer(8));
    expect(await single.toThread((d: DataView) => d.byteLength, transfer(view))).toBe(8);
    expect(await settle(single.toThread((o: { view: DataView }) => o.view.byteLength, { view }))).toMatchObject({ name: 'CloneError', path: 'args[0].view' }); // its length cannot even be read
    const listed = (await settle(single.toThread.with({ transfer: [bytes.buffer] })(() => 1))) as CloneError;
    expect(listed).toMatchObject({ name: 'CloneError', path: 'options.transfer[0]' });
    const result = (await settle(single.toThread(() => { const b = new ArrayBuffer(4); structuredClone(b, { transfer: [b] }); return { b }; }))) as CloneError;
    expect(result).toMatchObject({ name: 'CloneError', path: 'result.b' });
    // Two calls queued behind a busy worker, both moving one buffer: the second finds it gone when sent.
    const busy = single.toThread((ms: number) => { const end = Date.now() + ms; while (Date.now() < end); return ms; }, 100);
    const shared = new Uint8Array(4).fill(1);
    const first = single.toThread(sumBytes, transfer(shared));
    const second = single.toThread((n: number, o: { bytes: Uint8Array }) => n + o.bytes.length, 1, { bytes: transfer(shared) });
    expect(await busy).toBe(100);
    expect(await first).toBe(4);
    expect(await settle(second)).toMatchObject({ name: 'CloneError', path: 'args[1].bytes' });
    expect(await single.toThread(sumBytes, new Uint8Array(2).fill(3))).toBe(6);
    expect(single.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('refuses a transfer list item that cannot move, naming it and saying what to list', () => {
    const bytes = new Uint8Array(4);
    const refused = (items: unknown[]): unknown => {
      try {
        pool.toThread.with({ transfer: items as never });
      } catch (error) {
        return error;
      }
      return undefined;
    };
    expect(refused([bytes])).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    expect((refused([bytes]) as Error).message).toMatch(/^Expected `options.transfer\[0\]` to be an ArrayBuffer or a MessagePort: for a typed array or DataView, list its `.buffer`/);
    expect((refused([bytes.buffer, new SharedArrayBuffer(4)]) as Error).message).toMatch(/^Expected `options.transfer\[1\]` .*a SharedArrayBuffer is shared, never moved/);
    expect(refused([1])).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    expect(() => transfer(5 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    // before: "Expected `value` to be … a typed array …, got `Uint8Array`"
    expect(() => transfer(new Uint8Array(new SharedArrayBuffer(4)))).toThrow(/a SharedArrayBuffer, or a view of one, is shared, never moved/);
    expect(() => transfer(new SharedArrayBuffer(4))).toThrow(/pass it without transfer\(\)/);
  });

  it('moves a buffer reached twice (one view marked twice, two marked halves, a mark and options.transfer) once', async () => {
    const bytes = transfer(new Uint8Array(4).fill(1));
    const halves = new Uint8Array(8).fill(1);
    const listed = new Uint8Array(4).fill(1);
    const both = (a: Uint8Array, b: Uint8Array): number => a.length + b.length;
    expect(await pool.toThread(both, bytes, bytes)).toBe(8);
    expect(await pool.toThread(both, transfer(halves.subarray(0, 4)), transfer(halves.subarray(4)))).toBe(8);
    expect(await pool.toThread.with({ transfer: [listed.buffer] })(both, transfer(listed), new Uint8Array(0))).toBe(4);
    expect([bytes.byteLength, halves.byteLength, listed.byteLength]).toEqual([0, 0, 0]); // each moved
  });
});

describe('callbacks called late', () => {
  it('a callback called after its call settled does not run, warns, and fails no later call', async () => {
    await using single = createPool({ minThreads: 1, maxThreads: 1 });
    let ran = 0;
    const warned = nextWarning('TOTHREAD_LATE_CALLBACK');
    const early = await single.toThread(
      (report: () => void) => {
        setTimeout(() => report(), 50); // after the call has answered
        return 'answered';
      },
      () => void ran++,
    );
    expect(early).toBe('answered');
    expect(await single.toThread(async () => new Promise((resolve) => setTimeout(() => resolve('not blamed'), 300)))).toBe('not blamed');
    expect((await warned)?.message).toMatch(/callback args\[0\] was called after its call had settled/);
    expect(ran).toBe(0);
  });
});

describe('streaming generators', () => {
  it('streams a generator passed to toThread, value by value', async () => {
    const values: number[] = [];
    for await (const value of pool.toThread(function* squares(n: number) {
      for (let i = 1; i <= n; i++) yield i * i;
    }, 5)) values.push(value);
    expect(values).toEqual([1, 4, 9, 16, 25]);
  });

  it('streams generator exports of a module, sync and async, through the facade', async () => {
    const legacy = wrapModule<typeof streams>('./fixtures/streams.mjs', { pool });
    const rows: unknown[] = [];
    for await (const row of legacy.asyncRows(3)) rows.push(row);
    expect(rows).toEqual([{ row: 0 }, { row: 1 }, { row: 2 }]);
    const state = new SharedArrayBuffer(8);
    const values: number[] = [];
    for await (const value of legacy.produce(4, state)) values.push(value);
    expect(values).toEqual([0, 1, 2, 3]);
    const awaited = await settle(legacy.produce(1, state) as unknown as PromiseLike<unknown>); // iterated, not awaited
    expect(awaited).toBeInstanceOf(ExportError); // before: a TypeError with no code
    expect(awaited).toMatchObject({ code: 'ERR_TOTHREAD_EXPORT', problem: 'generator', exportPath: 'produce' });
    expect((awaited as Error).message).toMatch(/^`produce` of file:.*is a generator function: iterate it with for await \(const value of facade\.produce\(\.\.\.\)\) instead of awaiting it$/);
  });

  it('counts a facade stream read to its end once, as completed: the call made for awaiting it, withdrawn, is not counted', async () => {
    await using counted = createPool({ maxThreads: 1 });
    const legacy = wrapModule<typeof streams>('./fixtures/streams.mjs', { pool: counted });
    for (let round = 1; round <= 2; round++) { // the export's kind unknown, then known
      const values: number[] = [];
      for await (const value of legacy.countThenSum(2)) values.push(value);
      expect(values).toEqual([1, 2]);
      expect(counted.stats()).toMatchObject({ completed: round, failed: 0, cancelled: 0 }); // before: cancelled 1, then 2
    }
  });

  it('is an async iterator through a facade too: next() by hand, and the generator\'s return value ends it', async () => {
    const legacy = wrapModule<typeof streams>('./fixtures/streams.mjs', { pool });
    const counting = legacy.countThenSum(2);
    expect(await counting.next()).toEqual({ value: 1, done: false });
    expect(await counting.next()).toEqual({ value: 2, done: false });
    expect(await counting.next()).toEqual({ value: 3, done: true });
    expect(await counting.next()).toEqual({ value: undefined, done: true });
    const left = legacy.countThenSum(5);
    expect(await left.next()).toEqual({ value: 1, done: false });
    expect(await left.return!()).toEqual({ value: undefined, done: true });
    const direct = pool.toThread(countThenSum, 1);
    expect([await direct.next(), await direct.next()]).toEqual([{ value: 1, done: false }, { value: 1, done: true }]);
  });

  it("fails inside the loop when a plain function's call is iterated, with the call's own error or one saying to await it, leaving nothing unhandled", async () => {
    // rowsOf returns a generator's iterator: typed as a stream, but only a generator function's calls stream.
    const returned = await settle((async () => { for await (const _ of pool.toThread(rowsOf, 2)); })());
    expect(returned).toBeInstanceOf(CloneError);
    expect((returned as Error).message).toMatch(/it is a Generator object, and only a generator function's calls stream: write the function as one \(function\* /);
    const asyncReturned = await settle(pool.toThread(() => (async function* () { yield 1; })()) as unknown as PromiseLike<unknown>);
    expect((asyncReturned as Error).message).toMatch(/it is an AsyncGenerator object, .*write the function as one \(async function\* /);
    const plain = pool.toThread((n: number) => n + 1, 1) as unknown as AsyncIterable<number>;
    const awaited = await settle((async () => { for await (const _ of plain); })());
    expect(awaited).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
    expect((awaited as Error).message).toMatch(/not a generator function: its call gives a promise of the result, not a stream of values\. Await it/);
    expect(await plain).toBe(2);
  });

  it('answers next() calls made at once in the order they were made, an error in its place', async () => {
    const stream = pool.toThread(failAfter, 2);
    const order: string[] = [];
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        stream.next().then(
          (result) => order.push(`${i}:${result.done ? 'done' : result.value}`),
          (error: Error) => order.push(`${i}:${error.name}`),
        ),
      ),
    );
    expect(order).toEqual(['0:0', '1:1', '2:RangeError', '3:done', '4:done']);
  });

  it('counts a stream that ends with an error as failed', async () => {
    await using single = createPool({ maxThreads: 1 });
    await settle((async () => { for await (const _ of single.toThread(failAfter, 1)); })());
    for await (const _ of single.toThread(countThenSum, 1));
    await sleep(50); // the call's own end travels apart from its last message
    expect(single.stats()).toMatchObject({ completed: 1, failed: 1 });
  });

  it('ends with CallbackError, not as complete, when a callback fails after the last value', async () => {
    const values: number[] = [];
    const report = async (): Promise<void> => {
      await sleep(50); // the worker's last value and its end are here by then
      throw new Error('report failed');
    };
    const error = await settle(
      (async () => {
        for await (const value of pool.toThread(function* (onRow: () => void) {
          yield 1;
          onRow();
          yield 2;
        }, report)) values.push(value);
      })(),
    );
    expect(error).toBeInstanceOf(CallbackError);
    expect((error as CallbackError).cause).toMatchObject({ message: 'report failed' });
    expect([1, 2].slice(0, values.length)).toEqual(values); // those that came before the stop
  });

  it('gives every value a dying worker posted, then WorkerExitError, even when they are read after it died', async () => {
    await using single = createPool({ maxThreads: 1 });
    await single.toThread(() => 0);
    const stream = single.toThread(function* () {
      yield 1;
      yield 2;
      yield 3;
      process.exit(3);
    });
    const until = Date.now() + 300;
    while (Date.now() < until); // the main thread is busy while the worker streams and dies
    const values: number[] = [];
    const error = await settle(
      (async () => {
        for await (const value of stream) values.push(value);
      })(),
    );
    expect(error).toBeInstanceOf(WorkerExitError);
    expect(values).toEqual([1, 2, 3]);
  });

  it('yields nothing after return(), not even values that were on their way, nor those a worker dying then had sent', async () => {
    await using single = createPool({ maxThreads: 1 });
    await single.toThread(() => 0);
    const stream = single.toThread(function* () {
      try {
        for (let i = 1; i <= 5; i++) yield i;
        const until = Date.now() + 200;
        while (Date.now() < until);
        yield 6;
      } finally {
        process.exit(3);
      }
    });
    expect(await stream.next()).toEqual({ value: 1, done: false });
    const until = Date.now() + 100;
    while (Date.now() < until); // values 2-5 are posted meanwhile, not yet delivered
    expect(await stream.return!()).toEqual({ value: undefined, done: true });
    await sleep(300); // they arrive; the worker dies at the stop
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it("serves the replies to a generator's callbacks while it streams, instead of holding them all until it ends", async () => {
    const answeredSoFar: number[] = [];
    const stream = pool.toThread(
      function* (count: number, onValue: (i: number) => unknown) {
        let answered = 0;
        for (let i = 0; i < count; i++) {
          void (onValue(i) as Promise<unknown>).then(() => answered++); // a callback called from a worker answers with a promise
          yield answered;
        }
      },
      3_000,
      (i: number) => i,
    );
    for await (const answered of stream) answeredSoFar.push(answered);
    expect(answeredSoFar).toHaveLength(3_000);
    expect(answeredSoFar.at(-1)).toBeGreaterThan(1_000); // before: 0, every reply read only at the end
  });

  it('runs a callback called before a yield before its value is seen, and one called before a throw before the error', async () => {
    const calledBack: number[] = [];
    const seenAfter: number[] = []; // the last callback run when each value was seen
    const stream = pool.toThread(
      function* (count: number, onItem: (i: number) => unknown) {
        for (let i = 0; i < count; i++) {
          onItem(i);
          yield i;
        }
        onItem(count);
        throw new RangeError('no more');
      },
      2_000,
      (i: number) => void calledBack.push(i),
    );
    const error = await (async () => {
      for await (const value of stream) seenAfter.push(calledBack.at(-1)! - value);
    })().catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(RangeError);
    expect(calledBack.at(-1)).toBe(2_000); // the one before the throw, too
    expect(seenAfter).toHaveLength(2_000);
    expect(seenAfter.filter((lag) => lag < 0)).toEqual([]); // before: hundreds of values seen ahead of their callback
  });

  it('never starts a stream left while it waited in the queue, and counts it as cancelled', async () => {
    await using single = createPool({ minThreads: 1, maxThreads: 1 });
    const ran = new Int32Array(new SharedArrayBuffer(4));
    const busy = single.toThread((ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms), 200);
    const stream = single.toThread(function* (flag: Int32Array) {
      Atomics.store(flag, 0, 1);
      yield 1;
    }, ran);
    const first = stream.next(); // it joins the queue
    await stream.return!(undefined); // left before the busy call let it start
    expect(await first).toEqual({ value: undefined, done: true });
    await busy;
    await sleep(100);
    expect(Atomics.load(ran, 0)).toBe(0);
    expect(single.stats()).toMatchObject({ completed: 1, failed: 0, cancelled: 1 });
  });

  it('runs nothing until the first next(), as a local generator: a stream never iterated holds no worker', async () => {
    await using single = createPool({ minThreads: 1, maxThreads: 1 });
    const ran = new Int32Array(new SharedArrayBuffer(4));
    const stream = single.toThread(function* (flag: Int32Array) {
      Atomics.add(flag, 0, 1);
      yield 'first';
    }, ran);
    await sleep(200);
    expect(Atomics.load(ran, 0)).toBe(0);
    expect(single.stats()).toMatchObject({ running: 0, queued: 0 });
    expect(await single.toThread((x: number) => x + 1, 1)).toBe(2); // before: the worker was held by the unread stream
    expect(await stream.next()).toEqual({ value: 'first', done: false });
    expect(Atomics.load(ran, 0)).toBe(1);
    await stream.return!(undefined);
    const left = single.toThread(function* (flag: Int32Array) {
      Atomics.add(flag, 0, 1);
      yield 1;
    }, ran);
    await left.return!(undefined); // left before it began: it never runs, and is not counted
    await sleep(100);
    expect(Atomics.load(ran, 0)).toBe(1);
    expect(single.stats()).toMatchObject({ completed: 2, cancelled: 0 });
  });

  it('pauses the worker when the consumer lags (bounded buffering)', async () => {
    const shared = new SharedArrayBuffer(8);
    const state = new Int32Array(shared);
    const stream = pool.toThread(produce, 10_000, shared);
    const first = await stream.next();
    expect(first.value).toBe(0);
    await sleep(300); // a slow consumer: the worker must not run ahead by more than the buffer
    const produced = Atomics.load(state, 0);
    expect(produced).toBeLessThanOrEqual(16 + 2);
    await stream.return!();
  });

  it('stops the worker-side generator on break', async () => {
    const shared = new SharedArrayBuffer(8);
    const state = new Int32Array(shared);
    for await (const value of pool.toThread(produce, 1_000_000, shared)) {
      if (value === 3) break;
    }
    expect(Atomics.load(state, 1)).toBe(1);
    expect(Atomics.load(state, 0)).toBeLessThan(1_000_000);
  });

  it("has run the worker-side generator's finally block, however long it takes, when break leaves the loop", async () => {
    const cleanedUp = new Int32Array(new SharedArrayBuffer(4));
    const stream = pool.toThread(function* (flag: Int32Array) {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 150); // a slow cleanup
        Atomics.store(flag, 0, 1);
      }
    }, cleanedUp);
    for await (const value of stream) {
      if (value === 3) break;
    }
    expect(Atomics.load(cleanedUp, 0)).toBe(1); // before: the loop was left while the cleanup still ran
  });

  it("throws from break what the worker-side generator's finally block threw, as break out of a local generator does", async () => {
    const error = await settle(
      (async () => {
        for await (const value of pool.toThread(cleanupFails, 'the lock file is gone')) {
          if (value === 2) break;
        }
      })(),
    );
    expect(error).toBeInstanceOf(RangeError); // before: dropped, and the loop ended as if all went well
    expect((error as Error).message).toBe('the lock file is gone');
    expect((error as Error).stack).toContain('cleanupFails');
  });

  it("throws from return() what an async generator's finally block threw after awaiting, and yields nothing more", async () => {
    const stream = pool.toThread(async function* (ms: number) {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        await new Promise((resolve) => setTimeout(resolve, ms));
        throw new TypeError('flush failed');
      }
    }, 50);
    expect(await stream.next()).toEqual({ value: 0, done: false });
    const error = await settle(stream.return!());
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('flush failed');
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect(await stream.return!()).toEqual({ value: undefined, done: true });
  });

  it('throws an error raised mid-stream after the values before it, with its class', async () => {
    const values: number[] = [];
    const error = await settle(
      (async () => {
        for await (const value of pool.toThread(failAfter, 3)) values.push(value);
      })(),
    );
    expect(values).toEqual([0, 1, 2]);
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe('row 3 is corrupt');
  });

  it('is stopped by an enclosing timeout scope, like any offloaded call', async () => {
    const error = await settle(
      timeout(200, async () => {
        for await (const _ of pool.toThread(asyncRows, 1_000_000)) {
          /* consume until the deadline */
        }
      }),
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect(await pool.toThread(() => 'serving')).toBe('serving');
  });

  it('ends with a CloneError naming the place when a streamed value cannot be sent back, after the values before it', async () => {
    const values: unknown[] = [];
    const error = await settle(
      (async () => {
        const mixed = function* (): Generator<unknown> {
          yield 1;
          yield { handle: new WeakMap() };
          yield 3;
        };
        for await (const value of pool.toThread(mixed)) values.push(value);
      })(),
    );
    expect(error).toBeInstanceOf(CloneError);
    expect((error as CloneError).path).toBe('streamed value.handle');
    expect((error as Error).message).toMatch(/cannot be sent back from the worker thread/);
    expect(values).toEqual([1]);
  });

  it('yields nothing more once its signal aborts, not even values already on their way', async () => {
    const controller = new AbortController();
    let afterAbort = 0;
    const error = await settle(
      (async () => {
        const count = function* (n: number): Generator<number> {
          for (let i = 0; i < n; i++) yield i;
        };
        for await (const value of pool.toThread.with({ signal: controller.signal })(count, 1_000_000)) {
          if (controller.signal.aborted) afterAbort++;
          if (value === 100) {
            controller.abort(new Error('enough'));
            await sleep(50); // the values the worker had posted arrive meanwhile
          }
        }
      })(),
    );
    expect((error as Error).message).toBe('enough');
    expect(afterAbort).toBe(0);
  });

  it('ends with the cancel reason, not as complete, when a generator given a grace period stops by itself', async () => {
    const controller = new AbortController();
    const values: number[] = [];
    const error = await settle(
      (async () => {
        for await (const value of pool.toThread.with({ signal: controller.signal, grace: 5_000 })(rowsUntilCancelled)) {
          values.push(value);
          if (values.length === 5) controller.abort('stop');
          await sleep(20); // a slow consumer: the generator's own end arrives before the values run out
        }
      })(),
    );
    expect(error).toBe('stop');
    expect(values.slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
  });

  it('closes the generator, running its finally block, when a value it yields cannot be sent', async () => {
    const closed = new Int32Array(new SharedArrayBuffer(4));
    const values: number[] = [];
    const error = await settle(
      (async () => {
        const stream = pool.toThread(function* (flag: Int32Array): Generator<unknown> {
          try {
            yield 1;
            yield { bad: () => 0 };
          } finally {
            Atomics.store(flag, 0, 1);
          }
        }, closed);
        for await (const value of stream) values.push(value as number);
      })(),
    );
    expect(error).toBeInstanceOf(CloneError);
    expect(values).toEqual([1]);
    expect(Atomics.load(closed, 0)).toBe(1); // before: left paused at its yield, its finally never ran
  });

  it('ends a generator paused for its consumer when its call is cancelled with a grace period, keeping the worker', async () => {
    await using single = createPool({ minThreads: 1, maxThreads: 1 });
    const closed = new Int32Array(new SharedArrayBuffer(4));
    const controller = new AbortController();
    const stream = single.toThread.with({ signal: controller.signal, grace: 5_000 })(function* (flag: Int32Array) {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        Atomics.store(flag, 0, 1);
      }
    }, closed);
    await stream.next(); // the worker then fills the buffer and pauses
    const before = workersOf(single).map((worker) => worker.threadId);
    controller.abort(new Error('stop'));
    for (let waited = 0; Atomics.load(closed, 0) === 0 && waited < 4_000; waited += 20) await sleep(20);
    expect(Atomics.load(closed, 0)).toBe(1); // before: paused until the grace period ended and the worker was terminated
    await single.toThread((x: number) => x, 1);
    expect(workersOf(single).map((worker) => worker.threadId)).toEqual(before);
  });

  it("keeps an async generator's event loop turning while it waits for its consumer", async () => {
    const ticks = new Int32Array(new SharedArrayBuffer(4));
    const stream = pool.toThread(async function* (counter: Int32Array) {
      const timer = setInterval(() => Atomics.add(counter, 0, 1), 10);
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        clearInterval(timer);
      }
    }, ticks);
    await stream.next(); // the worker then fills the buffer and pauses
    await sleep(50);
    const paused = Atomics.load(ticks, 0);
    await sleep(500);
    await stream.return!(undefined);
    expect(Atomics.load(ticks, 0) - paused).toBeGreaterThan(5); // before: 0, the thread blocked in Atomics.wait
  });

  it('ends with an error saying it cannot be read, not a worker crash, when a generator throws what cannot be read', async () => {
    const error = await settle(
      (async () => {
        const stream = pool.toThread(function* () {
          yield 1;
          const { proxy, revoke } = Proxy.revocable({}, {});
          revoke();
          throw proxy; // eslint-disable-line no-throw-literal
        });
        for await (const _ of stream);
      })(),
    );
    expect(error).not.toBeInstanceOf(WorkerExitError);
    expect(String(error)).toMatch(/could not report how the stream ended/);
  });
});
