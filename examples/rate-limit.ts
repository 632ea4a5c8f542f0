/**
 * The seeds' rate-limited fetcher: 50 blocking requests, never more than 10 in flight, enforced
 * with a Semaphore. The server counts the requests it serves at once, and reports the peak.
 *
 *   pnpm example rate-limit
 */
import { createPool, gather, Semaphore } from '@tothread/core';
import { sendRequestSync } from './legacy/http-client.cjs';
import { startSlowServer } from './support/slow-server.js';
import { timed, warmUp } from './support/timing.js';

const REQUESTS = 50;
const LIMIT = 10;
const DELAY_MS = 100;

const server = await startSlowServer(DELAY_MS);
try {
  await using pool = createPool({ minThreads: 16, maxThreads: 16 }); // more threads than the limit: the semaphore is what holds
  await warmUp(pool, 16, () => pool.toThread(sendRequestSync, `${server.url}warm-up`));
  await pool.toThread(sendRequestSync, `${server.url}peak`); // reset the server's count after the warm-up
  const slots = new Semaphore(LIMIT);
  let inFlight = 0;
  let peak = 0;
  const fetchLimited = async (i: number): Promise<number> => {
    using _permit = await slots.acquire();
    peak = Math.max(peak, ++inFlight);
    try {
      return (await pool.toThread(sendRequestSync, `${server.url}item/${i}`)).status;
    } finally {
      inFlight--;
    }
  };
  const { value, seconds } = await timed(() => gather(...Array.from({ length: REQUESTS }, (_, i) => fetchLimited(i))));
  const serverPeak = Number((await pool.toThread(sendRequestSync, `${server.url}peak`)).body);
  console.log(`${REQUESTS} requests with at most ${LIMIT} in flight (Semaphore(${LIMIT})), server delay ${DELAY_MS} ms`);
  console.log(`  all ${value.filter((status) => status === 200).length} answered 200 in ${seconds.toFixed(2)} s (ideal ${((REQUESTS / LIMIT) * DELAY_MS) / 1000} s)`);
  console.log(`  peak in flight: ${peak} seen by the caller, ${serverPeak} seen by the server`);
} finally {
  server.close();
}
