/**
 * Answers in shared memory. A call of a batch that returns a number, a boolean, null or undefined
 * answers by writing it into the batch's shared buffer instead of posting a message: receiving a
 * message costs the main thread more than everything else about a quick call (~1.5 µs and ~1 KB
 * each, measured). The worker rings a bell (one message) when it writes an answer and no ring is
 * on its way already; the main thread, woken by it, silences the bell and then reads every answer
 * written so far. So answers are never held back, and while the main thread is busy, the answers
 * that pile up cost it one message. Being in shared memory, an answer outlives a worker that dies
 * or is stopped after writing it.
 */
import { INLINE } from './batch-states.js';

/** The shared part of a batch that carries answers: per slot its value and what the call cost (ms), and the bell. */
export interface AnswerBoard {
  /** `[value, ms]` per slot. */
  readonly answers: Float64Array;
  /** `[1]` while a ring is on its way to the main thread. */
  readonly bell: Int32Array;
}

const NUMBER = INLINE;
const TRUE = INLINE + 1;
const FALSE = INLINE + 2;
const NULL = INLINE + 3;
const UNDEFINED = INLINE + 4;

/** Bytes a board for `slots` calls takes in a shared buffer (8-byte aligned). */
export function boardBytes(slots: number): number {
  return slots * 2 * Float64Array.BYTES_PER_ELEMENT + 8;
}

/** The board of `slots` calls at `offset` (8-byte aligned) of `buffer`. */
export function boardAt(buffer: SharedArrayBuffer, offset: number, slots: number): AnswerBoard {
  return { answers: new Float64Array(buffer, offset, slots * 2), bell: new Int32Array(buffer, offset + slots * 16, 1) };
}

/** The state of a slot whose call returned `value`, if it can answer in shared memory. */
function stateOf(value: unknown): number | undefined {
  switch (typeof value) {
    case 'number':
      return NUMBER;
    case 'boolean':
      return value ? TRUE : FALSE;
    case 'undefined':
      return UNDEFINED;
    case 'object':
      return value === null ? NULL : undefined;
    default:
      return undefined;
  }
}

/**
 * Worker side: writes the answer of the call in `slot` that returned `value` (its cost `ms`) and
 * marks the slot with it. Returns false, writing nothing, for a value that needs a message; after
 * true, {@link ring} says whether a ring must be posted.
 */
export function writeAnswer(board: AnswerBoard, states: Int32Array, slot: number, value: unknown, ms: number | undefined): boolean {
  const state = stateOf(value);
  if (state === undefined) return false;
  board.answers[slot * 2] = state === NUMBER ? (value as number) : 0;
  board.answers[slot * 2 + 1] = ms ?? Number.NaN;
  Atomics.store(states, slot, state); // publishes both numbers
  return true;
}

/** Worker side: true when the bell was silent, so a ring message must be posted now. */
export function ring(board: AnswerBoard): boolean {
  return Atomics.compareExchange(board.bell, 0, 0, 1) === 0;
}

/** Main side: silences the bell; answers written from now on ring it again. Call before reading. */
export function silence(board: AnswerBoard): void {
  Atomics.store(board.bell, 0, 0);
}

/** True for the state of a slot whose answer is in shared memory. */
export function isInline(state: number): boolean {
  return state >= INLINE;
}

/** Main side: the value the call in a slot in state `state` returned (see {@link isInline}). */
export function readAnswer(board: AnswerBoard, slot: number, state: number): unknown {
  return state === NUMBER ? board.answers[slot * 2] : state === TRUE ? true : state === FALSE ? false : state === NULL ? null : undefined;
}

/** Main side: what the call in an answered slot cost (ms), if it reported it. */
export function readCost(board: AnswerBoard, slot: number): number | undefined {
  const ms = board.answers[slot * 2 + 1]!;
  return Number.isNaN(ms) ? undefined : ms;
}
