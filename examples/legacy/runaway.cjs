// Legacy code that can run away: a parser stuck in a loop on bad input, and a step that fails.
'use strict';

/** Parses "a,b,c"; on a line with an unclosed quote it never returns (the legacy bug). */
function parseLineSync(line) {
  let quotes = 0;
  for (let i = 0; i < line.length; i++) if (line[i] === '"') quotes++;
  // The bug: waiting for a closing quote that never comes.
  while (quotes % 2 === 1) {
    /* spins forever */
  }
  return line.split(',');
}

/** A step that fails after `ms` of work. */
function failingStepSync(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end);
  throw new Error('the export service rejected the batch');
}

module.exports = { parseLineSync, failingStepSync };
