/**
 * The Piscina worker file: `run(task)` calls the default export, `run(task, { name })` the named
 * one, with the task as the only argument.
 */
import { move } from 'piscina';

export { increment as default, spin } from './tasks.js';

/** Sends a buffer back transferred rather than copied (Piscina's `move`). */
export function echoMoved(buffer: ArrayBuffer): unknown {
  return move(buffer);
}
