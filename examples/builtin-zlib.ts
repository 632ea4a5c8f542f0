/**
 * A Node built-in made async: `wrapModule('node:zlib')` turns gzipSync into a promise that runs
 * on a worker. The same compression blocks the main loop when called directly.
 *
 *   pnpm example builtin-zlib
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { wrapModule } from '@tothread/core';
import { startCounter } from './support/counter.js';

const zlib = wrapModule<typeof import('node:zlib')>('node:zlib');
const data = Buffer.from(Array.from({ length: 400_000 }, (_, i) => `line ${i}: ${(i * 7919) % 104729}\n`).join(''));
await zlib.gzipSync(Buffer.from('warm up')); // start the worker first

async function measure(label: string, run: () => Promise<Uint8Array>): Promise<void> {
  const counter = startCounter(20, () => {});
  const started = performance.now();
  const packed = await run();
  const took = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 0));
  const lags = counter.stop();
  console.log(`  ${label}: ${(data.length / 1e6).toFixed(1)} MB -> ${(packed.length / 1e6).toFixed(2)} MB in ${took.toFixed(0)} ms, worst tick lag ${Math.max(0, ...lags).toFixed(0)} ms`);
}

console.log('gzip, next to a counter ticking every 20 ms');
await measure('gzipSync on the main thread      ', async () => gzipSync(data, { level: 9 }));
await measure('await zlib.gzipSync via the facade', () => zlib.gzipSync(data, { level: 9 }));
const roundTrip = gunzipSync(await zlib.gzipSync(data)).equals(data);
console.log(`round trip through the facade gives the same bytes: ${roundTrip}`);
