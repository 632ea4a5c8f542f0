import { readFileSync } from 'node:fs';
import { describe, expectTypeOf, it } from 'vitest';
import { createPool, threaded, toThread, type Threaded, type TimeoutError, type ToThreadError, type WorkerExitError } from '@tothread/core';

declare function parseSync(text: string, options?: { strict: boolean }): { rows: string[] };
declare function fetchAsync(url: string): Promise<number>;
type NonSharedBuffer = ReturnType<typeof Buffer.alloc>;
declare function mutate(xs: number[]): void;
declare function mutate(xs: string): string;
declare function total(order: { items: number[] }): number;
declare function total(order: string): string;
declare class Point {
  #brand: true;
  x: number;
  y: number;
}
declare function pick(p: Point): 'point';
declare function pick(p: { x: number; y: number }): 'plain';
declare function area(p: Point): number;

describe('toThread types', () => {
  it('resolves to the awaited return type of the function', () => {
    expectTypeOf(toThread(parseSync, 'a,b')).toEqualTypeOf<Promise<{ rows: string[] }>>();
    expectTypeOf(toThread(fetchAsync, 'x')).toEqualTypeOf<Promise<number>>();
    expectTypeOf(toThread.with({ timeout: 5 })(parseSync, 'a')).toEqualTypeOf<Promise<{ rows: string[] }>>();
  });

  it('checks the arguments against the function parameters', () => {
    // @ts-expect-error the text must be a string
    void toThread(parseSync, 1);
    // @ts-expect-error a required argument is missing
    void toThread(parseSync);
    void toThread(parseSync, 'a', { strict: true });
  });

  it('types a generator function as a stream, also when it is declared to return an iterator', () => {
    function* rows(n: number): Generator<number> {
      yield n;
    }
    function* annotated(n: number): IterableIterator<number> {
      yield n;
    }
    async function* later(n: number): AsyncIterableIterator<string> {
      yield String(n);
    }
    expectTypeOf(toThread(rows, 1)).toEqualTypeOf<AsyncIterableIterator<number>>();
    expectTypeOf(toThread(annotated, 1)).toEqualTypeOf<AsyncIterableIterator<number>>();
    expectTypeOf(toThread(later, 1)).toEqualTypeOf<AsyncIterableIterator<string>>();
    expectTypeOf(toThread((n: number): Iterable<number> => [n], 1)).toEqualTypeOf<Promise<Iterable<number>>>(); // an array, awaited
  });

  it("takes a typed array's buffer in the transfer list, as Node types it (ArrayBufferLike)", () => {
    const bytes: Uint8Array = new Uint8Array(4);
    void toThread.with({ transfer: [bytes.buffer] })((b: Uint8Array) => b.length, bytes);
    // @ts-expect-error a typed array itself is not what moves: its buffer is
    void toThread.with({ transfer: [bytes] });
  });

  it("gives each error class its own code, so a union of them narrows on it", () => {
    expectTypeOf<TimeoutError['code']>().toEqualTypeOf<'ERR_TOTHREAD_TIMEOUT'>();
    const error = {} as TimeoutError | WorkerExitError;
    if (error.code === 'ERR_TOTHREAD_WORKER_EXITED') expectTypeOf(error).toEqualTypeOf<WorkerExitError>();
    expectTypeOf<ToThreadError['code']>().toEqualTypeOf<import('@tothread/core').ErrorCode>(); // the base class: any of them
  });

  it('types a call of an overloaded function by the signature its arguments pick', () => {
    expectTypeOf(toThread(readFileSync, 'f', 'utf8')).toEqualTypeOf<Promise<string>>();
    expectTypeOf(toThread(readFileSync, 'f')).toEqualTypeOf<Promise<NonSharedBuffer>>();
    expectTypeOf(toThread(readFileSync, 'f', { encoding: 'utf8' })).toEqualTypeOf<Promise<string>>();
    const read = threaded(readFileSync);
    expectTypeOf(read('f', 'latin1')).toEqualTypeOf<Promise<string>>();
    expectTypeOf(read.with({ timeout: 1 })('f', { flag: 'r' })).toEqualTypeOf<Promise<NonSharedBuffer>>();
    // @ts-expect-error no signature takes a number for the encoding
    void toThread(readFileSync, 'f', 42);
  });

  it('picks the signature of an overloaded function for array and object literals too', () => {
    expectTypeOf(toThread(mutate, [1, 2])).toEqualTypeOf<Promise<void>>();
    expectTypeOf(toThread(mutate, 'ab')).toEqualTypeOf<Promise<string>>();
    expectTypeOf(toThread(total, { items: [1, 2, 3] })).toEqualTypeOf<Promise<number>>();
    expectTypeOf(toThread(pick, { x: 1, y: 2 })).toEqualTypeOf<Promise<'plain'>>();
    // @ts-expect-error a plain object is not a class instance with a private member
    void toThread(area, { x: 1, y: 2 });
  });

  it('lets a generic wrapper forward Parameters<F> and types the wrapped call at its use', () => {
    const logged = <F extends (...args: never[]) => unknown>(fn: F, ...args: Parameters<F>) => toThread(fn, ...args);
    expectTypeOf(logged(parseSync, 'a')).toEqualTypeOf<Promise<{ rows: string[] }>>();
  });

  it('types threaded() as the async twin of the function', () => {
    const parse = threaded(parseSync);
    expectTypeOf(parse).toEqualTypeOf<Threaded<typeof parseSync>>();
    expectTypeOf(parse).parameters.toEqualTypeOf<[text: string, options?: { strict: boolean }]>();
    expectTypeOf(parse('x')).toEqualTypeOf<Promise<{ rows: string[] }>>();
    expectTypeOf(createPool().threaded(fetchAsync).with({ timeout: 1 })('u')).toEqualTypeOf<Promise<number>>();
  });
});
