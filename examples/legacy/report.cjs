// A legacy CommonJS module of sync functions, as a team might have inherited it: it requires its
// own dependencies and keeps module state. tothread wraps it without a single change here.
'use strict';
const { createHash } = require('node:crypto');

const VERSION = '3.2.1';
let parsed = 0; // module state: lives in each worker that loads the module

/** Parses CSV text into rows of cells. */
function parseCsvSync(text) {
  parsed++;
  return text.trim().split('\n').map((line) => line.split(','));
}

/** Sums a numeric column and fingerprints the rows (CPU work). */
function summariseSync(rows, column) {
  let total = 0;
  const hash = createHash('sha256');
  for (const row of rows) {
    total += Number(row[column]);
    for (let i = 0; i < 2000; i++) hash.update(row.join('|'));
  }
  return { rows: rows.length, total, fingerprint: hash.digest('hex').slice(0, 12), parsedInThisWorker: parsed };
}

module.exports = { VERSION, parseCsvSync, summariseSync, format: { money: (n) => `$${n.toFixed(2)}` } };
