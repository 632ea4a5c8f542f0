/**
 * The seeds' batch: 20 blocking HTTP requests to a server that answers each after 100 ms. One
 * after the other they take 2 s; gathered through toThread they overlap. How much depends on how
 * many threads can wait at once: a pool of one thread per CPU core, or one thread per request (the
 * default pool, `maxThreads: 'auto'`, starts with one per core and grows while its threads are
 * blocked and the CPUs idle; this example fixes its pools' sizes to compare the two ends).
 *
 *   pnpm example batch-requests
 */
import { availableParallelism } from 'node:os';
import { createPool, gather, type Pool } from '@tothread/core';
import { sendRequestSync } from './legacy/http-client.cjs';
import { startSlowServer } from './support/slow-server.js';
import { timed, warmUp } from './support/timing.js';

const REQUESTS = 20;
const DELAY_MS = 100;

async function batch(pool: Pool, url: string): Promise<number> {
  const { value, seconds } = await timed(() => gather(...Array.from({ length: REQUESTS }, (_, i) => pool.toThread(sendRequestSync, `${url}r${i}`))));
  if (value.some((response) => response.status !== 200)) throw new Error('a request failed');
  return seconds;
}

const server = await startSlowServer(DELAY_MS);
try {
  console.log(`${REQUESTS} blocking requests, the server answers each after ${DELAY_MS} ms`);
  sendRequestSync(`${server.url}warm-up`); // the client's own start-up is not measured
  const sequential = await timed(() => Array.from({ length: REQUESTS }, (_, i) => sendRequestSync(`${server.url}r${i}`)));
  console.log(`  sequential:                        ${sequential.seconds.toFixed(2)} s`);

  const cores = availableParallelism();
  for (const [label, threads] of [[`gather, ${cores} threads (one per core)`, cores], [`gather, ${REQUESTS} threads (one per request)`, REQUESTS]] as const) {
    await using pool = createPool({ minThreads: threads, maxThreads: threads });
    await warmUp(pool, threads, () => pool.toThread(sendRequestSync, `${server.url}warm-up`));
    const seconds = await batch(pool, server.url);
    console.log(`  ${`${label}:`.padEnd(34)} ${seconds.toFixed(2)} s (${(sequential.seconds / seconds).toFixed(1)}x)`);
  }
} finally {
  server.close();
}
