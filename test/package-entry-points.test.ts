import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as esm from '@tothread/core';
import { settle } from './helpers.js';

/** The same package, as CommonJS code (a dependency, a `.cjs` file) gets it. */
const cjs = createRequire(import.meta.url)('@tothread/core') as typeof esm;

/** Keeps a thread busy for `ms`, then says it finished. */
const spinFor = (ms: number): string => {
  const end = Date.now() + ms;
  while (Date.now() < end);
  return 'finished';
};

describe('the package entry points', () => {
  it('are one copy of the library, so import and require share its classes and its default pool', () => {
    expect(cjs.toThread).toBe(esm.toThread);
    expect(cjs.TimeoutError).toBe(esm.TimeoutError);
    expect(cjs.defaultPool()).toBe(esm.defaultPool());
  });

  it('let a cancel scope opened through import stop a call made through require, and catch its error by class', async () => {
    let call!: Promise<string>;
    const ended = await settle(esm.timeout(100, () => (call = cjs.toThread(spinFor, 3_000))));
    expect(ended).toBeInstanceOf(esm.TimeoutError);
    const stopped = await settle(call);
    expect(stopped).not.toBe('finished'); // before: it ran its 3 s to the end, the scope unseen
    expect(stopped).toBeInstanceOf(esm.ToThreadError);
    await esm.defaultPool().close();
  });
});
