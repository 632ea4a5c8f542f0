import { expect, it } from 'vitest';
import { createPool, TimeoutError } from '@tothread/core';

it('50k calls with random cancellations and timeouts end with nothing pending, workers at the floor and bounded memory', async () => {
  await using pool = createPool({ minThreads: 1, maxThreads: 2, idleTimeout: 100 });
  const spin = (): never => {
    for (;;);
  };
  let random = 42;
  const next = (): number => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const totals = { ok: 0, cancelled: 0, timedOut: 0 };
  let rssAfterWarmUp = 0;
  const WINDOW = 500;
  for (let start = 0; start < 50_000; start += WINDOW) {
    const batch: Array<Promise<void>> = [];
    for (let i = start; i < start + WINDOW; i++) {
      const roll = next();
      if (roll < 0.04) {
        const controller = new AbortController();
        batch.push(pool.toThread.with({ signal: controller.signal })((n: number) => n, i).then(() => void totals.ok++, () => void totals.cancelled++));
        if (roll < 0.02) controller.abort();
        else queueMicrotask(() => controller.abort());
      } else if (roll < 0.0412) {
        batch.push(pool.toThread.with({ timeout: 5 })(spin).then(() => undefined, (e: unknown) => {
          expect(e).toBeInstanceOf(TimeoutError);
          totals.timedOut++;
        }));
      } else {
        batch.push(pool.toThread((n: number) => n + 1, i).then((v) => {
          expect(v).toBe(i + 1);
          totals.ok++;
        }));
      }
    }
    await Promise.all(batch);
    if (start === 10_000) rssAfterWarmUp = process.memoryUsage().rss;
  }
  expect(totals.ok + totals.cancelled + totals.timedOut).toBe(50_000);
  expect(totals.timedOut).toBeGreaterThan(0);
  expect(totals.cancelled).toBeGreaterThan(0);
  const stats = pool.stats();
  expect(stats).toMatchObject({ running: 0, queued: 0 });
  expect(stats.completed + stats.cancelled + stats.failed).toBe(50_000);
  // Memory: the last 40k calls did not grow the process much (generous for a shared machine).
  expect(process.memoryUsage().rss / rssAfterWarmUp).toBeLessThan(1.5);
  // Idle workers above minThreads exit after idleTimeout: back to the floor.
  const deadline = Date.now() + 10_000;
  while (pool.stats().threads > 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(pool.stats().threads).toBe(1);
});
