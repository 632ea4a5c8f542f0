/**
 * A 64 MiB ArrayBuffer's round trip to a worker and back: through tothread copied (the structured
 * clone, both ways), through tothread with `transfer: [buffer]`, and through Piscina transferred
 * both ways (`transferList` in, `Piscina.move()` out) as the floor of what moving costs. Each
 * variant's round trips are timed by tinybench, sequentially, after a warm-up.
 */
import { createPool } from '@tothread/core';
import { Piscina } from 'piscina';
import { distFile } from '../paths.js';
import { row, type Scenario } from '../scenario.js';
import { latencyMs, type LatencyBudget } from '../stats.js';
import { echo } from '../workers/tasks.js';

const BYTES = 64 * 2 ** 20;
type Variant = 'tothread-copied' | 'tothread-transferred' | 'piscina-moved';
const VARIANTS: readonly Variant[] = ['tothread-copied', 'tothread-transferred', 'piscina-moved'];

/** One round trip of `buffer`: resolves with the buffer that came back (`buffer` may be detached). */
type RoundTrip = (buffer: ArrayBuffer) => Promise<ArrayBuffer>;

/**
 * How long each variant runs. A moved buffer's round trip takes ~0.1 ms: it gets a time budget, as
 * a trivial call does in `overhead` (a median of a dozen measured code not yet warm here: 0.14-0.31
 * ms, against 0.09 ms from 100 and more, for tothread and Piscina alike). A copied one takes ~160 ms:
 * a dozen is plenty.
 */
function budgetOf(variant: Variant, quick: boolean): LatencyBudget {
  if (variant === 'tothread-copied') return { timeMs: 0, iterations: quick ? 3 : 12, warmupMs: 0, warmupIterations: 2 };
  return quick ? { timeMs: 150, iterations: 20 } : { timeMs: 1_000, iterations: 200 };
}

/**
 * Times `roundTrip` with `budget`, each round trip sending the buffer the last one returned.
 * Resolves with the median in ms, and whether the buffers sent were detached (moved, not copied).
 *
 * @throws {Error} when a round trip returns a buffer of the wrong size.
 */
async function timeRoundTrips(name: string, roundTrip: RoundTrip, budget: LatencyBudget): Promise<{ ms: number; detached: boolean }> {
  let buffer = new ArrayBuffer(BYTES);
  let detached = true;
  const { p50 } = await latencyMs(
    name,
    async () => {
      const sent = buffer;
      buffer = await roundTrip(sent);
      if (buffer.byteLength !== BYTES) throw new Error(`the round trip returned ${buffer.byteLength} bytes, not ${BYTES}`);
      detached &&= sent.byteLength === 0;
    },
    budget,
  );
  return { ms: p50, detached };
}

/** `pnpm bench transfer`: a 64 MiB buffer's round trip, copied vs transferred. */
export const transfer: Scenario = {
  name: 'transfer',
  about: 'a 64 MiB ArrayBuffer to a worker and back (`echo`), copied vs transferred, one-thread pools; tinybench p50 ms per round trip',
  baseline: 'tothread-copied',
  headline: 'ms',
  async run({ quick, progress, note }) {
    const pool = createPool({ minThreads: 1, maxThreads: 1 });
    const piscina = new Piscina({ filename: distFile('workers/piscina.js'), minThreads: 1, maxThreads: 1 });
    const roundTrips: Record<Variant, RoundTrip> = {
      'tothread-copied': (buffer) => pool.toThread(echo, buffer),
      'tothread-transferred': (buffer) => pool.toThread.with({ transfer: [buffer] })(echo, buffer),
      'piscina-moved': (buffer) => piscina.run(buffer, { name: 'echoMoved', transferList: [buffer] }) as Promise<ArrayBuffer>,
    };
    progress.begin(VARIANTS.length);
    try {
      const rows = [];
      for (const variant of VARIANTS) {
        const budget = budgetOf(variant, quick);
        progress.step(`${variant}: ${budget.iterations} round trips at least`);
        const { ms, detached } = await timeRoundTrips(variant, roundTrips[variant], budget);
        if (variant !== 'tothread-copied' && !detached) note(`${variant}: a sent buffer was not detached, so it was copied`);
        rows.push(row(variant, 'ms', ms));
      }
      return rows;
    } finally {
      await Promise.all([pool.close(), piscina.destroy()]);
    }
  },
};
