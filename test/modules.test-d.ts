import { describe, expectTypeOf, it } from 'vitest';
import { createInstance, toThread, wrapModule, type Instance } from '@tothread/core';
import type * as legacy from './fixtures/typed-legacy.js';
import type { Store } from './fixtures/typed-legacy.js';

describe('facade types follow the module', () => {
  const facade = wrapModule<typeof legacy>('./fixtures/typed-legacy.js');

  it('makes each function async with all its arguments', () => {
    expectTypeOf(facade.parseSync).toEqualTypeOf<(text: string, strict?: boolean) => Promise<string[]>>();
    expectTypeOf(facade.fetchAsync).returns.toEqualTypeOf<Promise<Uint8Array>>();
    expectTypeOf(facade.default).toEqualTypeOf<(a: number) => Promise<boolean>>();
    expectTypeOf(facade.utils.upper).toEqualTypeOf<(text: string) => Promise<string>>();
  });

  it('types each call of an overloaded export by the signature its arguments pick', () => {
    const fs = wrapModule<typeof import('node:fs')>('node:fs');
    expectTypeOf(fs.readFileSync('f', 'utf8')).toEqualTypeOf<Promise<string>>();
    expectTypeOf(fs.readFileSync('f')).toEqualTypeOf<Promise<ReturnType<typeof Buffer.alloc>>>();
    expectTypeOf(fs.existsSync).toEqualTypeOf<(path: import('node:fs').PathLike) => Promise<boolean>>();
  });

  it('reads values with await, and streams generators', () => {
    expectTypeOf(facade.VERSION).toEqualTypeOf<PromiseLike<string>>();
    expectTypeOf(facade.utils.LIMIT).toEqualTypeOf<PromiseLike<number>>();
    expectTypeOf(facade.rowsSync).returns.toEqualTypeOf<AsyncIterableIterator<{ i: number }>>();
    expectTypeOf(toThread(function* gen(n: number) { yield n; }, 1)).toEqualTypeOf<AsyncIterableIterator<number>>();
  });

  it('keeps the functions and values set on a function export (glob.sync), made async', () => {
    expectTypeOf(facade.glob('*.ts')).toEqualTypeOf<Promise<string[]>>();
    expectTypeOf(facade.glob.sync).toEqualTypeOf<(pattern: string) => Promise<string[]>>();
    expectTypeOf(facade.glob.escapeChar).toEqualTypeOf<PromiseLike<string>>();
  });

  it('calls a CommonJS module that is a function (export = fn) as facade.default, its properties beside it', () => {
    const commonjs = wrapModule<typeof import('./fixtures/function-module.cjs')>('./fixtures/function-module.cjs');
    expectTypeOf(commonjs.default).toEqualTypeOf<(x: number) => Promise<number>>();
    expectTypeOf(commonjs.helper).toEqualTypeOf<(s: string) => Promise<string>>();
  });

  it('keeps classes out of the facade: they go through createInstance', () => {
    expectTypeOf(facade.Store).toEqualTypeOf<never>();
  });

  it('types createInstance from the class or init function, arguments included', () => {
    expectTypeOf(createInstance<typeof Store>('./x.js', 'Store', 'name')).toEqualTypeOf<Promise<Instance<Store>>>();
    expectTypeOf(createInstance<typeof legacy.openStore>('./x.js', 'openStore', 'name')).toEqualTypeOf<Promise<Instance<Store>>>();
    // @ts-expect-error the constructor takes a name
    void createInstance<typeof Store>('./x.js', 'Store', 42);
  });
});
