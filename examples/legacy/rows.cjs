// A legacy row reader: a sync generator that produces rows one by one (each takes a little work).
'use strict';
const { createHash } = require('node:crypto');

/** Yields `count` rows; `produced[0]` counts how many were made, for the demo to show the pauses. */
function* readRowsSync(count, produced) {
  const counter = new Int32Array(produced);
  try {
    for (let id = 1; id <= count; id++) {
      Atomics.add(counter, 0, 1);
      yield { id, digest: createHash('sha1').update(String(id)).digest('hex').slice(0, 8) };
    }
  } finally {
    Atomics.store(counter, 1, 1); // closed: the reader released its file handle
  }
}

module.exports = { readRowsSync };
