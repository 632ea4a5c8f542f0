/** Per-call options: one shape and one check for every call form. */
import type { TransferListItem } from 'node:worker_threads';
import * as check from './validate.js';

/** Per-call control, for every call form (`toThread.with()`, `threaded(fn, options)`, `.with()`). */
export interface CallOptions {
  /** Cancels the call: a queued call is removed, a running one is stopped (its worker is terminated and replaced). Rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Stops the call after this many ms of running (queue time does not count); rejects with `TimeoutError`. @default no timeout */
  timeout?: number;
  /**
   * Buffers (and ports) to move to the worker instead of copying them; they become unusable here.
   * A typed array's `.buffer` is typed `ArrayBufferLike`: a SharedArrayBuffer is refused when the
   * call is made (it is shared, never moved). @default []
   */
  transfer?: readonly (TransferListItem | ArrayBufferLike)[];
  /**
   * When `timeout` starts counting: when the call starts running on a worker (`'start'`), or when
   * it is made, time in the queue included (`'call'`). @default 'start'
   */
  timeoutFrom?: 'start' | 'call';
  /**
   * After a timeout or abort, ms a running call may still finish by itself before its worker is
   * terminated. The promise rejects at once either way; the worker code sees the cancellation
   * through `isCancelled()` / `cancelSignal()` from `@tothread/core/worker`. @default 0
   */
  grace?: number;
}

/** Per-call options once validated. */
export interface CallSettings {
  readonly signal: AbortSignal | undefined;
  readonly timeout: number | undefined;
  readonly transfer: readonly TransferListItem[] | undefined;
  readonly timeoutFrom: 'start' | 'call' | undefined;
  readonly grace: number | undefined;
}

const CALL_KEYS = ['signal', 'timeout', 'transfer', 'timeoutFrom', 'grace'] as const;
const NO_SETTINGS: CallSettings = { signal: undefined, timeout: undefined, transfer: undefined, timeoutFrom: undefined, grace: undefined };

/**
 * Checks a transfer list's items as far as can be done once: what moves is an ArrayBuffer or a
 * port-like object, never a view (a common slip: its `.buffer` moves) or a primitive. Whether a
 * buffer has already moved is checked for each call (pool.ts): one list may serve many calls.
 */
export function transferList(name: string, value: unknown): readonly TransferListItem[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw check.typeError(name, 'an array of transferables', value);
  value.forEach((item: unknown, i) => {
    if (ArrayBuffer.isView(item)) throw check.typeError(`${name}[${i}]`, 'an ArrayBuffer or a MessagePort: for a typed array or DataView, list its `.buffer`', item);
    if (item instanceof SharedArrayBuffer) throw check.typeError(`${name}[${i}]`, 'an ArrayBuffer or a MessagePort: a SharedArrayBuffer is shared, never moved (pass it as an argument)', item);
    if (typeof item !== 'object' || item === null) throw check.typeError(`${name}[${i}]`, 'an ArrayBuffer or a MessagePort', item);
    const proto = Object.getPrototypeOf(item);
    if (Array.isArray(item) || proto === Object.prototype || proto === null) {
      throw check.typeError(`${name}[${i}]`, 'an ArrayBuffer or a MessagePort: list the buffers themselves, not an object or array holding them', item);
    }
  });
  return value as readonly TransferListItem[];
}

/** Validates per-call options once, so every call form shares one check and one message. */
export function callSettings(options: unknown, name = 'options'): CallSettings {
  if (options === undefined) return NO_SETTINGS;
  const raw = check.optionsObject(name, options);
  check.knownKeys(name, raw, CALL_KEYS);
  const transfer = transferList(`${name}.transfer`, raw.transfer);
  const timeoutFrom = raw.timeoutFrom;
  if (timeoutFrom !== undefined && timeoutFrom !== 'start' && timeoutFrom !== 'call') {
    throw check.choiceError(`${name}.timeoutFrom`, "`'start'` or `'call'`", timeoutFrom);
  }
  return {
    signal: check.optionalSignal(`${name}.signal`, raw.signal),
    timeout: check.optionalDuration(`${name}.timeout`, raw.timeout),
    transfer,
    timeoutFrom,
    grace: check.optionalDuration(`${name}.grace`, raw.grace),
  };
}

/** Merges call settings: `over` wins field by field, and two signals combine (either one cancels). */
export function mergeSettings(base: CallSettings, over: CallSettings): CallSettings {
  if (base === NO_SETTINGS) return over;
  if (over === NO_SETTINGS) return base;
  return {
    signal: over.signal && base.signal ? AbortSignal.any([base.signal, over.signal]) : (over.signal ?? base.signal),
    timeout: over.timeout ?? base.timeout,
    transfer: over.transfer ?? base.transfer,
    timeoutFrom: over.timeoutFrom ?? base.timeoutFrom,
    grace: over.grace ?? base.grace,
  };
}
