/**
 * The pool's batching of quick calls: which queued calls travel together, the batches in flight,
 * the answers they send one by one, taking back calls a worker has not started (to cancel one, to
 * feed an idle worker, or after the worker died). The pool keeps the queue and the worker slots;
 * it reaches them through {@link BatchHost}.
 */
import { Batch, CostTable } from './batch.js';
import { packArgs } from './batch-args.js';
import { LOADING, RUNNING, SKIPPED } from './batch-states.js';
import { needsText } from './inline-answers.js';
import { warnWorkerFailed } from './workers.js';
import type { Call } from './call.js';
import type { CallQueue } from './call-queue.js';
import type { TaskSignal } from './cancel.js';
import type { FnRef, ReplyMessage, TaskRequest, TaskResponse } from './protocol.js';

/** What the batcher needs from its pool. */
export interface BatchHost {
  /**
   * Runs one task on a worker, sending `target` again in full to a worker that lacks it while the
   * task is `wanted`. Throws when no worker can be started.
   */
  run(request: TaskRequest, target: FnRef, signal: TaskSignal, wanted: () => boolean): Promise<TaskResponse>;
  /** Puts calls a worker never started back at the head of the queue, in their order. */
  requeue(calls: readonly Call[]): void;
  /** A batch's task ended: its worker slot is free. */
  release(): void;
  /** A batch could not be sent at all: its worker slot is free again. */
  unsent(): void;
  /** True once the pool is closing: its workers are being ended, not failing. */
  ending(): boolean;
}

export class Batcher {
  /** What a call of each target costs on a worker: decides which calls travel in batches. */
  readonly #costs = new CostTable();
  readonly #host: BatchHost;
  /** Batches whose task has not ended, by the id of their first call. */
  readonly #batches = new Map<number, Batch>();
  /**
   * Batches with calls still in them (not yet settled, nor taken back), by the id of their first
   * call: their task may have ended, their answers may not have been read. A ring finds its batch
   * here, so answers in shared memory are read when a ring says so, after the answers by message
   * posted before it (one channel, in order). A task's end travels on Piscina's own channel: it
   * reads its batch's answers at once only when no batch its thread ran before has answers still
   * to read, which they could otherwise overtake (see #behindOnItsThread).
   */
  readonly #unread = new Map<number, Batch>();
  /**
   * Calls sent alone that have answered while a batch their thread ran before them still had
   * answers to deliver (those travel on the worker's own port, the call's answer on Piscina's): each
   * settles once those batches have delivered them, so that one thread's answers settle in order.
   */
  readonly #held: Array<{ readonly before: readonly Batch[]; readonly settle: () => void }> = [];
  /** Calls sent in a batch whose answer has not arrived yet, by id. */
  readonly #awaiting = new Map<number, Call>();
  #nextId = 0;
  /**
   * Keeps the process alive while answers posted before their batch's task ended are still on
   * their way (they travel apart from the task's own result).
   */
  #keepAlive: NodeJS.Timeout | undefined;

  /** Settles a call of a batch with its answer in shared memory: no response object made for it. */
  readonly #deliverValue = (call: Call, value: unknown, ms: number | undefined): void => {
    this.#answered(call.id);
    if (ms !== undefined) this.#costs.record(call.target.id, ms);
    if (call.state !== 'running') return;
    // Read while its signal's calls are being cancelled (a cancel reads the answers behind it): it
    // is cancelled as the others, as a call alone whose answer had not arrived yet.
    const aborted = call.abortedBy();
    if (aborted === undefined) call.resolveWith(value);
    else call.cancel(aborted.reason);
  };

  constructor(host: BatchHost) {
    this.#host = host;
  }

  /** Answers still on their way, and calls held behind them: the pool is not idle until they have settled. */
  get awaiting(): number {
    return this.#awaiting.size + this.#held.length;
  }

  /** The id of the last call sent in a batch: the batches sent so far have keys up to it. */
  get sent(): number {
    return this.#nextId;
  }

  /**
   * Takes from `queue` the calls to send with `first` (already taken): the quick calls of the same
   * function waiting right behind it, `share` at most (so that every free worker gets some).
   */
  group(first: Call, queue: CallQueue, share: number): Call[] {
    const size = first.batchable ? this.#costs.batchSize(first.target.id, share) : 1;
    const calls = [first];
    for (let next = queue.peek(); next && calls.length < size && next.batchable && next.target.id === first.target.id; next = queue.peek()) {
      calls.push(queue.take());
    }
    return calls;
  }

  /** Sends calls (marked running by the pool) to one worker as one task. */
  send(calls: readonly Call[]): void {
    for (const call of calls) {
      call.id = ++this.#nextId;
      this.#awaiting.set(call.id, call);
    }
    const key = calls[0]!.id;
    const { id } = calls[0]!.target;
    const batch = new Batch(calls, this.#costs.estimate(id), key, this.#costs.textual(id));
    this.#batches.set(key, batch);
    this.#unread.set(key, batch);
    const { args, arity } = packArgs(calls.map((call) => call.request.args));
    const buffers = calls.some((call) => call.request.buffers !== undefined) ? calls.map((call) => call.request.buffers) : undefined;
    const request: TaskRequest = {
      fn: calls[0]!.request.fn,
      op: 'batch',
      args,
      batch: {
        ids: calls.map((call) => call.id),
        states: batch.states,
        board: batch.board,
        ...(batch.starts && { starts: batch.starts }),
        ...(arity !== undefined && { arity }),
        ...(buffers && { buffers }),
      },
    };
    let task: Promise<TaskResponse>;
    try {
      task = this.#host.run(request, batch.target, batch.taskSignal, () => batch.open().length > 0);
    } catch (error) {
      this.#batches.delete(key);
      this.#host.unsent();
      for (const call of batch.open()) call.settle(false, error);
      return;
    }
    task.then(
      () => {
        // Read at once what the rings would bring (they come on the worker's own channel, later),
        // unless a batch its thread ran before still has answers to read: these come first.
        if (!this.#behindOnItsThread(batch)) this.#harvest(batch);
        this.#end(key, []);
      },
      (error: unknown) => {
        // The worker died or was stopped. A call it never started runs elsewhere; the one it was
        // running fails with it; one that it finished has its answer in shared memory, or on the
        // way already.
        this.#harvest(batch);
        const unstarted: Call[] = [];
        // A batch that ended its worker before any of its calls started (its message, say, too
        // big for the worker's memory) would only do it again: its calls go alone from now on.
        const alone = batch.untouched();
        // Out of memory before any call started: the batch's message, most likely, and its calls,
        // sent alone from now on, will say so if it happens again.
        const tooBig = alone && (error as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
        /** Whether no call takes the error (a timer a finished call left behind threw, say): it is said, not dropped. */
        let unowned = !tooBig && !batch.taskSignal.aborted && !this.#host.ending();
        for (const call of batch.open()) {
          if (alone) call.batchable = false;
          // A call whose module was still loading had not started either.
          if (batch.skip(call.slot) || batch.state(call.slot) === LOADING) unstarted.push(call);
          else if (batch.state(call.slot) === RUNNING) {
            call.crashed(error);
            unowned = false;
          }
        }
        if (unowned) warnWorkerFailed(error);
        this.#end(key, unstarted);
      },
    );
  }

  /**
   * True when a batch sent before `batch` that ran on its thread still has answers to read:
   * in shared memory, with their ring on its way, or by a message on its way. `batch`'s answers
   * then wait for its own rings, which come after those on the same channel.
   */
  #behindOnItsThread(batch: Batch): boolean {
    return this.#unreadOn(batch.runner, batch.key - 1).length > 0; // keys grow with sending order
  }

  #end(key: number, unstarted: readonly Call[]): void {
    this.#batches.delete(key);
    this.#host.requeue(unstarted);
    if (this.#awaiting.size > 0) this.#keepAlive ??= setInterval(() => {}, 1 << 30);
    this.#host.release();
  }

  #answered(id: number): void {
    if (!this.#awaiting.delete(id) || this.#awaiting.size > 0 || this.#keepAlive === undefined) return;
    clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
  }

  /**
   * A call of a batch answered (posted by its worker as soon as it had run). Once it settles, the
   * answers in shared memory behind it, which waited for it, follow (see forget).
   */
  reply([, id, response]: ReplyMessage): void {
    const call = this.#awaiting.get(id);
    if (call === undefined) return;
    this.#answered(id);
    void this.report(call, response);
  }

  /** A worker rang: calls of the batch whose first call has id `key` have answered in shared memory. */
  ring(key: number): void {
    const batch = this.#unread.get(key);
    if (batch !== undefined) this.#harvest(batch);
  }

  /** Reads the answers in shared memory of every batch with calls still in it: for calls stranded by a dead worker. */
  harvestAll(): void {
    for (const batch of this.#unread.values()) this.#harvest(batch);
  }

  #harvest(batch: Batch): void {
    batch.readAnswers(this.#deliverValue);
  }

  /**
   * A worker's answer for `call`, alone or in a batch: what the call cost is noted (it decides
   * which calls batch), and the call settles with it unless it already has. A call sent alone
   * (`sentAfter`: the last batched call sent before it) whose thread ran batches that still have
   * answers to deliver settles once they have (see #held).
   */
  report(call: Call, response: TaskResponse, sentAfter = 0): Promise<void> | undefined {
    if (response.ms !== undefined) this.#costs.record(call.target.id, response.ms);
    if (response.ok && needsText(response.value)) this.#costs.sawText(call.target.id);
    if (call.state !== 'running') return undefined;
    const before = response.thread === undefined || this.#unread.size === 0 ? undefined : this.#unreadOn(response.thread, sentAfter);
    if (before === undefined || before.length === 0) return call.answer(response);
    call.answered = true; // held: nothing but this answer settles it now (a timeout, a cancel, a close)
    this.#held.push({ before, settle: () => void (call.state === 'running' && call.answer(response)) });
    return undefined;
  }

  /** The batches sent up to call id `upTo` that thread `thread` ran and that still have answers to deliver. */
  #unreadOn(thread: number, upTo: number): Batch[] {
    const unread: Batch[] = [];
    for (const batch of this.#unread.values()) if (batch.key <= upTo && batch.runner === thread && batch.hasUnread()) unread.push(batch);
    return unread;
  }

  /** Settles, in the order they came, the held calls whose earlier batches have delivered every answer (all of them: `all`). */
  releaseHeld(all = false): void {
    for (let i = 0; i < this.#held.length; ) {
      const held = this.#held[i]!;
      if (!all && held.before.some((batch) => batch.hasUnread())) {
        i++;
        continue;
      }
      this.#held.splice(i, 1);
      held.settle(); // may settle others (it pumps the pool): look again from the start
      i = 0;
    }
  }

  /** True for a target measured to be over in less time than the main thread takes to wake up. */
  brief(target: FnRef): boolean {
    return this.#costs.brief(target.id);
  }

  /**
   * A call settled or goes back to the queue: it is no longer the batch's to answer. Answers in
   * shared memory behind it, which may have waited for it, are read now.
   */
  forget(call: Call): void {
    const { batch } = call;
    batch?.leave(call);
    if (call.id >= 0) this.#answered(call.id);
    if (batch === undefined) return;
    if (batch.empty) this.#unread.delete(batch.key);
    else this.#harvest(batch);
    if (this.#held.length > 0) this.releaseHeld();
  }

  /**
   * A worker is free and nothing waits: takes the calls a busy worker has not started, fullest
   * batch first (the later half of them: the first ones are the busy worker's to keep).
   */
  steal(): Call[] {
    const fullest = [...this.#batches.values()].map((batch) => ({ batch, open: batch.open().length })).sort((a, b) => b.open - a.open);
    for (const { batch } of fullest) {
      const stolen = batch.steal('half');
      if (stolen.length > 0) return stolen;
    }
    return [];
  }

  /**
   * A worker is free: takes back every call not yet started from the batches whose running call
   * turned slow (see Batch#overdue), oldest batch first. They were queued before anything still
   * waiting, so they go to the head of the queue rather than wait behind that call.
   */
  overdue(): Call[] {
    if (this.#batches.size === 0) return [];
    const now = performance.now();
    const late: Call[] = [];
    for (const batch of this.#batches.values()) if (batch.overdue(now)) late.push(...batch.steal('all'));
    return late;
  }

  /**
   * A call of a batch was cancelled. One not started is skipped where it waits; for one running,
   * the calls after it are taken back first (so that stopping the worker loses nothing), then the
   * worker is stopped. Returns the calls taken back. One that has answered already (in shared
   * memory, or by a message on its way): nothing else changes.
   */
  cancel(batch: Batch, slot: number, reason: unknown): Call[] {
    // Skipped here, or already as its signal aborted (see Pool#cancelUnstarted).
    if (batch.skip(slot) || batch.state(slot) === SKIPPED || batch.answered(slot)) return [];
    const later = batch.open().filter((other) => other.slot > slot && batch.skip(other.slot));
    const state = batch.state(slot);
    if (state === RUNNING || state === LOADING) batch.taskSignal.abort(reason);
    return later;
  }
}
