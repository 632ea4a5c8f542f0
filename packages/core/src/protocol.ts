/**
 * The wire protocol between the main thread and a worker: types only. Every message is a plain
 * structured-clone value.
 */
import type { AnswerBoard } from './inline-answers.js';
import type { RunClock } from './run-clock.js';

/** Where an exported value lives: a module URL and the property path from its namespace. */
export interface ExportRef {
  /** `file:` URL (or `node:` specifier) of the module. */
  readonly url: string;
  /** Property path from the module namespace (ESM) or `module.exports` (CommonJS). */
  readonly path: readonly string[];
  /** How to load it: `import()` for ESM, `require()` for CommonJS (so both threads share one instance shape). */
  readonly format: 'esm' | 'cjs';
}

/** How a worker finds the function to run. */
export type FnRef =
  /** A self-contained function, shipped by source and compiled once per worker (keyed by `id`). */
  | {
      readonly kind: 'source';
      readonly id: number;
      /** An expression that evaluates to the function, or to an object whose only member is it (`method`). */
      readonly source: string;
      readonly method: boolean;
      readonly name: string;
      /** Written in sloppy mode (a `function` of a CommonJS file without 'use strict'): compiled so. */
      readonly sloppy?: boolean;
    }
  /** A function exported by a module, imported once per worker. */
  /** `asMethod`: called on the object it is read from (a facade's `facade.obj.method()`), not as a plain function. */
  | ({ readonly kind: 'module'; readonly id: number; readonly asMethod?: true } & ExportRef)
  /** A target the workers have most likely loaded already: only its id travels. */
  | { readonly kind: 'known'; readonly id: number };

/**
 * What to do with the function: call it, read the export as a value (`read`), say what it is
 * (`describe`), call it and stream the values of the iterator it returns (`stream`), call it
 * once per item of `args` (`map`: a chunk of a `map()`), or run several calls (`batch`: `args`
 * holds the calls' arguments, flat or one list per call, see `batch.arity`, and each call answers
 * on its own, in shared memory or with a {@link ReplyMessage}).
 */
export type TaskOp = 'call' | 'read' | 'describe' | 'stream' | 'map' | 'batch';

/** What `map` answers: one value per item, in order, up to the first item that threw (if one did). */
export interface MapChunkResult {
  readonly values: readonly unknown[];
  readonly failed?: WireThrown;
  /** How long the chunk ran on its worker (ms): what sizes the next chunk, travel time left out. */
  readonly ms: number;
  /** The places of the values that are Buffers (they arrive as Uint8Arrays). */
  readonly buffers?: readonly number[];
  /** By the place of a value, the Buffers nested in it (see clone-check.ts, BufferNote). */
  readonly nested?: ReadonlyArray<readonly [number, readonly number[]]>;
  /** The chunk stopped early, having run past CUT_MS (its items cost more than its size was judged from): the items after its values did not run. */
  readonly cut?: boolean;
}

/**
 * The property a worker sets on what it throws outside any task (a timer a finished call left
 * behind) as it dies: an {@link OutsideAnyCall}. Own properties of a thrown object survive the trip
 * (Node 20-24).
 */
export const OUTSIDE_ANY_CALL = 'tothreadOutsideAnyCall';

/**
 * What a worker that died outside any task says. A task it was sent meanwhile had not started,
 * unless it is the last it began: that one had settled, and its answer may not have reached the
 * main thread, so the worker sends it again here when it still has it.
 */
export interface OutsideAnyCall {
  /** The id of the last task the worker began (0: none yet; -1: a batch). */
  readonly begun: number;
  /** That task's answer, kept for a moment after it is posted (see worker/strays.ts). */
  readonly answer?: TaskResponse;
}

/** What a worker that died outside any task says (see {@link OUTSIDE_ANY_CALL}); undefined for any other error. */
export function diedOutsideAnyCall(error: unknown): OutsideAnyCall | undefined {
  const said = typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[OUTSIDE_ANY_CALL] : undefined;
  return typeof said === 'object' && said !== null && typeof (said as OutsideAnyCall).begun === 'number' ? (said as OutsideAnyCall) : undefined;
}

/** What `describe` answers. */
export type ExportKind = 'function' | 'generator' | 'value';

/** A function argument, replaced by `null` in `args` and served from the main thread over `port`. */
export interface CallbackRef {
  /** Keys from `args` to the argument, e.g. `[1]` or `[0, 'onProgress']`. */
  readonly path: readonly (string | number)[];
  readonly port: import('node:worker_threads').MessagePort;
}

/** The channel of a streamed call. */
export interface StreamRef {
  readonly port: import('node:worker_threads').MessagePort;
  /** `[credits, stop, started]`: items the consumer can take now, 1 once it has stopped listening, and 1 once the worker may have run the generator. */
  readonly control: Int32Array;
}

/** Where {@link StreamRef.control} keeps the items the consumer can take now. */
export const STREAM_CREDITS = 0;
/** Where {@link StreamRef.control} says (1) that the consumer has stopped listening (`break`, `return()`). */
export const STREAM_STOP = 1;
/**
 * Where {@link StreamRef.control} says (1) that the worker has begun to pull values: from then on
 * the generator may have run, and its consumer's `return()` waits for its `finally` blocks. The
 * worker sets it before it first reads the stop flag, and the consumer sets the stop flag before
 * it reads this one, so a stream both see as not begun never runs its generator.
 */
export const STREAM_STARTED = 2;
/** How many Int32 slots {@link StreamRef.control} has. */
export const STREAM_CONTROL_SLOTS = 3;

/** True once a stream's consumer has stopped listening: the worker ends the generator, and a stream still queued need not start. */
export function streamStopped(control: Int32Array): boolean {
  return Atomics.load(control, STREAM_STOP) === 1;
}

/**
 * A message on a stream's port. `calls`: how many callback invocations the worker had posted before
 * it (absent: none). They travel on ports of their own, so the main thread delivers the message
 * once it has run as many: a callback called before a `yield` runs before its value is seen.
 */
export type StreamMessage = (
  /** `buffer`: the value is a Buffer (it arrives as a Uint8Array). */
  | { readonly kind: 'value'; readonly value: unknown; readonly buffer?: true; readonly nested?: readonly number[] }
  /** `value`: what the generator returned, if anything. */
  | { readonly kind: 'done'; readonly value?: unknown; readonly buffer?: true; readonly nested?: readonly number[] }
  | { readonly kind: 'error'; readonly thrown: WireThrown }
) & { readonly calls?: number };

/** What every worker thread gets when it starts (its `workerData`, or part of it). */
export interface WorkerSettings {
  /** Nice steps below the main thread it runs at (see PoolOptions.niceIncrement). */
  readonly niceIncrement: number;
}

/** One call. */
export interface TaskRequest {
  /**
   * Unique in its pool, for a task Piscina runs (a call sent alone, a batch): a worker that dies
   * outside any task names the last it began (see {@link OUTSIDE_ANY_CALL}).
   */
  readonly id?: number;
  readonly fn: FnRef;
  readonly args: readonly unknown[];
  /** @default 'call' */
  readonly op?: TaskOp;
  readonly callbacks?: readonly CallbackRef[];
  readonly stream?: StreamRef;
  /**
   * When set, the worker posts `['tothread:started', started]` as the call starts (a timeout counts
   * from then). Only for a call sent alone: in a batch, its start time is noted in shared memory.
   * 0 asks for the message only to wake the main thread ahead of a brief call's answer.
   */
  readonly started?: number;
  /** For calls with a grace period: set to 1 by the main thread when the call is cancelled. */
  readonly cancelFlag?: Int32Array;
  /** Buffers among the arguments arrived transferred: one returned as the result moves back. */
  readonly moved?: true;
  /** The places of the arguments that are Buffers (they arrive as Uint8Arrays): see buffers.ts. */
  readonly buffers?: readonly number[];
  /**
   * For `batch`: each call's id, its slot state (see batch-states.ts) shared with the main thread,
   * the board where calls answer in shared memory, and when each started if one of them has a
   * timeout that counts run time. With `arity`, `args` holds the calls' arguments one after
   * another, `arity` each (see batch-args.ts); without, one list per call.
   */
  readonly batch?: {
    readonly ids: readonly number[];
    readonly states: Int32Array;
    readonly board: AnswerBoard;
    readonly starts?: RunClock;
    readonly arity?: number;
    /** By slot, the places among its call's arguments of those that are Buffers (see buffers.ts). */
    readonly buffers?: ReadonlyArray<readonly number[] | undefined>;
  };
}

/**
 * Posted by a worker on `parentPort` about something a finished call left behind (a promise that
 * rejected with no handler, a callback called late): a process warning's code and text.
 */
export type StrayMessage = readonly ['tothread:stray', string, string];

/**
 * Posted by a worker on `parentPort` while an answer waits for output the main thread has not
 * written yet: the main thread stores how its output is going in the array (`[0]`: OUTPUT_FLOWING
 * or OUTPUT_GONE; `[1]`, `[2]`: the bytes its stdout and stderr have handed on, wrapping) and wakes the worker (worker/output.ts).
 */
export type OutputQueryMessage = readonly ['tothread:output?', Int32Array];

/** The main thread's stdout and stderr still take output. */
export const OUTPUT_FLOWING = 1;
/** The main thread's stdout or stderr is closed or failed: what workers write there goes nowhere. */
export const OUTPUT_GONE = 2;

/** Posted by a worker on `parentPort` once it has started, before any call, with its kernel thread id (Linux). */
export type BootedMessage = readonly ['tothread:booted', number | undefined];

/** Posted by a worker on `parentPort` when a call with a timeout starts running. */
export type StartedMessage = readonly ['tothread:started', number];

/**
 * Posted by a worker on `parentPort` when a call sent alone with a timeout has run and its answer
 * waits for its output to be written (worker/output.ts): that wait is not run time. (A batched
 * call marks its slot of the run clock instead: run-clock.ts.)
 */
export type RanMessage = readonly ['tothread:ran', number];

/**
 * Posted by a worker on `parentPort` as each call of a batch settles, before the next one starts:
 * the call's id and its response.
 */
export type ReplyMessage = readonly ['tothread:reply', number, TaskResponse];

/**
 * Posted by a worker on `parentPort` when a call of a batch answered in shared memory and no ring
 * was on its way: the id of the batch's first call (see inline-answers.ts).
 */
export type RingMessage = readonly ['tothread:ring', number];

/**
 * How a call settled, as the worker reports it, with what it cost there (`ms`, for plain calls) and,
 * for a call sent alone, the thread that ran it (`thread`: it settles after the answers of batches
 * that thread ran before it, which travel on another channel).
 */
export type TaskResponse = (
  /** `failed`: a stream whose generator threw (the stream delivers the error), or a map() chunk with an item that threw (its value carries the error): the call counts as failed. */
  /** `buffer`: the value is a Buffer; `nested`: the Buffers nested in it (see buffers.ts). */
  | { readonly ok: true; readonly value: unknown; readonly failed?: true; readonly buffer?: true; readonly nested?: readonly number[] }
  /** The worker has not loaded the `known` target (a new or replaced worker): send it in full. */
  | { readonly ok: false; readonly missing: number }
  | { readonly ok: false; readonly thrown: WireThrown }
  /** The function returned a value structured clone refuses; `path` starts with `result`. */
  | { readonly ok: false; readonly uncloneable: { readonly path: string; readonly detail: string } }
) & { ms?: number; thread?: number };

/** A thrown value on the wire: an error rebuilt field by field, or any other value as it is. */
export type WireThrown =
  | { readonly kind: 'error'; readonly error: WireError }
  /** `buffer`: the value is a Buffer; `nested`: the Buffers nested in it (see buffers.ts, nestedBufferPlaces). */
  | { readonly kind: 'value'; readonly value: unknown; readonly buffer?: true; readonly nested?: readonly number[] };

/** Which constructor rebuilds an error on the main thread. */
export type CtorRef =
  | { readonly kind: 'builtin'; readonly name: string }
  /** One of tothread's own error classes, thrown by its worker code. */
  | { readonly kind: 'tothread'; readonly name: string }
  | ({ readonly kind: 'export' } & ExportRef);

/** An error found at `path` inside a property of an error. */
export interface NestedError {
  readonly path: readonly (string | number)[];
  readonly thrown: WireThrown;
}

/** An error, field by field: what structured clone would lose is carried explicitly. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly ctor: CtorRef | undefined;
  /** Own enumerable properties (`code`, `errno`, your fields); values that cannot be cloned become strings. */
  readonly props: Readonly<Record<string, unknown>>;
  /** The places of the Buffers in `props`' values (see buffers.ts, nestedBufferPlaces). */
  readonly propBuffers?: readonly number[];
  /** Own enumerable properties holding an error (`originalError`, `inner`): encoded whole, like `cause`. */
  readonly errorProps?: Readonly<Record<string, WireThrown>>;
  /**
   * Errors inside the plain objects and arrays of a property (Mongoose's `errors: { email:
   * ValidatorError }`), encoded whole, by their path in it: they replace what `props` carries there.
   */
  readonly nestedErrors?: Readonly<Record<string, ReadonlyArray<NestedError>>>;
  readonly cause?: WireThrown;
  /** `AggregateError#errors`. */
  readonly errors?: readonly WireThrown[];
}

/** A wire object while it is being built (its fields are readonly once sent). */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The name of the Comlink transfer handler that turns an instance method's uncloneable result into a CloneError. */
export const UNCLONEABLE_RESULT = 'tothread:uncloneable';
