import { isDeepStrictEqual } from 'node:util';
import { serialize } from 'node:v8';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CloneError, createPool } from '@tothread/core';
import { throwBuilt, throwValue } from './fixtures/errors.mjs';
import { settle } from './helpers.js';

const pool = createPool({ minThreads: 2, maxThreads: 2 });
afterAll(() => pool.close());
const identity = (value: unknown): unknown => value;
/**
 * Deep equality. Where Node's says no (an invalid Date is not equal to itself), the bytes decide,
 * against what structured clone itself makes of `expected`: a deserialized array is holey-shaped,
 * so even structuredClone's own copy never has the original's bytes.
 */
const same = (actual: unknown, expected: unknown): boolean =>
  isDeepStrictEqual(actual, expected) || serialize(actual).equals(serialize(structuredClone(expected)));

/** Values structured clone keeps exactly: nested, Map, Set, Date, BigInt, typed arrays, sparse arrays, -0, NaN. */
const cloneable = fc.anything({
  maxDepth: 4,
  maxKeys: 6,
  withBigInt: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withSparseArray: true,
  withUnicodeString: true,
});
const regexp = fc.tuple(fc.stringMatching(/^[a-z0-9]{0,8}$/), fc.subarray(['i', 'm', 's', 'u'])).map(([source, flags]) => new RegExp(source, flags.join('')));

describe('property: values cross threads unchanged', () => {
  it('round-trips any structured-cloneable value through toThread(identity)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(cloneable, regexp, fc.constantFrom(-0, Number.NaN, Infinity, -Infinity)), async (value) => {
        expect(same(await pool.toThread(identity, value), value)).toBe(true);
      }),
      { numRuns: 250 },
    );
  });

  it('round-trips cyclic structures', async () => {
    await fc.assert(
      fc.asyncProperty(cloneable, fc.string(), async (inner, key) => {
        const node: Record<string, unknown> = { inner, key };
        node.self = node;
        node.list = [node, { back: node }];
        const back = (await pool.toThread(identity, node)) as Record<string, unknown>;
        expect(back.self).toBe(back);
        expect(same(back, node)).toBe(true);
      }),
      // Found by a run: an invalid Date in a cyclic structure (Node's deep equality refuses it).
      { numRuns: 60, examples: [[new Map([['', { '': new Date(Number.NaN) }]]), '']] },
    );
  });

  it('returns any thrown value that is not an error exactly as thrown', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(cloneable, fc.constantFrom(null, undefined, -0, Number.NaN)), async (thrown) => {
        expect(same(await settle(pool.toThread(throwValue, thrown)), thrown)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('returns any error thrown in the worker with its class, message and own properties', async () => {
    const className = fc.constantFrom('Error', 'TypeError', 'RangeError', 'SyntaxError', 'EvalError', 'URIError', 'ReferenceError');
    // Any own property, including names an error carries in fields of its own (name, stack, errors, cause…).
    const propKey = fc.oneof(fc.stringMatching(/^[a-z]{1,6}$/), fc.constantFrom('name', 'stack', 'message', 'errors', 'cause', 'code', 'constructor', 'toString'));
    const props = fc.dictionary(propKey, fc.oneof(fc.integer(), fc.string(), fc.boolean(), cloneable), { maxKeys: 4 });
    await fc.assert(
      fc.asyncProperty(className, fc.string(), props, async (name, message, own) => {
        const back = (await settle(pool.toThread(throwBuilt, name, message, own))) as Record<string, unknown>;
        const expected = Object.assign(new (globalThis as unknown as Record<string, ErrorConstructor>)[name]!(message), own);
        expect(back).toBeInstanceOf((globalThis as unknown as Record<string, ErrorConstructor>)[name]);
        expect(same(back.message, expected.message)).toBe(true);
        for (const [key, value] of Object.entries(expected)) expect(same(back[key], value), `own property ${key}`).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('property: what cannot cross is refused before dispatch, by path', () => {
  it('names the path of an uncloneable value planted anywhere in the arguments', async () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/);
    const step = fc.oneof(key.map((k) => ({ kind: 'key' as const, k })), fc.nat(3).map((i) => ({ kind: 'index' as const, i })));
    const poison = fc.constantFrom(() => new WeakMap(), () => new WeakSet(), () => Symbol('handle'), () => Promise.resolve());
    const before = pool.stats().completed;
    await fc.assert(
      fc.asyncProperty(fc.nat(2), fc.array(step, { maxLength: 4 }), poison, async (position, steps, make) => {
        let value: unknown = make();
        let path = '';
        for (const s of [...steps].reverse()) {
          if (s.kind === 'key') {
            value = { [s.k]: value };
            path = `.${s.k}${path}`;
          } else {
            const array: unknown[] = new Array(s.i + 1).fill(0);
            array[s.i] = value;
            value = array;
            path = `[${s.i}]${path}`;
          }
        }
        const args = [1, 'two', 3].slice(0, position).concat([value as never]);
        const error = (await settle(pool.toThread((...a: unknown[]) => a.length, ...args))) as CloneError;
        expect(error).toBeInstanceOf(CloneError);
        expect(error.path).toBe(`args[${position}]${path}`);
      }),
      { numRuns: 150 },
    );
    expect(pool.stats().completed).toBe(before); // nothing was dispatched
  });
});
