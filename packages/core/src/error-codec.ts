/**
 * Errors cross threads field by field. Structured clone keeps only the built-in classes, `message`
 * and `stack`; we also keep the user's class (when the main thread can load it), `code` and every
 * own property, the `cause` chain and `AggregateError#errors`.
 */
import type { CtorRef, WireError, WireThrown } from './protocol.js';

const BUILTINS: Readonly<Record<string, new (message?: string) => Error>> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError: AggregateError as unknown as new (message?: string) => Error,
};
const SKIP = new Set(['message', 'stack', 'cause', 'errors', 'name']);
const MAX_DEPTH = 16;

function isErrorLike(value: unknown): value is Error {
  return value instanceof Error || (typeof value === 'object' && value !== null && Object.prototype.toString.call(value) === '[object Error]');
}

function cloneable(value: unknown): unknown {
  try {
    structuredClone(value);
    return value;
  } catch {
    return String(value);
  }
}

/**
 * Encodes a thrown value for the wire. `locateCtor` names the user's error class when the worker
 * can find it among a module's exports.
 */
export function encodeThrown(
  thrown: unknown,
  locateCtor: (ctor: Function) => CtorRef | undefined = () => undefined,
  depth = 0,
): WireThrown {
  if (!isErrorLike(thrown) || depth > MAX_DEPTH) {
    return { kind: 'value', value: cloneable(thrown) };
  }
  const ctor = (thrown as { constructor?: unknown }).constructor;
  let ctorRef: CtorRef | undefined;
  if (typeof ctor === 'function') {
    ctorRef = BUILTINS[ctor.name] === ctor || ctor === DOMException ? { kind: 'builtin', name: ctor.name } : locateCtor(ctor);
  }
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(thrown)) {
    if (!SKIP.has(key)) props[key] = cloneable((thrown as unknown as Record<string, unknown>)[key]);
  }
  const error: WireError = {
    name: String(thrown.name),
    message: String(thrown.message),
    stack: typeof thrown.stack === 'string' ? thrown.stack : undefined,
    ctor: ctorRef,
    props,
    ...('cause' in thrown ? { cause: encodeThrown(thrown.cause, locateCtor, depth + 1) } : {}),
    ...(thrown instanceof AggregateError
      ? { errors: Array.from(thrown.errors as unknown[], (e) => encodeThrown(e, locateCtor, depth + 1)) }
      : {}),
  };
  return { kind: 'error', error };
}

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
}

/**
 * Rebuilds a thrown value. The error is made from the class's prototype without running its
 * constructor (a user constructor may have required arguments or side effects).
 */
export function decodeThrown(wire: WireThrown, resolveCtor: (ref: CtorRef) => Function | undefined): unknown {
  if (wire.kind === 'value') return wire.value;
  const { error } = wire;
  if (error.ctor?.kind === 'builtin' && error.ctor.name === 'DOMException') {
    const dom = new DOMException(error.message, error.name);
    define(dom, 'stack', error.stack);
    return dom;
  }
  const ctor = (error.ctor && resolveCtor(error.ctor)) || BUILTINS[error.name] || Error;
  const rebuilt = Object.create((ctor as { prototype: object }).prototype) as Error;
  define(rebuilt, 'message', error.message);
  define(rebuilt, 'stack', error.stack);
  if (rebuilt.name !== error.name) define(rebuilt, 'name', error.name);
  if (error.cause) define(rebuilt, 'cause', decodeThrown(error.cause, resolveCtor));
  if (error.errors) define(rebuilt, 'errors', error.errors.map((e) => decodeThrown(e, resolveCtor)));
  Object.assign(rebuilt, error.props);
  return rebuilt;
}
