/**
 * The worker side of `createInstance()`: a dedicated worker that constructs one instance of an
 * exported class (or calls an init export) and serves its methods with Comlink, one message at a
 * time, in order.
 */
import { types } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { endpoint } from '../comlink-port.js';
import { encodeThrown, THROWN_KEY } from '../error-codec.js';
import { ExportError } from '../errors.js';
import { usesOwnThis } from '../fn/ast.js';
import type { ExportRef, WorkerSettings } from '../protocol.js';
import { isClass, loadExport, locateCtor, type Loaded } from './load.js';
import { lowerPriority } from './priority.js';

/** What the main thread sends when it starts the worker. */
export interface InstanceData extends WorkerSettings {
  readonly ref: ExportRef;
  readonly args: readonly unknown[];
}

/** The first message the worker posts: ready, or why not. */
export type InstanceReady = { readonly tothread: 'ready' } | { readonly tothread: 'failed'; readonly thrown: ReturnType<typeof encodeThrown> };

/**
 * Whether `value` is built with `new`: a class (its `prototype` is read-only), or a constructor
 * function written before classes, as legacy CommonJS has them: with methods on its prototype,
 * inheriting (`util.inherits`), or setting its fields and methods on its own `this`. Anything else
 * that is a function is an init function, called.
 */
function isConstructor(value: unknown): value is new (...args: unknown[]) => object {
  if (typeof value !== 'function' || types.isGeneratorFunction(value)) return false;
  if (isClass(value)) return true;
  const prototype: unknown = Object.getOwnPropertyDescriptor(value, 'prototype')?.value; // none: an arrow, a method, an async function
  if (typeof prototype !== 'object' || prototype === null) return false;
  if (Object.getPrototypeOf(prototype) !== Object.prototype || Reflect.ownKeys(prototype).some((key) => key !== 'constructor')) return true;
  return usesOwnThis(Function.prototype.toString.call(value));
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
 * Answers the call of something the instance does not have as a method with an ExportError saying
 * so, where Comlink would fail on its own `apply` ("Cannot read properties of undefined"). The reply
 * has Comlink's wire form for a thrown value, carried by tothread's codec (see sendThrownWhole).
 */
function refuseNonMethods(ep: Comlink.Endpoint, instance: object, ref: ExportRef): Comlink.Endpoint {
  const listen = ep.addEventListener.bind(ep);
  const unlisten = ep.removeEventListener.bind(ep);
  const checks = new WeakMap<object, (event: MessageEvent) => void>();
  ep.removeEventListener = (type, listener, options) => unlisten(type, checks.get(listener) ?? listener, options);
  ep.addEventListener = (type, listener, options) => {
    const check = (event: MessageEvent): void => {
      const { id, type: kind, path } = (event.data ?? {}) as { id?: unknown; type?: unknown; path?: unknown };
      // A method of the instance itself (`remote.parseSync()`), read from its descriptor: a getter
      // is left to Comlink, which runs it once.
      if (kind === 'APPLY' && Array.isArray(path) && path.length === 1) {
        const key = String(path[0]);
        let target: PropertyDescriptor | undefined;
        try {
          // No descriptor: a missing property, or one a Proxy makes up (read, as Comlink would).
          const descriptor = ownOrInherited(instance, key);
          target = descriptor === undefined ? { value: (instance as Record<string, unknown>)[key] } : descriptor;
        } catch {
          target = undefined; // a Proxy trap threw: Comlink's own call reports it for this call alone
        }
        if (target !== undefined && 'value' in target && typeof target.value !== 'function') {
          const name = ref.path.join('.');
          const error =
            target.value === undefined
              ? new ExportError(ref.url, `${name}#${key}`, 'missing', `The \`${name}\` instance from ${ref.url} has no method \`${key}\` (it has: ${methodNames(instance).join(', ') || 'none'})`)
              : new ExportError(ref.url, `${name}#${key}`, 'not-a-function', `\`${key}\` of the \`${name}\` instance from ${ref.url} is not a method (it is ${target.value === null ? 'null' : typeof target.value}): read it with \`await remote.${key}\` instead of calling it`);
          ep.postMessage({ id, type: 'HANDLER', name: 'throw', value: { isError: false, value: { [THROWN_KEY]: encodeThrown(error) } } });
          return;
        }
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
  const { ref, args, niceIncrement } = workerData as InstanceData;
  lowerPriority(niceIncrement);
  const port = parentPort!;
  let loaded: Loaded | undefined;
  try {
    loaded = await loadExport(ref);
    const { value } = loaded;
    const name = ref.path.join('.');
    let instance: unknown;
    if (isConstructor(value)) instance = new value(...args);
    else if (typeof value === 'function') instance = await (value as (...a: unknown[]) => unknown)(...args);
    else throw new ExportError(ref.url, name, 'not-constructible', `\`${name}\` of ${ref.url} is neither a class nor a function: createInstance() needs one that builds the instance`);
    if ((typeof instance !== 'object' && typeof instance !== 'function') || instance === null) {
      throw new ExportError(ref.url, name, 'not-constructible', `\`${name}\` of ${ref.url} returned ${String(instance)}, not an object whose methods can be called`);
    }
    sendThrownWhole(loaded);
    Comlink.expose(instance, refuseNonMethods(endpoint(port), instance, ref));
    port.postMessage({ tothread: 'ready' } satisfies InstanceReady);
  } catch (error) {
    // The module's own error classes are named, as for a method's errors.
    port.postMessage({ tothread: 'failed', thrown: encodeThrown(error, locateCtor(loaded)) } satisfies InstanceReady);
  }
}

void main();
