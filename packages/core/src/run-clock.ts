/**
 * When the calls of a batch started running, shared by the main thread and the worker, for
 * timeouts that count run time only (`timeoutFrom: 'start'`, the default). The worker stores the
 * moment a call starts in the call's slot; the main thread reads it when the call's timer fires.
 * A message per call would cost what the batch saves. Both threads read one clock:
 * `process.hrtime`, monotonic and process-wide (each thread's `performance.now()` counts from its
 * own start).
 */

/** One slot per call of a batch, 0n while the call has not started. */
export type RunClock = BigInt64Array;

/** Worker side: the call in `slot` starts now. */
export function markStart(clock: RunClock, slot: number): void {
  Atomics.store(clock, slot, process.hrtime.bigint());
}

/** How long the call in `slot` has been running (ms); undefined while it has not started. */
export function ranMs(clock: RunClock, slot: number): number | undefined {
  const start = Atomics.load(clock, slot);
  return start === 0n ? undefined : Number(process.hrtime.bigint() - start) / 1e6;
}
