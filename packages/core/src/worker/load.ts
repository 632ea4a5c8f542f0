/**
 * Finding what a task names: a function compiled from source, or an export of a module imported
 * once per worker. Failures are tothread's typed errors, naming the module and the export.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ExportError, ModuleLoadError } from '../errors.js';
import { importEntry } from '../module/specifier.js';
import { findPath } from '../fn/find-path.js';
import type { CtorRef, ExportRef, FnRef } from '../protocol.js';
import { setBounded } from '../bounded.js';

const require = createRequire(import.meta.url);
const LOADED_LIMIT = 4096;

/** A resolved target: the value at the export path, and the module it came from. */
export interface Loaded {
  readonly value: unknown;
  /** The module, searched for the classes of the errors the function throws. */
  readonly module: { readonly root: unknown; readonly ref: ExportRef } | undefined;
}

const loaded = new Map<number, Loaded>();
/** Targets checked to be callable: the check runs once, not at every call. */
const callables = new WeakSet<Loaded>();
const roots = new Map<string, Promise<unknown>>();

function compile(ref: Extract<FnRef, { kind: 'source' }>): Loaded {
  const label = (ref.name || 'anonymous').replace(/[^\w$.-]/g, '_');
  // Indirect eval: global scope, strict like the ES modules and TypeScript output most functions
  // come from, or sloppy like the one it was written as.
  const value: unknown = (0, eval)(`${ref.sloppy ? '' : '"use strict";'}${ref.source}\n//# sourceURL=tothread-fn:${label}`);
  // A method is read from its descriptor: reading the property could run a getter.
  const fn = ref.method ? Object.getOwnPropertyDescriptor(value as object, Reflect.ownKeys(value as object)[0]!)?.value : value;
  return { value: fn, module: undefined };
}

/**
 * Imports an ES module. Node 20 does not carry loader hooks registered with `--import` (tsx)
 * into worker threads, so a TypeScript module Node cannot import is loaded through the app's own
 * tsx, with its `tsImport()` API, when the app has it.
 */
async function importModule(url: string): Promise<unknown> {
  try {
    return await import(url);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !/\.[cm]?tsx?$/.test(url)) throw error;
    let tsImport: ((specifier: string, parent: string) => Promise<unknown>) | undefined;
    try {
      const entry = importEntry('tsx/esm/api', url);
      if (entry !== undefined) tsImport = ((await import(entry)) as { tsImport?: typeof tsImport }).tsImport;
    } catch {
      throw error; // no tsx where the module is: Node's own error says what is wrong
    }
    if (tsImport === undefined) throw error;
    return tsImport(url, url);
  }
}

function importRoot(ref: ExportRef): Promise<unknown> {
  let root = roots.get(ref.url);
  if (root === undefined) {
    root = (ref.format === 'cjs' ? Promise.resolve().then(() => require(fileURLToPath(ref.url))) : importModule(ref.url)).catch((error: unknown) => {
      roots.delete(ref.url);
      throw new ModuleLoadError(ref.url, { cause: error });
    });
    roots.set(ref.url, root);
  }
  return root;
}

function own(container: unknown, key: string): boolean {
  return (typeof container === 'object' || typeof container === 'function') && container !== null && key in container;
}

/** Walks `path` from the namespace; a CommonJS module's names may only be on its default export. */
function walk(root: unknown, ref: ExportRef): unknown {
  let value = root;
  ref.path.forEach((key, index) => {
    const base = index === 0 && !own(value, key) && own((value as { default?: unknown }).default, key) ? (value as { default: unknown }).default : value;
    if (!own(base, key)) {
      // A CommonJS module's names may be on its namespace, its default export, or both.
      const fallback = index === 0 ? (value as { default?: unknown }).default : undefined;
      const names = [base, fallback].flatMap((o) => (typeof o === 'object' && o !== null ? Object.keys(o) : []));
      const available = [...new Set(names)].filter((k) => k !== 'default' || index > 0);
      const at = ref.path.slice(0, index + 1).join('.');
      throw new ExportError(
        ref.url,
        ref.path.join('.'),
        'missing',
        `${ref.url} has no export \`${at}\`${available.length ? ` (it has: ${available.slice(0, 20).join(', ')})` : ''}`,
      );
    }
    value = (base as Record<string, unknown>)[key];
  });
  return value;
}

/**
 * Names an error class by where `entry`'s module exports it, so that the main thread can rebuild
 * an error of that class (see error-codec.ts); undefined when the module does not export it.
 */
export function locateCtor(entry: Loaded | undefined): (ctor: Function) => CtorRef | undefined {
  return (ctor) => {
    if (entry?.module === undefined) return undefined;
    const path = findPath(entry.module.root, ctor);
    return path === undefined ? undefined : { kind: 'export', url: entry.module.ref.url, format: entry.module.ref.format, path };
  };
}

/** Imports a module (once per worker) and finds the export at `ref.path`. */
export async function loadExport(ref: ExportRef): Promise<Loaded> {
  const root = await importRoot(ref);
  return { value: walk(root, ref), module: { root, ref } };
}

async function loadModule(ref: Extract<FnRef, { kind: 'module' }>): Promise<Loaded> {
  const root = await importRoot(ref);
  return { value: walk(root, ref), module: { root, ref } };
}

/**
 * Resolves a task's target: synchronously when known or compiled from source; `undefined` for a
 * `known` target this worker has never loaded (the main thread then sends it in full).
 */
export function load(ref: FnRef): Loaded | Promise<Loaded> | undefined {
  const known = loaded.get(ref.id);
  if (known !== undefined) return known;
  if (ref.kind === 'known') return undefined;
  if (ref.kind === 'source') return remember(ref.id, compile(ref));
  return loadModule(ref).then((value) => remember(ref.id, value));
}

/** Bounded, so a program that generates functions cannot grow a worker without end. */
function remember(id: number, entry: Loaded): Loaded {
  setBounded(loaded, id, entry, LOADED_LIMIT);
  return entry;
}

/** Whether `fn` is a class (or a built-in constructor): its `prototype` is read-only. */
export function isClass(fn: Function): boolean {
  return Object.getOwnPropertyDescriptor(fn, 'prototype')?.writable === false;
}

/** The function a task calls, or an ExportError saying what the export is instead. */
export function callable(entry: Loaded, ref: FnRef): Function {
  if (callables.has(entry)) return entry.value as Function;
  const where = ref.kind === 'module' ? ref : undefined;
  if (typeof entry.value === 'function') {
    // Calling a class would fail with V8's words, not the fix.
    if (!isClass(entry.value)) {
      callables.add(entry);
      return entry.value;
    }
    const name = where?.path.join('.');
    throw new ExportError(
      where?.url ?? 'the function',
      name ?? '',
      'not-a-function',
      `\`${name}\` of ${where?.url} is a class, which a call cannot build across threads: keep an instance in a worker with createInstance(specifier, '${name}', ...args)`,
    );
  }
  throw new ExportError(
    where?.url ?? 'the function',
    where?.path.join('.') ?? '',
    'not-a-function',
    `\`${where?.path.join('.')}\` of ${where?.url} is not a function (it is ${entry.value === null ? 'null' : typeof entry.value}): read it with \`await facade.${where?.path.join('.')}\` instead of calling it`,
  );
}
