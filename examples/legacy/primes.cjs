// A long sync computation that reports progress through a callback it is given.
'use strict';

/** Counts the primes below `limit`, calling `onProgress(percent)` every 10%. */
function countPrimesSync(limit, onProgress) {
  let count = 0;
  let next = limit / 10;
  for (let n = 2; n < limit; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
    if (prime) count++;
    if (n >= next) { onProgress(Math.round((n / limit) * 100)); next += limit / 10; }
  }
  onProgress(100);
  return count;
}

module.exports = { countPrimesSync };
