/**
 * Many tiny items: tothread's bulk path `map(fn, items, { pool })` against one `Piscina.run` per
 * item (all submitted at once, as `Promise.all(items.map(...))` does), pools of one thread per core.
 */
import { createPool, map as mapOnThreads } from '@tothread/core';
import { openRunner, warmUp } from '../pools.js';
import { row, type Scenario } from '../scenario.js';
import { median, timeMs } from '../stats.js';
import { increment } from '../workers/tasks.js';

type Variant = 'tothread' | 'piscina' | 'sync';

/** Runs `items` through one variant and resolves with items per second. */
async function itemsPerSecond(variant: Variant, items: readonly number[], cpus: number): Promise<number> {
  const check = (count: number): void => {
    if (count !== items.length) throw new Error(`${variant} returned ${count} results for ${items.length} items`);
  };
  if (variant === 'sync') {
    const ms = await timeMs(() => check(items.map(increment).length));
    return items.length / (ms / 1000);
  }
  if (variant === 'piscina') {
    const runner = await openRunner('piscina', cpus);
    try {
      const ms = await timeMs(async () => check((await Promise.all(items.map((x) => runner.call(x)))).length));
      return items.length / (ms / 1000);
    } finally {
      await runner.close();
    }
  }
  const pool = createPool({ minThreads: cpus, maxThreads: cpus });
  try {
    await warmUp((x) => pool.toThread(increment, x), cpus, 1);
    const ms = await timeMs(async () => {
      let count = 0;
      for await (const _ of mapOnThreads(increment, items, { pool })) count++;
      check(count);
    });
    return items.length / (ms / 1000);
  } finally {
    await pool.close();
  }
}

/** `pnpm bench map`: many tiny items through tothread's `map` vs one `Piscina.run` each. */
export const map: Scenario = {
  name: 'map',
  about: 'tiny items (`x + 1`) through tothread `map(fn, items, { pool })` vs one `Piscina.run` per item, all submitted at once',
  baseline: 'piscina',
  headline: 'items_per_s',
  async run({ quick, cpus, progress }) {
    const count = quick ? 10_000 : 100_000;
    const rounds = quick ? 1 : 2;
    const items = Array.from({ length: count }, (_, i) => i);
    const variants: readonly Variant[] = ['tothread', 'piscina', 'sync'];
    const rates = new Map(variants.map((v) => [v, [] as number[]]));
    progress.begin(rounds * variants.length);
    for (let round = 1; round <= rounds; round++) {
      for (const variant of variants) {
        progress.step(`round ${round}/${rounds}: ${variant}, ${count.toLocaleString('en-US')} items`);
        rates.get(variant)!.push(await itemsPerSecond(variant, items, cpus));
      }
    }
    return variants.map((variant) => row(variant, 'items_per_s', median(rates.get(variant)!)));
  },
};
