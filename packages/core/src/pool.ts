/**
 * A pool of worker threads. Piscina owns the workers (spawning, replacing a dead one, reaping idle
 * ones, resource limits); this class owns the calls. Calls wait in our own FIFO queue and are handed
 * to Piscina only when a worker is free, so the order is strict, `maxQueue` and `close()` mean
 * exactly what they say, and a cancelled call that never started never touches a worker.
 */
import { fileURLToPath } from 'node:url';
import type { ResourceLimits, TransferListItem, Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { Piscina } from 'piscina';
import { Batch, CostTable } from './batch.js';
import { RUNNING } from './batch-states.js';
import { Call, type CallState } from './call.js';
import { CallQueue } from './call-queue.js';
import { callSettings, type CallOptions, type CallSettings } from './call-options.js';
import { prepareArgs } from './args.js';
import { currentSignal, onCancel, thenCancellable } from './cancel.js';
import { CallbackError, PoolClosedError, QueueFullError, TimeoutError } from './errors.js';
import { resolveFunction } from './fn/resolve.js';
import type { FnRef, ReplyMessage, StreamRef, TaskOp, TaskRequest, TaskResponse } from './protocol.js';
import { resolveOptions, type PoolOptions, type Resolved } from './pool-options.js';
import { RoomQueue } from './room.js';
import { ThreadLimit } from './thread-limit.js';
import { makeThreaded, makeToThread, type AnyFunction, type Threaded, type ToThread } from './to-thread.js';
import * as check from './validate.js';

/** What a call form adds to a plain call: an operation other than `call`, a stream, a known target. */
export interface TaskExtra {
  readonly op?: TaskOp;
  readonly stream?: StreamRef;
  /** A target already resolved (a module export named by `wrapModule`). */
  readonly ref?: FnRef;
}
const PLAIN: TaskExtra = {};

const WORKER_FILE = fileURLToPath(new URL('./worker.js', import.meta.url));
// Loaded at the first call, not at import: importing tothread starts nothing and loads little.
const load = createRequire(import.meta.url);
const STARTED = 'tothread:started';
const REPLY = 'tothread:reply';
const SENT_LIMIT = 4096;
const NOTHING_MOVED: readonly TransferListItem[] = [];

/** A snapshot of what a pool is doing. */
export interface PoolStats {
  /** Live worker threads. */
  readonly threads: number;
  /** Calls waiting for a worker. */
  readonly queued: number;
  /** Calls running on a worker. */
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
  #piscina: Piscina | undefined;
  #state: PoolState = 'open';
  readonly #queue = new CallQueue();
  #dispatched = 0;
  readonly #running = new Set<Call>();
  /** Stops for the workers this pool lends to others (createInstance), run when it closes. */
  readonly #adopted = new Set<() => Promise<void>>();
  readonly #awaitingStart = new Map<number, Call>();
  /** Calls sent in a batch whose answer has not arrived yet, by id. */
  readonly #awaitingReply = new Map<number, Call>();
  /** What a call of each target costs on a worker: decides which calls travel in batches. */
  readonly #costs = new CostTable();
  /** Batches whose task has not ended. */
  readonly #batches = new Set<Batch>();
  /** How many times each target was sent in full; after enough, only its id travels. */
  readonly #sentInFull = new Map<number, number>();
  #nextCallId = 0;
  #completed = 0;
  #failed = 0;
  #cancelled = 0;
  #drained: Array<() => void> = [];
  /** Calls waiting for room in a full queue (`queueFull: 'wait'`). */
  readonly #room = new RoomQueue();
  #closing: Promise<void> | undefined;

  /**
   * @throws {TypeError | RangeError} when an option has the wrong type or range.
   */
  constructor(options?: PoolOptions) {
    this.#options = resolveOptions(options);
    this.#limit = new ThreadLimit(
      this.#options.max,
      this.#options.ceiling,
      () => this.#pump(),
      () => (this.#piscina?.threads.length ?? 0) < Math.min(this.#limit.value, this.#dispatched),
    );
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

  /** The most calls this pool runs at once: for `maxThreads: 'auto'`, the core count it starts from. */
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
      queued: this.#queue.size,
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

  /** @internal Ties another worker's life to this pool: `stop` runs at close/destroy. Returns how to untie it. */
  adopt(stop: () => Promise<void>): () => void {
    if (this.#state !== 'open') throw new PoolClosedError();
    this.#adopted.add(stop);
    return () => this.#adopted.delete(stop);
  }

  /** @internal The live worker threads, for fault-injection tests; not part of the public API. */
  workers(): readonly Worker[] {
    return this.#piscina?.threads ?? [];
  }

  /** @internal Every call form ends here; not part of the public API. */
  submit(fn: unknown, args: readonly unknown[], settings: CallSettings, site: { stack?: string }, task: TaskExtra = PLAIN): Promise<unknown> {
    try {
      if (this.#state !== 'open') throw new PoolClosedError();
      const scope = currentSignal();
      if (settings.signal?.aborted) throw settings.signal.reason;
      if (scope?.aborted) throw scope.reason;
      // Start the workers first: their boot then overlaps the first analysis of `fn`.
      this.#piscina ??= this.#createPiscina();
      const ref = task.ref ?? resolveFunction(fn);
      if (!(ref instanceof Promise)) return this.#enqueue(ref, args, settings, scope, site, task);
      // The first call of a module function waits for its module to be located; a cancel in the
      // meantime is kept and applied as soon as the call exists.
      return thenCancellable(ref, (resolved) => this.#enqueue(resolved, args, settings, scope, site, task));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #enqueue(
    fn: FnRef,
    args: readonly unknown[],
    settings: CallSettings,
    scope: AbortSignal | undefined,
    site: { stack?: string },
    task: TaskExtra,
    reserved = false,
  ): Promise<unknown> {
    if (reserved) this.#room.take();
    if (this.#state !== 'open') throw new PoolClosedError();
    const full = this.#dispatched >= this.#limit.value && (this.#queue.size + this.#room.reserved >= this.#options.maxQueue || this.#room.waiting > 0);
    if (full && !reserved) {
      const limit = this.#options.maxQueue;
      if (this.#options.queueFull === 'reject') {
        throw new QueueFullError(
          limit,
          `The pool's queue is full (maxQueue: ${limit}): wait for calls to settle, raise maxQueue, pass queueFull: 'wait', or limit concurrency with a Semaphore`,
        );
      }
      return this.#room.wait(settings.signal, scope).then(() => this.#enqueue(fn, args, settings, scope, site, task, true));
    }
    let cancel = (_reason: unknown): void => {};
    const prepared = prepareArgs(args, (path, error) => cancel(new CallbackError(path, { cause: error })));
    const signals = settings.signal === undefined ? (scope === undefined ? [] : [scope]) : scope === undefined ? [settings.signal] : [settings.signal, scope];
    for (const signal of signals) if (signal.aborted) throw signal.reason;
    const free = this.#dispatched < this.#limit.value;
    const { timeout, timeoutFrom, grace } = settings;
    const started = timeout !== undefined && timeoutFrom !== 'call' ? ++this.#nextCallId : undefined;
    const cancelFlag = grace ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
    // Most calls move nothing: they share one empty list instead of building one.
    const moved =
      settings.transfer === undefined && prepared.transfer.length === 0 && task.stream === undefined
        ? NOTHING_MOVED
        : [...(settings.transfer ?? []), ...prepared.transfer, ...(task.stream ? [task.stream.port] : [])];
    const request: TaskRequest = {
      // A call that moves something (buffers, callback or stream ports) always travels in full:
      // what it moves cannot be moved a second time if a worker asked for the full form.
      fn: moved.length === 0 ? this.#shortened(fn) : fn,
      args: prepared.args,
      ...(started !== undefined && { started }),
      ...(cancelFlag && { cancelFlag }),
      ...(task.op && { op: task.op }),
      ...(prepared.callbacks && { callbacks: prepared.callbacks }),
      ...(task.stream && { stream: task.stream }),
    };
    if (moved.some((item) => item instanceof ArrayBuffer)) (request as { moved?: true }).moved = true;
    const call = new Call(request, settings, signals, site, (c, prior) => this.#settled(c, prior), moved, prepared.ports, fn);
    call.batchable = moved.length === 0 && started === undefined && cancelFlag === undefined && task.op === undefined;
    cancel = (reason: unknown): void => this.#cancel(call, reason);
    onCancel(call.promise, cancel);
    call.listen(cancel);
    if (timeout !== undefined && timeoutFrom === 'call') this.#startTimer(call, timeout);
    if (free && this.#queue.size === 0) this.#dispatch(call);
    else {
      this.#queue.push(call);
      this.#limit.waiting(true);
    }
    return call.promise;
  }

  #dispatch(call: Call): void {
    call.state = 'running';
    this.#running.add(call);
    this.#dispatched++;
    if (call.request.started !== undefined) this.#awaitingStart.set(call.request.started, call);
    let task: Promise<TaskResponse>;
    try {
      const piscina = (this.#piscina ??= this.#createPiscina());
      const transferList = call.transfer.length > 0 ? (call.transfer as TransferListItem[]) : undefined;
      task = piscina.run(call.request, { signal: call.taskSignal as unknown as AbortSignal, transferList });
    } catch (error) {
      // Piscina could not start a worker (bad execArgv, say): the call fails, the slot is free.
      this.#dispatched--;
      call.settle(false, error);
      return;
    }
    task.then(
      (response) => {
        clearTimeout(call.graceTimer);
        if (!response.ok && 'missing' in response && call.state === 'running') {
          // A worker that never loaded the target (new, or a replacement): send it in full, in
          // the same slot, and warm the workers with full sends for a while.
          this.#sentInFull.delete(call.target.id);
          this.#dispatched--;
          this.#running.delete(call);
          call.request = { ...call.request, fn: call.target };
          this.#dispatch(call);
          return undefined;
        }
        if (response.ms !== undefined) this.#costs.record(call.target.id, response.ms);
        const answering = call.state !== 'settled' ? call.answer(response) : undefined;
        this.#release();
        return answering;
      },
      (error: unknown) => {
        clearTimeout(call.graceTimer);
        if (call.state !== 'settled') call.crashed(error);
        this.#release();
      },
    );
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
    do {
      while (this.#queue.size > 0 && this.#dispatched < this.#limit.value) {
        const call = this.#queue.take();
        // The quick calls of one function waiting together go to one worker in one message, a fair
        // share of the queue at most, so that every free worker gets some.
        const size = call.batchable ? this.#costs.batchSize(call.target.id, Math.ceil((this.#queue.size + 1) / this.#limit.value)) : 1;
        const calls = [call];
        for (let next = this.#queue.peek(); next && calls.length < size && next.batchable && next.target.id === call.target.id; next = this.#queue.peek()) {
          calls.push(this.#queue.take());
        }
        if (calls.length === 1) this.#dispatch(call);
        else this.#dispatchBatch(calls);
      }
    } while (this.#queue.size === 0 && this.#dispatched < this.#limit.value && this.#steal());
    this.#grantRoom();
    if (this.#queue.size === 0) this.#limit.waiting(false);
    const idle = this.#dispatched === 0 && this.#queue.size === 0 && this.#awaitingReply.size === 0;
    if (idle) this.#limit.reset();
    if (idle && this.#drained.length > 0) {
      for (const resolve of this.#drained.splice(0)) resolve();
    }
  }

  /** A worker is free and nothing waits: it takes calls a busy worker has not started, fullest batch first. */
  #steal(): boolean {
    const batches = [...this.#batches].sort((a, b) => b.open().length - a.open().length);
    for (const batch of batches) {
      const stolen = batch.steal();
      if (stolen.length === 0) continue;
      this.#requeue(stolen);
      return true;
    }
    return false;
  }

  /** Puts calls a worker never started back at the head of the queue, in their order. */
  #requeue(calls: readonly Call[]): void {
    for (const call of calls) {
      call.batch?.leave(call);
      this.#awaitingReply.delete(call.id);
      this.#running.delete(call);
      call.state = 'queued';
    }
    this.#queue.unshift(calls);
    if (calls.length > 0) this.#limit.waiting(true);
  }

  #dispatchBatch(calls: readonly Call[]): void {
    const batch = new Batch(calls);
    this.#batches.add(batch);
    for (const call of calls) {
      call.state = 'running';
      this.#running.add(call);
      call.id = ++this.#nextCallId;
      this.#awaitingReply.set(call.id, call);
    }
    this.#dispatched++;
    const request: TaskRequest = {
      fn: calls[0]!.request.fn,
      op: 'batch',
      args: calls.map((call) => call.request.args),
      batch: { ids: calls.map((call) => call.id), states: batch.states },
    };
    this.#runBatch(batch, request);
  }

  #runBatch(batch: Batch, request: TaskRequest): void {
    let task: Promise<TaskResponse>;
    try {
      const piscina = (this.#piscina ??= this.#createPiscina());
      task = piscina.run(request, { signal: batch.taskSignal as unknown as AbortSignal });
    } catch (error) {
      this.#dispatched--;
      for (const call of batch.open()) call.settle(false, error);
      return;
    }
    task.then(
      (response) => {
        const target = batch.calls[0]!.target;
        if (!response.ok && 'missing' in response && batch.open().length > 0) {
          // The worker never loaded the target: send the batch again in full, in the same slot.
          this.#sentInFull.delete(target.id);
          this.#runBatch(batch, { ...request, fn: target });
          return;
        }
        this.#batches.delete(batch);
        batch.end();
        this.#release();
      },
      (error: unknown) => {
        // The worker died or was stopped. A call it never started runs elsewhere; the one it was
        // running fails with it; one that it finished has its answer on the way already.
        const unstarted: Call[] = [];
        for (const call of batch.open()) {
          if (batch.skip(call.slot)) unstarted.push(call);
          else if (batch.state(call.slot) === RUNNING) call.crashed(error);
        }
        this.#batches.delete(batch);
        this.#requeue(unstarted);
        batch.end();
        this.#release();
      },
    );
  }

  #settled(call: Call, prior: CallState): void {
    if (prior === 'queued') {
      this.#queue.dropped();
      this.#grantRoom();
      if (this.#queue.size === 0) this.#limit.waiting(false);
    }
    this.#running.delete(call);
    call.batch?.leave(call);
    if (call.id >= 0) this.#awaitingReply.delete(call.id);
    if (call.request.started !== undefined) this.#awaitingStart.delete(call.request.started);
    if (call.outcome === 'completed') this.#completed++;
    else if (call.outcome === 'cancelled') this.#cancelled++;
    else this.#failed++;
    if (this.#queue.size === 0 && this.#dispatched === 0) this.#pump();
  }

  /**
   * Stops a call: a queued one is dropped from the queue, a running one has its worker terminated,
   * at once or, with a grace period, only if it is still busy when the period ends.
   */
  #cancel(call: Call, reason: unknown): void {
    const wasRunning = call.state === 'running';
    const batch = call.batch;
    if (!call.settle(false, reason, 'cancelled') || !wasRunning) return;
    if (batch !== undefined) {
      this.#cancelInBatch(batch, call.slot, reason);
      return;
    }
    const { cancelFlag } = call.request;
    const { grace } = call.settings;
    if (cancelFlag === undefined || !grace) {
      call.taskSignal.abort(reason);
      return;
    }
    Atomics.store(cancelFlag, 0, 1);
    call.graceTimer = setTimeout(() => call.taskSignal.abort(reason), grace);
    call.graceTimer.unref();
  }

  /**
   * A call of a batch: one not started is skipped where it waits; for one running, the calls after
   * it are taken back first (so that stopping the worker loses nothing), then the worker is stopped.
   */
  #cancelInBatch(batch: Batch, slot: number, reason: unknown): void {
    if (batch.skip(slot)) return;
    const later = batch.open().filter((call) => call.slot > slot && batch.skip(call.slot));
    if (batch.state(slot) === RUNNING) batch.taskSignal.abort(reason);
    this.#requeue(later);
    this.#pump();
  }

  /**
   * The target as it travels: in full until every worker has most likely loaded it, then by id
   * only (a worker that lacks it answers `missing`, and the call is sent again in full).
   */
  #shortened(fn: FnRef): FnRef {
    const sent = this.#sentInFull.get(fn.id) ?? 0;
    if (sent >= this.#limit.value * 2) return { kind: 'known', id: fn.id };
    if (this.#sentInFull.size >= SENT_LIMIT) this.#sentInFull.clear(); // bounded: forgetting only costs full sends
    this.#sentInFull.set(fn.id, sent + 1);
    return fn;
  }

  #startTimer(call: Call, ms: number): void {
    if (call.timer !== undefined) return; // a call sent again in full starts once
    call.timer = setTimeout(() => this.#cancel(call, call.locate(new TimeoutError(`\`${call.name}\``, ms))), ms);
    call.timer.unref();
  }

  #onMessage(message: unknown): void {
    if (!Array.isArray(message)) return;
    if (message[0] === REPLY) {
      this.#onReply(message as unknown as ReplyMessage);
      return;
    }
    if (message[0] !== STARTED) return;
    const call = this.#awaitingStart.get(message[1] as number);
    if (call === undefined || call.state !== 'running' || call.answered || call.settings.timeout === undefined) return;
    this.#awaitingStart.delete(message[1] as number);
    this.#startTimer(call, call.settings.timeout);
  }

  /** A call of a batch answered. */
  #onReply([, id, response]: ReplyMessage): void {
    const call = this.#awaitingReply.get(id);
    if (call === undefined) return;
    this.#awaitingReply.delete(id);
    if (response.ms !== undefined) this.#costs.record(call.target.id, response.ms);
    if (call.state === 'running') void call.answer(response);
  }

  #createPiscina(): Piscina {
    const { min, ceiling, idleTimeout, rest } = this.#options;
    const { Piscina: PiscinaPool } = load('piscina') as typeof import('piscina');
    const piscina = new PiscinaPool({
      filename: WORKER_FILE,
      minThreads: min,
      maxThreads: ceiling,
      idleTimeout: Math.min(idleTimeout, check.TIMER_MAX), // Infinity would make Node's timer fire at once
      recordTiming: false,
      ...(rest.resourceLimits ? { resourceLimits: rest.resourceLimits } : {}),
      ...(rest.env !== undefined ? { env: rest.env as never } : {}),
      ...(rest.execArgv ? { execArgv: rest.execArgv } : {}),
    });
    piscina.on('message', (message: unknown) => this.#onMessage(message));
    // Piscina reports here what happens outside any task; without a listener it would crash the
    // process. A late result racing an abort is expected and harmless: the call already settled.
    piscina.on('error', (error: unknown) => {
      if (String((error as Error | undefined)?.message).startsWith('Unexpected message from Worker')) return;
      process.emitWarning(`A tothread worker failed outside any call: ${String(error)}`, { code: 'TOTHREAD_WORKER_ERROR' });
    });
    return piscina;
  }

  #rejectQueued(message: string): void {
    this.#room.refuseAll(() => new PoolClosedError(message));
    for (const call of this.#queue.clear()) call.settle(false, call.locate(new PoolClosedError(message)));
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
    let timeout: number;
    try {
      const raw = check.optionsObject('options', options);
      check.knownKeys('options', raw, ['timeout']);
      timeout = check.optionalDuration('options.timeout', raw.timeout, true) ?? Infinity;
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closing) return this.#closing;
    this.#state = 'closing';
    this.#rejectQueued('The pool was closed before this call started: make calls before close(), or create a new pool');
    this.#closing = (async () => {
      if (this.#dispatched > 0) {
        const drained = new Promise<void>((resolve) => this.#drained.push(resolve));
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<void>((resolve) => {
          if (Number.isFinite(timeout)) timer = setTimeout(resolve, timeout);
        });
        await Promise.race([drained, expired]);
        clearTimeout(timer);
      }
      await this.#terminate(`The pool was closed: close() stopped this call after waiting ${timeout} ms for it`);
    })();
    return this.#closing;
  }

  /**
   * Stops at once: every queued and running call rejects with `PoolClosedError`, and the workers
   * are terminated. Resolves when they have exited.
   */
  destroy(): Promise<void> {
    if (this.#state === 'closed') return this.#closing ?? Promise.resolve();
    this.#state = 'closing';
    this.#rejectQueued('The pool was destroyed before this call started');
    const done = this.#terminate('The pool was destroyed while this call was running');
    this.#closing ??= done;
    return done;
  }

  async #terminate(message: string): Promise<void> {
    this.#limit.waiting(false);
    // A call whose answer has arrived keeps it (settle() ignores anything else then).
    for (const call of [...this.#running]) call.settle(false, call.locate(new PoolClosedError(message)));
    const piscina = this.#piscina;
    this.#piscina = undefined;
    const adopted = [...this.#adopted].map((stop) => stop());
    this.#adopted.clear();
    await Promise.all([piscina?.destroy(), ...adopted]);
    this.#state = 'closed';
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
