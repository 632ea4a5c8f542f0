/**
 * The main demo: a legacy blocking HTTP request next to a counter that ticks every 100 ms.
 * Run on the main thread, the request freezes the counter; run through toThread, the counter
 * keeps ticking on time while the request is in flight.
 *
 *   pnpm start            (from the repository root)
 */
import { toThread } from '@tothread/core';
import { sendRequestSync } from './legacy/http-client.cjs';
import { startCounter } from './support/counter.js';
import { startSlowServer } from './support/slow-server.js';

const DELAY_MS = Number(process.env.DEMO_DELAY_MS ?? 1000);
const TICK_MS = 100;

async function run(label: string, request: (url: string) => Promise<{ status: number; body: string }>, url: string): Promise<number> {
  console.log(`\n${label}`);
  const counter = startCounter(TICK_MS, (tick, late) => console.log(`  counter: ${tick} (${late.toFixed(0)} ms late)`));
  const started = performance.now();
  const response = await request(url);
  const took = performance.now() - started;
  console.log(`  response ${response.status}: "${response.body}" after ${took.toFixed(0)} ms`);
  // Let the loop turn once, so a tick the call held back fires now and shows how late it is.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const lags = counter.stop();
  const worst = Math.max(0, ...lags);
  console.log(`  ticks: ${lags.length} of ${Math.floor(took / TICK_MS)} expected, worst tick lag ${worst.toFixed(0)} ms`);
  return worst;
}

const server = await startSlowServer(DELAY_MS);
try {
  console.log(`A legacy sync HTTP request (the server answers after ${DELAY_MS} ms) next to a counter that ticks every ${TICK_MS} ms.`);
  // The blocking call: nothing else on this thread runs until it returns.
  const blocking = await run('1) sendRequestSync(url) on the main thread: the counter freezes', async (url) => sendRequestSync(url), server.url);
  // The same function, unchanged, on a worker thread.
  const offloaded = await run('2) await toThread(sendRequestSync, url): the counter keeps ticking', (url) => toThread(sendRequestSync, url), server.url);
  console.log(`\nWorst tick lag: ${blocking.toFixed(0)} ms blocking, ${offloaded.toFixed(0)} ms with toThread.`);
} finally {
  server.close();
}
