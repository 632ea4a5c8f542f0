import { describe, expectTypeOf, it } from 'vitest';
import { asCompleted, createTask, gather, limit, map, Queue, shield, type Task, taskGroup, timeout, toThread, waitFor } from '@tothread/core';

declare function parseSync(text: string): string[];
declare function countSync(items: readonly string[]): number;

describe('asyncio toolkit types', () => {
  it('gather keeps each argument type in its place', async () => {
    const all = gather(toThread(parseSync, 'a'), () => toThread(countSync, []), Promise.resolve(true));
    expectTypeOf(all).toEqualTypeOf<Task<[string[], number, boolean]>>();
    expectTypeOf(await all).toEqualTypeOf<[string[], number, boolean]>();
    const settled = await gather.with({ returnExceptions: true })(toThread(parseSync, 'a'));
    expectTypeOf(settled).toEqualTypeOf<[string[] | Error]>();
  });

  it('tasks, waitFor, timeout and taskGroup resolve to what their work returns', async () => {
    expectTypeOf(createTask(() => toThread(countSync, ['a']))).toEqualTypeOf<Task<number>>();
    expectTypeOf(await waitFor(toThread(parseSync, 'x'), 10)).toEqualTypeOf<string[]>();
    expectTypeOf(await waitFor(() => toThread(countSync, []), 10)).toEqualTypeOf<number>();
    expectTypeOf(await timeout(10, () => toThread(countSync, []))).toEqualTypeOf<number>();
    expectTypeOf(shield(() => toThread(countSync, []))).toEqualTypeOf<Promise<number>>();
    expectTypeOf(await taskGroup(async () => 'done' as const)).toEqualTypeOf<'done'>();
  });

  it('iterators yield the result type', () => {
    expectTypeOf(map(countSync, [['a']])).toEqualTypeOf<AsyncGenerator<number, void, undefined>>();
    // The item type comes from the input, as in Python's map(lambda x: x + 1, items).
    expectTypeOf(map((x) => x + 1, [1, 2, 3])).toEqualTypeOf<AsyncGenerator<number, void, undefined>>();
    expectTypeOf(map((x) => x.toFixed(1), new Queue<number>())).toEqualTypeOf<AsyncGenerator<string, void, undefined>>();
    expectTypeOf(map(function (x: number) { return [x]; }, [1, 2])).toEqualTypeOf<AsyncGenerator<number[], void, undefined>>();
    // @ts-expect-error items the function does not take
    map(countSync, [1, 2]);
    expectTypeOf(asCompleted([toThread(parseSync, 'a')])).toEqualTypeOf<AsyncGenerator<string[], void, undefined>>();
    expectTypeOf(new Queue<string>().get()).toEqualTypeOf<Promise<string>>();
  });

  it('limit keeps the parameters of the function it wraps', () => {
    const limited = limit(2, async (url: string, retries: number) => url.length + retries);
    expectTypeOf(limited).parameters.toEqualTypeOf<[url: string, retries: number]>();
    expectTypeOf(limited).returns.toEqualTypeOf<Promise<number>>();
  });
});
