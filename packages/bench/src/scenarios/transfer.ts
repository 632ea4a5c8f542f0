/**
 * A 64 MiB ArrayBuffer's round trip to a worker and back: through tothread copied (the structured
 * clone, both ways), through tothread with `transfer: [buffer]`, and through Piscina transferred
 * both ways (`transferList` in, `Piscina.move()` out) as the floor of what moving costs.
 */
import { createPool } from '@tothread/core';
import { Piscina } from 'piscina';
import { distFile } from '../paths.js';
import { row, type Scenario } from '../scenario.js';
import { median } from '../stats.js';
import { echo } from '../workers/tasks.js';

const BYTES = 64 * 2 ** 20;
type Variant = 'tothread-copied' | 'tothread-transferred' | 'piscina-moved';
const VARIANTS: readonly Variant[] = ['tothread-copied', 'tothread-transferred', 'piscina-moved'];

/** One round trip of `buffer` and its time; `buffer` may be detached afterwards, use `back`. */
type RoundTrip = (buffer: ArrayBuffer) => Promise<ArrayBuffer>;

/** Times `runs` round trips after two warm-up ones, each starting from the last one's result. */
async function timeRoundTrips(roundTrip: RoundTrip, runs: number): Promise<{ ms: number[]; detached: boolean }> {
  let buffer = new ArrayBuffer(BYTES);
  const ms: number[] = [];
  let detached = false;
  for (let i = -2; i < runs; i++) {
    const sent = buffer;
    const start = performance.now();
    buffer = await roundTrip(sent);
    const elapsed = performance.now() - start;
    if (buffer.byteLength !== BYTES) throw new Error(`the round trip returned ${buffer.byteLength} bytes, not ${BYTES}`);
    detached = sent.byteLength === 0;
    if (i >= 0) ms.push(elapsed);
  }
  return { ms, detached };
}

/** `pnpm bench transfer`: a 64 MiB buffer's round trip, copied vs transferred. */
export const transfer: Scenario = {
  name: 'transfer',
  about: 'a 64 MiB ArrayBuffer to a worker and back (`echo`), copied vs transferred, one-thread pools; median ms per round trip',
  baseline: 'tothread-copied',
  headline: 'ms',
  async run({ quick, progress, note }) {
    const runs = quick ? 3 : 12;
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
        progress.step(`${variant}: ${runs} round trips`);
        const { ms, detached } = await timeRoundTrips(roundTrips[variant], runs);
        if (variant !== 'tothread-copied' && !detached) note(`${variant}: the sent buffer was not detached, so it was copied`);
        rows.push(row(variant, 'ms', median(ms)));
      }
      return rows;
    } finally {
      await Promise.all([pool.close(), piscina.destroy()]);
    }
  },
};
