/**
 * Answers in shared memory. A call of a batch that returns a number, a boolean, null or undefined
 * answers by writing it into the batch's shared buffer instead of posting a message: receiving a
 * message costs the main thread more than everything else about a quick call (~1.5 µs and ~1 KB
 * each, measured). So does a short string (up to {@link TEXT_UNITS} UTF-16 code units, copied
 * unit by unit, so any string comes back exactly) when the batch has room for text: batches of a
 * function seen to return such strings get it (see CostTable#textual). The worker rings a bell
 * (one message) when it writes an answer and no ring is on its way already; the main thread, woken
 * by it, silences the bell and then reads every answer written so far. So answers are never held back, and while the main thread is busy, the answers
 * that pile up cost it one message. Being in shared memory, an answer outlives a worker that dies
 * or is stopped after writing it.
 */
import { INLINE } from './batch-states.js';

/** The shared part of a batch that carries answers: per slot its value and what the call cost (ms), and the bell. */
export interface AnswerBoard {
  /** `[value, ms]` per slot (for a string, its length). */
  readonly answers: Float64Array;
  /** `[0]`: 1 while a ring is on its way to the main thread; `[1]`: the id of the thread running the batch (0 before it starts). */
  readonly bell: Int32Array;
  /** {@link TEXT_UNITS} UTF-16 code units per slot, when the batch has room for strings. */
  readonly text?: Uint16Array;
}

/** The longest string (in UTF-16 code units) that answers in shared memory: a 64-digit hex digest fits. */
export const TEXT_UNITS = 64;

const NUMBER = INLINE;
const TRUE = INLINE + 1;
const FALSE = INLINE + 2;
const NULL = INLINE + 3;
const UNDEFINED = INLINE + 4;
const TEXT = INLINE + 5;

/** Bytes a board for `slots` calls takes in a shared buffer (a multiple of 8), with room for strings if `text`. */
export function boardBytes(slots: number, text: boolean): number {
  return slots * 2 * Float64Array.BYTES_PER_ELEMENT + 8 + (text ? Math.ceil((slots * TEXT_UNITS * 2) / 8) * 8 : 0);
}

/** The board of `slots` calls at `offset` (8-byte aligned) of `buffer`, with room for strings if `text`. */
export function boardAt(buffer: SharedArrayBuffer, offset: number, slots: number, text: boolean): AnswerBoard {
  const answers = new Float64Array(buffer, offset, slots * 2);
  const bell = new Int32Array(buffer, offset + slots * 16, 2);
  return text ? { answers, bell, text: new Uint16Array(buffer, offset + slots * 16 + 8, slots * TEXT_UNITS) } : { answers, bell };
}

/** The state of a slot whose call returned `value`, if it can answer on `board`. */
function stateOf(value: unknown, board: AnswerBoard): number | undefined {
  switch (typeof value) {
    case 'string':
      return board.text !== undefined && needsText(value) ? TEXT : undefined;
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
  const state = stateOf(value, board);
  if (state === undefined) return false;
  if (state === TEXT) {
    const text = value as string;
    const base = slot * TEXT_UNITS;
    for (let i = 0; i < text.length; i++) board.text![base + i] = text.charCodeAt(i);
    board.answers[slot * 2] = text.length;
  } else board.answers[slot * 2] = state === NUMBER ? (value as number) : 0;
  board.answers[slot * 2 + 1] = ms ?? Number.NaN;
  Atomics.store(states, slot, state); // publishes both numbers
  return true;
}

/** Worker side: true when the bell was silent, so a ring message must be posted now. */
export function ring(board: AnswerBoard): boolean {
  return Atomics.compareExchange(board.bell, 0, 0, 1) === 0;
}

/** Worker side: notes that thread `id` runs the batch, before it runs any call. */
export function markRunner(board: AnswerBoard, id: number): void {
  Atomics.store(board.bell, 1, id);
}

/** Main side: the id of the thread running the batch, 0 if none has started it. */
export function runnerOf(board: AnswerBoard): number {
  return Atomics.load(board.bell, 1);
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
  if (state === TEXT) {
    const base = slot * TEXT_UNITS;
    return String.fromCharCode.apply(null, board.text!.subarray(base, base + board.answers[slot * 2]!) as unknown as number[]);
  }
  return state === NUMBER ? board.answers[slot * 2] : state === TRUE ? true : state === FALSE ? false : state === NULL ? null : undefined;
}

/** True for a string short enough to answer in shared memory, on a board with room for strings. */
export function needsText(value: unknown): boolean {
  return typeof value === 'string' && value.length <= TEXT_UNITS;
}

/** Main side: what the call in an answered slot cost (ms), if it reported it. */
export function readCost(board: AnswerBoard, slot: number): number | undefined {
  const ms = board.answers[slot * 2 + 1]!;
  return Number.isNaN(ms) ? undefined : ms;
}
