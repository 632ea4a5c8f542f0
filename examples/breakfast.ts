/**
 * The seeds' breakfast: brewing coffee takes 3 units and toasting a bagel 2, both blocking.
 * One after the other they take 5 units; offloaded and gathered, 3 (the longer of the two).
 *
 *   pnpm example breakfast
 */
import { createPool, gather } from '@tothread/core';
import { brewCoffeeSync, toastBagelSync } from './legacy/kitchen.cjs';
import { timed, warmUp } from './support/timing.js';

const UNIT_MS = Number(process.env.UNIT_MS ?? 200);
const units = (seconds: number): string => `${seconds.toFixed(2)} s = ${((seconds * 1000) / UNIT_MS).toFixed(2)} units`;

await using pool = createPool({ maxThreads: 2 });
const startup = await warmUp(pool, 2);
console.log(`Breakfast, 1 unit = ${UNIT_MS} ms (2 workers started first, in ${startup.toFixed(2)} s)`);

const sequential = await timed(() => [brewCoffeeSync(UNIT_MS), toastBagelSync(UNIT_MS)]);
console.log(`  sequential: ${sequential.value.join(' + ')} in ${units(sequential.seconds)} (ideal 5)`);

const together = await timed(() => gather(pool.toThread(brewCoffeeSync, UNIT_MS), pool.toThread(toastBagelSync, UNIT_MS)));
console.log(`  gather:     ${together.value.join(' + ')} in ${units(together.seconds)} (ideal 3)`);
