/**
 * When the calls of a batch started running, shared by the main thread and the worker, for
 * timeouts that count run time only (`timeoutFrom: 'start'`, the default). The worker stores the
 * moment a call starts in the call's slot; the main thread reads it when the call's timer fires.
 * A message per call would cost what the batch saves. Both threads read one clock:
 * `process.hrtime`, monotonic and process-wide (each thread's `performance.now()` counts from its
 * own start).
 */

/** One slot per call of a batch, 0n while the call has not started, RAN once it has run. */
export type RunClock = BigInt64Array;

/** The call has run: its answer waits only for its output to be written (worker/output.ts), which is not run time. */
const RAN = -1n;

/** Worker side: the call in `slot` starts now. */
export function markStart(clock: RunClock, slot: number): void {
  Atomics.store(clock, slot, process.hrtime.bigint());
}

/** Worker side: the call in `slot` has run; what is left before it answers is not run time. */
export function markRan(clock: RunClock, slot: number): void {
  Atomics.store(clock, slot, RAN);
}

/** How long the call in `slot` has been running (ms); undefined while it has not started, 'ran' once it has run. */
export function ranMs(clock: RunClock, slot: number): number | 'ran' | undefined {
  const start = Atomics.load(clock, slot);
  if (start === RAN) return 'ran';
  return start === 0n ? undefined : Number(process.hrtime.bigint() - start) / 1e6;
}
