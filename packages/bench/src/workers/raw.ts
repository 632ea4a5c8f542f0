/**
 * The bare `worker_threads` worker: messages `[id, x]` arrive on the MessagePort it was given and
 * `[id, task(x)]` goes back. Nothing else: the floor every pool is measured against. A message
 * `[id, x, count]` runs the task `count` times in one go and answers once: no per-task message at
 * all, the most a thread can do.
 */
import { workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { RUNNER_TASKS } from './tasks.js';

const { port, task } = workerData as { port: MessagePort; task: keyof typeof RUNNER_TASKS };
const run = RUNNER_TASKS[task];
port.on('message', ([id, x, count]: [number, number, number?]) => {
  if (count === undefined) return port.postMessage([id, run(x)]);
  let last = 0;
  for (let i = 0; i < count; i++) last = run(x);
  port.postMessage([id, last]);
});
