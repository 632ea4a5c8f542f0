import { expect, it } from 'vitest';
import { fixture, runNode } from './helpers.js';

it('a script that offloads work and ends exits by itself, without closing anything', async () => {
  const run = await runNode([fixture('ends-by-itself.mjs')]);
  expect(run.stderr).toBe('');
  expect(run.stdout.trim()).toBe('digest 71');
  expect(run.code).toBe(0);
  // Generous for a loaded machine; a pool that kept the process alive would be killed at 30 s.
  expect(run.ms).toBeLessThan(10_000);
});

it('a CommonJS program can require the library and offload a CommonJS export', async () => {
  const run = await runNode([fixture('commonjs-consumer.cjs')]);
  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout)).toEqual({ joined: '/a/b', sum: 5, errorClass: 'function' });
});
