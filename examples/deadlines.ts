/**
 * Deadlines that really stop the work. First a task group where one step fails: the other steps,
 * stuck in a runaway legacy loop, are stopped (their worker threads terminated). Then a timeout()
 * scope around a parser that never returns. After each, the pool serves the next call.
 *
 *   pnpm example deadlines
 */
import { createPool, TaskGroupError, taskGroup, timeout, TimeoutError } from '@tothread/core';
import { failingStepSync, parseLineSync } from './legacy/runaway.cjs';
import { timed, warmUp } from './support/timing.js';

await using pool = createPool({ minThreads: 3, maxThreads: 3 });
await warmUp(pool, 3);

console.log('1) taskGroup: one step fails after 200 ms while two others loop forever');
const group = await timed(() =>
  taskGroup((tasks) => {
    tasks.create(() => pool.toThread(parseLineSync, 'id,"unclosed'));
    tasks.create(() => pool.toThread(parseLineSync, 'name,"also unclosed'));
    tasks.create(() => pool.toThread(failingStepSync, 200));
  }).catch((error: unknown) => error),
);
const failure = group.value as TaskGroupError;
console.log(`  rejected after ${group.seconds.toFixed(2)} s with ${failure.name}: ${failure.message}`);
console.log(`  the two runaway loops were stopped: ${pool.stats().cancelled} calls cancelled, ${pool.stats().running} still running`);

console.log('2) timeout(300 ms) around a parser that never returns');
const scoped = await timed(() =>
  timeout(300, async () => {
    const header = await pool.toThread(parseLineSync, 'id,name,email');
    const row = await pool.toThread(parseLineSync, '42,"Ada'); // the runaway
    return [header, row];
  }).catch((error: unknown) => error),
);
const expired = scoped.value as TimeoutError;
console.log(`  rejected after ${scoped.seconds.toFixed(2)} s with ${expired.name}: ${expired.message}`);

const after = await timed(() => pool.toThread(parseLineSync, 'still,serving'));
console.log(`3) the pool serves the next call: ${JSON.stringify(after.value)} in ${(after.seconds * 1000).toFixed(0)} ms`);
