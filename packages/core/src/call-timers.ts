/**
 * The timers of a pool's timed calls. A timeout from the call (`timeoutFrom: 'call'`) starts as the
 * call is made; one that counts run time starts when its worker says the call started, or, for a
 * call in a batch, when the batch is sent, and stops when the call has run but its answer waits for
 * its output. A timer that fires cancels its call with a TimeoutError.
 */
import { timeoutError, type Call } from './call.js';

/** Arms a call's timeout of `ms`, `spent` of which have passed already (waiting for room in the queue). */
export function startTimer(call: Call, ms: number, spent = 0): void {
  if (call.timer !== undefined) return; // a call sent again in full starts once
  call.timer = setTimeout(() => timedOut(call, ms), Math.max(0, ms - spent));
  call.timer.unref();
}

/**
 * The timer of a call in a batch whose timeout counts run time, armed when the batch is sent (the
 * call cannot have run longer than that). When it fires, the start time the worker noted says
 * whether the limit is reached or how much is left; a call still waiting behind others in its
 * batch has the whole limit left.
 */
export function armRunTimer(call: Call, wait: number): void {
  call.timer = setTimeout(() => {
    const { batch } = call;
    // Settled, taken back, or done with its answer on the way: nothing to time.
    if (call.state !== 'running' || call.answered || batch === undefined || batch.answered(call.slot)) return;
    const limit = call.runTimeout!;
    const ran = batch.ranMs(call.slot);
    if (ran === 'ran') return; // its answer waits for its output: not run time
    if (ran !== undefined && ran >= limit) timedOut(call, limit);
    else armRunTimer(call, ran === undefined ? limit : limit - ran);
  }, wait);
  call.timer.unref();
}

/** A call sent alone whose timeout counts run time has started on its worker ('started'): its timer starts. */
export function runStarted(call: Call): void {
  if (call.state !== 'running' || call.answered || call.settings.timeout === undefined) return;
  startTimer(call, call.settings.timeout);
}

/**
 * A call sent alone whose timeout counts run time has run ('ran'): its answer waits for its output,
 * which is not run time. `call.timer` stays set, so no later 'started' arms it again (startTimer).
 */
export function runEnded(call: Call | undefined): void {
  clearTimeout(call?.timer);
}

/** Stops a call that its timeout of `limit` ms stopped, as a cancel of its own does (see Pool#cancel). */
function timedOut(call: Call, limit: number): void {
  call.cancel(call.locate(timeoutError(call.target, limit)));
}
