// A legacy, synchronous HTTP client, the kind tothread is for. It blocks the calling thread until
// the response has arrived: like the `sync-request` package, it runs a one-shot client process and
// waits for it. Nothing here knows about threads, and tothread does not need it to.
'use strict';
const { execFileSync } = require('node:child_process');

const CLIENT = `
  fetch(process.argv[1]).then(async (response) => {
    process.stdout.write(JSON.stringify({ status: response.status, body: await response.text() }));
  }, (error) => { process.stderr.write(String(error)); process.exit(1); });
`;

/**
 * GETs `url` and returns `{ status, body }`, blocking until the whole response is in.
 * @param {string} url
 * @returns {{ status: number, body: string }}
 */
function sendRequestSync(url) {
  return JSON.parse(execFileSync(process.execPath, ['-e', CLIENT, url], { encoding: 'utf8' }));
}

module.exports = { sendRequestSync };
