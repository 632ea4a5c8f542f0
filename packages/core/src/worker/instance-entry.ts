/**
 * The worker side of `createInstance()`: a dedicated worker that constructs one instance of an
 * exported class (or calls an init export) and serves its methods with Comlink, one message at a
 * time, in order.
 */
import { types } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { restoreBuffers } from '../buffers.js';
import { unstreamedResult, type Uncloneable } from '../clone-check.js';
import { endpoint } from '../comlink-port.js';
import { encodeThrown, THROWN_KEY } from '../error-codec.js';
import { ExportError } from '../errors.js';
import { usesOwnThis } from '../fn/ast.js';
import { UNCLONEABLE_RESULT, type ExportRef, type WorkerSettings } from '../protocol.js';
import { isClass, loadExport, locateCtor, type Loaded } from './load.js';
import { lowerPriority } from './priority.js';

/** What the main thread sends when it starts the worker. */
export interface InstanceData extends WorkerSettings {
  readonly ref: ExportRef;
  readonly args: readonly unknown[];
  /** The places of the Buffers among `args` (see buffers.ts). */
  readonly buffers?: readonly number[];
}

/** The first message the worker posts: ready, or why not. */
export type InstanceReady = { readonly tothread: 'ready' } | { readonly tothread: 'failed'; readonly thrown: ReturnType<typeof encodeThrown> };

/**
 * Whether `fn`, not a class, is a constructor function written before classes, as legacy CommonJS
 * has them: with methods on its prototype, inheriting (`util.inherits`), or setting its fields and
 * methods on its own `this`. Built with `new`, as a class is; any other function is an init
 * function, called.
 */
function isPreClassConstructor(fn: Function): fn is new (...args: unknown[]) => object {
  if (types.isGeneratorFunction(fn)) return false;
  const prototype: unknown = Object.getOwnPropertyDescriptor(fn, 'prototype')?.value; // none: an arrow, a method, an async function
  if (typeof prototype !== 'object' || prototype === null) return false;
  if (Object.getPrototypeOf(prototype) !== Object.prototype || Reflect.ownKeys(prototype).some((key) => key !== 'constructor')) return true;
  return usesOwnThis(Function.prototype.toString.call(fn));
}

/**
 * Makes Comlink send what a method throws whole, through tothread's codec, for the main thread to
 * rebuild (its class, `code`, own properties, `cause`): see module/instance.ts.
 */
function sendThrownWhole(entry: Loaded): void {
  const comlinks = Comlink.transferHandlers.get('throw')!;
  const locate = locateCtor(entry);
  Comlink.transferHandlers.set('throw', {
    canHandle: comlinks.canHandle,
    serialize: (thrown) => [{ isError: false, value: { [THROWN_KEY]: encodeThrown((thrown as { value: unknown }).value, locate) } }, []],
    deserialize: comlinks.deserialize,
  });
}

/** What structured clone would refuse in what a method returns (or a property holds), and where. */
function badResult(value: unknown): Uncloneable | undefined {
  return unstreamedResult(value, "an instance's methods do not stream");
}

/**
 * Makes a result that cannot be sent back (a function, an object holding one, `this` with a
 * closure in it) reject with a CloneError naming where it is, as a toThread() call's does, not
 * with Comlink's bare "Unserializable return value": the main thread's handler of the same name
 * throws it (module/instance.ts).
 */
function refuseUncloneableResults(): void {
  Comlink.transferHandlers.set(UNCLONEABLE_RESULT, {
    canHandle: (value): value is unknown => badResult(value) !== undefined,
    serialize: (value) => [badResult(value), []],
    deserialize: (value) => value,
  });
}

/** The descriptor of `key` on `instance` or its prototypes. */
function ownOrInherited(instance: object, key: string): PropertyDescriptor | undefined {
  for (let at: object | null = instance; at !== null; at = Object.getPrototypeOf(at) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(at, key);
    if (descriptor !== undefined) return descriptor;
  }
  return undefined;
}

/** The methods `instance` has, for messages: its own and its classes', not Object's. */
function methodNames(instance: object): string[] {
  const names = new Set<string>();
  for (let at: object | null = instance; at !== null && at !== Object.prototype; at = Object.getPrototypeOf(at) as object | null) {
    for (const key of Object.getOwnPropertyNames(at)) {
      if (key !== 'constructor' && typeof Object.getOwnPropertyDescriptor(at, key)?.value === 'function') names.add(key);
    }
  }
  return [...names].sort();
}

/**
 * What `path` leads to from `instance`, read as Comlink reads it, through data properties only:
 * `depth` is how far it got (short of the path: the value there holds nothing further). Undefined
 * where a getter or a Proxy trap that throws is in the way: Comlink runs those itself, once.
 */
function readPath(instance: object, path: readonly string[]): { readonly value: unknown; readonly depth: number } | undefined {
  let value: unknown = instance;
  for (let depth = 0; depth < path.length; depth++) {
    if (value === undefined || value === null) return { value, depth };
    const key = path[depth]!;
    try {
      // No descriptor: a missing property, or one a Proxy makes up (read, as Comlink would).
      const descriptor = typeof value === 'object' || typeof value === 'function' ? ownOrInherited(value, key) : undefined;
      if (descriptor !== undefined && !('value' in descriptor)) return undefined;
      value = descriptor === undefined ? (value as Record<string, unknown>)[key] : descriptor.value;
    } catch {
      return undefined; // a Proxy trap threw: Comlink's own call reports it for this call alone
    }
  }
  return { value, depth: path.length };
}

/** Why calling `path` on the instance cannot work, or undefined when it may. */
function refusal(instance: object, path: readonly string[], ref: ExportRef): ExportError | undefined {
  const found = readPath(instance, path);
  if (found === undefined || typeof found.value === 'function') return undefined;
  const name = ref.path.join('.');
  const member = path.join('.');
  const where = `${name}#${member}`;
  if (found.depth < path.length) {
    const holder = path.slice(0, found.depth).join('.');
    return new ExportError(ref.url, where, 'missing', `The \`${name}\` instance from ${ref.url} has no method \`${member}\`: \`${holder}\` is ${String(found.value)}`);
  }
  if (found.value === undefined) {
    const parent = path.length === 1 ? undefined : readPath(instance, path.slice(0, -1))?.value;
    const holder = path.length === 1 ? instance : parent;
    const names = typeof holder === 'object' && holder !== null ? methodNames(holder).join(', ') || 'none' : 'none';
    const has = path.length === 1 ? 'it has' : `\`${path.slice(0, -1).join('.')}\` has`;
    return new ExportError(ref.url, where, 'missing', `The \`${name}\` instance from ${ref.url} has no method \`${member}\` (${has}: ${names})`);
  }
  return new ExportError(ref.url, where, 'not-a-function', `\`${member}\` of the \`${name}\` instance from ${ref.url} is not a method (it is ${found.value === null ? 'null' : typeof found.value}): read it with \`await remote.${member}\` instead of calling it`);
}

/**
 * Answers the call of something the instance does not have as a method (`remote.parseSnyc()`,
 * `remote.db.missing()`) with an ExportError saying so, where Comlink would fail on its own `apply`
 * ("Cannot read properties of undefined"). The reply has Comlink's wire form for a thrown value,
 * carried by tothread's codec (see sendThrownWhole).
 */
function refuseNonMethods(ep: Comlink.Endpoint, instance: object, ref: ExportRef): Comlink.Endpoint {
  const listen = ep.addEventListener.bind(ep);
  const unlisten = ep.removeEventListener.bind(ep);
  const checks = new WeakMap<object, (event: MessageEvent) => void>();
  ep.removeEventListener = (type, listener, options) => unlisten(type, checks.get(listener) ?? listener, options);
  ep.addEventListener = (type, listener, options) => {
    const check = (event: MessageEvent): void => {
      const { id, type: kind, path } = (event.data ?? {}) as { id?: unknown; type?: unknown; path?: unknown };
      const error = kind === 'APPLY' && Array.isArray(path) && path.length > 0 ? refusal(instance, path.map(String), ref) : undefined;
      if (error !== undefined) {
        ep.postMessage({ id, type: 'HANDLER', name: 'throw', value: { isError: false, value: { [THROWN_KEY]: encodeThrown(error) } } });
        return;
      }
      if (typeof listener === 'function') listener(event);
      else listener.handleEvent(event);
    };
    checks.set(listener, check);
    listen(type, check, options);
  };
  return ep;
}

async function main(): Promise<void> {
  const { ref, args, buffers, niceIncrement } = workerData as InstanceData;
  restoreBuffers(args as unknown[], buffers);
  lowerPriority(niceIncrement);
  const port = parentPort!;
  let loaded: Loaded | undefined;
  try {
    loaded = await loadExport(ref);
    const { value } = loaded;
    const name = ref.path.join('.');
    let instance: unknown;
    if (typeof value !== 'function') {
      throw new ExportError(ref.url, name, 'not-constructible', `\`${name}\` of ${ref.url} is neither a class nor a function: createInstance() needs one that builds the instance`);
    } else if (isClass(value)) instance = new (value as new (...a: unknown[]) => unknown)(...args);
    else if (isPreClassConstructor(value)) {
      // One that returns a promise or another thenable is an async init (TypeScript compiles one
      // down to `return __awaiter(this, …)`): what it resolves to is the instance. One of its own
      // instances is kept as it is, thenable or not.
      const built: unknown = new value(...args);
      const own = typeof built === 'object' && built !== null && Object.getPrototypeOf(built) === value.prototype;
      instance = !own && typeof (built as { then?: unknown } | null)?.then === 'function' ? await (built as PromiseLike<unknown>) : built;
    } else instance = await (value as (...a: unknown[]) => unknown)(...args);
    if ((typeof instance !== 'object' && typeof instance !== 'function') || instance === null) {
      throw new ExportError(ref.url, name, 'not-constructible', `\`${name}\` of ${ref.url} returned ${String(instance)}, not an object whose methods can be called`);
    }
    sendThrownWhole(loaded);
    refuseUncloneableResults();
    Comlink.expose(instance, refuseNonMethods(endpoint(port), instance, ref));
    port.postMessage({ tothread: 'ready' } satisfies InstanceReady);
  } catch (error) {
    // The module's own error classes are named, as for a method's errors.
    port.postMessage({ tothread: 'failed', thrown: encodeThrown(error, locateCtor(loaded)) } satisfies InstanceReady);
  }
}

void main();
