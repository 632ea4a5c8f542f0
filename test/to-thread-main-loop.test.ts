import { afterAll, expect, it } from 'vitest';
import { createPool } from '@tothread/core';
import { busyWaitSync } from './fixtures/legacy-esm.mjs';
import { sampleTicks } from './helpers.js';

const pool = createPool({ maxThreads: 1 });
afterAll(() => pool.close());

it('the main loop keeps ticking while a 500 ms blocking function runs through toThread', async () => {
  await pool.toThread(busyWaitSync, 1); // start the worker first: its boot is not what is measured
  const ticks = sampleTicks(10);
  const result = await pool.toThread(busyWaitSync, 500);
  const gaps = ticks.stop();
  expect(result).toBe(500);
  // 50 ticks would be perfect; a loaded 2-core machine still gives far more than a frozen loop's 0-1.
  expect(gaps.length).toBeGreaterThanOrEqual(10);
  expect(Math.max(...gaps)).toBeLessThan(250);
});

it('the same function called on the main thread freezes the loop (the control for the test above)', async () => {
  const ticks = sampleTicks(10);
  busyWaitSync(500);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const gaps = ticks.stop();
  expect(Math.max(...gaps)).toBeGreaterThanOrEqual(450);
});
