/**
 * Finds the first value structured clone would refuse, and where it sits, without copying
 * anything. Used before dispatch, because a clone failure inside the pool would surface far from
 * the call (or not at all), and on the worker for results.
 */

import { MessagePort } from 'node:worker_threads';
import { types } from 'node:util';
import { CloneError } from './errors.js';

const UNCLONEABLE_TAGS = new Set(['WeakMap', 'WeakSet', 'WeakRef', 'Promise', 'FinalizationRegistry', 'Generator', 'AsyncGenerator']);
/** Web streams: a worker can move one (a transfer list) but never copy it, and nothing moves what it sends back. */
const STREAMS = new Set(['ReadableStream', 'WritableStream', 'TransformStream']);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
/**
 * Platform objects whose state lives in internal slots: structured clone copies them as `{}` (Node
 * 20) or refuses them (22+). By tag, with what to send instead.
 */
const PLATFORM = new Map<string, string>([
  ['URL', 'send its `href` (a string) and make a URL of it where it is used'],
  ['URLSearchParams', 'send `params.toString()` and parse it where it is used'],
  ['Headers', 'send `Object.fromEntries(headers)`'],
  ['Request', 'send its URL, method and headers as plain data'],
  ['Response', 'send what the worker needs of it (its text, status and headers) as plain data'],
  ['FormData', 'send `Object.fromEntries(form)`'],
  ['AbortSignal', 'to stop a call, pass the signal as an option (`toThread.with({ signal })`); in worker code, see the cancellation context'],
  ['AbortController', 'to stop a call, pass its signal as an option (`toThread.with({ signal })`)'],
  ['TextDecoder', 'make one where it is used'],
  ['TextEncoder', 'make one where it is used'],
]);

function member(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** How a place in a call's arguments is named: `[1, 'onProgress']` is `args[1].onProgress`. */
export function pathLabel(path: readonly (string | number)[]): string {
  return path.reduce<string>((label, key, i) => (i === 0 ? `args[${key}]` : typeof key === 'number' ? `${label}[${key}]` : `${label}.${key}`), '');
}

/** What is wrong at `path`. */
export interface Uncloneable {
  readonly path: string;
  readonly detail: string;
  /** Set when it is a function: where callbacks cannot go, the caller may say so. */
  readonly fn?: true;
  /** Set when it nests deeper than the main thread can read (see {@link MAX_NESTING}). */
  readonly tooDeep?: true;
}

/** What is wrong with a buffer that was moved away. */
export const DETACHED = 'its ArrayBuffer was already moved to another thread (by transfer() or a transfer list), so it is empty and unusable here: send a copy, or the buffer that came back';

/**
 * True for an ArrayBuffer that was moved away (detached). Node sends one in a transfer list
 * without an error: as an empty buffer, or (a typed array on it) not at all, and then its call
 * would never answer.
 */
export function isDetached(buffer: unknown): boolean {
  if (!types.isArrayBuffer(buffer) || buffer.byteLength > 0) return false;
  const flag = (buffer as { detached?: unknown }).detached; // Node 22+
  if (typeof flag === 'boolean') return flag;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/**
 * Refuses a call whose `moved` list holds a buffer that has already moved away (by a call sent
 * after this one was made, say), named by its place in `listed` (the call's transfer option) when
 * it is there, else by its place in `args`.
 *
 * @throws {CloneError} naming that buffer.
 */
export function refuseMovedAway(moved: readonly unknown[], listed: readonly unknown[] | undefined, args: readonly unknown[]): void {
  for (const item of moved) {
    if (!isDetached(item)) continue;
    const at = listed?.indexOf(item) ?? -1;
    if (at !== -1) throw new CloneError(`options.transfer[${at}]`, DETACHED);
    let found: Uncloneable | undefined;
    for (let i = 0; i < args.length && found?.detail !== DETACHED; i++) found = findUncloneable(args[i], `args[${i}]`);
    throw new CloneError(found?.detail === DETACHED ? found.path : 'args', DETACHED);
  }
}

/** What `Object.prototype.toString` names `value`'s kind: `Map`, `URL`, `Error`, `Object`… */
export function tagOf(value: unknown): string {
  return Object.prototype.toString.call(value).slice(8, -1);
}

/**
 * Whether `value`, whose tag is `tag`, is the platform's own object of that name (not a package's
 * look-alike, nor when the global is missing). A dotted tag (`Intl.Collator`) names a namespace's member.
 */
function isPlatform(value: object, tag: string): boolean {
  const ctor = tag.split('.').reduce<unknown>((at, name) => (at as Record<string, unknown> | undefined)?.[name], globalThis);
  return typeof ctor === 'function' && value instanceof ctor;
}

/**
 * Tags of JavaScript's own objects whose state is internal and which structured clone refuses:
 * every `Intl` formatter, and WebAssembly's objects but a compiled `WebAssembly.Module`.
 */
const INTERNAL_STATE = /^(?:Intl\.|WebAssembly\.(?!Module$))/;

/** Whether `value` is a platform object structured clone cannot copy (a `URL`, `Headers`…): as text, it says more. */
export function isPlatformObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const tag = tagOf(value);
  return PLATFORM.has(tag) && isPlatform(value, tag);
}

/** The callbacks a worker was given: each is the main thread's function, which can be called here but not sent back. */
const remoteCallbacks = new WeakSet<Function>();

/** Marks `fn` as a callback from the main thread (see {@link remoteCallbacks}). */
export function markRemoteCallback(fn: Function): void {
  remoteCallbacks.add(fn);
}

function describe(value: unknown): string {
  if (typeof value === 'function' && remoteCallbacks.has(value)) return 'a callback from the main thread, which can be called here but not sent back';
  if (typeof value === 'function') return `a function${value.name ? ` (\`${value.name}\`)` : ''}`;
  if (typeof value === 'symbol') return `a symbol (${String(value)})`;
  const tag = tagOf(value);
  return `${/^[AEIO]/.test(tag) ? 'an' : 'a'} ${tag}`; // a URL, a Uint8Array: by sound
}

/**
 * Which way a value goes. To a worker, a MessagePort may be moved with the call. To the main thread
 * (a result, a streamed value, a callback's arguments), nothing moves a port, and nesting is
 * bounded: the main thread reads a message on a smaller stack than a worker's, so a value nested
 * deeper than it can read would be posted without an error and lost on arrival (Node emits
 * 'messageerror', which nobody hears, and the call would never answer).
 */
export type Direction = 'to-worker' | 'to-main';

/**
 * How deep a value sent to the main thread may nest, in units: an object level costs 2, an array,
 * Map, Set or error level 1. Measured on a main thread's default stack (Node 20 to 24), reading
 * fails past ~1,585 levels of plain objects and ~3,250 of arrays (Maps, Sets and errors go
 * deeper): the limit keeps ~10% below both, 1,400 object levels or 2,800 array levels.
 */
export const MAX_NESTING = 2_800;

const TOO_DEEP = 'it is nested deeper than the main thread can read a message (about 1,400 levels of objects, 2,800 of arrays: a long linked list, say): send it flatter (an array of the nodes)';

/**
 * Where a check of a value sent to the main thread notes the Buffers it meets: by their order among
 * the Uint8Arrays it meets (`at` counts them). Structured clone sends a Buffer as a plain
 * Uint8Array; the main thread makes these Buffers again (buffers.ts, restoreNested).
 */
export interface BufferNote {
  at: number;
  found: number[] | undefined;
}

/** The note of the check under way, if it takes one. */
let note: BufferNote | undefined;

/**
 * Returns the first uncloneable value in `value` (depth-first, in clone order), or `undefined`.
 * Values structured clone handles natively (buffers, views, dates, regexps) are not entered.
 * `buffers` notes the Buffers met on the way (see {@link BufferNote}).
 */
export function findUncloneable(value: unknown, path: string, direction: Direction = 'to-worker', buffers?: BufferNote): Uncloneable | undefined {
  let found: Found | undefined;
  note = buffers;
  try {
    found = find(value, new Set(), direction === 'to-main', 0, path === 'result');
  } catch (error) {
    // Nested past this thread's stack (~2,000 levels): structured clone would overflow it too.
    if (!(error instanceof RangeError) || !/call stack/i.test(error.message)) throw error;
    return { path, detail: 'it is nested deeper than this thread can walk (about 2,000 levels): send it flatter (an array of the nodes)', tooDeep: true };
  } finally {
    note = undefined;
  }
  if (found === undefined) return undefined;
  const { at, ...what } = found;
  const full = path + at.reverse().join('');
  return { ...what, path: found.tooDeep ? `${full.slice(0, 40)}…` : full };
}

/** What structured clone would refuse in a result a worker sends back (primitives cost one typeof); `buffers`: see {@link BufferNote}. */
export function uncloneableResult(value: unknown, buffers?: BufferNote): Uncloneable | undefined {
  const checked = (typeof value === 'object' && value !== null) || typeof value === 'function' || typeof value === 'symbol';
  return checked ? findUncloneable(value, 'result', 'to-main', buffers) : undefined;
}

/** A {@link BufferNote} for a check of `value`, when it can hold Buffers (an object). */
export function bufferNote(value: unknown): BufferNote | undefined {
  return typeof value === 'object' && value !== null ? { at: 0, found: undefined } : undefined;
}

/**
 * What structured clone would refuse in the result of a call that does not stream (a map() item,
 * an instance method): a generator object is named with `why` it cannot stream there.
 */
export function unstreamedResult(value: unknown, why: string, buffers?: BufferNote): Uncloneable | undefined {
  if (types.isGeneratorObject(value)) return { path: 'result', detail: `it is a generator object, and ${why}: return an array of its values` };
  return uncloneableResult(value, buffers);
}

/** What {@link find} found: its place as path segments, innermost first (joined only once found). */
interface Found extends Omit<Uncloneable, 'path'> {
  readonly at: string[];
}

/** A finding at the value itself; each enclosing level adds its segment on the way back up. */
function here(detail: string, extra?: { fn?: true; tooDeep?: true }): Found {
  return { detail, ...extra, at: [] };
}

/** `found`, placed under `segment`. */
function under(found: Found | undefined, segment: string): Found | undefined {
  found?.at.push(segment);
  return found;
}

/**
 * `nesting`: how deep `value` sits; going to the main thread, deeper than {@link MAX_NESTING} is
 * refused. `resultRoot`: `value` is a call's whole result. No path is built unless something is
 * found: the walk runs on every object a call sends or returns.
 */
function find(value: unknown, seen: Set<object>, toMain: boolean, nesting: number, resultRoot = false): Found | undefined {
  if (typeof value === 'function') return here(`it is ${describe(value)}`, { fn: true });
  if (typeof value === 'symbol') return here(`it is ${describe(value)}`);
  if (typeof value !== 'object' || value === null || seen.has(value)) return undefined;
  if (toMain && nesting > MAX_NESTING) return here(TOO_DEEP, { tooDeep: true });
  // First: a Proxy's traps run on anything else asked of it.
  if (types.isProxy(value)) return here('it is a Proxy (a reactive or wrapped object, say): pass a plain copy of its data');
  // Plain objects and arrays, most of what calls send, skip the checks of other kinds. The walk
  // stays in this one function, one stack frame a level, to go as deep as structured clone does.
  const proto = Object.getPrototypeOf(value) as unknown;
  // What reading a level costs the main thread's stack (see MAX_NESTING).
  const deeper = nesting + (proto === Object.prototype ? 2 : proto === Array.prototype || Array.isArray(value) || types.isMap(value) || types.isSet(value) || types.isNativeError(value) ? 1 : 2);
  if (proto !== Object.prototype && proto !== Array.prototype) {
    if (toMain && value instanceof MessagePort) return here('it is a MessagePort, which can be moved to a worker but not sent back');
    // Kinds as structured clone tells them, by what the object is (util.types), not by its
    // prototype: a Map made in a vm context is a Map, an object made from Error.prototype is not an error.
    // A DataView on a moved buffer throws when its length is read: its buffer is asked instead.
    if (types.isDataView(value)) return isDetached((value as DataView).buffer) ? here(DETACHED) : undefined;
    if (ArrayBuffer.isView(value) || types.isArrayBuffer(value)) {
      if (note !== undefined && types.isUint8Array(value)) {
        if (Buffer.isBuffer(value)) (note.found ??= []).push(note.at);
        note.at++;
      }
      // Only an empty one can have moved away (`.buffer` is not read otherwise: V8 would allocate one for a small typed array).
      return value.byteLength === 0 && isDetached(ArrayBuffer.isView(value) ? value.buffer : value) ? here(DETACHED) : undefined;
    }
    if (types.isSymbolObject(value)) return here('it is a Symbol object, which structured clone cannot copy: send its description');
    // Copied as their value alone (a boxed primitive's own fields are not sent).
    if (types.isDate(value) || types.isRegExp(value) || types.isBoxedPrimitive(value) || types.isSharedArrayBuffer(value)) return undefined;
    if (types.isNativeError(value)) {
      // Cloned as its message, stack and cause: a cause it cannot clone fails the whole error, and
      // so does a chain of causes that comes back to an error on it (V8 cannot read that back).
      const chain = new Set<unknown>();
      let at: unknown = value;
      for (let depth = 1; types.isNativeError(at) && 'cause' in at; depth++) {
        chain.add(at);
        at = at.cause;
        if (chain.has(at)) return { ...here('it is an error whose cause chain comes back to itself, which structured clone cannot copy: end the chain'), at: Array<string>(depth).fill('.cause') };
      }
      seen.add(value);
      return 'cause' in value ? under(find(value.cause, seen, toMain, deeper), '.cause') : undefined;
    }
    const tag = tagOf(value);
    if (resultRoot && (tag === 'Generator' || tag === 'AsyncGenerator')) {
      // A function that returns a generator object: only a generator function streams.
      const [article, star] = tag === 'Generator' ? ['a', 'function*'] : ['an', 'async function*'];
      return here(`it is ${article} ${tag} object, and only a generator function's calls stream: write the function as one (${star} (…) { yield* … })`);
    }
    if (UNCLONEABLE_TAGS.has(tag)) return here(`it is ${describe(value)}`);
    if (INTERNAL_STATE.test(tag) && isPlatform(value, tag)) {
      return here(`it is ${describe(value)}, which structured clone cannot copy (its state is internal): send what makes it (its locales and options, say) and make one where it is used`);
    }
    const instead = PLATFORM.get(tag);
    if (instead !== undefined && isPlatform(value, tag)) return here(`it is ${describe(value)}, which structured clone cannot copy (its data is internal): ${instead}`);
    if (toMain && STREAMS.has(tag) && isPlatform(value, tag)) {
      return here(`it is a ${tag}, which can only be moved between threads, not copied: read it here and send what it holds (its bytes, or an array of its chunks)`);
    }
    // `arr.values()`, `map.keys()`, an iterator helper (Node 22+).
    if (tag !== 'Object' && tag !== 'Array' && (tag.endsWith('Iterator') || tag.endsWith('Iterator Helper'))) return here(`it is an iterator (${tag}): spread it into an array first ([...iterator])`);
    if (types.isMap(value)) {
      seen.add(value);
      let i = 0;
      for (const [k, v] of value as Map<unknown, unknown>) {
        const inKey = find(k, seen, toMain, deeper);
        if (inKey) return under(inKey, `.keys()[${i}]`);
        // An entry is named by its key (by its index when the key is not plain).
        const inValue = find(v, seen, toMain, deeper);
        if (inValue) return under(inValue, `.get(${typeof k === 'string' || typeof k === 'number' ? JSON.stringify(k) : `/* entry ${i} */`})`);
        i++;
      }
      return undefined;
    }
    if (types.isSet(value)) {
      seen.add(value);
      let i = 0;
      for (const v of value as Set<unknown>) {
        const found = find(v, seen, toMain, deeper);
        if (found) return under(found, `.values()[${i}]`);
        i++;
      }
      return undefined;
    }
  }
  seen.add(value);
  const isArray = Array.isArray(value);
  for (const key of Object.keys(value)) {
    const found = find((value as Record<string, unknown>)[key], seen, toMain, deeper);
    if (found) return under(found, isArray ? `[${key}]` : member('', key));
  }
  return undefined;
}
