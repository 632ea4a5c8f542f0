/**
 * The worker side: Piscina loads this file in every worker thread and calls the default export
 * once per task. It finds the task's function (compiled once, or imported once per worker), runs
 * it, and reports how it settled as a `TaskResponse`: never by throwing, so errors keep every field.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { bufferNote, uncloneableResult, unstreamedResult } from '../clone-check.js';
import { encodedOrNote, encodeThrown } from '../error-codec.js';
import { CloneError, ExportError } from '../errors.js';
import { DONE, LOADING, PENDING, RUNNING } from '../batch-states.js';
import { argsAt } from '../batch-args.js';
import { CUT_MS } from '../asyncio/chunk-size.js';
import { bufferPlaces, isBuffer, restoreBuffers, trimmed } from '../buffers.js';
import type { BootedMessage, ExportKind, MapChunkResult, RanMessage, ReplyMessage, RingMessage, StartedMessage, TaskRequest, TaskResponse, WorkerSettings } from '../protocol.js';
import { markRunner, ring, writeAnswer } from '../inline-answers.js';
import { markRan, markStart } from '../run-clock.js';
import { reviveCallbacks, type Callbacks } from './callbacks.js';
import { checkCancelled, setContext, type TaskContext } from './context.js';
import { moveBack, outgoing } from './move-back.js';
import { callable, exportOf, isClass, load, locateCtor, type Loaded } from './load.js';
import { lowerPriority } from './priority.js';
import { pump } from './stream.js';
import { kernelThreadId } from '../thread-times.js';
import { outputWritten } from './output.js';
import { answers, begins, counted, outsideTask } from './strays.js';

const CANCEL_POLL_MS = 10;

lowerPriority((workerData as WorkerSettings | undefined)?.niceIncrement ?? 0);
// This thread has started (a `--require` in execArgv that throws never gets here): a call that
// fails with its worker after this failed in the call, not in the worker's start.
parentPort?.postMessage(['tothread:booted', kernelThreadId()] satisfies BootedMessage);

// Tools rewrite plain code into calls of module-local helpers: esbuild (tsx) keeps function names
// with `__name`, vite (vitest) turns `import()` into `__vite_ssr_dynamic_import__()`. A function
// shipped by source may contain them, so the worker provides both.
const g = globalThis as { __name?: unknown; __vite_ssr_dynamic_import__?: unknown };
g.__name ??= (target: Function, value: string) => Object.defineProperty(target, 'name', { value, configurable: true });
g.__vite_ssr_dynamic_import__ ??= (specifier: string) => import(specifier);

/** Whatever goes wrong while reporting is itself reported: the worker never dies of a report. */
function failed(thrown: unknown, entry: Loaded | undefined): TaskResponse {
  return { ok: false, thrown: encodedOrNote(() => encodeThrown(thrown, locateCtor(entry)), 'call') };
}

/** A result that structured clone would refuse is reported as such, instead of killing the worker. */
function succeeded(value: unknown, entry: Loaded): TaskResponse {
  try {
    const buffers = bufferNote(value); // the Buffers nested in it, noted by the check
    const bad = uncloneableResult(value, buffers);
    if (bad !== undefined) return { ok: false, uncloneable: bad };
    if (isBuffer(value)) return { ok: true, value, buffer: true };
    return buffers?.found === undefined ? { ok: true, value } : { ok: true, value, nested: buffers.found };
  } catch (error) {
    return failed(error, entry);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

function kindOf(value: unknown): ExportKind {
  if (typeof value !== 'function') return 'value';
  const ctor = value.constructor?.name;
  return ctor === 'GeneratorFunction' || ctor === 'AsyncGeneratorFunction' ? 'generator' : 'function';
}

/** Runs the task against its resolved target (`callbacks`: those of its arguments, if any). */
function perform(request: TaskRequest, entry: Loaded, callbacks?: Callbacks): TaskResponse | Promise<TaskResponse> {
  const op = request.op ?? 'call';
  if (op === 'describe') return { ok: true, value: kindOf(entry.value) satisfies ExportKind };
  if (op === 'read') return readValue(request, entry);
  if (op === 'map') return mapChunk(request, entry);
  let value: unknown;
  try {
    const fn = callable(entry, request.fn);
    // A plain call: `this` is undefined, as in `fn(...args)` on the main thread; a facade's is a method call.
    value = entry.holder === undefined ? fn(...request.args) : fn.apply(entry.holder, request.args);
    if (op === 'stream') {
      const iterator = value as Iterator<unknown> | AsyncIterator<unknown>;
      if (typeof iterator?.next !== 'function') throw Object.assign(new TypeError('the function did not return an iterator: call it without streaming'), { code: 'ERR_INVALID_RETURN_VALUE' });
      return pump(iterator, request.stream!, (e) => encodeThrown(e, locateCtor(entry)), callbacks).then((threw): TaskResponse => (threw ? { ok: true, value: undefined, failed: true } : { ok: true, value: undefined }));
    }
  } catch (error) {
    return failed(error, entry);
  }
  if (isThenable(value)) {
    return Promise.resolve(value).then(
      (settled) => succeeded(settled, entry),
      (error: unknown) => failed(error, entry),
    );
  }
  return succeeded(value, entry);
}

/**
 * A chunk of `map()`: `fn(item)` for each item, in order. A sync function runs the whole chunk in
 * one go; a result that is a promise is awaited before the next item. The first item that throws,
 * or whose value cannot be sent back, ends the chunk, and the values before it are kept.
 */
function mapChunk(request: TaskRequest, entry: Loaded): TaskResponse | Promise<TaskResponse> {
  const items = request.args;
  const values: unknown[] = [];
  const since = performance.now();
  const done = (failure?: { error: unknown }, cut = false): TaskResponse => {
    try {
      let nested: Array<[number, number[]]> | undefined; // by value, the Buffers nested in it
      for (let i = 0; i < values.length; i++) {
        const buffers = bufferNote(values[i]);
        const bad = unstreamedResult(values[i], "map() sends back each item's result and does not stream (toThread() streams a generator's values)", buffers);
        if (bad === undefined) {
          if (buffers?.found !== undefined && !isBuffer(values[i])) (nested ??= []).push([i, buffers.found]);
          continue;
        }
        values.length = i;
        failure = { error: new CloneError(bad.path, bad.detail) };
      }
      // The check walks what the clone back will: values dear to send look as dear as they are.
      const ms = performance.now() - since;
      // What encodeThrown makes can always be sent.
      const buffers = bufferPlaces(values);
      for (let i = 0; i < values.length; i++) values[i] = trimmed(values[i]);
      const found = { ...(buffers && { buffers }), ...(nested && { nested }) };
      if (failure === undefined) return { ok: true, value: { values, ms, ...(cut && { cut }), ...found } satisfies MapChunkResult };
      // An item's failure travels with the values before it, and the chunk counts as failed.
      return { ok: true, value: { values, failed: encodeThrown(failure.error, locateCtor(entry)), ms, ...found } satisfies MapChunkResult, failed: true };
    } catch (error) {
      return failed(error, entry);
    }
  };
  let fn: Function;
  try {
    fn = callable(entry, request.fn);
  } catch (error) {
    return failed(error, entry);
  }
  const from = (start: number): TaskResponse | Promise<TaskResponse> => {
    for (let i = start; i < items.length; i++) {
      let value: unknown;
      try {
        value = fn(items[i]);
      } catch (error) {
        return done({ error });
      }
      if (isThenable(value)) {
        return Promise.resolve(value).then(
          (settled) => {
            values.push(settled);
            return overdue(i) ? done(undefined, true) : from(i + 1);
          },
          (error: unknown) => done({ error }),
        );
      }
      values.push(value);
      if (overdue(i)) return done(undefined, true);
    }
    return done();
  };
  /** True when the chunk has run past CUT_MS with items still to run after item `i`. */
  const overdue = (i: number): boolean => i + 1 < items.length && performance.now() - since > CUT_MS;
  return from(0);
}

function readValue(request: TaskRequest, entry: Loaded): TaskResponse {
  const where = exportOf(entry, request.fn);
  if (typeof entry.value === 'function' && where !== undefined) {
    const { url } = where;
    const path = where.path.join('.');
    const message = isClass(entry.value)
      ? `\`${path}\` of ${url} is a class, which cannot be read across threads: keep an instance in a worker with createInstance(specifier, '${path}', ...args)`
      : `\`${path}\` of ${url} is a function: call it (facade.${path}(...)) instead of reading it`;
    return failed(new ExportError(url, path, 'not-a-value', message), entry);
  }
  return succeeded(entry.value, entry);
}

/** When a plain call's function started to run (undefined: it never did, its module failed to load). */
interface RunStart {
  since: number | undefined;
}

/** Runs a call whose module is loaded: a plain call's clock starts only now, the load left out. */
function begin(request: TaskRequest, entry: Loaded, run: RunStart | undefined, callbacks: Callbacks | undefined): TaskResponse | Promise<TaskResponse> {
  if (run !== undefined) run.since = performance.now();
  return perform(request, entry, callbacks);
}

function start(request: TaskRequest, run?: RunStart): TaskResponse | Promise<TaskResponse> {
  const args = request.args as unknown[];
  restoreBuffers(args, request.buffers);
  const callbacks = request.callbacks?.length ? reviveCallbacks(args, request.callbacks) : undefined;
  let result: TaskResponse | Promise<TaskResponse>;
  try {
    const entry = load(request.fn);
    if (entry === undefined) {
      callbacks?.release();
      return { ok: false, missing: request.fn.id };
    }
    result = entry instanceof Promise ? entry.then((e) => begin(request, e, run, callbacks), (error: unknown) => failed(error, undefined)) : begin(request, entry, run, callbacks);
  } catch (error) {
    result = failed(error, undefined);
  }
  if (callbacks === undefined) return result;
  // However the call ended (a value, a throw, a stream), every callback it made is delivered
  // before it answers: the main thread closes the callback ports when the call settles.
  return Promise.resolve(result)
    .then(async (response) => {
      await callbacks.settled();
      return response;
    })
    .finally(() => callbacks.release());
}

/** Notes what a plain call cost here, if it ran (up to `until`): the pool batches the calls of quick functions. */
function timed(response: TaskResponse, since: number | undefined, until = performance.now()): TaskResponse {
  if (since !== undefined) response.ms = until - since;
  return response;
}

/** Set once this thread has run a batch: only then can a plain call's answer overtake a batch's. */
let ranBatches = false;

/** Names this thread in a plain call's response, once it has run batches (see TaskResponse). */
function ranHere(response: TaskResponse): TaskResponse {
  if (ranBatches) response.thread = threadId;
  return response;
}

/**
 * Answers one call of a batch on its own: a small value in shared memory, its slot's state saying
 * which (ringing the main thread if no ring is on its way); anything else by a message, after
 * which the slot is marked done (in that order: done means answered).
 */
function reply(request: TaskRequest, slot: number, call: TaskRequest, response: TaskResponse): void {
  const { ids, states, board } = request.batch!;
  if (response.ok && writeAnswer(board, states, slot, response.value, response.ms)) {
    if (ring(board)) parentPort!.postMessage(['tothread:ring', ids[0]!] satisfies RingMessage);
    return;
  }
  try {
    const [sent, moved] = outgoing(call, response);
    parentPort!.postMessage(['tothread:reply', ids[slot]!, sent] satisfies ReplyMessage, moved);
  } catch (error) {
    parentPort!.postMessage(['tothread:reply', ids[slot]!, failed(error, undefined)] satisfies ReplyMessage);
  }
  Atomics.store(states, slot, DONE);
}

/**
 * Runs the calls of a batch one after another, each only if the main thread has not skipped it
 * (cancelled, or taken back), each answering as soon as it settles. `claimed` is a slot already
 * taken (see claimFirst).
 */
function runBatch(request: TaskRequest, entry: Loaded | { error: unknown }, from = 0, claimed = -1): TaskResponse | Promise<TaskResponse> {
  const batch = request.batch!;
  const packed = { args: request.args, arity: batch.arity };
  for (let slot = from; slot < batch.ids.length; slot++) {
    if (slot === claimed) Atomics.store(batch.states, slot, RUNNING); // loaded: LOADING -> RUNNING
    else if (!take(batch, slot, RUNNING)) continue;
    const call: TaskRequest = { fn: request.fn, args: argsAt(packed, slot) };
    restoreBuffers(call.args as unknown[], batch.buffers?.[slot]);
    // A call whose module failed to load never ran: it reports no cost (as a call sent alone).
    const since = 'error' in entry ? undefined : performance.now();
    const response = 'error' in entry ? failed(entry.error, undefined) : perform(call, entry);
    // Answers the call, after what it wrote is out (undefined: at once, nothing was pending).
    const answer = (settled: TaskResponse): Promise<void> | undefined => {
      const ms = performance.now();
      const output = outputWritten();
      if (output === undefined) return void reply(request, slot, call, timed(settled, since, ms));
      if (batch.starts !== undefined) markRan(batch.starts, slot); // its wait for output is not run time
      return outsideTask(output).then(() => reply(request, slot, call, timed(settled, since, ms)));
    };
    const waited = response instanceof Promise ? response.then(answer) : answer(response);
    if (waited !== undefined) return waited.then(() => runBatch(request, entry, slot + 1));
  }
  return { ok: true, value: undefined };
}

type BatchRef = NonNullable<TaskRequest['batch']>;

/**
 * Takes the batch's first call not skipped before the module loads (LOADING): loading is then part
 * of its run, as for a call sent alone, so its timeout counts it and cancelling it stops the
 * worker, even one whose module hangs as it loads (with the slot still pending, the main thread
 * would only skip it, and wait for the worker forever). -1 when every call was skipped.
 */
function claimFirst(batch: BatchRef): number {
  for (let slot = 0; slot < batch.states.length; slot++) if (take(batch, slot, LOADING)) return slot;
  return -1;
}

/**
 * Takes the call in `slot` (PENDING -> `state`) unless the main thread skipped it. Its start is
 * noted first: a timer that finds the call running finds its start.
 */
function take({ states, starts }: BatchRef, slot: number, state: typeof RUNNING | typeof LOADING): boolean {
  if (starts !== undefined) markStart(starts, slot);
  return Atomics.compareExchange(states, slot, PENDING, state) === PENDING;
}

function startBatch(request: TaskRequest): TaskResponse | Promise<TaskResponse> {
  const batch = request.batch!;
  markRunner(batch.board, threadId);
  ranBatches = true;
  const first = claimFirst(batch);
  if (first === -1) return { ok: true, value: undefined };
  let entry: ReturnType<typeof load>;
  try {
    entry = load(request.fn);
  } catch (error) {
    return runBatch(request, { error }, first, first);
  }
  if (entry === undefined) {
    // The batch comes back with its target in full, to run from the start: the call was not run.
    if (batch.starts !== undefined) Atomics.store(batch.starts, first, 0n);
    Atomics.store(batch.states, first, PENDING);
    return { ok: false, missing: request.fn.id };
  }
  const run = (loaded: Loaded | { error: unknown }): TaskResponse | Promise<TaskResponse> => runBatch(request, loaded, first, first);
  return entry instanceof Promise ? entry.then(run, (error: unknown) => run({ error })) : run(entry);
}

/**
 * Runs one task. A call with a grace period gets a cancellation context: the flag is shared with
 * the main thread, and while an async call waits, a light poll turns the flag into an abort.
 */
export default function runTask(request: TaskRequest): TaskResponse | Promise<unknown> {
  begins(request.id ?? -1);
  // Output waits outside the count: a stray rejection found meanwhile is no longer this call's.
  const result = counted(() => runOne(request));
  const settle = (value: unknown): unknown => {
    const answer = answerAfterOutput(request, value);
    return answer instanceof Promise ? answer.then(answers) : answers(answer);
  };
  return result instanceof Promise ? result.then(settle) : (settle(result) as TaskResponse | Promise<unknown>);
}

/**
 * `value`, once what the call wrote is out. A timed call's wait for that is not run time: its
 * timer stops, unless the call never ran (its function is missing here: it is sent again in full,
 * and the timer armed at its first 'started' goes on timing that run).
 */
function answerAfterOutput<T>(request: TaskRequest, value: T): T | Promise<T> {
  const output = outputWritten();
  if (output === undefined) return value;
  if (request.started && !isMissing(value)) parentPort?.postMessage(['tothread:ran', request.started] satisfies RanMessage);
  return output.then(() => value);
}

function isMissing(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'missing' in value;
}

function runOne(request: TaskRequest): TaskResponse | Promise<unknown> {
  if (request.started !== undefined) parentPort?.postMessage(['tothread:started', request.started] satisfies StartedMessage);
  setContext(undefined);
  if (request.op === 'batch') return startBatch(request);
  // A plain call notes what it cost, from when its function started (a first call loads the module:
  // counted, the function would look slow for its next calls and travel alone).
  const run: RunStart | undefined = request.op === undefined ? { since: undefined } : undefined;
  const settle = (response: TaskResponse): TaskResponse | Promise<unknown> => moveBack(request, run ? ranHere(timed(response, run.since)) : response);
  if (request.cancelFlag === undefined) {
    const result = start(request, run);
    return result instanceof Promise ? result.then(settle) : settle(result);
  }
  // Cancelled with a grace period before it started (its promise has rejected already): it never
  // runs, as a call cancelled while queued never does. The answer is not read.
  if (Atomics.load(request.cancelFlag, 0) !== 0) return { ok: true, value: undefined };
  const context: TaskContext = { flag: request.cancelFlag, controller: undefined };
  setContext(context);
  const result = start(request, run);
  if (!(result instanceof Promise)) return settle(result);
  const poll = setInterval(() => checkCancelled(context), CANCEL_POLL_MS);
  return result.finally(() => clearInterval(poll)).then(settle);
}
