/**
 * The work every variant runs, the same functions on the main thread and in every pool's workers.
 * They are exported from a module, so tothread's workers import this module as the peers' worker
 * files do.
 */
import { createHash } from 'node:crypto';

/** The trivial call whose cost is all overhead. */
export function increment(x: number): number {
  return x + 1;
}

/**
 * A fixed amount of CPU work: `iterations` rounds of xorshift (no allocation, no clock, so each
 * iteration costs the same on every thread). Returns the state so the loop cannot be elided.
 */
export function spin(iterations: number): number {
  let x = 0x9e3779b9 | 0;
  for (let i = 0; i < iterations; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  return x;
}

/** Returns its argument: a buffer's round trip measures the transport alone. */
export function echo(buffer: ArrayBuffer): ArrayBuffer {
  return buffer;
}

/** Blocks the calling thread for `ms` without using CPU, as Python's `time.sleep` does. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** CPU-bound hashing: `rounds` chained SHA-256 digests of 32 bytes. Returns the last one in hex. */
export function hashChain(rounds: number): string {
  let digest = Buffer.alloc(32);
  for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).digest();
  return digest.toString('hex');
}

/** The tasks a runner can be opened for, by name (see pools.ts): the pools' workers look them up here too. */
export const RUNNER_TASKS = { increment, spin } as const;
