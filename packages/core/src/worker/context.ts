/**
 * What the call running on this worker thread can learn about its own cancellation. Kept on a
 * `Symbol.for` global, so the worker entry and `@tothread/core/worker` share it however they are
 * bundled.
 */

/** The cancellation state of the call running on this thread. */
export interface TaskContext {
  /** Set to 1 by the main thread when the call is cancelled (only for calls with a `grace`). */
  readonly flag: Int32Array | undefined;
  controller: AbortController | undefined;
}

const CONTEXT_KEY = Symbol.for('tothread.task-context');

type Holder = { [CONTEXT_KEY]?: TaskContext };

export function setContext(context: TaskContext | undefined): void {
  (globalThis as Holder)[CONTEXT_KEY] = context;
}

export function getContext(): TaskContext | undefined {
  return (globalThis as Holder)[CONTEXT_KEY];
}

/** Reads the shared flag; when it is set, also aborts the call's signal. */
export function checkCancelled(context: TaskContext | undefined): boolean {
  if (context?.flag === undefined || Atomics.load(context.flag, 0) === 0) return false;
  context.controller ??= new AbortController();
  if (!context.controller.signal.aborted) context.controller.abort(new Error('The call was cancelled: finish up, its worker is stopped when the grace period ends'));
  return true;
}

const MOVE_KEY = Symbol.for('tothread.move-marks');

/**
 * Buffers worker code marked with `transfer()` to move back instead of being copied, kept on the
 * global object: `@tothread/core/worker` and the worker's own code may be two copies of this file.
 * `used` says whether any was ever marked on this thread (results are searched for them only then).
 */
export function moveMarks(): WeakSet<object> & { used?: true } {
  const holder = globalThis as { [MOVE_KEY]?: WeakSet<object> & { used?: true } };
  return (holder[MOVE_KEY] ??= new WeakSet());
}

/** Marks `value` (a buffer or a view of one) to move back instead of being copied. */
export function markToMove(value: object): void {
  const marks = moveMarks();
  marks.add(value);
  marks.used = true;
}
