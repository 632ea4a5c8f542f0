/**
 * The bare `worker_threads` worker: messages `[id, x]` arrive on the MessagePort it was given and
 * `[id, x + 1]` goes back. Nothing else: the floor every pool is measured against.
 */
import { workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { increment } from './tasks.js';

const port = (workerData as { port: MessagePort }).port;
port.on('message', ([id, x]: [number, number]) => port.postMessage([id, increment(x)]));
