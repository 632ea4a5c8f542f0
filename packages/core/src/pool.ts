/**
 * A pool of worker threads. Piscina owns the workers (spawning, replacing a dead one, reaping idle
 * ones, resource limits); this class owns the calls. Calls wait in our own FIFO queue and are handed
 * to Piscina only when a worker is free, so the order is strict, `maxQueue` and `close()` mean
 * exactly what they say, and a cancelled call that never started never touches a worker.
 */
import type { ResourceLimits, TransferListItem, Worker } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { Batcher } from './batcher.js';
import { locate, type Site } from './call-site.js';
import { Call, type CallHooks, type CallOutcome, type CallState } from './call.js';
import { CallQueue } from './call-queue.js';
import { callSettings, type CallOptions, type CallSettings } from './call-options.js';
import { prepareArgs, type CallbackCount, type CallbackFailures } from './args.js';
import { armRunTimer, runEnded, runStarted, startTimer } from './call-timers.js';
import { cancellable, cancelledBy, currentSignal, isWithdrawal, quiet, rejoin, type TaskSignal } from './cancel.js';
import { CallbackError, CancelledError, CloneError, PoolClosedError, QueueFullError, ToThreadError, UnsupportedFunctionError } from './errors.js';
import { refuseMovedAway } from './clone-check.js';
import { resolveFunction } from './fn/resolve.js';
import { KnownTargets } from './known-targets.js';
import { Line } from './line.js';
import { answerOutputQuery } from './output-flow.js';
import { diedOutsideAnyCall, streamStopped, type FnRef, type Mutable, type ReplyMessage, type StreamRef, type TaskOp, type TaskRequest, type TaskResponse } from './protocol.js';
import { resolveOptions, type PoolOptions, type Resolved } from './pool-options.js';
import { PoolEnding, type Adopted } from './pool-ending.js';
import { bufferPlaces } from './buffers.js';
import { RoomQueue, waitForRoom, type RoomHost } from './room.js';
import { ThreadLimit } from './thread-limit.js';
import { ThreadTimes } from './thread-times.js';
import { makeThreaded, makeToThread, type AnyFunction, type Threaded, type ToThread } from './to-thread.js';
import { startFailure, startingWorkers, startWorkers, warnWorkerFailed } from './workers.js';

/** What a call form adds to a plain call: an operation other than `call`, a stream, a known target. */
export interface TaskExtra {
  readonly op?: TaskOp;
  readonly stream?: StreamRef;
  /** Where a stream counts its call's callback invocations as they run. */
  readonly callbacks?: CallbackCount;
  /** The target, located already (a facade's export; a promise: once its kind is known, see facade.ts). */
  readonly ref?: FnRef | Promise<FnRef>;
  /** Told when the call ends before it enters the queue: cancelled, or refused (its `ref` rejected, say). */
  readonly left?: () => void;
}
const PLAIN: TaskExtra = {};

const STARTED = 'tothread:started';
const RAN = 'tothread:ran';
const REPLY = 'tothread:reply';
const RING = 'tothread:ring';
const STRAY = 'tothread:stray';
const BOOTED = 'tothread:booted';
const OUTPUT_QUERY = 'tothread:output?';
/** The `started` id of a call that has no timer: its worker's message only wakes the main thread. */
const WAKE_ONLY = 0;
const NOTHING_MOVED: readonly TransferListItem[] = [];
const NO_SIGNALS: readonly AbortSignal[] = [];

/** A snapshot of what a pool is doing. */
export interface PoolStats {
  /** Live worker threads. */
  readonly threads: number;
  /** Calls waiting for a worker. */
  readonly queued: number;
  /** Calls handed to a worker: running, or next in a batch sent to one (see Batching in the README). */
  readonly running: number;
  /** Calls that returned a value. */
  readonly completed: number;
  /** Calls that threw, or whose worker died. */
  readonly failed: number;
  /** Calls stopped by their signal or timeout. */
  readonly cancelled: number;
}

/** Where a pool is in its life. */
export type PoolState = 'open' | 'closing' | 'closed';

/**
 * A pool of worker threads. Create one with {@link createPool}; the module-level `toThread` uses a
 * default pool created on first use.
 *
 * @example
 * await using pool = createPool({ maxThreads: 4 })
 * const digest = await pool.toThread(hashFileSync, path)
 * console.log(pool.stats()) // { threads, queued, running, completed, failed, cancelled }
 */
export class Pool {
  /**
   * Runs `fn(...args)` on a worker of this pool. `.with(options)` adds a signal, timeout or transfer list.
   *
   * @example
   * await pool.toThread(hashSync, data)
   * await pool.toThread.with({ timeout: 500 })(hashSync, data)
   */
  readonly toThread: ToThread;
  readonly #options: Resolved;
  /** How many calls may run at once now: fixed, or adaptive under `maxThreads: 'auto'`. */
  readonly #limit: ThreadLimit;
  /** What the workers ask of the CPUs, which the adaptive limit goes by. */
  readonly #times: ThreadTimes | undefined;
  #piscina: Piscina | undefined;
  #state: PoolState = 'open';
  readonly #queue = new CallQueue();
  #dispatched = 0;
  readonly #running = new Set<Call>();
  /** Whether a worker of this pool has ever started (see worker/entry.ts). */
  #booted = false;
  /**
   * Calls sent alone whose timeout counts run time, by the id their worker names them by: when a
   * call starts (its timer starts), and when it has run but its answer waits for its output (it stops).
   */
  readonly #timedRuns = new Map<number, Call>();
  /** Quick calls of one function, queued together, travel to a worker in one task. */
  readonly #batcher = new Batcher({
    run: (request, target, signal, wanted) => this.#run(request, target, signal, undefined, wanted),
    requeue: (calls) => this.#requeue(calls),
    release: () => this.#release(),
    unsent: () => this.#unsent(),
    ending: () => this.#state !== 'open',
  });
  /** Which targets the workers have most likely loaded: those travel by id only. */
  readonly #known = new KnownTargets();
  #nextCallId = 0;
  /** Calls waiting their turn to enter the queue (counted as queued), behind one whose function is being located. */
  readonly #line = new Line();
  readonly #callHooks: CallHooks = {
    settled: (call, prior) => this.#settled(call, prior),
    cancel: (call, reason) => this.#cancel(call, reason),
    cancelUnstarted: (call, reason) => this.#cancelUnstarted(call, reason),
  };
  #completed = 0;
  #failed = 0;
  #cancelled = 0;
  #drained: Array<() => void> = [];
  /** Calls waiting for room in a full queue (`queueFull: 'wait'`). */
  readonly #room = new RoomQueue();
  /** What a call waiting for room needs of the pool (see room.ts). */
  readonly #roomHost: RoomHost = {
    enqueue: (fn, args, settings, scope, site, task, waited, shown) => this.#enqueue(fn, args, settings, scope, site, task, waited, shown),
    refused: (error, signals) => this.#countRefused(error, signals),
    grant: () => this.#grantRoom(),
  };
  /** How the pool ends (close, destroy), and what becomes of its calls when its workers go. */
  readonly #ending: PoolEnding;

  /**
   * @throws {TypeError | RangeError} when an option has the wrong type or range.
   */
  constructor(options?: PoolOptions) {
    this.#options = resolveOptions(options);
    this.#times = this.#options.ceiling > this.#options.max ? new ThreadTimes() : undefined;
    this.#limit = new ThreadLimit(this.#options.max, this.#options.ceiling, {
      raised: () => this.#pump(),
      starting: () => this.#piscina !== undefined && startingWorkers(this.#piscina) > 0,
      running: () => this.#dispatched,
      ...(this.#times && { read: this.#times.read }),
    });
    this.#ending = new PoolEnding({
      running: this.#running,
      queue: this.#queue,
      room: this.#room,
      batcher: this.#batcher,
      limit: this.#limit,
      times: this.#times,
      state: () => this.#state,
      setState: (state) => (this.#state = state),
      drained: () => (this.#dispatched > 0 || this.#batcher.awaiting > 0 ? new Promise<void>((resolve) => this.#drained.push(resolve)) : undefined),
      workers: () => this.#piscina,
      dropWorkers: () => (this.#piscina = undefined),
    });
    this.toThread = makeToThread((fn, args, settings, site, task) => this.submit(fn, args, settings, site, task));
  }

  /**
   * The async twin of `fn` on this pool: `(...args) => Promise<result>`, typed from `fn`.
   *
   * @throws {UnsupportedFunctionError} at once when `fn` can never run on a worker (bound, native, class).
   * @example
   * const parse = pool.threaded(parseSync, { timeout: 2000 })
   * const rows = await parse(text)
   */
  threaded<F extends AnyFunction>(fn: F, options?: CallOptions): Threaded<F> {
    return makeThreaded(fn, callSettings(options), (f, args, settings, site, task) => this.submit(f, args, settings, site, task));
  }

  /** The most calls this pool runs at once: for `maxThreads: 'auto'`, the count it starts from (one per core, or `minThreads` if more). */
  get maxThreads(): number {
    return this.#options.max;
  }

  /** Where this pool is in its life. */
  get state(): PoolState {
    return this.#state;
  }

  /** A snapshot of the pool's workers and calls. */
  stats(): PoolStats {
    return {
      threads: this.#piscina?.threads.length ?? 0,
      queued: this.#queue.size + this.#line.size,
      running: this.#running.size,
      completed: this.#completed,
      failed: this.#failed,
      cancelled: this.#cancelled,
    };
  }

  /** @internal Worker options of this pool, for workers it does not run itself (createInstance). */
  workerOptions(): { resourceLimits?: ResourceLimits; env?: NodeJS.ProcessEnv; execArgv?: string[] } {
    const { resourceLimits, env, execArgv } = this.#options.rest;
    return { ...(resourceLimits && { resourceLimits }), ...(env !== undefined && { env: env as NodeJS.ProcessEnv }), ...(execArgv && { execArgv }) };
  }

  /** @internal Nice steps below the main thread of the workers this pool runs or lends (createInstance). */
  get niceIncrement(): number {
    return this.#options.niceIncrement;
  }

  /**
   * @internal Ties another worker's life to this pool: close() waits for its calls as for the
   * pool's own, then it is stopped (at once by destroy()). Returns how to untie it.
   */
  adopt(adopted: Adopted): () => void {
    if (this.#state !== 'open') throw new PoolClosedError();
    return this.#ending.adopt(adopted);
  }

  /** @internal The live worker threads, for fault-injection tests; not part of the public API. */
  workers(): readonly Worker[] {
    return this.#piscina?.threads ?? [];
  }

  /** @internal Every call form ends here; not part of the public API. */
  submit(fn: unknown, args: readonly unknown[], settings: CallSettings, site: Site, task: TaskExtra = PLAIN): Promise<unknown> {
    const scope = currentSignal();
    try {
      // The caller's own cancel first: a cancelled scope refuses every call with its reason.
      if (settings.signal?.aborted) throw settings.signal.reason;
      if (scope?.aborted) throw scope.reason;
      if (this.#state !== 'open') throw new PoolClosedError();
      // Start the workers first: their boot then overlaps the first analysis of `fn`.
      this.#piscina ??= this.#startWorkers();
      const ref = task.ref ?? resolveFunction(fn);
      if (!(ref instanceof Promise) && this.#line.empty) return this.#enqueue(ref, args, settings, scope, site, task);
      return this.#enqueueInLine(ref, args, settings, scope, site, task);
    } catch (error) {
      task.left?.();
      // Refused before it existed (a CloneError, the pool closed): an error of ours gets the call
      // site's frames as a call's would; a signal's reason is the caller's own, left as it is.
      if (cancelledBy(error, [settings.signal, scope])) {
        const refused = Promise.reject(error);
        quiet(refused); // made in a scope cancelled already: that scope has the reason (see Call#settle)
        return refused;
      }
      if (!(error instanceof ToThreadError)) return Promise.reject(error);
      return cancellable(Promise.reject(locate(error, site)), site, () => {});
    }
  }

  /** A call whose function is being located, or made behind one, enters the queue in its turn (see line.ts). Apart from submit(), whose every call would otherwise pay for this closure's context. */
  #enqueueInLine(ref: FnRef | Promise<FnRef>, args: readonly unknown[], settings: CallSettings, scope: AbortSignal | undefined, site: Site, task: TaskExtra): Promise<unknown> {
    // Counted as queued meanwhile: one that never enters the queue is counted as it ends, as one
    // refused while it waits for room is (see waitForRoom in room.ts).
    const refused = (error: unknown, cancelled: boolean): void => {
      task.left?.();
      if (cancelled) this.#cancelled += isWithdrawal(error) ? 0 : 1;
      // A function refused as it is located is not counted, as one refused at once is not; a
      // facade export whose module failed to load fails each call waiting for it.
      else if (!(error instanceof UnsupportedFunctionError) && this.#countRefused(error, [settings.signal, scope])) quiet(shown);
    };
    const shown: Promise<unknown> = this.#line.join(ref, (located) => this.#enqueue(located, args, settings, scope, site, task, undefined, shown), refused);
    return shown;
  }

  #enqueue(
    fn: FnRef,
    args: readonly unknown[],
    settings: CallSettings,
    scope: AbortSignal | undefined,
    site: Site,
    task: TaskExtra,
    roomWaited?: number,
    outer?: Promise<unknown>,
  ): Promise<unknown> {
    const reserved = roomWaited !== undefined;
    if (reserved) this.#room.take();
    // A call that waited (in line while its function was located, or for room) did not watch its
    // scope meanwhile: one that let its parents go (a finished task's) follows them again before
    // the call is refused or queued (see CancelScope#rejoin). For a call made just now, a no-op.
    if (scope !== undefined) rejoin(scope);
    const signals = settings.signal === undefined ? (scope === undefined ? NO_SIGNALS : [scope]) : scope === undefined ? [settings.signal] : [settings.signal, scope];
    // The caller's own cancel first, as in submit().
    for (let i = 0; i < signals.length; i++) if (signals[i]!.aborted) throw signals[i]!.reason;
    // Here only from a call made while the pool was open, its function located since, or a wait for room.
    if (this.#state !== 'open') throw new PoolClosedError(this.#ending.closedBefore);
    const full = this.#dispatched >= this.#limit.value && (this.#queue.size + this.#room.reserved >= this.#options.maxQueue || this.#room.waiting > 0);
    if (full && !reserved) {
      const limit = this.#options.maxQueue;
      if (this.#options.queueFull === 'reject') {
        this.#limit.waiting(true); // a call turned away wanted a thread too: an 'auto' pool with no room to queue still grows
        throw new QueueFullError(
          limit,
          limit === 0
            ? "Every thread is busy and the pool queues nothing (maxQueue: 0): wait for calls to settle, raise maxQueue (with queueFull: 'wait' to wait for room), or limit concurrency with a Semaphore"
            : `The pool's queue is full (maxQueue: ${limit}): wait for calls to settle, raise maxQueue, pass queueFull: 'wait', or limit concurrency with a Semaphore`,
        );
      }
      return waitForRoom(this.#room, this.#roomHost, fn, args, settings, scope, site, task);
    }
    // From here the call exists: the ports its callbacks get are closed when it settles.
    const prepared = prepareArgs(args, task.callbacks);
    const free = this.#dispatched < this.#limit.value;
    const { timeout, timeoutFrom, grace } = settings;
    const id = ++this.#nextCallId; // from 1: 0 is WAKE_ONLY
    const started = timeout !== undefined && timeoutFrom !== 'call' ? id : undefined;
    const cancelFlag = grace ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
    // Most calls move nothing: they share one empty list instead of building one.
    const moved =
      settings.transfer === undefined && (prepared === undefined || prepared.transfer.length === 0) && task.stream === undefined
        ? NOTHING_MOVED
        : [...new Set([...(settings.transfer ?? []), ...(prepared?.transfer ?? []), ...(task.stream ? [task.stream.port] : [])])]; // a buffer reached twice moves once
    // A call that moves something (buffers, callback or stream ports) always travels in full: what
    // it moves cannot be moved a second time if a worker asked for the full form.
    const request: Mutable<TaskRequest> = { id, fn: moved.length === 0 ? this.#known.shorten(fn, this.#limit.value) : fn, args: prepared?.args ?? args };
    // A plain call: it moves nothing and needs no message of its own, so it may travel in a batch.
    const buffers = bufferPlaces(request.args);
    if (buffers !== undefined) request.buffers = buffers;
    const plain = moved.length === 0 && cancelFlag === undefined && task.op === undefined;
    // Only what a call uses travels (plain calls are the hot path: no spread, no empty fields).
    if (started !== undefined) request.started = started;
    // A brief call has its worker post 'started' as it starts (a timed call does anyway): if it goes
    // alone, the main thread, asleep, starts waking then, not once the answer is posted, and is up
    // when it comes (in a batch, the message is never sent). Sequential trivial calls: p50 -6-13%.
    else if (plain && this.#batcher.brief(fn)) request.started = WAKE_ONLY;
    if (cancelFlag !== undefined) request.cancelFlag = cancelFlag;
    if (task.op !== undefined) request.op = task.op;
    if (prepared?.callbacks !== undefined) request.callbacks = prepared.callbacks;
    if (task.stream !== undefined) request.stream = task.stream;
    if (moved.length > 0 && moved.some((item) => item instanceof ArrayBuffer)) request.moved = true;
    const call = new Call(request, settings, signals, site, this.#callHooks, moved, prepared?.ports, fn);
    const shown = cancellable(call.promise, site, call);
    // What its caller holds: the promise of a wait for room or a place in line, once it is queued.
    call.shown = outer ?? shown;
    call.batchable = plain;
    if (prepared?.failures !== undefined) this.#stopOnCallbackFailure(call, prepared.failures);
    call.listen();
    if (timeout !== undefined && timeoutFrom === 'call') startTimer(call, timeout, roomWaited);
    if (free && this.#queue.size === 0) this.#dispatch(call);
    else {
      this.#queue.push(call);
      this.#limit.waiting(true);
    }
    return shown;
  }

  /**
   * Counts a call that ended before it was queued: cancelled when one of `signals` ended it (its
   * reason is `error`), failed otherwise (the pool closed, say). Returns whether it was cancelled.
   */
  #countRefused(error: unknown, signals: ReadonlyArray<AbortSignal | undefined>): boolean {
    const cancelled = cancelledBy(error, signals);
    if (isWithdrawal(error)) return cancelled;
    if (cancelled) this.#cancelled++;
    else this.#failed++;
    return cancelled;
  }

  /** A callback of `call` that throws stops the call with a CallbackError. */
  #stopOnCallbackFailure(call: Call, failures: CallbackFailures): void {
    failures.report = (path, error) => this.#cancel(call, call.locate(new CallbackError(path, { cause: error })), 'failed'); // stopped, but by a failure: with the caller's frames
  }

  /** Takes a worker slot for `calls` (one, or a batch). */
  #occupy(calls: readonly Call[]): void {
    for (const call of calls) {
      call.state = 'running';
      this.#running.add(call);
    }
    this.#dispatched++;
  }

  /**
   * Runs one task on a worker. A worker that never loaded the target (new, or a replacement) gets
   * it again in full, in the same slot, while the task is still `wanted`; the workers are then
   * warmed with full sends for a while.
   *
   * @throws {PoolClosedError} once the pool has let its workers go.
   */
  #run(request: TaskRequest, target: FnRef, signal: TaskSignal, transferList: TransferListItem[] | undefined, wanted: () => boolean): Promise<TaskResponse> {
    const answered = (response: TaskResponse): TaskResponse | Promise<TaskResponse> =>
      this.#again(response, request, target, signal, transferList, wanted)?.then(answered) ?? response;
    return this.#post(request, signal, transferList).then(answered);
  }

  /**
   * Hands one task to Piscina, as it is.
   *
   * @throws {PoolClosedError} once the pool has let its workers go.
   */
  #post(request: TaskRequest, signal: TaskSignal, transferList: TransferListItem[] | undefined): Promise<TaskResponse> {
    if (this.#piscina === undefined && this.#state !== 'open') throw new PoolClosedError('The pool was closed before this call reached a worker');
    const piscina = (this.#piscina ??= this.#startWorkers());
    try {
      return piscina.run(request, { signal: signal as unknown as AbortSignal, transferList }) as Promise<TaskResponse>;
    } catch (error) {
      throw startFailure(error); // Piscina starts a worker as it takes the task
    }
  }

  /**
   * The task sent again with its target in full, when the worker's `response` says it did not know
   * the short form and the task is still `wanted`; undefined for any other response.
   */
  #again(
    response: TaskResponse,
    request: TaskRequest,
    target: FnRef,
    signal: TaskSignal,
    transferList: TransferListItem[] | undefined,
    wanted: () => boolean,
  ): Promise<TaskResponse> | undefined {
    if (response.ok || !('missing' in response) || !wanted()) return undefined;
    this.#known.missing(target.id);
    return this.#post({ ...request, fn: target }, signal, transferList);
  }

  /**
   * A task could not be handed to Piscina (it could not start a worker: a bad execArgv, say): the
   * slot is free again. The pool is pumped on the next microtask, not from within: a pump is often
   * what is failing, and every queued call would otherwise recurse.
   */
  #unsent(): void {
    this.#dispatched--;
    queueMicrotask(() => this.#pump());
  }

  #dispatch(call: Call): void {
    this.#occupy([call]);
    if (call.request.stream !== undefined && streamStopped(call.request.stream.control)) {
      // Left before it started (its port is closed with it): it never runs, and counts as cancelled.
      this.#unsent();
      call.settle(false, new CancelledError('The stream was left before it started'), 'cancelled');
      return;
    }
    if (call.request.started) this.#timedRuns.set(call.request.started, call); // not WAKE_ONLY
    const transferList = call.transfer.length > 0 ? (call.transfer as TransferListItem[]) : undefined;
    const { request } = call;
    const sentAfter = this.#batcher.sent; // the batches its thread may have run before it
    let task: Promise<TaskResponse>;
    try {
      // Node sends a buffer that has moved away meanwhile (with a call sent after this one was
      // made) as an empty one, or drops the message: refused, with its place named.
      if (request.moved) refuseMovedAway(call.transfer, call.settings.transfer, request.args);
      task = this.#post(request, call.taskSignal, transferList);
    } catch (error) {
      this.#unsent();
      call.settle(false, error instanceof CloneError ? call.locate(error) : error); // with the caller's frames
      return;
    }
    // Handled here rather than through #run: one promise hop fewer on the path of every single call.
    const failed = (error: unknown): void => {
      // The worker died of what a finished call left behind (a timer that threw), and this call is
      // the last it began: it had settled, and its answer, lost with the worker, came with the death.
      const outside = diedOutsideAnyCall(error);
      if (outside !== undefined && outside.begun === request.id && outside.answer !== undefined && call.state !== 'settled') {
        warnWorkerFailed(error);
        void answered(outside.answer);
        return;
      }
      call.workerDone();
      if (call.state !== 'settled') {
        // Unless this call is the last the worker began (its answer was lost with the worker), it
        // never started there, and runs on another worker; the error is said. One that died before
        // beginning any call sends it again once only: a worker that always dies so would loop.
        // What a call moved (a buffer, callback ports, a stream's port) went with the dead worker.
        if (outside !== undefined && outside.begun !== request.id && (outside.begun !== 0 || !call.sentAgain) && call.transfer.length === 0) {
          call.sentAgain = true;
          warnWorkerFailed(error);
          this.#requeue([call]);
        } else {
          // Until a worker of this pool has started, a worker that dies under a call failed to start
          // (unless it died of what a call it ran left behind: it had started).
          call.crashed(error, outside?.begun === request.id ? 'answered' : !this.#booted && outside === undefined ? 'starting' : 'running');
        }
      }
      this.#release();
    };
    const answered = (response: TaskResponse): Promise<void> | undefined => {
      let again: Promise<TaskResponse> | undefined;
      try {
        again = response.ok ? undefined : this.#again(response, request, call.target, call.taskSignal, transferList, () => call.state === 'running');
      } catch (error) {
        failed(error); // the task could not be sent again (the pool closed meanwhile): the call ends here
        return undefined;
      }
      if (again !== undefined) return void again.then(answered, failed);
      call.workerDone();
      try {
        return this.#batcher.report(call, response, sentAfter);
      } finally {
        this.#release(); // the worker is free however the answer went
      }
    };
    task.then(answered, failed);
  }

  /** A Piscina task settled: its worker is free (or gone and being replaced). */
  #release(): void {
    this.#dispatched--;
    this.#pump();
  }

  /** Gives freed queue places to the calls waiting for them, first come first served. */
  #grantRoom(): void {
    this.#room.grant(() => this.#queue.size + this.#room.reserved < this.#options.maxQueue);
  }

  #pump(): void {
    // A free worker first takes the calls stuck behind a call that turned slow on another.
    if (this.#dispatched < this.#limit.value) this.#requeue(this.#batcher.overdue());
    do {
      while (this.#queue.size > 0 && this.#dispatched < this.#limit.value) {
        const call = this.#queue.take();
        // A fair share of the queue at most, so that every free worker gets some.
        const calls = this.#batcher.group(call, this.#queue, Math.ceil((this.#queue.size + 1) / this.#limit.value));
        if (calls.length === 1) this.#dispatch(call);
        else this.#dispatchBatch(calls);
      }
      // A worker is free and nothing waits: it takes calls a busy worker has not started.
    } while (this.#queue.size === 0 && this.#dispatched < this.#limit.value && this.#requeue(this.#batcher.steal()));
    this.#grantRoom();
    if (this.#queue.size === 0) this.#limit.waiting(false);
    const idle = this.#dispatched === 0 && this.#queue.size === 0 && this.#batcher.awaiting === 0;
    if (idle) this.#limit.reset();
    if (idle && this.#drained.length > 0) {
      for (const resolve of this.#drained.splice(0)) resolve();
    }
  }

  /** Puts calls a worker never started back at the head of the queue, in their order. True if there were any. */
  #requeue(calls: readonly Call[]): boolean {
    for (const call of calls) {
      this.#batcher.forget(call);
      this.#running.delete(call);
      call.state = 'queued';
      if (call.runTimeout !== undefined) {
        clearTimeout(call.timer); // armed again when it is sent again
        call.timer = undefined;
      }
    }
    this.#queue.unshift(calls);
    if (calls.length > 0) this.#limit.waiting(true);
    return calls.length > 0;
  }

  #dispatchBatch(calls: readonly Call[]): void {
    this.#occupy(calls);
    this.#batcher.send(calls);
    for (const call of calls) {
      const limit = call.runTimeout;
      if (limit !== undefined && call.batch !== undefined) armRunTimer(call, limit);
    }
  }

  #settled(call: Call, prior: CallState): void {
    if (prior === 'queued') {
      this.#queue.dropped();
      this.#grantRoom();
      if (this.#queue.size === 0) this.#limit.waiting(false);
    }
    this.#running.delete(call);
    this.#batcher.forget(call);
    if (call.request.started) this.#timedRuns.delete(call.request.started);
    // A facade's look-up of an export's kind is not a call of the user's: the calls waiting for it
    // are counted (see #enqueueInLine). Nor is a call tothread withdrew (see withdrawal in cancel.ts).
    if (call.request.op !== 'describe' && !call.withdrawn) {
      if (call.outcome === 'completed') this.#completed++;
      else if (call.outcome === 'cancelled') this.#cancelled++;
      else this.#failed++;
    }
    if (this.#queue.size === 0 && this.#dispatched === 0) this.#pump();
  }

  /**
   * Stops a call: a queued one is dropped from the queue, a running one has its worker terminated,
   * at once or, with a grace period, only if it is still busy when the period ends.
   */
  #cancel(call: Call, reason: unknown, outcome: CallOutcome = 'cancelled'): void {
    if (call.state !== 'settled' && isWithdrawal(reason)) call.withdrawn = true;
    const { cancelFlag } = call.request;
    const { grace } = call.settings;
    if (call.state === 'running' && cancelFlag !== undefined && grace) {
      // Calls with a grace period travel alone: its worker sees the flag, and is stopped only if still busy.
      if (call.cancelWithGrace(reason, grace, () => call.taskSignal.abort(reason), outcome)) Atomics.store(cancelFlag, 0, 1);
      return;
    }
    const wasRunning = call.state === 'running';
    const batch = call.batch;
    if (!call.settle(false, reason, outcome) || !wasRunning) return;
    if (batch !== undefined) {
      this.#requeue(this.#batcher.cancel(batch, call.slot, reason));
      this.#pump();
      return;
    }
    call.taskSignal.abort(reason);
  }

  /**
   * A signal of `call` aborted, and every call it stops hears it here before any is cancelled: one
   * still queued settles now, and one waiting in a batch is skipped there (its cancel follows). A
   * worker freed by stopping a running call then takes none of them, and a batch's worker starts
   * none of them while the others are cancelled.
   */
  #cancelUnstarted(call: Call, reason: unknown): void {
    if (call.state === 'queued') this.#cancel(call, reason);
    else if (call.state === 'running' && call.batch !== undefined) call.batch.skip(call.slot);
  }

  #onMessage(message: unknown): void {
    if (!Array.isArray(message)) return;
    if (message[0] === RING) {
      this.#batcher.ring(message[1] as number);
      return;
    }
    if (message[0] === REPLY) {
      this.#batcher.reply(message as unknown as ReplyMessage);
      return;
    }
    if (message[0] === BOOTED) {
      this.#booted = true;
      this.#times?.add(message[1] as number | undefined);
      return;
    }
    if (message[0] === OUTPUT_QUERY) {
      answerOutputQuery(message[1] as Int32Array);
      return;
    }
    if (message[0] === STRAY) {
      process.emitWarning(String(message[2]), { code: String(message[1]) });
      return;
    }
    if (message[0] === RAN) {
      runEnded(this.#timedRuns.get(message[1] as number));
      return;
    }
    if (message[0] !== STARTED) return;
    const call = this.#timedRuns.get(message[1] as number);
    if (call !== undefined) runStarted(call);
  }

  /** @throws {WorkerExitError} when Node cannot create a worker thread (see startFailure). */
  #startWorkers(): Piscina {
    try {
      return startWorkers(
        this.#options,
        (message) => this.#onMessage(message),
        (piscina, error) => this.#ending.stranded(piscina, error),
        () => this.#booted,
      );
    } catch (error) {
      throw startFailure(error);
    }
  }

  /**
   * Stops taking calls, rejects the calls still queued with `PoolClosedError`, waits for the running
   * ones to settle, then ends the workers. With `timeout`, running calls still going after it are
   * stopped as by {@link Pool.destroy}. Calling it again returns the same promise.
   *
   * @param options.timeout ms to wait for running calls. @default Infinity
   * @example
   * await pool.close({ timeout: 5000 })
   */
  close(options?: { timeout?: number }): Promise<void> {
    return this.#ending.close(options);
  }

  /**
   * Stops at once: every queued and running call rejects with `PoolClosedError`, and the workers
   * are terminated. Resolves when they have exited.
   */
  destroy(): Promise<void> {
    return this.#ending.destroy();
  }

  /** `await using pool = createPool()` closes the pool at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates a pool of worker threads.
 *
 * @throws {TypeError | RangeError} when an option has the wrong type or range, e.g.
 *   ``Expected `maxThreads` to be a whole number from 1 and up, got `0` (number)``.
 * @example
 * await using pool = createPool({ maxThreads: 4, idleTimeout: 30_000 })
 * const digest = await pool.toThread(hashFileSync, path)
 */
export function createPool(options?: PoolOptions): Pool {
  return new Pool(options);
}
