/**
 * Streaming a legacy generator: rows are consumed with `for await` as the worker produces them.
 * The consumer is slow on purpose: the worker pauses when 16 rows are waiting (backpressure), and
 * `break` stops the generator in the worker, and returns once its finally block has run.
 *
 *   pnpm example stream-rows
 */
import { wrapModule } from '@tothread/core';

const rows = wrapModule<typeof import('./legacy/rows.cjs')>('./legacy/rows.cjs');
const shared = new SharedArrayBuffer(8);
const produced = new Int32Array(shared); // [rows made by the worker, reader closed]
let taken = 0;
let mostAhead = 0;
for await (const row of rows.readRowsSync(1_000_000, shared)) {
  taken++;
  mostAhead = Math.max(mostAhead, Atomics.load(produced, 0) - taken);
  if (taken % 20 === 0) console.log(`  row ${row.id} (${row.digest}): the worker has made ${Atomics.load(produced, 0)}`);
  await new Promise((resolve) => setTimeout(resolve, 5)); // a slow consumer
  if (taken === 60) break;
}
console.log(`took ${taken} of 1000000 rows; the worker made ${Atomics.load(produced, 0)} and was never more than ${mostAhead} ahead`);
console.log(`when break returned, the generator's finally block had run in the worker: ${Atomics.load(produced, 1) === 1}`);
