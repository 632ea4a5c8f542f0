// Which of a pool's workers are still starting: 'auto' judges the CPUs only when none is.
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { describe, expect, it } from 'vitest';
import { startingWorkers, trackReadiness } from '../packages/core/src/workers.js';
import { sleep } from './helpers.js';

const TASK = fileURLToPath(new URL('./fixtures/piscina-task.mjs', import.meta.url));

describe('the workers still starting', () => {
  it('counts a spawned worker until it is ready, and never one that has exited', async () => {
    const piscina = new Piscina({ filename: TASK, minThreads: 0, maxThreads: 2, idleTimeout: 50 });
    trackReadiness(piscina);
    try {
      for (let round = 0; round < 2; round++) {
        const started = new Int32Array(new SharedArrayBuffer(4));
        const tasks = [piscina.run({ ms: 200, started }), piscina.run({ ms: 200, started })];
        expect(startingWorkers(piscina)).toBe(2); // spawned just now: not booted yet
        while (Atomics.load(started, 0) < 2) await sleep(5); // a worker running a task is ready
        expect(startingWorkers(piscina)).toBe(0);
        await Promise.all(tasks);
        while (piscina.threads.length > 0) await sleep(20); // reaped when idle
        expect(startingWorkers(piscina)).toBe(0);
      }
    } finally {
      await piscina.destroy();
    }
  });
});
