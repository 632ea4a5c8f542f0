/**
 * The best any worker-thread pool could do on a cold burst of blocking requests, from costs
 * measured in the same run: no schedule can beat it, however it grows its threads.
 *
 * A request blocks its thread for `requestMs` and uses no CPU. `warm` threads are ready at once.
 * Every new thread must first spend `threadCpuMs` of CPU starting (the thread, the client's own
 * set-up), and `cores` cores give at most `cores` ms of CPU per ms, so the k-th new thread is ready
 * at `k * threadCpuMs / cores` at the earliest. A thread ready at `r` answers at most
 * `floor((T - r) / requestMs)` requests by `T`; the bound is the first `T` by which all can answer.
 */
export interface ColdBurst {
  readonly requests: number;
  readonly requestMs: number;
  readonly warm: number;
  readonly threadCpuMs: number;
  readonly cores: number;
}

/** Requests the best schedule can have answered by `t` ms. */
function answeredBy(t: number, { requestMs, warm, threadCpuMs, cores, requests }: ColdBurst): number {
  let answered = warm * Math.floor(t / requestMs);
  for (let k = 1; answered < requests; k++) {
    const each = Math.floor((t - (k * threadCpuMs) / cores) / requestMs);
    if (each <= 0) break;
    answered += each;
  }
  return answered;
}

/** The shortest time (ms) in which any pool could answer the whole burst. */
export function coldBurstFloorMs(burst: ColdBurst): number {
  const { requests, requestMs, threadCpuMs, cores } = burst;
  // The answer is a moment when some thread finishes a request: m requests after its start.
  const moments: number[] = [];
  for (let k = 0; k <= requests; k++) {
    for (let m = 1; m <= requests; m++) moments.push((k * threadCpuMs) / cores + m * requestMs);
  }
  moments.sort((a, b) => a - b);
  return moments.find((t) => answeredBy(t + 1e-9, burst) >= requests) ?? Infinity;
}
