/**
 * Finds the module that exports a function, so a worker can import the same function instead of
 * rebuilding it from source. CommonJS modules are found in `require.cache`; ES modules through the
 * function's location in V8 (`[[FunctionLocation]]` via `node:inspector`), then by identity among
 * that module's exports; Node's own functions (`fs.readFileSync`) among the public built-in
 * modules. The answers are cached per function by the caller.
 */
import { builtinModules, createRequire } from 'node:module';
import { realpathSync } from 'node:fs';
import { pathToFileURL, fileURLToPath } from 'node:url';
import type { ExportRef } from '../protocol.js';
import { findPath, read } from './find-path.js';
import { scriptLoaded, scriptUrlOf } from './inspect.js';
import { setBounded } from '../bounded.js';

const require = createRequire(import.meta.url);
const IMPORT_GUARD_MS = 5000;

/** Where a function was defined, and whether a module exports it. */
export interface Location {
  /** The module's URL, when V8 or `require.cache` knows it. */
  readonly url: string | undefined;
  /** How a worker loads the function, when the module exports it. */
  readonly ref: ExportRef | undefined;
  /** The module is the program's entry script: importing it in a worker would run the program again. */
  readonly isEntry: boolean;
}

const entryPath = (() => {
  const main = process.argv[1];
  if (main === undefined) return undefined;
  try {
    return realpathSync(main);
  } catch {
    return main;
  }
})();

function isEntryFile(file: string): boolean {
  if (entryPath === undefined) return false;
  try {
    return realpathSync(file) === entryPath;
  } catch {
    return file === entryPath;
  }
}

/**
 * Searches the CommonJS module cache, reading data properties only, so that no module's getters
 * (a deprecation warning, a lazy load) run here; then, if that finds nothing, the module that
 * defined `fn` with its getters too (bundlers export through them), which costs an inspector
 * look-up. A module that is not the entry script wins over one that is.
 */
function locateCommonJS(fn: Function): Location | undefined {
  const found = searchCommonJS(fn, Object.entries(require.cache), false);
  if (found !== undefined) return found;
  const script = scriptUrlOf(fn);
  const own = script?.startsWith('file:') ? fileURLToPath(script) : undefined;
  return own === undefined ? undefined : searchCommonJS(fn, [[own, require.cache[own]]], true);
}

function searchCommonJS(fn: Function, modules: ReadonlyArray<readonly [string, NodeJS.Module | undefined]>, getters: boolean): Location | undefined {
  let entry: Location | undefined;
  for (const [filename, mod] of modules) {
    if (mod === undefined) continue;
    const path = findPath(mod.exports, fn, getters);
    if (path === undefined) continue;
    const url = pathToFileURL(filename).href;
    const isEntry = mod === require.main || isEntryFile(filename);
    if (!isEntry) return { url, ref: { url, path, format: 'cjs' }, isEntry };
    entry ??= { url, ref: { url, path, format: 'cjs' }, isEntry };
  }
  return entry;
}

/**
 * Locates `fn`: first among CommonJS exports, then through V8's location of the function and the
 * exports of that ES module. Resolves `undefined` fields where nothing is known.
 */
export async function locateFunction(fn: Function): Promise<Location> {
  const commonjs = locateCommonJS(fn);
  if (commonjs !== undefined) return commonjs;
  const url = scriptUrlOf(fn);
  if (url === undefined || url === '') return { url: undefined, ref: undefined, isEntry: false };
  if (url.startsWith('node:')) return locateBuiltin(fn, url);
  const isEntry = url.startsWith('file:') && isEntryFile(fileURLToPath(url));
  // The entry script is never imported: it may still be suspended in a top-level await, and would
  // wait for itself.
  if (!url.startsWith('file:') || isEntry) return { url, ref: undefined, isEntry };
  if (require.cache[fileURLToPath(url)] !== undefined) {
    return { url, ref: undefined, isEntry }; // a CommonJS module that does not export fn
  }
  const namespace = await importLoaded(url);
  if (namespace === undefined) return { url, ref: undefined, isEntry };
  const path = findPath(namespace, fn);
  return { url, ref: path === undefined ? undefined : { url, path, format: 'esm' }, isEntry };
}

/**
 * Public built-in modules searched for a function of Node's own, after the one it is defined in:
 * every one but the deprecated aliases and internals (`_http_agent`, `sys`, `punycode`,
 * `constants`), those whose loading warns or changes the process (`wasi`, `domain`), and `repl`.
 */
const SEARCHED_BUILTINS = builtinModules.filter((name) => !name.startsWith('_') && !['sys', 'punycode', 'constants', 'wasi', 'domain', 'repl'].includes(name));

/**
 * Finds a function of Node's own (`readFileSync`, `gzipSync`, `pbkdf2Sync`) among the exports of
 * the public built-in modules, reading data properties only: first the module it is defined in
 * (`node:fs`), or the one its internal module belongs to (`node:internal/crypto/pbkdf2`: `crypto`),
 * then the others. A worker imports it from there (`import('node:crypto')`).
 */
function locateBuiltin(fn: Function, url: string): Location {
  const [own = '', below = ''] = url.slice('node:'.length).split('/');
  const first = own === 'internal' ? below : own;
  const names = SEARCHED_BUILTINS.includes(first) ? [first, ...SEARCHED_BUILTINS.filter((name) => name !== first)] : SEARCHED_BUILTINS;
  for (const name of names) {
    let exports: unknown;
    try {
      exports = require(`node:${name}`);
    } catch {
      continue; // not in this version of Node
    }
    const path = findPath(exports, fn, false);
    if (path !== undefined) return { url, ref: { url: `node:${name}`, path, format: 'esm' }, isEntry: false };
  }
  return { url, ref: undefined, isEntry: false };
}

/**
 * Imports a module the program has already loaded (it defined the function), so this returns the
 * same instance. A module still evaluating (a top-level await in a cycle) would never resolve: the
 * ref'd timer keeps the process alive and turns that into an answer.
 */
async function importLoaded(url: string): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, IMPORT_GUARD_MS, undefined);
  });
  try {
    return await Promise.race([import(url).catch(() => undefined), stuck]);
  } finally {
    clearTimeout(timer);
  }
}

/** ES modules this thread is known to have loaded: importing them again loads nothing. */
const loadedModules = new Set<string>();
/**
 * When each ES module was last found not loaded here. Listing the loaded scripts costs a few ms (a
 * replay of every script V8 parsed): a module that fails often is looked for at most once a second.
 */
const notLoadedAt = new Map<string, number>();
const NOT_LOADED_MS = 1_000;
const NOT_LOADED_LIMIT = 256;

function moduleLoaded(url: string): boolean {
  if (loadedModules.has(url)) return true;
  const checked = notLoadedAt.get(url);
  if (checked !== undefined && performance.now() - checked < NOT_LOADED_MS) return false;
  if (scriptLoaded(url)) {
    notLoadedAt.delete(url);
    loadedModules.add(url);
    return true;
  }
  setBounded(notLoadedAt, url, performance.now(), NOT_LOADED_LIMIT);
  return false;
}

/**
 * The value at `ref` in a module already loaded on this thread, without loading anything new: a
 * module only workers load (a facade's) is not loaded here to rebuild an error of its class.
 */
export async function loadedExport(ref: ExportRef): Promise<unknown> {
  let value: unknown;
  if (ref.format === 'cjs') value = require.cache[fileURLToPath(ref.url)]?.exports;
  else if (moduleLoaded(ref.url)) value = await import(ref.url).catch(() => undefined);
  for (const key of ref.path) value = value == null ? undefined : read(value, key);
  return value;
}
