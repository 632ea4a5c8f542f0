import { afterAll, describe, expect, it } from 'vitest';
import { CloneError, createPool } from '@tothread/core';
import { Derived, throwManyAtOnce, throwUnexportedTypeError, validateSync, ValidationError, ValidatorError, throwNamed, throwResponseLike, throwSharedGraph, throwSelfAggregate, throwShadowingProp, throwWithThrowingGetter } from './fixtures/odd-errors.mjs';
import { parseSync, ParseError } from './fixtures/errors.mjs';
import { settle } from './helpers.js';

const pool = createPool({ maxThreads: 1 });
afterAll(() => pool.close());

describe('errors that are hard to carry still settle the call', () => {
  it('keeps an error whose name is a property of Object.prototype', async () => {
    for (const name of ['toString', 'constructor', '__proto__', 'valueOf']) {
      const error = (await settle(pool.toThread(throwNamed, name))) as Error;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toBe(`named ${name}`);
    }
  });

  it('defines own properties even where the class has a getter of that name', async () => {
    const error = (await settle(pool.toThread(throwShadowingProp))) as Derived & { code: string };
    expect(error).toBeInstanceOf(Derived);
    expect(error.code).toBe('OWN');
  });

  it('reports an error with a throwing getter, and the worker survives', async () => {
    const error = (await settle(pool.toThread(throwWithThrowingGetter))) as Error & { detail: unknown };
    expect(error.message).toBe('has a getter that throws');
    expect(error.detail).toBe('[a getter that threw]');
    expect(await pool.toThread(() => 'alive')).toBe('alive');
  });

  it('reports an AggregateError that contains itself, without hanging', async () => {
    const error = (await settle(pool.toThread(throwSelfAggregate))) as AggregateError;
    expect(error).toBeInstanceOf(AggregateError);
    expect(error.message).toBe('contains itself');
  });
});

describe('settling races', () => {
  it('keeps what can be carried of a thrown value with methods, naming the methods it leaves', async () => {
    expect(await settle(pool.toThread(throwResponseLike))).toEqual({ status: 404, body: 'not found', retry: '[function retry]' });
    const thrown = await settle(pool.toThread(() => {
      throw new Map<string, unknown>([['status', 503], ['retry', () => 1]]); // eslint-disable-line no-throw-literal
    }));
    expect(thrown).toEqual(new Map<string, unknown>([['status', 503], ['retry', '[function anonymous]']]));
  });

  it('reports a thrown value whose objects are shared many times over, copying each once', async () => {
    const error = (await settle(pool.toThread(throwSharedGraph, 40))) as Error & { graph: { a: unknown; b: unknown } };
    expect(error.message).toBe('graph');
    expect(typeof error.graph.a).toBe('object'); // 2^40 paths: it settles because each object is copied once
    expect(error.graph.b).toBe('[object Object]'); // met again: text
  });

  it('keeps every error of a large AggregateError, each with its class and properties', async () => {
    const error = (await settle(pool.toThread(throwManyAtOnce, 100))) as AggregateError;
    expect(error).toBeInstanceOf(AggregateError);
    expect(error.errors).toHaveLength(100);
    expect(error.errors.every((e: unknown, i: number) => e instanceof RangeError && (e as RangeError & { index: number }).index === i)).toBe(true);
  });

  it('refuses a value nested deeper than the main thread can read, in every direction back, instead of losing it and hanging', async () => {
    const deep = (n: number): unknown => {
      let node: unknown = null;
      for (let i = 0; i < n; i++) node = { value: i, next: node };
      return node;
    };
    expect(await pool.toThread((n: number) => {
      let node: unknown = null;
      for (let i = 0; i < n; i++) node = { value: i, next: node };
      return (node as { value: number }).value;
    }, 1_000)).toBe(999);
    const result = (await settle(pool.toThread(deep, 3_000))) as CloneError;
    expect(result).toBeInstanceOf(CloneError);
    expect(result.path).toMatch(/^result\.next\.next/);
    expect(result.message).toContain('nested deeper than the main thread can read a message');
    expect(await pool.toThread(deep, 900)).toMatchObject({ value: 899 }); // the worker goes on
    const thrown = await settle(pool.toThread((n: number) => {
      let node: unknown = null;
      for (let i = 0; i < n; i++) node = { next: node };
      throw node;
    }, 3_000));
    expect(thrown).toBe('[Object nested too deep to send]');
    // Arrays cost the main thread's stack less per level: deeper ones still travel.
    expect(await pool.toThread((n: number) => {
      let nested: unknown[] = [];
      for (let i = 0; i < n; i++) nested = [nested];
      return nested.length;
    }, 2_500)).toBe(1);
    expect(await pool.toThread((n: number) => {
      let nested: unknown[] = [];
      for (let i = 0; i < n; i++) nested = [nested];
      return nested;
    }, 2_500)).toHaveLength(1);
    const streamed: unknown[] = [];
    const stream = pool.toThread(function* deepRows(n: number) {
      yield 1;
      let node: unknown = null;
      for (let i = 0; i < n; i++) node = { next: node };
      yield node;
    }, 3_000);
    const failure = await settle((async () => {
      for await (const value of stream) streamed.push(value);
    })());
    expect(streamed).toEqual([1]);
    expect(failure).toBeInstanceOf(CloneError);
    let called = 0;
    const callback = await settle(pool.toThread((n: number, report: (list: unknown) => void) => {
      let node: unknown = null;
      for (let i = 0; i < n; i++) node = { next: node };
      return report(node);
    }, 3_000, () => void called++));
    expect((callback as CloneError).path).toMatch(/^callback args\[1\] arguments\[0\]\.next/);
    expect(called).toBe(0);
  });

  it('refuses an argument nested past what the main thread can walk with a CloneError, not a stack overflow', async () => {
    let nested: unknown[] = [];
    for (let i = 0; i < 20_000; i++) nested = [nested];
    const error = (await settle(pool.toThread((v: unknown) => Array.isArray(v), nested))) as CloneError;
    expect(error).toBeInstanceOf(CloneError);
    expect(error.message).toContain('nested deeper than this thread can walk');
    expect(await pool.toThread(() => 'still serving')).toBe('still serving');
  });

  it('refuses a MessagePort that worker code passes to a callback, which nothing can move back', async () => {
    let called = 0;
    const error = (await settle(pool.toThread((report: (value: unknown) => void) => {
      const { port1 } = new MessageChannel();
      return report({ port: port1 });
    }, () => void called++))) as CloneError;
    expect(error).toBeInstanceOf(CloneError);
    expect(error.path).toBe('callback args[0] arguments[0].port');
    expect(called).toBe(0);
  });

  it('keeps the other fields of a thrown value that holds a platform object, which travels as its text', async () => {
    const thrown = await settle(pool.toThread(() => {
      throw { status: 404, url: new URL('https://example.com/x') }; // eslint-disable-line no-throw-literal
    }));
    expect(thrown).toEqual({ status: 404, url: 'https://example.com/x' });
    const error = (await settle(pool.toThread(() => {
      throw new Error('fetch failed', { cause: new URL('https://example.com/y') });
    }))) as Error;
    expect(error.cause).toBe('https://example.com/y');
    const wrapped = (await settle(pool.toThread(() => {
      throw { status: 1, err: new Error('boom', { cause: new URL('https://example.com/z') }) }; // eslint-disable-line no-throw-literal
    }))) as { status: number; err: Error };
    expect(wrapped.status).toBe(1);
    expect(wrapped.err).toBeInstanceOf(Error);
    expect(wrapped.err.message).toBe('boom');
    expect(wrapped.err.cause).toBe('https://example.com/z');
  });

  it('keeps the class and fields of errors inside the plain objects and arrays of an error field', async () => {
    const error = (await settle(pool.toThread(validateSync))) as ValidationError & { errors: { email: ValidatorError; nested: { deeper: ValidatorError[] } } };
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.errors.email).toBeInstanceOf(ValidatorError);
    expect(error.errors.email).toMatchObject({ name: 'ValidatorError', kind: 'required', path: 'email', message: 'email is invalid' });
    expect(error.errors.nested.deeper[0]).toBeInstanceOf(ValidatorError);
    expect(error.errors.nested.deeper[0]).toMatchObject({ path: 'name' });
  });

  it('rebuilds an error of a class the worker cannot name as its nearest built-in base', async () => {
    const error = (await settle(pool.toThread(throwUnexportedTypeError))) as TypeError;
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ name: 'BadInput', message: 'bad input' });
  });

  it('close() right after a call that throws a user error keeps that error', async () => {
    const own = createPool({ maxThreads: 1 });
    const call = settle(own.toThread(parseSync, '!'));
    await new Promise((resolve) => setTimeout(resolve, 100)); // the answer is on its way or in
    await own.close();
    expect(await call).toBeInstanceOf(ParseError);
  });

  it('refuses execArgv flags that worker threads do not accept when the pool is created, not at the first call', () => {
    expect(() => createPool({ minThreads: 0, execArgv: ['--no-such-node-flag'] })).toThrow(/Expected `execArgv` to hold flags a worker thread accepts/);
    expect(() => createPool({ execArgv: ['--max-old-space-size=100'] })).toThrow(/use `resourceLimits` for heap sizes/);
    const fine = createPool({ execArgv: ['--no-warnings'] });
    return fine.close();
  });
});
