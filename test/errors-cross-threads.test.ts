import { types } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CloneError, createPool } from '@tothread/core';
import { fixture, runNode } from './helpers.js';
import { failAggregate, failShared, failStrict, failWrapped, ParseError, parseSync, portResult, proxyResult, StrictError, throwValue } from './fixtures/errors.mjs';

/** Node has WebAssembly's objects; this project's types (no DOM lib) only name them. */
declare const WebAssembly: { Memory: new (descriptor: { initial: number }) => object; Module: new (bytes: Uint8Array) => object };

const pool = createPool({ maxThreads: 2 });
afterAll(() => pool.close());

const caught = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => { throw new Error('expected a rejection'); }, (e: unknown) => e);

describe('errors thrown in a worker come back whole', () => {
  it('keeps the class, name, message, code, own properties and cause chain of a user error', async () => {
    const error = (await caught(pool.toThread(parseSync, 'a,!'))) as ParseError & { line: number; code: string };
    expect(error).toBeInstanceOf(ParseError);
    expect(error.name).toBe('ParseError');
    expect(error.message).toBe('unexpected "!" (parser v1)');
    expect(error.code).toBe('E_PARSE');
    expect(error.line).toBe(3);
    expect(error.cause).toBeInstanceOf(TypeError);
    expect((error.cause as Error).message).toBe('bad token');
    expect((error.cause as Error).cause).toBeInstanceOf(RangeError);
  });

  it('shows the worker frames, then the async functions awaiting the call, in one stack', async () => {
    const run = await runNode([fixture('call-sites.mjs')]);
    expect(run.stderr).toBe('');
    const stacks = JSON.parse(run.stdout) as Record<string, string>;
    const below = (name: string): string => stacks[name]?.split('the toThread() call site below ---\n')[1] ?? `no call site in: ${stacks[name]}`;
    expect(stacks.awaited).toMatch(/^ParseError: unexpected "!" \(parser v1\)\n\s+at parseSync \(.*fixtures\/errors\.mjs:\d+:\d+\)\n\s+--- the worker thread above/);
    expect(below('awaited')).toMatch(/^\s+at async importOrders \(.*fixtures\/call-sites\.mjs:\d+:\d+\)/);
    for (const stack of Object.values(stacks)) expect(stack).not.toMatch(/piscina|node:|<anonymous>|packages\/core\/dist/);
    // Through Promise.all (its own line left out), to the function that awaits it.
    expect(below('all')).toMatch(/^\s+at async importOrders .*\n\s+at async importAll /);
    // An error made on the main thread: the message, then the awaiting functions.
    expect(stacks.timeout).toMatch(/^TimeoutError: `anonymous function` timed out after 50 ms\n\s+at async summarise \(.*call-sites\.mjs:\d+:\d+\)/);
    // A callback that threw stops its call with an error made here: the same.
    expect(stacks.reported).toMatch(/^CallbackError: The callback at args\[0\] threw \(the progress bar is gone\)[^\n]*\n\s+at async reported \(.*call-sites\.mjs:\d+:\d+\)/);
    // Refused before it was sent: the same.
    expect(stacks.refused).toMatch(/^CloneError: args\[0\]\.cache cannot be sent[^\n]*\n\s+at async refused \(.*call-sites\.mjs:\d+:\d+\)/);
    // A timeout() scope, a waitFor(): where they were opened.
    expect(stacks.scoped).toMatch(/^TimeoutError: The timeout\(\) scope timed out after 50 ms\n\s+at scoped \(.*call-sites\.mjs:\d+:\d+\)/);
    expect(stacks.waited).toMatch(/^TimeoutError: waitFor\(\) timed out after 50 ms\n\s+at waited \(.*call-sites\.mjs:\d+:\d+\)/);
    // Nothing awaited the call when it failed: the worker's frames alone.
    expect(stacks.later).toMatch(/^ParseError: [^\n]+\n\s+at parseSync [^\n]+$/);
    // Awaited through tothread's combinators: the line that made the gather, task, group or loop.
    expect(below('gathered')).toMatch(/^\s+at gathered \(.*call-sites\.mjs:\d+:\d+\)/);
    expect(below('gatheredThunk')).toMatch(/^\s+at gatheredThunk \(.*call-sites\.mjs:\d+:\d+\)/);
    expect(below('inTask')).toMatch(/^\s+at inTask \(.*call-sites\.mjs:\d+:\d+\)/);
    expect(below('inGroup')).toMatch(/^\s+at .*call-sites\.mjs:\d+:\d+/);
    expect(below('completed')).toMatch(/^\s+at completed \(.*call-sites\.mjs:\d+:\d+\)/);
    // A module facade: its function calls find their site the same way; a stream, where it is iterated.
    expect(below('viaFacade')).toMatch(/^\s+at async viaFacade \(.*call-sites\.mjs:\d+:\d+\)/);
    expect(below('iterated')).toMatch(/^\s+at (async )?iterated \(.*call-sites\.mjs:\d+:\d+\)/);
    expect(stacks.streamed).toMatch(/^RangeError: row 2 is corrupt\n\s+at rows \(tothread-fn:rows:/);
    expect(below('streamed')).toMatch(/^\s+at (async )?streamed \(.*call-sites\.mjs:\d+:\d+\)/);
    // An item of map() that failed: the loop that reads it.
    expect(below('mapped')).toMatch(/^\s+at (async )?mapped \(.*call-sites\.mjs:\d+:\d+\)/);
  });

  it('rebuilds a user error without running its constructor', async () => {
    const error = await caught(pool.toThread(failStrict));
    expect(error).toBeInstanceOf(StrictError);
    expect((error as Error).message).toBe('strict: 1');
  });

  it('keeps AggregateError and the classes of the errors inside it', async () => {
    const error = (await caught(pool.toThread(failAggregate))) as AggregateError;
    expect(error).toBeInstanceOf(AggregateError);
    expect(error.errors[0]).toBeInstanceOf(TypeError);
    expect(error.errors[1]).toBeInstanceOf(ParseError);
  });

  it('keeps the class and fields of an error kept in a field of the thrown error', async () => {
    const error = (await caught(pool.toThread(failWrapped))) as Error & { originalError: ParseError & { code: string; line: number } };
    expect(Object.keys(error)).toEqual(['originalError', 'retries']);
    expect(error.originalError).toBeInstanceOf(ParseError);
    expect(error.originalError).toMatchObject({ message: 'connection reset', code: 'E_PARSE', line: 7 });
  });

  it('keeps one error met twice (a cause, two fields) as one error, whole', async () => {
    const error = (await caught(pool.toThread(failShared))) as Error & { parent: ParseError; original: ParseError };
    expect(error.cause).toBeInstanceOf(ParseError);
    expect(error.cause).toMatchObject({ message: 'duplicate key', code: 'E_PARSE', line: 9 });
    expect(error.parent).toBe(error.cause);
    expect(error.original).toBe(error.cause);
  });

  it('cuts a chain of causes that loops, so the error can be sent on; refuses such an argument', async () => {
    const error = (await caught(pool.toThread(() => {
      const a = new Error('a');
      const b = new Error('b', { cause: a });
      a.cause = b;
      throw a;
    }))) as Error;
    expect((error.cause as Error).message).toBe('b');
    expect('cause' in (error.cause as Error)).toBe(false); // cut where it came back to a
    expect(await pool.toThread((e: Error) => [e.message, (e.cause as Error).message], error)).toEqual(['a', 'b']);
    const looped = new Error('self');
    looped.cause = looped;
    expect(await caught(pool.toThread((e: unknown) => e, looped))).toMatchObject({ name: 'CloneError', path: 'args[0].cause' });
  });

  it('keeps a DOMException, its name and its own fields', async () => {
    const error = await caught(pool.toThread(() => {
      throw Object.assign(new DOMException('the upload was aborted', 'AbortError'), { bytesSent: 42 });
    }));
    expect(error).toBeInstanceOf(DOMException);
    expect(error).toMatchObject({ name: 'AbortError', message: 'the upload was aborted', bytesSent: 42 });
  });

  it('keeps built-in classes thrown by self-contained functions, and names them in the stack', async () => {
    const error = (await caught(pool.toThread(function decode(s: string) { return decodeURIComponent(s); }, '%'))) as Error;
    expect(error).toBeInstanceOf(URIError);
    expect(error.stack).toMatch(/at decode \(tothread-fn:decode:/);
  });

  it('returns thrown values that are not errors exactly as thrown', async () => {
    expect(await caught(pool.toThread(throwValue, 'a string'))).toBe('a string');
    expect(await caught(pool.toThread(throwValue, 404))).toBe(404);
    expect(await caught(pool.toThread(throwValue, { status: 'bad', list: [1, 2] }))).toEqual({ status: 'bad', list: [1, 2] });
    expect(await caught(pool.toThread(throwValue, undefined))).toBeUndefined();
    expect(await caught(pool.toThread(throwValue, null))).toBeNull();
  });
});

describe('values that cannot cross threads', () => {
  it('rejects an uncloneable argument before dispatch, naming its path', async () => {
    const error = (await caught(pool.toThread((o: unknown) => o, { config: { cache: new WeakMap() } }))) as CloneError;
    expect(error).toBeInstanceOf(CloneError);
    expect(error.path).toBe('args[0].config.cache');
    expect(error.message).toMatch(/^args\[0\]\.config\.cache cannot be sent to a worker thread: it is a WeakMap/);
    class Handler {
      onDone = (): void => {};
    }
    // Functions in plain objects and arrays become callbacks; inside a class instance they cannot travel.
    expect(((await caught(pool.toThread((o: unknown) => o, [new Handler()]))) as CloneError).path).toBe('args[0][0].onDone');
  });

  it('rejects a Proxy, an error whose cause cannot travel, and a port not moved, each naming its path', async () => {
    const reactive = new Proxy({ items: [1, 2] }, {});
    expect(await caught(pool.toThread((o: unknown) => o, reactive))).toMatchObject({ name: 'CloneError', path: 'args[0]' });
    const failure = new Error('failed', { cause: { retry: () => {} } });
    expect(await caught(pool.toThread((o: unknown) => o, { failure }))).toMatchObject({ name: 'CloneError', path: 'args[0].failure.cause.retry' });
    const { port1 } = new MessageChannel();
    const error = await caught(pool.toThread((o: unknown) => o, { port: port1 }));
    port1.close();
    expect(error).toMatchObject({ name: 'CloneError', path: 'args' });
    expect((error as Error).message).toMatch(/mark it with transfer\(\), or list it in options\.transfer/);
    expect(await caught(pool.toThread(proxyResult))).toMatchObject({ name: 'CloneError', path: 'result' });
    expect(await caught(pool.toThread(portResult))).toMatchObject({ name: 'CloneError', path: 'result' });
    // Platform objects keep their data in internal slots: Node 20 would send `{}`, Node 22+ refuses them.
    const url = (await caught(pool.toThread(() => ({ endpoint: new URL('https://example.com/a') })))) as CloneError;
    expect(url).toMatchObject({ name: 'CloneError', path: 'result.endpoint' });
    expect(url.message).toContain("it is a URL, which structured clone cannot copy (its data is internal): send its `href`");
    for (const arg of [new URL('https://example.com'), new URLSearchParams('a=1'), new Headers(), new AbortController().signal, new TextDecoder()]) {
      expect(await caught(pool.toThread((x: unknown) => x, { arg }))).toMatchObject({ name: 'CloneError', path: 'args[0].arg' });
    }
    expect(await pool.toThread(() => 'alive')).toBe('alive');
  });

  it("rejects JavaScript's own objects with internal state (an Intl formatter, WebAssembly memory) as results, arguments and callback arguments, naming their path", async () => {
    // Before: a result crashed the worker (WorkerExitError blaming "something a call left behind").
    const collator = (await caught(pool.toThread(() => ({ sort: new Intl.Collator('de') })))) as CloneError;
    expect(collator).toMatchObject({ name: 'CloneError', path: 'result.sort' });
    expect(collator.message).toContain('it is an Intl.Collator, which structured clone cannot copy (its state is internal): send what makes it');
    expect(await caught(pool.toThread(() => [new WebAssembly.Memory({ initial: 1 })]))).toMatchObject({ name: 'CloneError', path: 'result[0]' });
    expect(await caught(pool.toThread((x: unknown) => x, { format: new Intl.NumberFormat() }))).toMatchObject({ name: 'CloneError', path: 'args[0].format' });
    const seen: unknown[] = [];
    // Before: the callback call was dropped without a word, and the call returned normally.
    const viaCallback = await caught(pool.toThread((report: (x: unknown) => void) => report({ at: new Intl.Locale('en') }), (x: unknown) => seen.push(x)));
    expect(viaCallback).toMatchObject({ name: 'CloneError', path: 'callback args[0] arguments[0].at' });
    expect(seen).toEqual([]);
    expect(await pool.toThread(() => new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])))).toBeInstanceOf(WebAssembly.Module); // a compiled module travels
  });

  it('rejects an uncloneable result with a CloneError naming its path, and the worker survives', async () => {
    const error = (await caught(pool.toThread(() => ({ rows: [1], close: () => {} })))) as CloneError;
    expect(error).toBeInstanceOf(CloneError);
    expect(error.path).toBe('result.close');
    expect(error.message).toMatch(/cannot be sent back from the worker thread/);
    const iterator = (await caught(pool.toThread(() => ({ rows: [1, 2].values() })))) as CloneError;
    expect(iterator).toMatchObject({ name: 'CloneError', path: 'result.rows' });
    expect(iterator.message).toMatch(/it is an iterator \(Array Iterator\): spread it into an array first/);
    const generator = (await caught(pool.toThread(() => (function* () { yield 1; })()) as unknown as Promise<unknown>)) as CloneError; // typed as a stream
    expect(generator).toMatchObject({ name: 'CloneError', path: 'result' });
    expect(generator.message).toMatch(/only a generator function's calls stream: write the function as one/);
    expect(await pool.toThread(() => 'alive')).toBe('alive');
  });

  it('tells kinds apart as structured clone does, not by prototype: a Map from a vm context, an object made from Error.prototype, a web stream; the worker survives', async () => {
    // Before: each of these passed the check, then posting the answer killed the worker, and the
    // caller got a CloneError blaming the arguments or a WorkerExitError, after the function had run.
    const vmMap = (await caught(pool.toThread(async () => {
      const { runInNewContext } = await import('node:vm');
      return { table: runInNewContext('new Map([["k", () => 1]])') as Map<string, unknown> };
    }))) as CloneError;
    expect(vmMap).toMatchObject({ name: 'CloneError', path: 'result.table.get("k")' });
    const notAnError = (await caught(pool.toThread(() => ({ e: Object.assign(Object.create(Error.prototype) as object, { handler() {} }) })))) as CloneError;
    expect(notAnError).toMatchObject({ name: 'CloneError', path: 'result.e.handler' });
    const stream = (await caught(pool.toThread(() => ({ status: 200, body: new Response('hello').body })))) as CloneError;
    expect(stream).toMatchObject({ name: 'CloneError', path: 'result.body' });
    expect(stream.message).toContain('it is a ReadableStream, which can only be moved between threads, not copied');
    expect(await caught(pool.toThread(() => ({ a: [1, Object(Symbol('s')) as object] })))).toMatchObject({ name: 'CloneError', path: 'result.a[1]' }); // a boxed Symbol: not copied, as a Symbol is not
    // A boxed primitive travels as its value alone: a Buffer on it is not counted among those sent.
    const boxed = await pool.toThread(() => [Object.assign(new String('s'), { dropped: Buffer.from('d') }), new Uint8Array([2]), Buffer.from('y')]);
    expect(boxed.slice(1).map((v) => Buffer.isBuffer(v))).toEqual([false, true]);
    expect(await pool.toThread(() => 'alive')).toBe('alive');
  });

  it('rebuilds real errors, which structured clone copies again whole (to another call, a port)', async () => {
    const error = (await caught(pool.toThread(parseSync, 'a,!'))) as ParseError;
    expect(types.isNativeError(error)).toBe(true);
    expect(structuredClone(error)).toMatchObject({ message: 'unexpected "!" (parser v1)' });
    expect(await pool.toThread((e: Error) => [e instanceof Error, e.message], error)).toEqual([true, 'unexpected "!" (parser v1)']);
  });
});
