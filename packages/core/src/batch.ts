/**
 * Batching of quick calls. When calls of one fast function queue up, a free worker gets several
 * of them in one message instead of one per round trip, so it does not sit idle while each answer
 * travels back. Each call still answers on its own as soon as it has run, and a shared array of
 * slot states tells both threads which calls have started: a cancelled call that has not started is
 * skipped (no worker is stopped), and if a worker dies, the calls it never started run elsewhere.
 */
import { DONE, PENDING, RUNNING, SKIPPED } from './batch-states.js';
import { boardAt, boardBytes, isInline, readAnswer, readCost, runnerOf, silence, type AnswerBoard } from './inline-answers.js';
import { TaskSignal } from './cancel.js';
import type { Call } from './call.js';
import type { FnRef } from './protocol.js';
import { ranMs, type RunClock } from './run-clock.js';

/**
 * How long a batch should keep its worker busy: long enough that the round trip between batches
 * is a small share of it, short enough that few calls wait behind a call that turns out slow (until
 * the batch is overdue, or the queue is empty, see Batcher#overdue and Batcher#steal). Calls are
 * not held back by it: each answers as soon as it has run.
 */
const BATCH_MS = 20;
const MAX_BATCH = 256;
/** Calls that cost more than this travel alone: a slow call must not wait behind another. */
const QUICK_MS = 10;
/**
 * A batch whose worker has been on the same call for this long plus OVERDUE_TIMES its calls'
 * estimated cost is running a call that turned slow: while another worker is free, every call it
 * has not started is taken back (see Batcher#overdue). Firing on a mere hiccup costs little: the
 * calls move to a worker that was free anyway.
 */
const OVERDUE_MS = 20;
const OVERDUE_TIMES = 4;
/**
 * A call that costs less than this is over before the main thread, asleep while it waits, could
 * wake for its answer (tens of µs here): see CostTable#brief.
 */
const BRIEF_MS = 0.2;
/** Cost estimates kept at most, by target id; forgetting one only costs unbatched calls until it is measured again. */
const COST_LIMIT = 4096;

/** True for the state of a slot whose call has answered: in shared memory, or by a message. */
function hasAnswered(state: number): boolean {
  return state === DONE || isInline(state);
}

/** Calls of one target sent together to one worker. */
export class Batch {
  /** The function all its calls run. */
  readonly target: FnRef;
  /** One slot per call: PENDING, RUNNING, LOADING, DONE, SKIPPED, or an answer in {@link board}. */
  readonly states: Int32Array;
  /** Answers written to shared memory (see inline-answers.ts). */
  readonly board: AnswerBoard;
  /** When each call started, if one of them has a timeout that counts run time. */
  readonly starts: RunClock | undefined;
  /** Aborting it makes Piscina terminate the worker running the batch. */
  readonly taskSignal = new TaskSignal();
  /** The calls by slot, each let go once it settles or is sent elsewhere (a settled call keeps nothing alive here). */
  readonly #calls: Array<Call | undefined>;
  /** What one of its calls is expected to cost (ms), when it was sent. */
  readonly #costMs: number;
  /** The first slot whose answer {@link readAnswers} has not given yet. */
  #read = 0;
  #reading = false;
  /** How many slots the worker had reached (running or done) when last looked at, and since when. */
  #seen = 0;
  #seenAt = 0;

  /** The id of its first call: how its worker's rings name it. */
  readonly key: number;
  /** How many of its calls are still in it (see {@link leave}). */
  #remaining: number;

  /** `text`: the board has room for short strings (calls of a function seen to return them). */
  constructor(calls: readonly Call[], costMs: number, key: number, text = false) {
    this.key = key;
    this.#remaining = calls.length;
    this.target = calls[0]!.target;
    this.#costMs = costMs;
    this.#calls = [...calls];
    // One shared buffer (each one sent costs the main thread several µs): the slot states, then,
    // 8-byte aligned, the answer board, then the start times if a call needs them.
    const n = calls.length;
    const statesBytes = Math.ceil((n * Int32Array.BYTES_PER_ELEMENT) / 8) * 8;
    const timed = calls.some((call) => call.runTimeout !== undefined);
    const startsAt = statesBytes + boardBytes(n, text);
    const buffer = new SharedArrayBuffer(startsAt + (timed ? n * BigInt64Array.BYTES_PER_ELEMENT : 0));
    this.states = new Int32Array(buffer, 0, n);
    this.board = boardAt(buffer, statesBytes, n, text);
    this.starts = timed ? new BigInt64Array(buffer, startsAt, n) : undefined;
    calls.forEach((call, slot) => {
      call.batch = this;
      call.slot = slot;
    });
  }

  /** Takes a slot the worker has not started: true means the call will never run in this batch. */
  skip(slot: number): boolean {
    return Atomics.compareExchange(this.states, slot, PENDING, SKIPPED) === PENDING;
  }

  state(slot: number): number {
    return Atomics.load(this.states, slot);
  }

  /** True once the call in `slot` has answered: in shared memory, or by a message on its way. */
  answered(slot: number): boolean {
    return hasAnswered(this.state(slot));
  }

  /**
   * Gives `deliver` the calls still in this batch whose answers are in shared memory, with their
   * values and costs (ms), in call order: it stops at a call that has not answered, or whose
   * answer (by a message) has not settled it yet; reading goes on once that call leaves the batch
   * (see Batcher#forget). The bell is silenced first: an answer written after this rings again. A
   * call made while reading (a call settling as it is given) returns at once: the reading under way
   * goes on.
   */
  readAnswers(deliver: (call: Call, value: unknown, ms: number | undefined) => void): void {
    if (this.#reading) return;
    this.#reading = true;
    try {
      silence(this.board);
      for (; this.#read < this.#calls.length; this.#read++) {
        const call = this.#calls[this.#read];
        if (call === undefined) continue; // settled, or taken back
        const state = this.state(this.#read);
        if (!isInline(state)) return;
        deliver(call, readAnswer(this.board, this.#read, state), readCost(this.board, this.#read));
      }
    } finally {
      this.#reading = false;
    }
  }

  /** The id of the thread that ran (or runs) this batch, 0 if none has started it. */
  get runner(): number {
    return runnerOf(this.board);
  }

  /** True while a call that has answered, in shared memory or by a message on its way, is still to be read. */
  hasUnread(): boolean {
    for (let slot = this.#read; slot < this.#calls.length; slot++) if (this.#calls[slot] !== undefined && hasAnswered(this.state(slot))) return true;
    return false;
  }

  /** How long the call in `slot` has been running (ms); undefined while it has not started, 'ran' once it has run (its answer waits for its output). */
  ranMs(slot: number): number | 'ran' | undefined {
    return this.starts === undefined ? undefined : ranMs(this.starts, slot);
  }

  /** True while the worker has started none of its calls (each is pending or taken back). */
  untouched(): boolean {
    return this.#reached() === 0;
  }

  /** How many slots the worker has reached: running or done. */
  #reached(): number {
    let reached = 0;
    for (let slot = 0; slot < this.states.length; slot++) {
      const state = Atomics.load(this.states, slot);
      if (state === RUNNING || hasAnswered(state)) reached++;
    }
    return reached;
  }

  /** The calls still in this batch: not settled, not sent elsewhere. */
  open(): Call[] {
    return this.#calls.filter((call): call is Call => call !== undefined);
  }

  /**
   * True when the worker has been on the same call for far longer than its calls cost: the running
   * one turned slow. Read from the slot states, so it does not wait for answers still on their way.
   * The clock starts when the worker is first seen at a slot: a batch not started yet is never
   * overdue (its worker may still be starting, or dying of the batch's own message, see
   * Batcher#send).
   */
  overdue(now: number): boolean {
    const reached = this.#reached();
    if (reached !== this.#seen) {
      this.#seen = reached;
      this.#seenAt = now;
      return false;
    }
    return reached > 0 && now - this.#seenAt > OVERDUE_MS + OVERDUE_TIMES * this.#costMs;
  }

  /**
   * Takes back the later `share` of the calls the worker has not started, for an idle worker to run
   * (the worker runs its slots in order, so the first ones are its to keep): half of them to feed an
   * idle worker, all of them from a batch that is overdue.
   */
  steal(share: 'half' | 'all'): Call[] {
    const open = this.open();
    const pending = open.filter((call) => this.state(call.slot) === PENDING).length;
    const take = share === 'all' ? pending : Math.ceil(pending / 2);
    const stolen: Call[] = [];
    for (let i = open.length - 1; i >= 0 && stolen.length < take; i--) {
      if (!this.skip(open[i]!.slot)) break;
      stolen.unshift(open[i]!);
    }
    return stolen;
  }

  /** A call settled or was sent elsewhere: it no longer belongs to this batch. */
  leave(call: Call): void {
    if (call.batch !== this) return;
    call.batch = undefined;
    this.#calls[call.slot] = undefined;
    this.#remaining--;
  }

  /** True once every call has left: settled, or taken back. */
  get empty(): boolean {
    return this.#remaining === 0;
  }
}

/** What a call of each target costs on a worker (ms, moving average), as its workers report it. */
export class CostTable {
  readonly #costs = new Map<number, number>();
  /** Targets seen to return a short string: their batches get room for strings in shared memory. */
  readonly #text = new Set<number>();

  record(target: number, ms: number): void {
    const last = this.#costs.get(target);
    if (last === undefined && this.#costs.size >= COST_LIMIT) this.#costs.clear();
    this.#costs.set(target, last === undefined ? ms : last * 0.75 + ms * 0.25);
  }

  /** `target` returned a string short enough to answer in shared memory (see inline-answers.ts). */
  sawText(target: number): void {
    if (this.#text.size >= COST_LIMIT) this.#text.clear();
    this.#text.add(target);
  }

  /** True for a target seen to return short strings. */
  textual(target: number): boolean {
    return this.#text.has(target);
  }

  /** True for a target measured to cost less than BRIEF_MS a call. */
  brief(target: number): boolean {
    const cost = this.#costs.get(target);
    return cost !== undefined && cost < BRIEF_MS;
  }

  /** What a call of `target` is expected to cost (ms), 0 if it has not been measured. */
  estimate(target: number): number {
    return this.#costs.get(target) ?? 0;
  }

  /**
   * How many calls of `target` one worker should take at once, at most `share` (its fair part of
   * the queue, so that every free worker gets some). 1 for a target not yet measured or too slow
   * to gain from batching: a slow call must never wait behind another on a busy worker.
   */
  batchSize(target: number, share: number): number {
    const cost = this.#costs.get(target);
    if (cost === undefined || cost > QUICK_MS || share < 2) return 1;
    return Math.max(1, Math.min(share, MAX_BATCH, Math.floor(BATCH_MS / Math.max(cost, 0.001))));
  }
}
