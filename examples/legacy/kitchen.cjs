// The seeds' breakfast: two blocking legacy steps. `sleepSync` blocks its thread the way Python's
// time.sleep does (Atomics.wait: no CPU used, nothing else on the thread runs).
'use strict';

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Brews coffee: 3 units of blocking work. */
function brewCoffeeSync(unitMs) {
  sleepSync(3 * unitMs);
  return 'coffee';
}

/** Toasts a bagel: 2 units of blocking work. */
function toastBagelSync(unitMs) {
  sleepSync(2 * unitMs);
  return 'bagel';
}

module.exports = { sleepSync, brewCoffeeSync, toastBagelSync };
