/**
 * A long run on one pool: many trivial calls (1000 in flight), then many cancellations (aborts of
 * queued calls and of running ones, whose workers are terminated), then an idle wait. RSS and the
 * live worker count are sampled after the first tenth of the calls (the baseline), after all of
 * them, after the cancellations and after the idle wait. Each reading follows two full GCs of the
 * main thread (see sample()), so that it counts what is kept, not garbage a collection has not
 * reached yet (unforced, readings of the same pool moved by ±10 MB from one moment to the next, on
 * a ~130 MB process).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createPool, type Pool } from '@tothread/core';
import { warmUp } from '../pools.js';
import { row, type Row, type Scenario } from '../scenario.js';
import { rssMb, sleep, throughput, timeMs } from '../stats.js';
import { increment, sleepSync } from '../workers/tasks.js';

const IN_FLIGHT = 1000;
const IDLE_TIMEOUT_MS = 1_000;
/** Long enough that a running call never ends by itself: only its cancellation stops it. */
const NEVER_ENDS_MS = 60_000;

/** V8's full GC, without starting Node with --expose-gc. */
function fullGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * RSS, the heap in use, and live threads, as rows of `variant`, read once garbage is gone: a full
 * GC, then another after V8 has had time to give back the pages the first one freed. Right after
 * one full GC, V8 still holds old-space pages it has just emptied: at 400k calls/s, whose objects
 * in flight are promoted, that read 0.94-1.18x of the baseline from one run to the next while the
 * heap in use stayed flat; with the second GC, 0.98-1.01x (4 runs each).
 */
async function sample(variant: string, pool: Pool, gc: () => void): Promise<Row[]> {
  await sleep(100);
  gc();
  await sleep(500);
  gc();
  await sleep(50);
  return [row(variant, 'rss_mb', rssMb()), row(variant, 'heap_mb', process.memoryUsage().heapUsed / 2 ** 20), row(variant, 'threads', pool.stats().threads)];
}

/**
 * Submits `batch` calls that never end, waits until some run, aborts them all and checks every
 * one rejected with the abort's reason. Resolves with how many were running when aborted.
 */
async function cancelBatch(pool: Pool, batch: number): Promise<number> {
  const controllers = Array.from({ length: batch }, () => new AbortController());
  const calls = controllers.map(({ signal }) => pool.toThread.with({ signal })(sleepSync, NEVER_ENDS_MS));
  const deadline = performance.now() + 5_000;
  while (pool.stats().running === 0 && performance.now() < deadline) await sleep(1);
  const running = pool.stats().running;
  const reason = new Error('soak: cancelled');
  for (const controller of controllers) controller.abort(reason);
  const settled = await Promise.allSettled(calls);
  const wrong = settled.filter((s) => s.status !== 'rejected' || s.reason !== reason).length;
  if (wrong > 0) throw new Error(`${wrong} of ${batch} cancelled calls did not reject with the abort's reason`);
  return running;
}

/** `pnpm bench soak`: RSS and live threads over many calls and cancellations. */
export const soak: Scenario = {
  name: 'soak',
  about: `1M trivial calls (${IN_FLIGHT} in flight) then 10k cancellations of queued and running calls on one pool (minThreads 1, maxThreads = cpus, idleTimeout ${IDLE_TIMEOUT_MS} ms); RSS (after a full GC) and live threads after the first 100k calls (baseline), all calls, the cancellations, and an idle wait`,
  baseline: 'first-tenth',
  headline: 'rss_mb',
  async run({ quick, cpus, progress, note }) {
    const calls = quick ? 20_000 : 1_000_000;
    const cancels = quick ? 500 : 10_000;
    const batch = quick ? 250 : 500;
    const chunk = calls / 10;
    if (quick) note(`--quick: ${calls.toLocaleString('en-US')} calls and ${cancels} cancellations`);
    const gc = fullGc();
    const pool = createPool({ minThreads: 1, maxThreads: cpus, idleTimeout: IDLE_TIMEOUT_MS });
    const rows: Row[] = [];
    progress.begin(10 + cancels / batch + 1);
    try {
      await warmUp((x) => pool.toThread(increment, x), cpus, 1);
      let callsMs = 0;
      for (let part = 1; part <= 10; part++) {
        progress.step(`calls ${((part - 1) * chunk).toLocaleString('en-US')}..${(part * chunk).toLocaleString('en-US')}`);
        const rate = await throughput((i) => pool.toThread(increment, i), chunk, IN_FLIGHT);
        callsMs += (chunk / rate) * 1000;
        if (part === 1) rows.push(...(await sample('first-tenth', pool, gc)));
      }
      rows.push(...(await sample('all-calls', pool, gc)), row('all-calls', 'calls_per_s', calls / (callsMs / 1000)));
      let cancelMs = 0;
      let running = 0;
      for (let done = 0; done < cancels; done += batch) {
        progress.step(`cancellations ${done}..${done + batch}`);
        cancelMs += await timeMs(async () => (running += await cancelBatch(pool, batch)));
      }
      note(`${running} of the ${cancels.toLocaleString('en-US')} cancelled calls were running (their workers were terminated), the rest queued`);
      rows.push(...(await sample('cancellations', pool, gc)), row('cancellations', 'ms', cancelMs));
      progress.step(`idle ${IDLE_TIMEOUT_MS * 2} ms`);
      await sleep(IDLE_TIMEOUT_MS * 2);
      rows.push(...(await sample('idle', pool, gc)));
      note(`pool.stats() at the end: ${JSON.stringify(pool.stats())}`);
      return rows;
    } finally {
      await pool.close();
    }
  },
};
