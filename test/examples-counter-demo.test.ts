import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { runNode } from './helpers.js';

const examples = fileURLToPath(new URL('../examples/', import.meta.url));

it('the counter demo shows the counter frozen by the blocking call and ticking through toThread', async () => {
  const run = await runNode(['--import', 'tsx', `${examples}counter-demo.ts`], { env: { DEMO_DELAY_MS: '600' }, cwd: examples });
  expect(run.code, run.stderr).toBe(0);
  const worst = [...run.stdout.matchAll(/worst tick lag (\d+) ms/g)].map((m) => Number(m[1]));
  expect(worst).toHaveLength(2);
  const [blocking, offloaded] = worst as [number, number];
  expect(blocking).toBeGreaterThanOrEqual(400); // frozen for most of the 600 ms request
  expect(offloaded).toBeLessThan(250); // ticking, with room for a loaded machine
  const ticks = [...run.stdout.matchAll(/ticks: (\d+) of (\d+) expected/g)].map((m) => ({ seen: Number(m[1]), expected: Number(m[2]) }));
  expect(ticks).toHaveLength(2);
  const [frozen, free] = ticks as [(typeof ticks)[0], (typeof ticks)[0]];
  expect(frozen.seen).toBeLessThanOrEqual(1);
  expect(free.seen).toBeGreaterThanOrEqual(free.expected / 2);
  expect(run.stdout).toMatch(/response 200: "answered \/ after 600 ms"/);
});
