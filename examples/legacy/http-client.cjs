// A legacy, synchronous HTTP client, the kind tothread is for: `sendRequestSync(url)` blocks the
// calling thread until the whole response is in. Like `synckit` and `make-synchronous`, it parks
// the calling thread in Atomics.wait while a helper thread of its own does the socket I/O, so a
// blocked caller uses no CPU (as Python's `requests.get` does). Nothing here knows about tothread.
'use strict';
const { Worker, MessageChannel, receiveMessageOnPort } = require('node:worker_threads');

const HELPER = `
const { workerData } = require('node:worker_threads');
workerData.port.on('message', async ({ url, done }) => {
  let reply;
  try {
    const response = await fetch(url);
    reply = { status: response.status, body: await response.text() };
  } catch (error) {
    reply = { error: String(error && error.cause || error) };
  }
  workerData.port.postMessage(reply);
  Atomics.store(done, 0, 1);
  Atomics.notify(done, 0);
});
`;

let helper; // one per calling thread, started on first use

function start() {
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(HELPER, { eval: true, execArgv: [], workerData: { port: port2 }, transferList: [port2] });
  worker.unref(); // the helper never keeps a program alive
  port1.unref();
  return { port: port1 };
}

/**
 * GETs `url` and returns `{ status, body }`, blocking until the whole response is in.
 * @param {string} url
 * @returns {{ status: number, body: string }}
 */
function sendRequestSync(url) {
  helper ??= start();
  const done = new Int32Array(new SharedArrayBuffer(4));
  helper.port.postMessage({ url, done });
  Atomics.wait(done, 0, 0); // the whole thread blocks here
  const { message } = receiveMessageOnPort(helper.port);
  if (message.error !== undefined) throw new Error(`GET ${url} failed: ${message.error}`);
  return message;
}

module.exports = { sendRequestSync };
