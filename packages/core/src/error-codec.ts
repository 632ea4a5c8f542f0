/**
 * Errors cross threads field by field. Structured clone keeps only the built-in classes, `message`
 * and `stack`; we also keep the user's class (when the main thread can load it), `code` and every
 * own property, the `cause` chain and `AggregateError#errors`.
 */
import { CallbackError, CloneError, ExportError, InstanceError, ModuleLoadError, ToThreadError } from './errors.js';
import type { CtorRef, Mutable, NestedError, WireError, WireThrown } from './protocol.js';
import { isPlainContainer } from './containers.js';
import { findUncloneable, isPlatformObject, tagOf } from './clone-check.js';
import { isBuffer, nestedBufferPlaces, received, restoreNested } from './buffers.js';

/** tothread's own errors that worker code throws: rebuilt with their class on the main thread. */
const OWN: Readonly<Record<string, Function>> = Object.assign(Object.create(null) as object, {
  ModuleLoadError,
  ExportError,
  CloneError,
  CallbackError,
  InstanceError,
});

const BUILTINS: Readonly<Record<string, new (message?: string) => Error>> = Object.assign(Object.create(null) as object, {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError: AggregateError as unknown as new (message?: string) => Error,
});
/** Fields the wire carries on their own, when they hold what it expects there. */
const TEXT_FIELDS = new Set(['message', 'stack', 'name']);

/** Whether own property `key` travels in its own field rather than in `props`. */
function carriedApart(thrown: Error, key: string, value: unknown): boolean {
  if (key === 'cause') return true;
  if (key === 'errors') return thrown instanceof AggregateError;
  return TEXT_FIELDS.has(key) && typeof value === 'string';
}
const MAX_DEPTH = 64;
/** How many objects a thrown value that structured clone refuses may have copied (see cloneable). */
const COPY_BUDGET = 1_000;

/** The nearest built-in error class `ctor` extends (below `Error` itself, which is the default). */
function builtinBase(ctor: Function): CtorRef | undefined {
  for (let at = safe(() => Object.getPrototypeOf(ctor) as unknown, null); typeof at === 'function' && at !== Error; at = safe(() => Object.getPrototypeOf(at) as unknown, null)) {
    if (Object.hasOwn(BUILTINS, at.name) && BUILTINS[at.name] === at) return { kind: 'builtin', name: at.name };
  }
  return undefined;
}

function isErrorLike(value: unknown): value is Error {
  return value instanceof Error || (typeof value === 'object' && value !== null && tagOf(value) === 'Error');
}

/**
 * `value` as structured clone will carry it. What it refuses is replaced, not the whole value: in an
 * object or array, only the members it refuses (a method, a handle) become text, the rest is kept
 * (`throw { status: 404, retry() {} }` keeps its status).
 */
function cloneable(value: unknown, seen: Set<unknown> = new Set()): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')) return value;
  const whole = sendsWhole(value);
  if (whole === true) return value;
  if (whole === 'too deep') return `[${tagOf(value)} nested too deep to send]`;
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (isPlatformObject(value)) return String(value); // a URL: its href
  // Every object is copied once (one met again, a cycle or a shared one, becomes text), and at
  // most COPY_BUDGET of them: a thrown value is reported, not serialized at any cost.
  if (typeof value === 'object' && value !== null && !seen.has(value) && seen.size < COPY_BUDGET) {
    seen.add(value);
    // An error inside a thrown value: its text and stack, and its cause made cloneable the same way.
    if (isErrorLike(value)) {
      const copy = new Error(safe(() => String(value.message), ''));
      for (const key of ['name', 'stack'] as const) define(copy, key, safe(() => String(value[key]), ''));
      if ('cause' in value) define(copy, 'cause', cloneable(safe(() => value.cause, undefined), seen));
      return copy;
    }
    // A Map or Set keeps its entries, each made cloneable the same way.
    if (value instanceof Map) return new Map(safe(() => [...value], [] as Array<[unknown, unknown]>).map(([k, v]) => [cloneable(k, seen), cloneable(v, seen)]));
    if (value instanceof Set) return new Set(safe(() => [...value], [] as unknown[]).map((v) => cloneable(v, seen)));
    const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [] : {};
    for (const key of safe(() => Object.keys(value as object), [] as string[])) {
      if (seen.size >= COPY_BUDGET) break;
      (copy as Record<string, unknown>)[key] = cloneable(safe(() => (value as Record<string, unknown>)[key], '[a getter that threw]'), seen);
    }
    return copy;
  }
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value); // e.g. a null-prototype object
  }
}

/**
 * Whether structured clone sends `value` as it is, to a main thread that can read it: not when it
 * refuses it, nor when it holds a platform object Node 20 clones as `{}` (both are copied member by
 * member instead), nor when it nests deeper than the main thread can read.
 */
function sendsWhole(value: unknown): boolean | 'too deep' {
  try {
    structuredClone(value);
  } catch {
    return false;
  }
  const bad = findUncloneable(value, 'thrown', 'to-main');
  return bad === undefined ? true : bad.tooDeep ? 'too deep' : false;
}

function safe<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/**
 * The property under which an error thrown by a `createInstance` method travels through Comlink,
 * encoded whole by {@link encodeThrown} (Comlink alone sends an Error's name, message and stack).
 */
export const THROWN_KEY = 'tothread.thrown';

/**
 * What `encode` gives, or, when the thrown value cannot even be read (a revoked Proxy), a note that
 * the `what` (a call, a stream) ended unreported: the worker never dies of a report.
 */
export function encodedOrNote(encode: () => WireThrown, what: string): WireThrown {
  try {
    return encode();
  } catch {
    return { kind: 'value', value: `tothread could not report how the ${what} ended` };
  }
}

/**
 * Encodes a thrown value for the wire. `locateCtor` names the user's error class when the worker
 * can find it among a module's exports. An error met twice (the same one as a `cause` and in a
 * field, or in a cycle) is encoded once: structured clone keeps the shared reference, and
 * {@link decodeThrown} rebuilds it as one object.
 */
export function encodeThrown(
  thrown: unknown,
  locateCtor: (ctor: Function) => CtorRef | undefined = () => undefined,
  encoded: Map<unknown, WireThrown> = new Map(),
  depth = 0,
): WireThrown {
  const known = encoded.get(thrown);
  if (known !== undefined) return known;
  // `depth` bounds how deep a chain of causes goes (not how many errors there are: an
  // AggregateError of 100 keeps them all).
  if (!isErrorLike(thrown) || depth > MAX_DEPTH) return valueWire(cloneable(thrown));
  // From the prototype: an own `constructor` property must not hide the class.
  const ctor = safe(() => (Object.getPrototypeOf(thrown) as { constructor?: unknown } | null)?.constructor, undefined);
  let ctorRef: CtorRef | undefined;
  if (typeof ctor === 'function') {
    const isBuiltin = (Object.hasOwn(BUILTINS, ctor.name) && BUILTINS[ctor.name] === ctor) || ctor === DOMException;
    if (isBuiltin) ctorRef = { kind: 'builtin', name: ctor.name };
    else if (thrown instanceof ToThreadError && Object.hasOwn(OWN, ctor.name)) ctorRef = { kind: 'tothread', name: ctor.name };
    // A class the worker cannot name (not exported): its nearest built-in base, so that
    // `instanceof TypeError` still holds on the main thread.
    else ctorRef = safe(() => locateCtor(ctor), undefined) ?? builtinBase(ctor);
  }
  const stack = safe(() => thrown.stack, undefined);
  const props: Record<string, unknown> = {};
  const error: Mutable<WireError> = {
    name: safe(() => String(thrown.name), 'Error'),
    message: safe(() => String(thrown.message), ''),
    stack: typeof stack === 'string' ? stack : undefined,
    ctor: ctorRef,
    props,
  };
  const wire: WireThrown = { kind: 'error', error };
  encoded.set(thrown, wire); // before what it holds: a cycle comes back to it
  const inner = (value: unknown): WireThrown => encodeThrown(value, locateCtor, encoded, depth + 1);
  if ('cause' in thrown) error.cause = inner(safe(() => thrown.cause, undefined));
  if (thrown instanceof AggregateError) error.errors = Array.from(safe(() => thrown.errors as unknown[], []), inner);
  for (const key of safe(() => Object.keys(thrown), [] as string[])) {
    const value = safe(() => (thrown as unknown as Record<string, unknown>)[key], '[a getter that threw]');
    if (carriedApart(thrown, key, value)) continue;
    if (isErrorLike(value)) {
      // An error kept as a field (`originalError`, `inner`) keeps its class and fields, as `cause`
      // does; `props` keeps its place in the key order.
      (error.errorProps ??= Object.create(null) as Record<string, WireThrown>)[key] = inner(value);
      props[key] = undefined;
      continue;
    }
    props[key] = cloneable(value);
    const nested = errorsInside(value, inner);
    if (nested.length > 0) {
      const byKey = (error.nestedErrors ?? Object.create(null)) as Record<string, NestedError[]>;
      byKey[key] = nested;
      error.nestedErrors = byKey;
    }
  }
  // `message` and `stack` are own but not enumerable: a value that is not text travels as a prop.
  for (const key of ['message', 'stack']) {
    const value = safe(() => (Object.hasOwn(thrown, key) ? (thrown as unknown as Record<string, unknown>)[key] : ''), '');
    if (typeof value !== 'string' && !(key in props)) props[key] = cloneable(value);
  }
  const propBuffers = nestedBufferPlaces(props); // an `execSync` failure's `stdout` and `stderr`
  if (propBuffers !== undefined) error.propBuffers = propBuffers;
  return wire;
}

/** A thrown value that is not an error, as it is sent, with where its Buffers are (they arrive as Uint8Arrays). */
function valueWire(value: unknown): WireThrown {
  if (isBuffer(value)) return { kind: 'value', value, buffer: true };
  const nested = nestedBufferPlaces(value);
  return nested === undefined ? { kind: 'value', value } : { kind: 'value', value, nested };
}

/** How deep, how many, and among how many members errors are looked for inside an error's plain-object fields. */
const NESTED_DEPTH = 4;
const NESTED_LIMIT = 100;
const NESTED_VISITS = 10_000;

/** The errors inside the plain objects and arrays of `value`, encoded, with their paths. */
function errorsInside(value: unknown, encode: (thrown: unknown) => WireThrown): NestedError[] {
  const found: NestedError[] = [];
  let visits = 0;
  const visit = (at: unknown, path: Array<string | number>): void => {
    if (typeof at !== 'object' || at === null || path.length > NESTED_DEPTH || found.length >= NESTED_LIMIT || ++visits > NESTED_VISITS) return;
    if (path.length > 0 && isErrorLike(at)) {
      found.push({ path: [...path], thrown: encode(at) });
      return;
    }
    if (!isPlainContainer(at)) return;
    for (const key of safe(() => Object.keys(at), [] as string[])) {
      visit(safe(() => (at as Record<string, unknown>)[key], undefined), [...path, Array.isArray(at) ? Number(key) : key]);
    }
  };
  visit(value, []);
  return found;
}

/** The errors a wire error carries inside it: its cause, an AggregateError's errors, errors kept in fields. */
export function innerThrown(error: WireError): WireThrown[] {
  const nested = Object.values(error.nestedErrors ?? {}).flatMap((list) => list.map((entry) => entry.thrown));
  return [...(error.cause ? [error.cause] : []), ...(error.errors ?? []), ...Object.values(error.errorProps ?? {}), ...nested];
}

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
}

/**
 * A real error (`util.types.isNativeError`, copied whole by structured clone) of class `ctor`,
 * made without running `ctor`'s constructor, with no stack of its own (the wire's is set after).
 */
function errorOf(ctor: Function): Error {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return Reflect.construct(Error, [], ctor) as Error;
  } catch {
    return Object.create((ctor as { prototype: object }).prototype) as Error; // not a constructor
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * Rebuilds a thrown value. The error is made from the class's prototype without running its
 * constructor (a user constructor may have required arguments or side effects).
 */
export function decodeThrown(
  wire: WireThrown,
  resolveCtor: (ref: CtorRef) => Function | undefined,
  decoded: Map<WireThrown, unknown> = new Map(),
  causes: ReadonlySet<WireThrown> = new Set(),
): unknown {
  if (wire.kind === 'value') return received(wire.value, wire.buffer, wire.nested);
  if (decoded.has(wire)) return decoded.get(wire); // an error met twice is one object, as it was
  const inner = (value: WireThrown): unknown => decodeThrown(value, resolveCtor, decoded);
  const { error } = wire;
  // A chain of causes that comes back to an error on it is cut there: structured clone (sending
  // the error on to a worker or a port) cannot copy such a chain back.
  const chain = new Set(causes).add(wire);
  const cause = error.cause && !chain.has(error.cause) ? (): unknown => decodeThrown(error.cause!, resolveCtor, decoded, chain) : undefined;
  if (error.ctor?.kind === 'builtin' && error.ctor.name === 'DOMException') {
    const dom = new DOMException(error.message, error.name);
    decoded.set(wire, dom);
    define(dom, 'stack', error.stack);
    if (cause) define(dom, 'cause', cause());
    defineFields(dom, error, inner);
    return dom;
  }
  // The class comes from the constructor the worker named, never from `name` (which code can change).
  const builtinName = error.ctor?.kind === 'builtin' ? error.ctor.name : !error.ctor ? error.name : undefined;
  const builtin = builtinName !== undefined && Object.hasOwn(BUILTINS, builtinName) ? BUILTINS[builtinName] : undefined;
  const own = error.ctor?.kind === 'tothread' && Object.hasOwn(OWN, error.ctor.name) ? OWN[error.ctor.name] : undefined;
  const ctor = own ?? builtin ?? (error.ctor && resolveCtor(error.ctor)) ?? Error;
  const rebuilt = errorOf(ctor);
  decoded.set(wire, rebuilt);
  define(rebuilt, 'message', error.message);
  define(rebuilt, 'stack', error.stack);
  if (rebuilt.name !== error.name) define(rebuilt, 'name', error.name);
  if (cause) define(rebuilt, 'cause', cause());
  if (error.errors) define(rebuilt, 'errors', error.errors.map(inner));
  defineFields(rebuilt, error, inner);
  return rebuilt;
}

/**
 * Gives `target` the error's own fields. Defined, not assigned: a setter or getter-only accessor on
 * the class's prototype, or a key like `__proto__`, must not change what is rebuilt.
 */
function defineFields(target: object, error: WireError, inner: (value: WireThrown) => unknown): void {
  restoreNested(error.props, error.propBuffers); // the wire is this thread's copy
  const errorProps = error.errorProps ?? {};
  const nestedErrors = error.nestedErrors ?? {};
  for (const [key, value] of Object.entries(error.props)) {
    const field = Object.hasOwn(errorProps, key) ? inner(errorProps[key]!) : value;
    // The errors inside it, rebuilt whole where structured clone left a bare Error (this copy is ours).
    if (Object.hasOwn(nestedErrors, key)) for (const { path, thrown } of nestedErrors[key]!) placeAt(field, path, inner(thrown));
    Object.defineProperty(target, key, { value: field, writable: true, configurable: true, enumerable: true });
  }
}

function placeAt(root: unknown, path: readonly (string | number)[], value: unknown): void {
  let at = root as Record<string | number, unknown> | null;
  for (const key of path.slice(0, -1)) at = typeof at === 'object' && at !== null ? (at[key] as Record<string | number, unknown> | null) : null;
  // Defined, not assigned: a key such as `__proto__` stays a plain field.
  if (typeof at === 'object' && at !== null) Object.defineProperty(at, path[path.length - 1]!, { value, writable: true, configurable: true, enumerable: true });
}
