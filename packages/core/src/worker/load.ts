/**
 * Finding what a task names: a function compiled from source, or an export of a module imported
 * once per worker. Failures are tothread's typed errors, naming the module and the export.
 */
import { createRequire } from 'node:module';
import { types } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
  /** For a facade's call (`facade.obj.method()`, see FnRef `asMethod`): the object it is called on. */
  readonly holder?: unknown;
  /** A facade's target: read again from its module at every use (see {@link load}), the module's kind found once. */
  readonly live?: { readonly commonjs: boolean };
}

const loaded = new Map<number, Loaded>();
/** Functions checked to be callable (not classes): the check runs once, not at every call. */
const callables = new WeakSet<Function>();
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
 * into worker threads, so a TypeScript module Node cannot import is loaded through tsx's
 * `tsImport()` API: the tsx the module's own package resolves, or else the one the process was
 * started with (`tsx app.ts`, `node --import tsx`: its loader is in execArgv).
 */
async function importModule(url: string): Promise<unknown> {
  try {
    return await import(url);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !/\.[cm]?tsx?$/.test(url)) throw error;
    let tsImport: ((specifier: string, parent: string) => Promise<unknown>) | undefined;
    try {
      const entry = tsxFrom(url) ?? process.execArgv.map(tsxLoader).find((loader) => loader !== undefined);
      if (entry !== undefined) tsImport = ((await import(entry)) as { tsImport?: typeof tsImport }).tsImport;
    } catch {
      throw error; // no tsx found: Node's own error says what is wrong
    }
    if (tsImport === undefined) throw error;
    return tsImport(url, url);
  }
}

/** tsx's `tsImport()` entry as resolved from the file at `from`, if there is one. */
function tsxFrom(from: string): string | undefined {
  try {
    return importEntry('tsx/esm/api', from);
  } catch {
    return undefined;
  }
}

/**
 * The `tsImport()` entry of the tsx an execArgv item loads: tsx's CLI passes `--import
 * file:///…/tsx/dist/loader.mjs` (the package then resolves itself), `node --import tsx` names the
 * package, found from the working directory as Node found it.
 */
function tsxLoader(arg: string): string | undefined {
  if (/^tsx(\/esm)?$/.test(arg)) return tsxFrom(pathToFileURL(`${process.cwd()}/`).href);
  if (!/[\\/]tsx[\\/]dist[\\/]loader\.mjs$/.test(arg)) return undefined;
  return tsxFrom(arg.startsWith('file:') ? arg : pathToFileURL(arg).href);
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

/**
 * Whether `container` has `key`: its own, or from its class (a singleton's methods), not one every
 * object or function has (`toString`, `constructor`, `call`).
 */
function own(container: unknown, key: string): boolean {
  if ((typeof container !== 'object' && typeof container !== 'function') || container === null || !(key in container)) return false;
  if (types.isProxy(container)) return true; // its `has` trap said so: its descriptors may not
  for (let at: object | null = container; at !== null; at = Object.getPrototypeOf(at) as object | null) {
    if (at === Object.prototype || at === Function.prototype) return false;
    if (Object.hasOwn(at, key)) return true;
  }
  return false;
}

/** Whether `value` is the `module.exports` of the CommonJS module at `url` (a `file:` URL). */
function isExportsOf(value: unknown, url: string): boolean {
  return value !== undefined && require.cache[fileURLToPath(url)]?.exports === value;
}

/**
 * What TypeScript or Babel compiled to CommonJS (`exports.__esModule`): imported, its namespace's
 * `default` is the whole `module.exports`, and its own default export is that object's `default`.
 */
function compiledDefault(namespaceDefault: unknown): boolean {
  return (typeof namespaceDefault === 'object' || typeof namespaceDefault === 'function') && namespaceDefault !== null && (namespaceDefault as { __esModule?: unknown }).__esModule === true && Object.hasOwn(namespaceDefault, 'default');
}

/**
 * Whether `root` is the namespace of a CommonJS module imported: it holds a copy of the names Node
 * found, taken when it loaded; `module.exports`, its default, is what its functions see as `this`
 * and change.
 */
function importedCommonJs(root: unknown, ref: ExportRef): boolean {
  return ref.format === 'esm' && ref.url.startsWith('file:') && isExportsOf((root as { default?: unknown } | null)?.default, ref.url);
}

/**
 * Walks `path` from the namespace; a CommonJS module's names may only be on its default export.
 * Returns the value and the object it was read from.
 */
function walk(root: unknown, ref: ExportRef, commonjs = importedCommonJs(root, ref)): { value: unknown; holder: unknown } {
  let value = root;
  let holder: unknown = undefined;
  ref.path.forEach((key, index) => {
    const namespaceDefault = index === 0 ? (value as { default?: unknown }).default : undefined;
    // A name is read from module.exports itself; `default` only when compiled (else it is module.exports).
    const fromExports = index === 0 && own(namespaceDefault, key) && (key === 'default' ? commonjs && compiledDefault(namespaceDefault) : commonjs || !own(value, key));
    const base = fromExports ? namespaceDefault : value;
    if (!own(base, key)) {
      // A CommonJS module's names may be on its namespace, its default export, or both.
      const names = [base, namespaceDefault].flatMap((o) => (typeof o === 'object' && o !== null ? Object.keys(o) : []));
      // Node 23 and later also name a CommonJS module's exports object `module.exports` on its namespace.
      const available = [...new Set(names)].filter((k) => (k !== 'default' && k !== 'module.exports') || index > 0);
      const at = ref.path.slice(0, index + 1).join('.');
      // `module.exports = class Counter`: asked for by its own name.
      const isDefault = index === 0 && typeof namespaceDefault === 'function' && namespaceDefault.name === key;
      throw new ExportError(
        ref.url,
        ref.path.join('.'),
        'missing',
        `${ref.url} has no export \`${at}\`${available.length ? ` (it has: ${available.slice(0, 20).join(', ')})` : ''}` +
          (isDefault ? `: \`${key}\` is the module's default export (module.exports), named \`default\`` : ''),
      );
    }
    holder = base;
    value = (base as Record<string, unknown>)[key];
  });
  return { value, holder };
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

/**
 * Imports a module (once per worker) and finds the export at `ref.path`; `asMethod` keeps the
 * object it is read from, to call it on.
 */
export async function loadExport(ref: ExportRef, asMethod = false): Promise<Loaded> {
  const root = await importRoot(ref);
  const commonjs = importedCommonJs(root, ref);
  const { value, holder } = walk(root, ref, commonjs);
  return { value, module: { root, ref }, ...(asMethod && { holder, live: { commonjs } }) };
}

/** A facade's target read again from its module's namespace, already imported. */
function reread(entry: Loaded): Loaded {
  const { root, ref } = entry.module!;
  const { value, holder } = walk(root, ref, entry.live!.commonjs);
  return { value, module: entry.module, holder, live: entry.live };
}

/**
 * Resolves a task's target: synchronously when known or compiled from source; `undefined` for a
 * `known` target this worker has never loaded (the main thread then sends it in full). A function
 * passed to toThread is the one the main thread found, loaded once; a facade's export is read
 * afresh at every call, as `module.parse` would be on this thread: a module may reassign it
 * (`exports.parse = strictParse`) or keep a value that changes (`exports.count`).
 */
export function load(ref: FnRef): Loaded | Promise<Loaded> | undefined {
  const known = loaded.get(ref.id);
  if (known !== undefined) return known.live ? reread(known) : known;
  if (ref.kind === 'known') return undefined;
  if (ref.kind === 'source') return remember(ref.id, compile(ref));
  return loadExport(ref, ref.asMethod).then((value) => remember(ref.id, value));
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

/**
 * The module export a task names: in full, or by its short form once the worker knows it (the
 * entry remembers where it came from). Undefined for a function sent by source.
 */
export function exportOf(entry: Loaded, ref: FnRef): ExportRef | undefined {
  return ref.kind === 'module' ? ref : entry.module?.ref;
}

/** The function a task calls, or an ExportError saying what the export is instead. */
export function callable(entry: Loaded, ref: FnRef): Function {
  if (callables.has(entry.value as Function)) return entry.value as Function;
  const where = exportOf(entry, ref);
  if (typeof entry.value === 'function') {
    // Calling a class would fail with V8's words, not the fix.
    if (!isClass(entry.value)) {
      callables.add(entry.value);
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
